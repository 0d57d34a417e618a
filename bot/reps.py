"""`/crm reassign @from @to` (admins): what would move and a button to confirm, then the move,
once however many clicks (crm.pending)."""
from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot import cards
from bot.blocks import actions, button, confirmation, message, plain_section, section, user_mention
from bot.parser import Command, user_id
from bot.payloads import action
from bot.surface import Interaction, Surface, acked
from crm import pending, reps
from crm.errors import ValidationError
from crm.permissions import require_admin

CONFIRM = "reps_reassign"
KIND = "reps.reassign"


async def start(it: Interaction, command: Command) -> None:
    require_admin(it.ctx.actor, reps.WHAT)
    people = [user_id(word) for word in command.args]
    if len(people) != 2 or None in people:
        raise ValidationError("reps", "Name the rep whose portfolio moves, then the one who takes it, as @mentions.")
    planned = await reps.plan(it.ctx, *people)
    token = await pending.offer(it.ctx, KIND, {"from": planned.from_id, "to": planned.to_id})
    await it.answer(offer_message(planned, token))


def offer_message(planned: reps.Reassignment, token: str) -> dict:
    what = _counts(planned)
    text = f"Move {what} from {user_mention(planned.from_id)} to {user_mention(planned.to_id)}?"
    blocks = [section(text), plain_section("Open documents are drafts and validated ones not yet signed, refused, "
                                           "delivered, billed, done, paid or abandoned; the others keep their rep.")]
    if planned.thirdparties or planned.documents:
        blocks.append(actions(button("Reassign", CONFIRM, token, style="primary", confirm=confirmation(
            "Reassign?", f"Move {what} to the new rep. Each third party's timeline will say so.", "Reassign"))))
    return message(text, blocks)


def done_message(done: reps.Reassignment) -> dict:
    text = f"Moved {_counts(done)} from {user_mention(done.from_id)} to {user_mention(done.to_id)}."
    return message(text, [section(text)])


def _counts(planned: reps.Reassignment) -> str:
    return (f"{planned.thirdparties} third part{'y' if planned.thirdparties == 1 else 'ies'} and "
            f"{planned.documents} open document{'' if planned.documents == 1 else 's'}")


def register(app: AsyncApp, surface: Surface) -> None:
    async def confirm(it: Interaction) -> None:
        done: list[reps.Reassignment] = []

        async def move(payload: dict) -> int:
            done.append(await reps.reassign(it.ctx, payload["from"], payload["to"]))
            return done[0].thirdparties  # kept as the outcome: a repeated click finds it done

        outcome = await pending.confirm(it.ctx, str(action(it.body).get("value", "")), KIND, move)
        if outcome.repeated:
            await it.answer(cards.notice("This reassignment was done already."), replace=True)
        else:
            await it.answer(done_message(done[0]), replace=True)

    app.action(CONFIRM)(acked(surface, confirm))
