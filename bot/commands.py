"""`/crm`: the first word picks the action (SPEC §3); each handler is one domain call.

Help and a line that cannot be parsed are answered in the ack itself (no database needed);
everything else is acknowledged at once and answered through response_url.
"""
from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot import (
    admin, campaigns, cards, documents, erasure, forms, inbox, lists, mail, merge, products, reps, stats, timeline,
)
from bot.parser import Command, parse
from bot.record_card import card_message
from bot.search import results_message
from bot.surface import Interaction, Surface, after_ack
from crm import contacts, pending, search, thirdparties
from crm.errors import ValidationError

NEW_TYPES = ("prospect", "customer", "both")
CREATE_KIND = "thirdparty.create"

EXAMPLES = {
    "new": "/crm new prospect Acme Widgets",
    "show": "/crm show CU2611-00001",
    "edit": '/crm edit "Acme Widgets"',
    "search": "/crm search acme paris",
    "contact": "/crm contact add Acme",
    "close": "/crm close Acme",
    "reopen": "/crm reopen Acme",
    "quote": "/crm quote Acme",
    "order": "/crm order Acme",
    "intervention": "/crm intervention Acme",
    "invoice": "/crm invoice Acme",
    "doc": "/crm doc PR2611-00001",
    "mail": "/crm mail Acme proposal",
    "campaign": "/crm campaign new",
    "inbox": "/crm inbox",
    "list": "/crm list type:customer town:Paris",
    "export": "/crm export tag:vip xlsx",
    "merge": '/crm merge "Acme Ltd" into Acme',
    "delete": "/crm delete CU2611-00001",
    "stats": "/crm stats @alice 2026-Q3",
    "reassign": "/crm reassign @alice @bob",
    "timeline": "/crm timeline Acme",
    "note": '/crm note "Acme Widgets" Called Anna: renewal in March',
}


def register(app: AsyncApp, surface: Surface) -> None:
    handlers = {
        "new": _new,
        "show": _show,
        "search": _search,
        "edit": _edit,
        "close": _close,
        "reopen": _reopen,
        "contact": _contact,
        "settings": _settings,
        "products": _products,
        **{word: documents.new_document for word in documents.COMMAND_TYPES},
        "doc": documents.show_document,
        "mail": mail.start,
        "campaign": campaigns.start,
        "inbox": inbox.show_inbox,
        "list": lists.show_list,
        "export": lists.export,
        "merge": merge.start,
        "duplicates": merge.show_duplicates,
        "delete": erasure.start,
        "stats": stats.show_stats,
        "reassign": reps.start,
        "timeline": timeline.show_timeline,
        "note": timeline.add_note,
    }

    @app.command("/crm")
    async def crm_command(ack, body, client):
        try:
            command = parse(body.get("text") or "")
        except ValidationError as error:
            await ack(**cards.error_message(error.message, '/crm show "Acme Widgets"'))
            return
        if command.action in ("", "help"):
            await ack(**cards.help_message())
            return
        handler = handlers.get(command.action)
        if handler is None:
            await ack(**cards.help_message(unknown=command.action))
            return
        await ack()
        it = Interaction(body, client, surface, example=EXAMPLES.get(command.action))
        surface.spawn(after_ack(it, lambda it: handler(it, command)))


async def new_thirdparty_form(it: Interaction, values: dict | None = None) -> dict:
    """The create form, filled with `values` where something already tells them (a message)."""
    fields = await thirdparties.new_form(it.ctx)
    return forms.new_thirdparty_modal(fields, values, reader=it.reader)


async def _new(it: Interaction, command: Command) -> None:
    if not command.args:
        await it.open_form(lambda: new_thirdparty_form(it))
        return
    kind = command.args[0].lower()
    name = command.after(1)
    if kind not in NEW_TYPES or not name:
        raise ValidationError("type", "Say the type and the name: prospect, customer or both, then the name.")
    values = {"name": name, "type": kind}
    await thirdparties.validate_new(it.ctx, values)
    duplicates = await thirdparties.likely_duplicates(it.ctx, values)
    if duplicates:
        token = await pending.offer(it.ctx, CREATE_KIND, {"values": values})
        await it.answer(cards.duplicate_warning(name, token, duplicates))
        return
    tp = await thirdparties.create(it.ctx, values)
    await it.answer(await card_message(it, tp.id))


async def create_offered(it: Interaction, token: str) -> None:
    """The "Create anyway" button: the creation offered under `token`, once however many clicks."""
    async def create(payload: dict) -> int:
        return (await thirdparties.create(it.ctx, payload["values"])).id

    outcome = await pending.confirm(it.ctx, token, CREATE_KIND, create)
    await it.answer(await card_message(it, outcome.result_id), replace=True)


async def _show(it: Interaction, command: Command) -> None:
    tp = await thirdparties.resolve(it.ctx, command.ref(last=True))
    await it.answer(await card_message(it, tp))


async def _search(it: Interaction, command: Command) -> None:
    text = command.rest
    if not text:
        raise ValidationError("TEXT", "Say what to look for.")
    await it.answer(results_message(await search.find(it.ctx, text)))


async def _edit(it: Interaction, command: Command) -> None:
    ref = command.ref(last=True)

    async def build() -> dict:
        tp = await thirdparties.resolve(it.ctx, ref)
        return await edit_thirdparty_form(it, tp.id)

    await it.open_form(build)


async def edit_thirdparty_form(it: Interaction, thirdparty_id: int) -> dict:
    return forms.edit_thirdparty_modal(await thirdparties.edit_form(it.ctx, thirdparty_id), it.reader)


async def new_contact_form(it: Interaction, thirdparty_id: int) -> dict:
    return forms.new_contact_modal(await contacts.new_form(it.ctx, thirdparty_id), it.reader)


async def edit_contact_form(it: Interaction, contact_id: int) -> dict:
    return forms.edit_contact_modal(await contacts.edit_form(it.ctx, contact_id), it.reader)


async def _close(it: Interaction, command: Command) -> None:
    await _set_status(it, command, "closed")


async def _reopen(it: Interaction, command: Command) -> None:
    await _set_status(it, command, "active")


async def _set_status(it: Interaction, command: Command, status: str) -> None:
    tp, _ = await thirdparties.set_status(it.ctx, command.ref(last=True), status)
    await it.answer(await card_message(it, tp.id))


async def _contact(it: Interaction, command: Command) -> None:
    if not command.args or command.args[0].lower() != "add":
        raise ValidationError("contact", "Use /crm contact add REF.")
    ref = command.ref(1, last=True)

    async def build() -> dict:
        tp = await thirdparties.resolve(it.ctx, ref)
        return await new_contact_form(it, tp.id)

    await it.open_form(build)


async def _products(it: Interaction, command: Command) -> None:
    await products.show_catalogue(it, command.rest)


async def _settings(it: Interaction, command: Command) -> None:
    await it.open_form(lambda: admin.settings_modal(it.ctx))

