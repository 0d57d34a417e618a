"""Commercial documents in Slack: `/crm quote|order|intervention|invoice REF` opens a new
draft's editor, `/crm doc DOCREF` its card; the card's buttons move it through its workflow,
convert it, take payments and make its PDF, which arrives in the asker's conversation with
the app with a button to share it in a channel."""
from __future__ import annotations

import re

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from bot import cards
from bot import document_views as views
from bot.forms import read_form_state
from bot.parser import Command
from bot.payloads import Stale, action, form_values, record_id
from bot.surface import Interaction, Surface, acked, options, submission
from crm import contacts, pending, products, thirdparties
from crm.documents import printing, service, workflow
from crm.errors import ValidationError
from crm.filestore import FileStore

COMMAND_TYPES = {"quote": "proposal", "proposal": "proposal", "order": "order", "intervention": "intervention",
                 "invoice": "invoice"}


async def new_document(it: Interaction, command: Command) -> None:
    """`/crm quote REF` and the like: a new draft for REF, opened in its editor."""
    doc_type = COMMAND_TYPES[command.action]
    ref = command.ref(last=True)

    async def build() -> dict:
        thirdparty = await thirdparties.resolve(it.ctx, ref)
        document = await service.create(it.ctx, doc_type, thirdparty.id)
        return await editor(it, document.id)

    await it.open_form(build)


async def show_document(it: Interaction, command: Command) -> None:
    document = await service.resolve(it.ctx, command.ref(last=True))
    await it.answer(await card(it, document.id))


async def editor(it: Interaction, document_id: int, **options) -> dict:
    view = await service.view(it.ctx, document_id)
    workflow.check_editable(view.document.type, view.document.status)
    return views.editor_modal(view, await contacts.of_thirdparty(view.thirdparty.id), **options)


async def card(it: Interaction, document_id: int) -> dict:
    return views.document_card(await service.view(it.ctx, document_id), can_write=it.ctx.actor.can_write)


def _target(it: Interaction) -> tuple[int, str]:
    """The document id a button carries, and the word after its action's name
    ("document_move:validate"; action ids are unique within a block)."""
    pressed = action(it.body)
    return record_id(pressed.get("value", "")), str(pressed.get("action_id", "")).partition(":")[2]


def register(app: AsyncApp, surface: Surface) -> None:
    async def open_editor(it: Interaction) -> None:
        document_id, _ = _target(it)
        await it.open_form(lambda: editor(it, document_id))

    async def new_from_card(it: Interaction) -> None:
        thirdparty_id, _, doc_type = str((action(it.body).get("selected_option") or {}).get("value", "")).partition(":")
        if doc_type not in workflow.STATUSES:
            raise Stale(doc_type)

        async def build() -> dict:
            document = await service.create(it.ctx, doc_type, record_id(thirdparty_id))
            return await editor(it, document.id)
        await it.open_form(build)

    async def add_line(it: Interaction) -> None:
        document_id, _ = _target(it)
        form = read_form_state(it.body["view"].get("private_metadata", ""))
        product_id, values = views.read_new_line(form_values(it.body))
        problem = ""

        async def add() -> int:
            await service.add_line(it.ctx, document_id, values, product_id=product_id)
            return document_id

        # once per editor and line inputs: a double click adds one line (the inputs change once it is added)
        key = f"line:{it.body['view']['id']}:{action(it.body).get('block_id', '')}"
        try:
            await pending.once(it.ctx, key, "document.line", add)
        except ValidationError as error:
            problem = error.message
        await _refresh_editor(it, document_id, form.shown, problem)

    async def remove_line(it: Interaction) -> None:
        document_id, _, line = str(action(it.body).get("value", "")).partition(":")
        form = read_form_state(it.body["view"].get("private_metadata", ""))
        await service.remove_line(it.ctx, record_id(document_id), record_id(line))
        await _refresh_editor(it, record_id(document_id), form.shown)

    async def save(it: Interaction):
        form = read_form_state(it.body["view"].get("private_metadata", ""))
        document = await service.view(it.ctx, form.record_id)
        values, roles = views.read_header(form_values(it.body), document.document.type)
        changed = {role: ids for role, ids in roles.items()
                   if sorted(ids) != sorted(c.id for c in document.contacts[role])}
        await service.update(it.ctx, form.record_id, values, shown=form.shown, contacts=changed)
        return {}, lambda: _post_card(it, form.record_id)

    async def move(it: Interaction) -> None:
        document_id, move_name = _target(it)
        await service.apply_move(it.ctx, document_id, move_name)
        await it.answer(await card(it, document_id), replace=True)

    async def convert(it: Interaction) -> None:
        document_id, to_type = _target(it)
        made = await service.convert(it.ctx, document_id, to_type)
        await it.answer(await card(it, made.id))

    async def delete(it: Interaction) -> None:
        document_id, _ = _target(it)
        deleted = await service.delete(it.ctx, document_id)
        await it.answer(cards.notice(f"{deleted.title} was deleted."), replace=True)

    async def open_payment(it: Interaction) -> None:
        document_id, _ = _target(it)

        async def build() -> dict:
            view = await service.view(it.ctx, document_id)
            return views.payment_modal(view, it.ctx.now().astimezone(it.tz or it.ctx.timezone).date())
        await it.open_form(build)

    async def record_payment(it: Interaction):
        document_id = record_id(it.body["view"].get("private_metadata", ""))
        await service.add_payment(it.ctx, document_id, views.read_payment(form_values(it.body)))
        return {}, lambda: _post_card(it, document_id)

    async def make_pdf(it: Interaction) -> None:
        document_id, _ = _target(it)
        await send_pdf(it, document_id)

    async def open_share(it: Interaction) -> None:
        document_id, _ = _target(it)

        async def build() -> dict:
            return views.share_modal((await service.view(it.ctx, document_id)).document)
        await it.open_form(build)

    async def share(it: Interaction):
        document_id = record_id(it.body["view"].get("private_metadata", ""))
        channel = ((form_values(it.body).get("channel") or {}).get("value") or {}).get("selected_conversation")
        if not channel:
            raise ValidationError("channel", "Choose a channel.")
        document = (await service.view(it.ctx, document_id)).document
        if not document.pdf_sha256:
            raise ValidationError("channel", "This document has no PDF yet: press PDF on its card first.")
        try:
            await _upload(it, channel, document, f"Shared by <@{it.user_id}>.")
        except SlackApiError as error:
            problem = error.response.get("error", "")
            raise ValidationError("channel", "The app is not a member of that channel: invite it first."
                                  if problem in ("not_in_channel", "channel_not_found") else
                                  f"Slack refused the file ({problem}).") from None
        return {}, None

    async def product_choices(it: Interaction) -> list[dict]:
        return views.product_options(await products.find(it.ctx, it.body.get("value") or ""))

    app.action("document_edit")(acked(surface, open_editor))
    app.action("document_new")(acked(surface, new_from_card))
    app.action("document_line_add")(acked(surface, add_line))
    app.action("document_line_remove")(acked(surface, remove_line))
    app.action(re.compile(r"^document_move:"))(acked(surface, move))
    app.action(re.compile(r"^document_convert:"))(acked(surface, convert))
    app.action("document_delete")(acked(surface, delete))
    app.action("document_pay")(acked(surface, open_payment))
    app.action("document_pdf")(acked(surface, make_pdf))
    app.action("document_share")(acked(surface, open_share))
    app.view(views.EDITOR)(submission(surface, save, {role: f"contacts.{role}" for role in service.ROLE_LABELS}))
    app.view(views.PAYMENT)(submission(surface, record_payment))
    app.view(views.SHARE)(submission(surface, share))
    app.options("document_product")(options(surface, product_choices))


async def _refresh_editor(it: Interaction, document_id: int, shown: dict[str, str], problem: str = "") -> None:
    """The editor again, with the lines and totals as they now are; what was typed in its
    fields stays (same blocks), the line inputs start empty (new blocks)."""
    view = await editor(it, document_id, shown=shown, problem=problem)
    await it.client.views_update(view_id=it.body["view"]["id"], view=view)


async def _post_card(it: Interaction, document_id: int) -> None:
    await it.direct_message(await card(it, document_id))


async def send_pdf(it: Interaction, document_id: int) -> None:
    """The PDF, posted (files upload v2) in the asker's conversation with the app with a button
    to share it; said at once that it is being made."""
    document = (await service.view(it.ctx, document_id)).document

    async def make(channel: str) -> dict:
        await printing.make_pdf(it.ctx, document_id, it.surface.pdf_renderer())
        made = (await service.view(it.ctx, document_id)).document
        await _upload(it, channel, made)
        return views.pdf_ready(made)

    await it.deliver(promised=f"Making the PDF of {document.title}: it will arrive in your conversation "
                              "with the app.", progress=views.pdf_in_progress(document), make=make,
                     failed=lambda reason: views.pdf_failed(document, reason))


async def _upload(it: Interaction, channel: str, document, comment: str | None = None) -> None:
    data = FileStore.for_settings(it.settings).read(document.pdf_sha256)
    await it.client.files_upload_v2(channel=channel, file=data, filename=document.pdf_name,
                                    title=document.title, initial_comment=comment)
