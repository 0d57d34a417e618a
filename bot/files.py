"""Files attached to third parties, from Slack: the record card's menu opens the attach form or
the list of files, whose "Post here" uploads one back (files upload v2); a file shared in a
thread with the app mentioned is attached too (bot.mentions finds the third party)."""
from __future__ import annotations

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from bot import cards, downloads
from bot import files_views as views
from bot.payloads import Stale, action, form_values, record_id
from bot.surface import Interaction, Surface, acked, submission
from crm import attachments, pending, thirdparties
from crm.attachments import FileRecord
from crm.errors import ValidationError
from crm.permissions import require_writer


def register(app: AsyncApp, surface: Surface) -> None:
    app.action(views.CARD_MENU)(acked(surface, card_menu))
    app.view(views.ATTACH)(submission(surface, submit_attach))
    app.action(views.POST)(acked(surface, post_here))


async def card_menu(it: Interaction) -> None:
    pressed = action(it.body)
    what, _, number = str((pressed.get("selected_option") or {}).get("value") or pressed.get("value", "")).partition(":")
    thirdparty_id = record_id(number)
    if what == "attach":
        await it.open_form(lambda: attach_form(it, thirdparty_id))
    elif what == "list":
        tp = await thirdparties.get(it.ctx, thirdparty_id)
        await it.answer(views.files_message(tp, await attachments.files(it.ctx, thirdparty_id),
                                            can_write=it.ctx.actor.can_write))
    else:
        raise Stale(what)


async def attach_form(it: Interaction, thirdparty_id: int) -> dict:
    require_writer(it.ctx.actor, "attach files")  # no form they could not submit
    tp = await thirdparties.get(it.ctx, thirdparty_id)
    return views.attach_modal(tp, it.settings.file_max_mb)


async def submit_attach(it: Interaction):
    thirdparty_id = record_id(it.body["view"].get("private_metadata", ""))
    chosen = ((form_values(it.body).get(views.FILE_INPUT) or {}).get("value") or {}).get("files") or []
    if not chosen:
        raise ValidationError("file", "Choose a file to attach.")
    attached = await attach_once(it, f"view:{it.body['view']['id']}", thirdparty_id, [f["id"] for f in chosen])
    if not attached:
        return {}, None  # the form submitted twice: the first submission attached them
    tp = await thirdparties.get(it.ctx, thirdparty_id)
    return {}, lambda: it.direct_message(cards.notice(views.attached_text(tp, attached)))


async def attach_once(it: Interaction, key: str, thirdparty_id: int, slack_file_ids: list[str]) -> list[FileRecord]:
    """Download every file first (a failure or one over the cap stops all), then attach them in one
    transaction, once for `key`; [] when `key` had been done already."""
    def check_size(name: str, size: int) -> None:
        attachments.check_size(it.ctx, name, size)

    fetched = [await downloads.fetch(it.client, it.settings.slack_api_url, file_id, check_size)
               for file_id in slack_file_ids]
    attached: list[FileRecord] = []

    async def attach_all() -> int:
        for file in fetched:
            attached.append(await attachments.attach(it.ctx, thirdparty_id, file.name, file.data, file.content_type,
                                                     slack_file_id=file.id))
        return attached[-1].id

    outcome = await pending.once(it.ctx, key, "file.attach", attach_all)
    return [] if outcome.repeated else attached


async def post_here(it: Interaction) -> None:
    """Upload an attached file to the conversation the button is in, once however many clicks."""
    file_id = record_id(action(it.body).get("value"))
    container = it.body.get("container") or {}
    channel = (it.body.get("channel") or {}).get("id") or container.get("channel_id")
    if not channel:
        raise Stale("no conversation")
    record, data = await attachments.read(it.ctx, file_id)

    async def upload() -> int:
        try:
            await it.client.files_upload_v2(channel=channel, file=data, filename=record.name, title=record.name)
        except SlackApiError as error:
            problem = error.response.get("error", "")
            raise ValidationError("channel", "The app is not a member of this conversation: invite it first."
                                  if problem in ("not_in_channel", "channel_not_found") else
                                  f"Slack refused the file ({problem}).") from None
        return record.id

    key = f"file_post:{channel}:{container.get('message_ts', '')}:{record.id}"
    if (await pending.once(it.ctx, key, "file.post", upload)).repeated:
        await it.answer(cards.notice(f"{record.name} was posted here already."))
