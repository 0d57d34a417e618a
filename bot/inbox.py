"""`/crm inbox` (admins): the emails from unknown senders, each assigned to a third party from a
form whose menu searches as `/crm search` does; once assigned, the list comes back up to date
where it was asked for (or the confirmation goes to the admin's conversation with the app), and
the third party's reps are told of the email as the IMAP listener tells them."""
from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncApp

from bot import cards, inbox_views as views
from bot.inbound_notices import tell_reps
from bot.parser import Command
from bot.payloads import action, record_id
from bot.surface import Interaction, Surface, acked, post_response, submission
from crm.errors import Conflict
from crm.inbound import inbox

log = logging.getLogger(__name__)


async def show_inbox(it: Interaction, command: Command) -> None:
    await it.answer(views.inbox_message(await inbox.inbox(it.ctx)))


def register(app: AsyncApp, surface: Surface) -> None:
    async def open_assign(it: Interaction) -> None:
        inbound_id = record_id(action(it.body).get("value"))

        async def build() -> dict:
            email = await inbox.received(it.ctx, inbound_id)
            if email.status != "unmatched":
                raise Conflict("That email is no longer waiting to be assigned: /crm inbox shows what is.")
            return views.assign_modal(email, it.response_url)
        await it.open_form(build)

    async def assign(it: Interaction):
        inbound_id, inbox_url, thirdparty_id = views.read_assign_form(it.body["view"])
        thirdparty, logged = await inbox.assign(it.ctx, inbound_id, thirdparty_id)

        async def after() -> None:
            await _confirm(it, inbox_url, views.assigned_text(thirdparty, logged))
            await tell_reps(it.settings, [logged])  # as if the email had matched when it came
        return {}, after

    app.action(views.ASSIGN)(acked(surface, open_assign))
    app.view(views.ASSIGN_FORM)(submission(surface, assign))


async def _confirm(it: Interaction, inbox_url: str, done: str) -> None:
    """The list the form was opened from, up to date with what was done; else (no list, or
    Slack no longer takes answers to it) the words in the admin's conversation with the app."""
    if inbox_url:
        try:
            await post_response(it.client, inbox_url, {"response_type": "ephemeral", "replace_original": True,
                                                       **views.inbox_message(await inbox.inbox(it.ctx), done)})
            return
        except Exception:  # noqa: BLE001 - an expired response_url: said in the conversation instead
            log.info("could not bring the inbox up to date; confirming in a direct message", exc_info=True)
    await it.direct_message(cards.notice(done))
