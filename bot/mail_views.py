"""What email looks like in Slack, as pure views: the `/crm mail` form with its preview, the
messages that follow a sending, and the email templates' part of `/crm settings`."""
from __future__ import annotations

from dataclasses import dataclass

from babel import Locale

from bot import forms
from bot.blocks import (
    actions, button, context, divider, header, input_block, message, modal, option, plain, plain_section, text_input,
)
from bot.cards import WARNING
from crm.mail.oneoff import Letter, MailForm, Recipient, SentRecord
from crm.mail.templates import NAME_MAX_LENGTH, TYPE_LABELS, Rendered, TemplateRecord

MAIL = "mail_send"
PREVIEW = "mail_preview"  # the action of the form's menus: the preview follows them
TEMPLATE_NEW = "template_new"
TEMPLATE_EDIT = "template_edit"
TEMPLATE_DELETE = "template_delete"
MAX_OPTIONS = 100  # Slack's limit for a static select
MAX_LISTED_TEMPLATES = 40  # in the settings form, which holds 100 blocks in all
BODY_MAX_LENGTH = 3000  # Slack's limit for a text input
NO_DOCUMENT = forms.NO_CHOICE


@dataclass(frozen=True)
class MailChoice:
    """What the email form has chosen: a recipient key, a template name, a document id."""

    to: str
    template: str
    document: int | None


def mail_modal(form: MailForm, choice: MailChoice, preview: Rendered | str) -> dict:
    """The email form: recipient, template, document to attach, and the email as it will read
    (`preview`, or why it cannot be shown)."""
    recipients = [option(_recipient_label(r), r.key) for r in form.recipients[:MAX_OPTIONS]]
    template_options = [option(name, name) for name in form.templates[:MAX_OPTIONS]]
    documents = [option("No attachment", NO_DOCUMENT)] + [option(d.title, str(d.id))
                                                          for d in form.documents[:MAX_OPTIONS - 1]]
    blocks = [
        plain_section(f"An email to {form.thirdparty.name} ({form.thirdparty.code}), sent from your name; "
                      f"replies come back to the CRM's mailbox."),
        _menu("to", "To", recipients, choice.to, optional=False),
        _menu("template", "Template", template_options, choice.template, optional=False),
        _menu("document", "Attach the PDF of", documents, str(choice.document or NO_DOCUMENT), optional=True),
        divider(), header("Preview"),
    ]
    if isinstance(preview, Rendered):
        blocks += [plain_section(f"Subject: {preview.subject}"), plain_section(preview.text)]
    else:
        blocks.append(plain_section(f"{WARNING} {preview}"))
    return modal("Send an email", blocks, callback_id=MAIL, submit="Send", private_metadata=str(form.thirdparty.id))


def _recipient_label(recipient: Recipient) -> str:
    return f"{recipient.name} <{recipient.address}>"


def _menu(block_id: str, label: str, options: list[dict], chosen: str, *, optional: bool) -> dict:
    """A static select whose every change updates the preview."""
    element = {"type": "static_select", "action_id": PREVIEW, "options": options}
    initial = next((o for o in options if o["value"] == chosen), None)
    if initial:
        element["initial_option"] = initial
    return {**input_block(block_id, label, element, optional=optional), "dispatch_action": True}


def read_choice(state: dict) -> MailChoice:
    """The email form's choices, as Slack sends its state."""
    def chosen(block_id: str) -> str:
        return forms.chosen(next(iter((state.get(block_id) or {}).values()), {}))
    document = chosen("document")
    return MailChoice(chosen("to"), chosen("template"), int(document) if document.isdigit() else None)


def mail_sending(letter: Letter) -> dict:
    text = f"Sending “{letter.rendered.subject}” to {_recipient_label(letter.recipient)}…"
    return message(text, [plain_section(f"\u23f3 {text}")])


def mail_sent(letter: Letter, sent: SentRecord) -> dict:
    text = f"Sent “{sent.subject}” to {_recipient_label(letter.recipient)}."
    attached = f" with the PDF of {letter.document.title}" if letter.document else ""
    blocks = [plain_section(f"\u2705 {text}"),
              context(f"Template {letter.template.name}{attached}; the mail server answered: {sent.answer}"[:2900])]
    return message(text, blocks)


def mail_failed(letter: Letter, reason: str) -> dict:
    text = f"“{letter.rendered.subject}” to {_recipient_label(letter.recipient)} was not sent. {reason}"
    return message(text, [plain_section(f"{WARNING} {text}")])


# --- templates, in /crm settings ---

def templates_section(templates: list[TemplateRecord]) -> list[dict]:
    """The settings form's list of templates, each with Edit and Delete, and a button to add one."""
    blocks = [divider(), header("Email templates")]
    for template in templates[:MAX_LISTED_TEMPLATES]:
        menu = {"type": "overflow", "action_id": "template_menu",
                "options": [option("Edit", f"edit:{template.id}"), option("Delete…", f"delete:{template.id}")]}
        blocks.append(plain_section(_template_line(template), accessory=menu))
    if len(templates) > MAX_LISTED_TEMPLATES:
        blocks.append(context(f"And {len(templates) - MAX_LISTED_TEMPLATES} more, not shown."))
    blocks.append(actions(button("Add a template", "template_add"), block_id="add.template"))
    return blocks


def _template_line(template: TemplateRecord) -> str:
    return f"{template.name} · {template.language or 'any language'} · {TYPE_LABELS[template.type]}"


def template_modal(template: TemplateRecord | None, reader: Locale) -> dict:
    """The form of a new template, or of `template`."""
    type_options = [option(label, value) for value, label in TYPE_LABELS.items()]
    type_menu = {"type": "static_select", "options": type_options, "placeholder": plain("Used for…")}
    if template:
        type_menu["initial_option"] = next(o for o in type_options if o["value"] == template.type)
    blocks = [
        input_block("name", "Name", text_input(template.name if template else "", max_length=NAME_MAX_LENGTH,
                                               placeholder="proposal"), optional=False,
                    hint="Variants in other languages share the name: `/crm mail REF NAME` picks the "
                         "recipient's language."),
        input_block("type", "Type", type_menu, optional=False),
        forms.menu_field("language", "Language", template.language if template else "", reader),
        input_block("subject", "Subject", text_input(template.subject if template else "", max_length=998),
                    optional=False),
        input_block("text", "Text body", _body(template.text if template else ""), optional=False),
        input_block("html", "HTML body", _body(template.html if template else ""),
                    hint="Jinja2: {{ contact.first_name }}, {{ thirdparty.name }}, {{ document.ref }}, "
                         "{{ user.name }}, {{ company.name }}, {{ unsubscribe_url }}. Values are escaped."),
        context("Without a language, this variant goes to anyone no other variant fits."),
    ]
    if template:
        return modal("Edit email template", blocks, callback_id=TEMPLATE_EDIT, private_metadata=str(template.id))
    return modal("New email template", blocks, callback_id=TEMPLATE_NEW, submit="Add")


def _body(text: str) -> dict:
    return text_input(text, multiline=True, max_length=BODY_MAX_LENGTH)


def read_template(state: dict) -> dict:
    """The template form's values, as crm.mail.templates.create and update take them."""
    def element(block_id: str) -> dict:
        return (state.get(block_id) or {}).get("value") or {}
    values = {name: element(name).get("value") or "" for name in ("name", "subject", "text", "html")}
    return {**values, "type": forms.chosen(element("type")), "language": forms.chosen(element("language"))}


def template_delete_modal(template: TemplateRecord) -> dict:
    text = f"The template {_template_line(template)} will be deleted. This cannot be undone."
    return modal("Delete template", [plain_section(text)], callback_id=TEMPLATE_DELETE, submit="Delete",
                 private_metadata=str(template.id), close="Keep")
