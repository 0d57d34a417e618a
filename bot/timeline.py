"""The timeline in Slack: `/crm timeline REF` and its pages and filter, `/crm note REF [TEXT]`, a
note's Edit form for its author, the "Log activity" form (call, meeting, task), the record
card's timeline menu, and the "Log to customer" message shortcut."""
from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from bot import cards, timeline_views as views
from bot.field_inputs import selected_moment
from bot.parser import Command, unescape
from bot.payloads import action, form_values, record_id, selected_value
from bot.surface import Interaction, Listeners, Surface, post_response
from crm import contacts, pending, thirdparties, timeline
from crm.permissions import require_writer

log = logging.getLogger(__name__)


async def show_timeline(it: Interaction, command: Command) -> None:
    """`/crm timeline REF`."""
    tp = await thirdparties.resolve(it.ctx, command.ref(last=True))
    await it.answer(await timeline_message(it, tp.id))


async def add_note(it: Interaction, command: Command) -> None:
    """`/crm note REF TEXT` at once; `/crm note REF` opens the form."""
    ref, text = command.ref(), command.after(1)
    if not text:
        async def build() -> dict:
            return await _note_form(it, (await thirdparties.resolve(it.ctx, ref)).id)
        await it.open_form(build)
        return
    tp = await thirdparties.resolve(it.ctx, ref)
    await timeline.add_note(it.ctx, tp.id, text)
    await it.answer(views.noted_message(tp))


async def timeline_message(it: Interaction, thirdparty_id: int, group: str = views.EVERYTHING, *,
                           before_id: int | None = None, after_id: int | None = None) -> dict:
    tp = await thirdparties.get(it.ctx, thirdparty_id)
    codes = None if group == views.EVERYTHING else timeline.GROUPS[group][1]
    page = await timeline.page(it.ctx, thirdparty_id, codes=codes, before_id=before_id, after_id=after_id)
    return views.timeline_message(tp, page, group, user_id=it.user_id, can_write=it.ctx.actor.can_write)


async def _note_form(it: Interaction, thirdparty_id: int) -> dict:
    require_writer(it.ctx.actor, "add notes")
    tp = await thirdparties.get(it.ctx, thirdparty_id)
    return views.note_modal(tp, await contacts.of_thirdparty(tp.id))


async def _activity_form(it: Interaction, thirdparty_id: int) -> dict:
    require_writer(it.ctx.actor, "log calls, meetings and tasks")
    tp = await thirdparties.get(it.ctx, thirdparty_id)
    return views.activity_modal(tp, await contacts.of_thirdparty(tp.id))


def _chosen_value(state: dict, block_id: str) -> str:
    return (((state.get(block_id) or {}).get("value") or {}).get("selected_option") or {}).get("value") or ""


def _chosen_id(state: dict, block_id: str) -> int | None:
    chosen = _chosen_value(state, block_id)
    return record_id(chosen) if chosen else None


def _typed(state: dict, block_id: str) -> str:
    return ((state.get(block_id) or {}).get("value") or {}).get("value") or ""


def register(app: AsyncApp, surface: Surface) -> None:
    on = Listeners(app, surface)

    @on.action(views.SHOW)
    async def show(it: Interaction) -> None:
        await it.answer(await timeline_message(it, record_id(action(it.body).get("value"))))

    @on.action(views.OLDER)
    async def older(it: Interaction) -> None:
        thirdparty_id, group, cursor = views.read_page_value(action(it.body).get("value", ""))
        await it.answer(await timeline_message(it, thirdparty_id, group, before_id=cursor), replace=True)

    @on.action(views.NEWER)
    async def newer(it: Interaction) -> None:
        thirdparty_id, group, cursor = views.read_page_value(action(it.body).get("value", ""))
        await it.answer(await timeline_message(it, thirdparty_id, group, after_id=cursor), replace=True)

    @on.action(views.FILTER)
    async def narrow(it: Interaction) -> None:
        thirdparty_id, group, _ = views.read_page_value(selected_value(it.body))
        await it.answer(await timeline_message(it, thirdparty_id, group), replace=True)

    @on.action(views.MENU)
    async def card_menu(it: Interaction) -> None:
        what, thirdparty_id = views.read_menu_value(selected_value(it.body))
        if what == "note":
            await it.open_form(lambda: _note_form(it, thirdparty_id))
        else:
            await it.open_form(lambda: _activity_form(it, thirdparty_id))

    @on.action(views.NOTE_EDIT)
    async def open_note_edit(it: Interaction) -> None:
        event_id = record_id(action(it.body).get("value"))

        async def build() -> dict:
            return views.edit_note_modal(event_id, await timeline.note_text(it.ctx, event_id), it.response_url)
        await it.open_form(build)

    @on.action(views.ACTIVITY_DONE)
    async def done(it: Interaction) -> None:
        """Marked done, and the timeline shown again without its Done button."""
        event_id, thirdparty_id = views.read_done_value(action(it.body).get("value", ""))
        if not await timeline.mark_done(it.ctx, event_id):
            await it.answer(cards.notice("It was already marked done."))
            return
        await it.answer(await timeline_message(it, thirdparty_id), replace=True)

    @on.submission(views.NOTE_NEW)
    async def submit_note(it: Interaction):
        state = form_values(it.body)
        thirdparty_id = record_id(it.body["view"].get("private_metadata", ""))

        async def create() -> int:
            return (await timeline.add_note(it.ctx, thirdparty_id, _typed(state, "text"),
                                            contact_id=_chosen_id(state, "contact"))).id
        await pending.once(it.ctx, f"view:{it.body['view']['id']}", "note.form", create)
        return {}, None

    @on.submission(views.NOTE_EDIT)
    async def submit_note_edit(it: Interaction):
        event_id, timeline_url = views.read_edit_note_metadata(it.body["view"])
        note = await timeline.edit_note(it.ctx, event_id, _typed(form_values(it.body), "text"))

        async def refresh() -> None:
            """The timeline the Edit button was on, showing the new text (its response_url may have expired)."""
            try:
                await post_response(it.client, timeline_url, {"response_type": "ephemeral", "replace_original": True,
                                                              **await timeline_message(it, note.thirdparty_id)})
            except Exception:  # noqa: BLE001 - the note is saved; the old page stays until asked again
                log.info("could not bring the timeline up to date", exc_info=True)
        return {}, refresh if timeline_url else None

    @on.submission(views.ACTIVITY_NEW)
    async def submit_activity(it: Interaction):
        state = form_values(it.body)
        thirdparty_id = record_id(it.body["view"].get("private_metadata", ""))
        duration = views.read_duration(state)

        async def create() -> int:
            return (await timeline.add_manual(
                it.ctx, thirdparty_id, _chosen_value(state, "kind"), title=_typed(state, "title"),
                starts_at=selected_moment((state.get("starts_at") or {}).get("value") or {}),
                duration_minutes=duration, contact_id=_chosen_id(state, "contact"), note=_typed(state, "note"))).id
        await pending.once(it.ctx, f"view:{it.body['view']['id']}", "activity.form", create)
        return {}, None

    @on.shortcut(views.LOG_MESSAGE)
    async def open_log_message(it: Interaction) -> None:
        posted = it.body.get("message") or {}
        channel = (it.body.get("channel") or {}).get("id", "")

        async def build() -> dict:
            require_writer(it.ctx.actor, "add notes")
            source = {"author": posted.get("user") or "", "channel": channel, "ts": posted.get("ts") or "",
                      "permalink": await _permalink(it, channel, posted.get("ts") or "")}
            return views.log_message_modal(unescape(posted.get("text") or ""), source)
        await it.open_form(build)

    @on.submission(views.LOG_MESSAGE)
    async def submit_log_message(it: Interaction):
        thirdparty_id, source = views.read_log_message_form(it.body["view"])
        text = _typed(form_values(it.body), "text")

        async def create() -> int:
            return (await timeline.add_note(it.ctx, thirdparty_id, text, source=source)).id
        await pending.once(it.ctx, f"view:{it.body['view']['id']}", "log.form", create)
        return {}, None



async def _permalink(it: Interaction, channel: str, ts: str) -> str:
    """The message's permalink, or "" when Slack will not give it (the note is kept without)."""
    try:
        return (await it.client.chat_getPermalink(channel=channel, message_ts=ts))["permalink"]
    except SlackApiError as error:
        log.info("no permalink for %s/%s: %s", channel, ts, error.response.get("error"))
        return ""
