"""`/crm merge REF into REF` and `/crm duplicates`: a confirmation that shows field by field
what the kept record becomes, then the merge; the likely duplicate pairs, each with a Merge
button that opens the same confirmation."""
from __future__ import annotations

import json

from slack_bolt.async_app import AsyncApp

from bot import cards
from bot.blocks import button, context, message, modal, plain_section
from bot.parser import Command, unquote
from bot.payloads import Stale, action, record_id
from bot.record_card import card_message
from bot.surface import Interaction, Surface, acked, submission
from crm import duplicates, merge as merging, thirdparties
from crm.errors import ValidationError

MERGE = "merge"
LINES_PER_SECTION = 20


def merge_modal(plan: merging.MergePlan) -> dict:
    kept, removed = plan.kept, plan.removed
    lines = []
    for outcome in plan.fields:
        line = f"{outcome.label}: {outcome.result or '–'}"
        if outcome.other_dropped:
            line += f"   (not “{outcome.other}” from {removed.code}: kept in its history)"
        lines.append(line)
    blocks = [plain_section(f"{removed.name} ({removed.code}) will be merged into {kept.name} ({kept.code}). "
                            f"{kept.code} is kept; {removed.code} is deleted and its code will lead to {kept.code}."),
              plain_section(f"{kept.name} will hold:")]
    blocks += [plain_section("\n".join(lines[i:i + LINES_PER_SECTION]))
               for i in range(0, len(lines), LINES_PER_SECTION)]
    moving = [f"{count} {kind}" for kind, count in plan.moving.items()]
    if moving:
        same = (f" ({plan.same_email_contacts} with the email of one of {kept.code}'s, made one with it)"
                if plan.same_email_contacts else "")
        blocks.append(plain_section(f"Moving to {kept.code}: {', '.join(moving)}{same}."))
    blocks.append(context("The merge is recorded on the timeline with everything the removed record held."))
    metadata = json.dumps({"removed": removed.id, "kept": kept.id, "fp": plan.fingerprint})
    return modal("Merge third parties", blocks, callback_id=MERGE, submit="Merge", private_metadata=metadata)


def duplicates_message(pairs: list[duplicates.Pair]) -> dict:
    if not pairs:
        return cards.notice("No likely duplicates: no two third parties share an email, a VAT id or a name.")
    title = f"{len(pairs)} likely duplicate pair{'s' if len(pairs) != 1 else ''}, surest first"
    blocks = [plain_section(title)]
    for pair in pairs:
        text = (f"{cards.record_line(pair.first)}\n{cards.record_line(pair.second)}\n"
                f"{', '.join(pair.reasons).capitalize()} · score {pair.score:.2f}")
        blocks.append(plain_section(text, accessory=button("Merge…", "merge_pair",
                                                           f"{pair.second.id}:{pair.first.id}")))
    return message(title, blocks)


async def start(it: Interaction, command: Command) -> None:
    """`/crm merge REF into REF`."""
    words = [word.lower() for word in command.args]
    if "into" not in words or words.index("into") == 0 or words.index("into") == len(words) - 1:
        raise ValidationError("REF", "Say which record goes into which: /crm merge REF into REF.")
    split = words.index("into")
    removed_ref, kept_ref = _ref(command.args[:split]), _ref(command.args[split + 1:])

    async def build() -> dict:
        removed = await thirdparties.resolve(it.ctx, removed_ref)
        kept = await thirdparties.resolve(it.ctx, kept_ref)
        return merge_modal(await merging.plan(it.ctx, removed.id, kept.id))

    await it.open_form(build)


def _ref(words: list[str]) -> str:
    """A REF of one word or "quoted string", or several words as typed (names with spaces)."""
    return unquote(words[0]) if len(words) == 1 else " ".join(words)


async def show_duplicates(it: Interaction, command: Command) -> None:
    await it.answer(duplicates_message(await duplicates.likely_pairs(it.ctx)))


def register(app: AsyncApp, surface: Surface) -> None:
    async def merge_pair(it: Interaction) -> None:
        removed, _, kept = str(action(it.body).get("value", "")).partition(":")

        async def build() -> dict:
            return merge_modal(await merging.plan(it.ctx, record_id(removed), record_id(kept)))
        await it.open_form(build)

    async def confirm(it: Interaction):
        try:
            chosen = json.loads(it.body["view"].get("private_metadata", ""))
            removed, kept, fingerprint = record_id(chosen["removed"]), record_id(chosen["kept"]), str(chosen["fp"])
        except (ValueError, KeyError, TypeError):
            raise Stale("merge") from None
        result = await merging.merge(it.ctx, removed, kept, confirmed=fingerprint)

        async def post_card() -> None:
            await it.direct_message(await card_message(it, result.id))
        return {}, post_card

    app.action("merge_pair")(acked(surface, merge_pair))
    app.view(MERGE)(submission(surface, confirm))

