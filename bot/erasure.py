"""`/crm delete REF` (admins): a confirmation naming what goes and what stays, then the erasure."""
from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot import cards
from bot.blocks import modal, plain_section
from bot.parser import Command
from bot.payloads import record_id
from bot.surface import Interaction, Surface, submission
from crm import erasure, thirdparties

ERASE = "erase"


def erase_modal(plan: erasure.ErasurePlan) -> dict:
    thirdparty = plan.thirdparty
    going = ", ".join(f"{count} {kind}" for kind, count in plan.going.items())
    lines = [f"{thirdparty.name} ({thirdparty.code}) will be deleted for good"
             + (f", with {going}." if going else "."),
             "This cannot be undone. The timeline keeps only that you deleted this code, and when."]
    if plan.kept_documents:
        lines.append(f"{plan.kept_documents} validated document{'s' if plan.kept_documents != 1 else ''} "
                     "stay for the books, without the contacts and notes.")
    return modal("Delete third party", [plain_section("\n\n".join(lines))], callback_id=ERASE, submit="Delete",
                 close="Keep", private_metadata=str(thirdparty.id))


async def start(it: Interaction, command: Command) -> None:
    ref = command.ref(last=True)

    async def build() -> dict:
        thirdparty = await thirdparties.resolve(it.ctx, ref)
        return erase_modal(await erasure.plan(it.ctx, thirdparty.id))

    await it.open_form(build)


def register(app: AsyncApp, surface: Surface) -> None:
    async def confirm(it: Interaction):
        erased = await erasure.erase(it.ctx, record_id(it.body["view"].get("private_metadata", "")))

        async def say() -> None:
            await it.direct_message(cards.notice(f"{erased.name} ({erased.code}) was deleted."))
        return {}, say

    app.view(ERASE)(submission(surface, confirm))
