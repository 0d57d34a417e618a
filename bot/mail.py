"""Email in Slack: `/crm mail REF [TEMPLATE]` opens a form with the recipient, the template, a
document to attach and a preview that follows the choices; sending is said at once in the
asker's conversation with the app, then confirmed when the mail server took the email, or
told why not. Admins keep the templates from `/crm settings`."""
from __future__ import annotations

import dataclasses

from slack_bolt.async_app import AsyncApp

from bot import admin
from bot import mail_views as views
from bot.parser import Command
from bot.payloads import Stale, action, form_values, record_id, selected_value
from bot.surface import Interaction, Surface, acked, submission
from crm import pending, thirdparties
from crm.documents import service as documents
from crm.errors import NotFound, ValidationError
from crm.mail import oneoff, templates
from crm.mail.oneoff import Letter
from crm.permissions import require_admin


async def start(it: Interaction, command: Command) -> None:
    """`/crm mail REF [TEMPLATE]`: the email form, starting from TEMPLATE or the third party's default."""
    ref = command.ref()
    template = command.after(1) or oneoff.DEFAULT_TEMPLATE

    async def build() -> dict:
        return await new_form(it, (await thirdparties.resolve(it.ctx, ref)).id, template)

    await it.open_form(build)


async def new_form(it: Interaction, thirdparty_id: int, template: str = oneoff.DEFAULT_TEMPLATE,
                   document_id: int | None = None) -> dict:
    """The email form to the third party's first address, from `template`, `document_id`'s PDF attached."""
    form = await oneoff.form(it.ctx, thirdparty_id)
    if template not in form.templates:
        raise NotFound(f"There is no email template named {template!r}; the templates are: "
                       + ", ".join(form.templates) + ".")
    return await _form_view(it, form, views.MailChoice(form.recipients[0].key, template, document_id))


async def _form_view(it: Interaction, form: oneoff.MailForm, choice: views.MailChoice) -> dict:
    """The form with the email as the choices make it, or why it cannot be made."""
    try:
        letter = await _letter(it, form.thirdparty.id, choice)
        preview = letter.rendered
    except ValidationError as error:
        preview = error.message
    return views.mail_modal(form, choice, preview)


async def _letter(it: Interaction, thirdparty_id: int, choice: views.MailChoice) -> Letter:
    return await oneoff.prepare(it.ctx, thirdparty_id, to=choice.to, template_name=choice.template,
                                document_id=choice.document, user_name=await _own_name(it))


def _template_of_document(form: oneoff.MailForm, choice: views.MailChoice) -> views.MailChoice:
    """A document just attached to an email still on the default template: its type's template
    (`proposal`…), when there is one."""
    document = next((d for d in form.documents if d.id == choice.document), None)
    if document is None or choice.template != oneoff.DEFAULT_TEMPLATE or document.type not in form.templates:
        return choice
    return dataclasses.replace(choice, template=document.type)


async def _own_name(it: Interaction) -> str:
    """The asker's Slack display name: emails go from it."""
    return (await it.names([it.user_id])).get(it.user_id, "")


async def _send(it: Interaction, letter: Letter) -> None:
    """Said at once in the asker's conversation with the app, then sent (the PDF made first,
    if one is attached), then confirmed, or told why not."""
    sender_name = await _own_name(it)

    async def make(channel: str) -> dict:
        attachment = (await oneoff.document_attachment(it.ctx, letter.document, it.surface.pdf_renderer())
                      if letter.document else None)
        sent = await oneoff.send(it.ctx, letter, sender_name=sender_name, attachment=attachment)
        return views.mail_sent(letter, sent)

    await it.deliver(promised=f"Sending “{letter.rendered.subject}”…", progress=views.mail_sending(letter),
                     make=make, failed=lambda reason: views.mail_failed(letter, reason))


def register(app: AsyncApp, surface: Surface) -> None:
    async def update_preview(it: Interaction) -> None:
        view = it.body.get("view") or {}
        form = await oneoff.form(it.ctx, record_id(view.get("private_metadata", "")))
        choice = views.read_choice(form_values(it.body))
        if action(it.body).get("block_id") == "document":
            choice = _template_of_document(form, choice)
        await it.client.views_update(view_id=view["id"], view=await _form_view(it, form, choice))

    async def send(it: Interaction):
        thirdparty_id = record_id(it.body["view"].get("private_metadata", ""))
        letter = await _letter(it, thirdparty_id, views.read_choice(form_values(it.body)))

        async def claim() -> int:  # one sending per form, however many times it is submitted
            return thirdparty_id

        claimed = await pending.once(it.ctx, f"mail:{it.body['view']['id']}", "mail.send", claim)
        return {}, None if claimed.repeated else (lambda: _send(it, letter))

    async def open_from_card(it: Interaction) -> None:
        thirdparty_id = record_id(action(it.body).get("value", ""))
        await it.open_form(lambda: new_form(it, thirdparty_id))

    async def open_from_document(it: Interaction) -> None:
        """The document card's Email: its PDF attached, from the default template of its type."""
        shown = await documents.view(it.ctx, record_id(action(it.body).get("value", "")))
        document = shown.document
        await it.open_form(lambda: new_form(it, document.thirdparty_id, document.type, document.id))

    app.action("mail_open")(acked(surface, open_from_card))
    app.action("mail_document")(acked(surface, open_from_document))
    app.action(views.PREVIEW)(acked(surface, update_preview))
    app.view(views.MAIL)(submission(surface, send))

    async def add_template(it: Interaction) -> None:
        await it.open_form(lambda: _admin_form(it, views.template_modal(None, it.reader)), push=True)

    async def template_menu(it: Interaction) -> None:
        choice, _, template_id = selected_value(it.body).partition(":")
        if choice not in ("edit", "delete"):
            raise Stale(choice[:40])

        async def build() -> dict:
            template = await templates.get(it.ctx, record_id(template_id))
            return await _admin_form(it, views.template_modal(template, it.reader) if choice == "edit"
                                     else views.template_delete_modal(template))

        await it.open_form(build, push=True)

    async def create_template(it: Interaction):
        await templates.create(it.ctx, views.read_template(form_values(it.body)))
        return {}, admin.refresh_settings(it)

    async def update_template(it: Interaction):
        template_id = record_id(it.body["view"].get("private_metadata", ""))
        await templates.update(it.ctx, template_id, views.read_template(form_values(it.body)))
        return {}, admin.refresh_settings(it)

    async def delete_template(it: Interaction):
        await templates.delete(it.ctx, record_id(it.body["view"].get("private_metadata", "")))
        return {}, admin.refresh_settings(it)

    app.action("template_add")(acked(surface, add_template))
    app.action("template_menu")(acked(surface, template_menu))
    app.view(views.TEMPLATE_NEW)(submission(surface, create_template))
    app.view(views.TEMPLATE_EDIT)(submission(surface, update_template))
    app.view(views.TEMPLATE_DELETE)(submission(surface, delete_template))


async def _admin_form(it: Interaction, view: dict) -> dict:
    """Template forms are for admins: anyone else is told so instead."""
    require_admin(it.ctx.actor, "change email templates")
    return view
