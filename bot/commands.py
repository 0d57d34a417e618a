"""`/crm`: the first word picks the action (SPEC §3); each handler is one domain call."""
from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from bot import admin, cards, forms
from bot.parser import Command, parse
from crm import contacts, customfields, thirdparties
from crm.errors import Ambiguous, DomainError, ValidationError
from crm.permissions import require_admin
from crm.settings import Settings

log = logging.getLogger(__name__)

NEW_TYPES = ("prospect", "customer", "both")


def register(app: AsyncApp, settings: Settings) -> None:
    handlers = {
        "": _help,
        "help": _help,
        "new": _new,
        "show": _show,
        "search": _search,
        "edit": _edit,
        "close": _close,
        "reopen": _reopen,
        "contact": _contact,
        "settings": _settings,
    }

    @app.command("/crm")
    async def crm_command(ack, command, context, client):
        try:
            parsed = parse(command.get("text") or "")
        except ValidationError as error:
            await ack(**cards.error_message(error.message, '/crm show "Acme Widgets"'))
            return
        handler = handlers.get(parsed.action)
        if handler is None:
            await ack(**cards.help_message(unknown=parsed.action))
            return
        request = Request(parsed, ack, context, client, command, settings)
        try:
            await handler(request)
        except Ambiguous as error:
            await request.answer(cards.thirdparty_list(str(error), error.candidates))
        except DomainError as error:
            await request.answer(cards.error_message(str(error), EXAMPLES.get(parsed.action)))
        except SlackApiError as error:  # e.g. the form's trigger expired: never leave the command unanswered
            log.warning("/crm %s: Slack refused %s", parsed.action, error.response.get("error"))
            await request.answer(cards.error_message(
                f"Slack refused to open the form ({error.response.get('error')}). Please try again."))


EXAMPLES = {
    "new": "/crm new prospect Acme Widgets",
    "show": "/crm show CU2611-00001",
    "edit": '/crm edit "Acme Widgets"',
    "search": "/crm search acme paris",
    "contact": "/crm contact add Acme",
    "close": "/crm close Acme",
    "reopen": "/crm reopen Acme",
}


class Request:
    """One slash command being answered: acks once, then answers through response_url."""

    def __init__(self, command: Command, ack, context, client, payload: dict, settings: Settings):
        self.command, self.context, self.client, self.payload, self.settings = command, context, client, payload, settings
        self._ack = ack
        self._acked = False

    @property
    def actor(self):
        return self.context["actor"]

    @property
    def tz(self):
        return self.context["tz"]

    async def answer(self, message: dict) -> None:
        """An ephemeral answer: in the ack when still possible, else through response_url."""
        if not self._acked:
            await self._acknowledge(**message)
        else:
            await self.context.respond(response_type="ephemeral", **message)

    async def _acknowledge(self, **message) -> None:
        self._acked = True
        await self._ack(**message)

    async def open_modal(self, view: dict) -> None:
        await self._acknowledge()
        await self.client.views_open(trigger_id=self.payload["trigger_id"], view=view)


async def _help(request: Request) -> None:
    await request.answer(cards.help_message())


async def _new(request: Request) -> None:
    args = request.command.args
    if not args:
        fields = await customfields.definitions("thirdparty")
        await request.open_modal(forms.thirdparty_modal(fields))
        return
    kind = args[0].lower()
    name = request.command.after(1)
    if kind not in NEW_TYPES or not name:
        raise ValidationError("type", "Say the type and the name: prospect, customer or both, then the name.")
    values = {"name": name, "type": kind}
    duplicates = await thirdparties.likely_duplicates(values)
    if duplicates:
        await request.answer(cards.duplicate_warning(name, kind, duplicates))
        return
    tp = await thirdparties.create(request.actor, values, tz=request.settings.timezone,
                                   default_role=request.settings.default_role)
    await request.answer(await card_message(tp.id, request.tz))


async def _show(request: Request) -> None:
    tp = await thirdparties.resolve(request.command.ref(last=True))
    await request.answer(await card_message(tp.id, request.tz))


async def _search(request: Request) -> None:
    text = request.command.rest
    if not text:
        raise ValidationError("TEXT", "Say what to look for.")
    found = await thirdparties.search(text)
    title = f"{len(found)} match{'es' if len(found) != 1 else ''} for “{text}”" if found else f"Nothing matches “{text}”."
    await request.answer(cards.thirdparty_list(title, found))


async def _edit(request: Request) -> None:
    tp = await thirdparties.resolve(request.command.ref(last=True))
    await request.open_modal(await edit_modal(tp.id))


async def edit_modal(thirdparty_id: int) -> dict:
    tp = await thirdparties.get(thirdparty_id)
    tags, reps = await thirdparties.tags_and_reps(tp)
    fields = await customfields.definitions("thirdparty")
    values = (await customfields.values_by_owner("thirdparty", [thirdparty_id]))[thirdparty_id]
    return forms.thirdparty_modal(fields, forms.thirdparty_values(tp), thirdparty_id=thirdparty_id,
                                  tags=tags, sales_reps=reps, custom_values=values)


async def card_message(thirdparty_id: int, tz, **options) -> dict:
    """The record card of a third party, read fresh, with `record_card`'s options."""
    return cards.record_card(await thirdparties.card(thirdparty_id, tz), tz, **options)


async def _close(request: Request) -> None:
    await _set_status(request, "closed")


async def _reopen(request: Request) -> None:
    await _set_status(request, "active")


async def _set_status(request: Request, status: str) -> None:
    tp, _ = await thirdparties.set_status(request.actor, request.command.ref(last=True), status)
    await request.answer(await card_message(tp.id, request.tz))


async def _contact(request: Request) -> None:
    command = request.command
    if not command.args or command.args[0].lower() != "add":
        raise ValidationError("contact", "Use /crm contact add REF.")
    tp = await thirdparties.resolve(command.ref(1, last=True))
    await request.open_modal(await contact_modal(tp.id))


async def contact_modal(thirdparty_id: int) -> dict:
    tp = await thirdparties.get(thirdparty_id)
    return forms.contact_modal(tp, await customfields.definitions("contact"))


async def edit_contact_modal(contact_id: int) -> dict:
    contact = await contacts.get(contact_id)
    tp = await thirdparties.get(contact.thirdparty_id)
    values = (await customfields.values_by_owner("contact", [contact_id]))[contact_id]
    return forms.contact_modal(tp, await customfields.definitions("contact"), contact, values)


async def _settings(request: Request) -> None:
    require_admin(request.actor, "change settings")
    await request.open_modal(await admin.settings_modal(request.settings.timezone))
