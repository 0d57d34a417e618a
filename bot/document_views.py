"""Block Kit of commercial documents: the editor modal, the document card, the payment and
share forms, and the PDF messages. Pure functions: data in, dict out.

User text (labels, notes, names) is shown in plain_text, which Slack never parses.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from babel.numbers import format_currency

from bot.blocks import (
    actions, button, confirmation, context, divider, escape, fields_sections, header, input_block, markup_field,
    message, modal, option, plain, plain_field, plain_section, text_input, user_mention,
)
from bot.forms import form_state
from crm.documents import lines as document_lines, workflow
from crm.documents.service import HEADER_FIELDS, PAYMENT_METHODS, ROLE_LABELS, TYPE_FIELDS, DocumentView
from crm.documents.workflow import STATUS_LABELS, TYPE_LABELS
from crm.records import ContactRecord, DocumentRecord, LineRecord

EDITOR = "document_edit"
PAYMENT = "document_pay"
SHARE = "document_share"
LINE_FIELDS = ("product", "label", "quantity", "unit_price", "discount_percent", "vat_rate")
MAX_CARD_LINES = 20
MAX_CONTACT_OPTIONS = 100  # Slack's limit for a static select
NOTE_MAX_LENGTH = 3000  # Slack's limit for a plain_text_input
VERBS = {"proposal": "Make a proposal", "order": "Make an order", "intervention": "Make an intervention",
         "invoice": "Make an invoice"}


def amount(value: Decimal, currency: str) -> str:
    return format_currency(value, currency, locale="en")


def _number(value: Decimal) -> str:
    return format(value.normalize(), "f")


def line_summary(line: LineRecord, currency: str) -> str:
    discount = f" · −{_number(line.discount_percent)}%" if line.discount_percent else ""
    unit = f" {line.unit}" if line.unit else ""
    return (f"{line.label}\n{_number(line.quantity)}{unit} × {amount(line.unit_price, currency)}{discount}"
            f" · VAT {_number(line.vat_rate)}% = {amount(line.total_excl_tax, currency)}")


def totals_text(view: DocumentView) -> str:
    currency = view.document.currency
    parts = [f"Total excl. tax {amount(view.totals.excl_tax, currency)}"]
    parts += [f"VAT {_number(rate)}% {amount(vat, currency)}" for rate, vat in view.totals.vat_by_rate.items()]
    parts.append(f"Total incl. tax {amount(view.totals.incl_tax, currency)}")
    return " · ".join(parts)


# --- the editor ---

def editor_modal(view: DocumentView, contacts: list[ContactRecord], *, shown: dict[str, str] | None = None,
                 problem: str = "") -> dict:
    """The draft's editor: its fields, its lines with Remove buttons and live totals, and a
    line to add (a product from the catalogue, or free text). Saving keeps the fields."""
    document = view.document
    generation = max((line.id for line in view.lines), default=0)  # new inputs once a line is added
    blocks = [plain_section(f"{document.title} for {view.thirdparty.name} ({view.thirdparty.code})"),
              *_header_inputs(document, contacts, view.contacts), divider(), header("Lines")]
    for line in view.lines:
        blocks.append(plain_section(line_summary(line, document.currency),
                                    accessory=button("Remove", "document_line_remove", f"{document.id}:{line.id}")))
    if not view.lines:
        blocks.append(context("No lines yet: add one below."))
    blocks += [plain_section(totals_text(view)), divider()]
    if len(view.lines) < document_lines.MAX_LINES:
        blocks += _line_inputs(generation)
        if problem:
            blocks.append(plain_section(f"\u26a0\ufe0f {problem}"))
        blocks.append(actions(button("Add line", "document_line_add", str(document.id), style="primary"),
                              block_id=f"line_add.{generation}"))
    else:
        blocks.append(context(f"A document holds at most {document_lines.MAX_LINES} lines."))
    return modal(f"{TYPE_LABELS[document.type]} draft"[:24], blocks, callback_id=EDITOR, submit="Save", close="Close",
                 private_metadata=form_state(shown if shown is not None else view.versions, record=document.id))


def _header_inputs(document: DocumentRecord, contacts: list[ContactRecord],
                   chosen: dict[str, list[ContactRecord]]) -> list[dict]:
    blocks = [input_block("issued_on", HEADER_FIELDS["issued_on"], _datepicker(document.issued_on), optional=False)]
    for name in TYPE_FIELDS.get(document.type, ()):
        if name == "intervention_minutes":
            minutes = {"type": "number_input", "is_decimal_allowed": False, "min_value": "0"}
            if document.intervention_minutes is not None:
                minutes["initial_value"] = str(document.intervention_minutes)
            blocks.append(input_block(name, HEADER_FIELDS[name], minutes))
        else:
            blocks.append(input_block(name, HEADER_FIELDS[name], _datepicker(getattr(document, name))))
    rep = {"type": "users_select", "placeholder": plain("Choose the sales rep")}
    if document.rep_id:
        rep["initial_user"] = document.rep_id
    blocks.append(input_block("rep_id", HEADER_FIELDS["rep_id"], rep, hint="The documents count for this rep."))
    blocks.append(input_block("currency", HEADER_FIELDS["currency"], text_input(document.currency, max_length=3),
                              optional=False, hint="ISO 4217 code, e.g. EUR, USD, JPY."))
    if contacts:
        options = [option(contact.full_name, str(contact.id)) for contact in contacts[:MAX_CONTACT_OPTIONS]]
        for role, label in ROLE_LABELS.items():
            element = {"type": "multi_static_select", "options": options, "placeholder": plain("Choose contacts")}
            initial = [o for o in options if int(o["value"]) in {c.id for c in chosen.get(role, [])}]
            if initial:
                element["initial_options"] = initial
            blocks.append(input_block(f"contacts.{role}", label, element))
    for name in ("note_public", "note_private"):
        blocks.append(input_block(name, HEADER_FIELDS[name], text_input(
            getattr(document, name)[:NOTE_MAX_LENGTH], multiline=True, max_length=NOTE_MAX_LENGTH)))
    description = {"type": "rich_text_input"}
    if document.description_rich:
        description["initial_value"] = document.description_rich
    blocks.append(input_block("description", HEADER_FIELDS["description"], description,
                              hint="Printed on the PDF under the lines."))
    return blocks


def _datepicker(day: date | None) -> dict:
    element = {"type": "datepicker"}
    if day:
        element["initial_date"] = day.isoformat()
    return element


def _line_inputs(generation: int) -> list[dict]:
    product = {"type": "external_select", "action_id": "document_product", "min_query_length": 0,
               "placeholder": plain("Type a product ref or name")}
    number = {"type": "number_input", "is_decimal_allowed": True}
    return [
        header("Add a line"),
        input_block(f"line_product.{generation}", "Product", product,
                    hint="Its label and prices are used unless you enter others below."),
        input_block(f"line_label.{generation}", "Label (free-text line)", text_input(max_length=255)),
        input_block(f"line_quantity.{generation}", "Quantity", {**number, "min_value": "0"}, hint="1 if empty."),
        input_block(f"line_unit_price.{generation}", "Unit price excl. tax", number),
        input_block(f"line_discount_percent.{generation}", "Discount %",
                    {**number, "min_value": "0", "max_value": "100"}),
        input_block(f"line_vat_rate.{generation}", "VAT rate %", {**number, "min_value": "0", "max_value": "100"}),
    ]


def read_new_line(state: dict) -> tuple[int | None, dict]:
    """The product chosen (its id, or None) and the values typed for the line to add."""
    found: dict[str, dict] = {}
    for block_id, inputs in state.items():
        name, _, _ = block_id.partition(".")
        if name.startswith("line_") and name[5:] in LINE_FIELDS:
            found[name[5:]] = next(iter(inputs.values()), {})
    selected = (found.pop("product", {}) or {}).get("selected_option") or {}
    values = {name: element.get("value") for name, element in found.items() if element.get("value") not in (None, "")}
    return (int(selected["value"]) if str(selected.get("value", "")).isdigit() else None), values


def read_header(state: dict, doc_type: str) -> tuple[dict, dict[str, list[int]]]:
    """The editor's fields as values for crm.documents.service.update, and its contacts by role."""
    values = {}
    for name in ("issued_on", "currency", "note_public", "note_private", *TYPE_FIELDS.get(doc_type, ())):
        element = (state.get(name) or {}).get("value")
        if element is not None:
            values[name] = element.get("selected_date") if element.get("type") == "datepicker" else element.get("value")
    rep = (state.get("rep_id") or {}).get("value")
    if rep is not None:
        values["rep_id"] = rep.get("selected_user")
    description = (state.get("description") or {}).get("value")
    if description is not None:
        values["description"] = description.get("rich_text_value")
    contacts = {}
    for role in ROLE_LABELS:
        element = (state.get(f"contacts.{role}") or {}).get("value")
        if element is not None:
            contacts[role] = [int(o["value"]) for o in element.get("selected_options") or []
                              if str(o.get("value", "")).isdigit()]
    return values, contacts


def product_options(found) -> list[dict]:
    return [option(f"{p.ref} · {p.label}", str(p.id)) for p in found]


# --- the card ---

def document_card(view: DocumentView, *, can_write: bool) -> dict:
    """The document card: who it is for, its status and figures, its lines, and the buttons
    its status allows."""
    document, thirdparty = view.document, view.thirdparty
    currency = document.currency
    fields = [plain_field("Third party", f"{thirdparty.name} ({thirdparty.code})"),
              plain_field("Status", STATUS_LABELS[document.status]),
              plain_field("Date", document.issued_on.isoformat())]
    for name in TYPE_FIELDS.get(document.type, ()):
        value = getattr(document, name)
        if value is not None:
            fields.append(plain_field(HEADER_FIELDS[name], str(value)))
    fields.append(markup_field("Sales rep", user_mention(document.rep_id) if document.rep_id else "–"))
    fields.append(plain_field("Total incl. tax", amount(view.totals.incl_tax, currency)))
    if document.type == "invoice" and document.status != "draft":
        fields += [plain_field("Paid", amount(view.paid, currency)),
                   plain_field("Remaining", amount(view.remaining, currency))]
    blocks = [header(document.title), *fields_sections(fields)]
    related = ([f"made from {view.origin.title}"] if view.origin else []) + [
        f"made into {derived.title}" for derived in view.derived]
    if related:
        blocks.append(plain_section("This document was " + "; ".join(related) + "."))
    shown = view.lines[:MAX_CARD_LINES]
    if shown:
        blocks.append(plain_section("\n".join(line_summary(line, currency).replace("\n", " · ") for line in shown)))
    if len(view.lines) > len(shown):
        blocks.append(context(f"…and {len(view.lines) - len(shown)} more lines (all on the PDF)."))
    blocks.append(plain_section(totals_text(view)))
    if document.note_public:
        blocks.append(plain_section(f"Public note\n{document.note_public}"))
    if document.note_private:
        blocks.append(plain_section(f"Private note\n{document.note_private}"))
    blocks.append(context(f"{escape(TYPE_LABELS[document.type])} of {escape(thirdparty.name)} · "
                          f"created by {user_mention(document.created_by)}"))
    blocks += _card_buttons(view, can_write)
    return message(f"{document.title} · {thirdparty.name}", blocks)


def _card_buttons(view: DocumentView, can_write: bool) -> list[dict]:
    document = view.document
    target = str(document.id)
    elements = []
    if can_write:
        if document.status == "draft":
            elements.append(button("Edit", "document_edit", target, style="primary"))
        for move in view.moves:
            elements.append(button(move.label, f"document_move:{move.name}", target,
                                   style="primary" if move.name == "validate" else None,
                                   confirm=_confirm_move(document, move)))
        if document.type == "invoice" and document.status == "validated":
            elements.append(button("Record a payment", "document_pay", target))
        for to_type in view.conversions:
            elements.append(button(VERBS[to_type], f"document_convert:{to_type}", target))
    elements.append(button("PDF", "document_pdf", target))
    if can_write and document.thirdparty_id is not None:
        elements.append(button("Email", "mail_document", target))
    if can_write and document.status == "draft":
        elements.append(button("Delete draft", "document_delete", target, style="danger", confirm=confirmation(
            "Delete this draft?", f"{document.title} and its lines will be deleted.", "Delete")))
    return [actions(*elements[:25])]


def _confirm_move(document: DocumentRecord, move: workflow.Move) -> dict | None:
    if move.name == "validate" and document.type == "invoice":
        return confirmation("Validate this invoice?", "A validated invoice can never be changed again.", "Validate")
    if move.name == "abandon":
        return confirmation("Abandon this invoice?", "It stays in the books as abandoned.", "Abandon")
    return None


# --- payments, PDFs and sharing ---

def payment_modal(view: DocumentView, today: date) -> dict:
    document = view.document
    remaining = {"type": "number_input", "is_decimal_allowed": True, "min_value": "0",
                 "initial_value": _number(view.remaining)}
    methods = {"type": "static_select", "options": [option(label, key) for key, label in PAYMENT_METHODS.items()]}
    methods["initial_option"] = methods["options"][0]
    blocks = [plain_section(f"{document.title} · {view.thirdparty.name} · remaining "
                            f"{amount(view.remaining, document.currency)}"),
              input_block("amount", f"Amount ({document.currency})", remaining, optional=False),
              input_block("paid_on", "Payment date", _datepicker(today), optional=False),
              input_block("method", "Method", methods, optional=False)]
    return modal("Record a payment", blocks, callback_id=PAYMENT, submit="Record", private_metadata=str(document.id))


def read_payment(state: dict) -> dict:
    def element(name: str) -> dict:
        return (state.get(name) or {}).get("value") or {}
    return {"amount": element("amount").get("value"), "paid_on": element("paid_on").get("selected_date"),
            "method": (element("method").get("selected_option") or {}).get("value")}


def pdf_in_progress(document: DocumentRecord) -> dict:
    text = f"Making the PDF of {document.title}…"
    return message(text, [plain_section(f"\u23f3 {text}")])


def pdf_ready(document: DocumentRecord) -> dict:
    text = f"The PDF of {document.title} is below."
    return message(text, [plain_section(text), actions(button("Share in a channel", "document_share",
                                                               str(document.id)))])


def pdf_failed(document: DocumentRecord, reason: str) -> dict:
    text = f"The PDF of {document.title} could not be made: {reason}"
    return message(text, [plain_section(f"\u26a0\ufe0f {text}")])


def share_modal(document: DocumentRecord) -> dict:
    channel = {"type": "conversations_select", "default_to_current_conversation": False,
               "filter": {"include": ["public", "private"], "exclude_bot_users": True},
               "placeholder": plain("Choose a channel")}
    blocks = [plain_section(f"Post the PDF of {document.title} in a channel. Everyone there will see it."),
              input_block("channel", "Channel", channel, optional=False,
                          hint="The app must be a member of the channel.")]
    return modal("Share the PDF", blocks, callback_id=SHARE, submit="Share", private_metadata=str(document.id))
