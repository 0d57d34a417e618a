"""Messages about third parties: the record card, search results, help, warnings.

User text is shown in plain_text (header, fields, sections), which Slack never parses; the
few lines that mix it with our own markup (dates, mentions) escape it.
"""
from __future__ import annotations

from bot import files_views, timeline_views
from bot.blocks import (
    actions, button, confirmation, context, divider, escape, fields_sections, header, markup_field, message,
    option, plain, plain_field, plain_section, section, user_mention, when,
)
from babel.numbers import format_currency

from crm import fieldtypes, phones
from crm.documents.workflow import STATUS_LABELS, TYPE_LABELS as DOCUMENT_TYPES
from crm.records import DocumentRecord, ThirdPartyRecord
from crm.thirdparties import TYPE_LABELS, Card

MAX_CARD_CONTACTS = 10
MAX_LISTED = 10
MAX_SELECT_OPTIONS = 100  # Slack's limit for a static_select
WARNING = "\u26a0\ufe0f"

HELP = [
    ("/crm new", "create a third party in a form (all fields, tags, sales reps, custom fields)"),
    ("/crm new prospect|customer|both NAME", "create one at once, e.g. `/crm new prospect Acme Widgets`"),
    ("/crm show REF", "the record card; REF is a code, a name or the start of a name"),
    ("/crm search TEXT", "find by name, alias, code, email, phone, town, contact names and emails"),
    ("/crm edit REF", "edit a third party"),
    ("/crm close REF / reopen REF", "mark a third party closed or active again"),
    ("/crm contact add REF", "add a contact to a third party"),
    ("/crm list FILTER", "third parties by type:, status:, tag:, rep:me, town:, created>2026-01-01, cf.KEY>N, words…"),
    ("/crm export FILTER [csv|xlsx]", "the same list as a file, posted in your conversation with the app"),
    ("/crm merge REF into REF", "merge two third parties, after showing what the kept one becomes"),
    ("/crm duplicates", "likely duplicate pairs, each with a Merge button"),
    ("/crm delete REF", "admins: delete a third party for good (right to erasure), after confirmation"),
    ("/crm timeline REF", "REF's events newest first, by type, with Older/Newer; log calls, meetings and tasks"),
    ("/crm note REF TEXT", 'a note on REF\'s timeline (quote a REF with spaces: `/crm note "Acme Widgets" …`); '
                           "without TEXT, a form"),
    ("/crm quote|order|intervention|invoice REF", "a new document for a third party, in its editor"),
    ("/crm doc DOCREF", "a document's card: validate, sign, convert, pay, PDF (DOCREF: its ref, or (PROV12) for a draft)"),
    ("/crm mail REF [TEMPLATE]", "email one of REF's contacts from a template, a document's PDF attached if you like"),
    ("/crm campaign new|list|show ID", "mass mailings to the third parties a filter finds, now or at a set time"),
    ("/crm inbox", "admins: emails from unknown senders, each to assign to a third party, and those that failed"),
    ("/crm reassign @from @to", "admins: move a rep's third parties and open documents to another, after confirmation"),
    ("/crm stats [@user] [PERIOD]", "figures per sales rep, table and chart; PERIOD: 2026, 2026-Q3, 2026-11, 2026-01-01..2026-03-31"),
    ("/crm products [TEXT]", "the product catalogue, searched; admins add and edit products"),
    ("/crm settings", "admins: company details, numbering masks, custom fields and email templates"),
]


def help_message(unknown: str | None = None) -> dict:
    lines = [f"`{usage}`  {what}" for usage, what in HELP]
    blocks = []
    if unknown:
        blocks.append(plain_section(f"I don't know “/crm {unknown}”. Here is what I can do:"))
    else:
        blocks.append(section("*What `/crm` does*"))
    blocks += [section("\n".join(lines)), context('Names with spaces can be quoted: `/crm show "Acme Widgets"`.')]
    return message("How to use /crm", blocks)


def error_message(text: str, example: str | None = None) -> dict:
    blocks = [plain_section(f"{WARNING} {text}")]
    if example:
        blocks.append(context(f"For example: `{example}`"))
    return message(text, blocks)


def notice(text: str) -> dict:
    """A short answer in words, for the person who asked."""
    return message(text, [plain_section(text)])


def _type_and_status(tp: ThirdPartyRecord) -> str:
    status = "" if tp.status == "active" else " · closed"
    return TYPE_LABELS[tp.type] + status


def record_card(card: Card, *, private: bool = True, can_write: bool = False, names: dict[str, str] | None = None,
                shared_by: str | None = None, buttons: bool = True, documents: list[DocumentRecord] = ()) -> dict:
    """The record card (SLACK-UX): header, fields, context line, contacts, events, buttons.

    `private=False` is the version shared in a channel: no private note, no buttons, people
    named (from `names`) rather than mentioned, and who shared it. Write buttons only for
    those who `can_write`.
    """
    tp = card.thirdparty
    person = _person(private, names or {})
    fields = [
        plain_field("Code", tp.code),
        plain_field("Type", _type_and_status(tp)),
        plain_field("Town", " ".join(p for p in (tp.zip, tp.town, tp.country) if p) or "–"),
        markup_field("Sales reps", ", ".join(person(u) for u in card.sales_reps) or "–"),
    ]
    for label, value in (("Email", tp.email), ("Phone", phones.display(tp.phone)), ("Website", tp.website),
                         ("VAT id", tp.vat_id), ("Alias", tp.alias), ("Language", tp.language)):
        if value:
            fields.append(plain_field(label, value))
    with_buttons = private and buttons
    # a card names its record in one block, `card:ID`: a file shared in its thread goes to that record
    blocks = [header(tp.name) if with_buttons else {**header(tp.name), "block_id": f"card:{tp.id}"},
              *fields_sections(fields)]
    extra = [_custom_field(definition, value) for definition, value in card.custom]
    if card.tags:
        extra.insert(0, plain_field("Tags", ", ".join(card.tags)))
    blocks += fields_sections(extra)
    if tp.address:
        blocks.append(plain_section(f"Address\n{tp.address}"))
    notes = [("Public note", tp.note_public)] + ([("Private note", tp.note_private)] if private else [])
    for label, note in notes:
        if note:
            blocks.append(plain_section(f"{label}\n{note}"))
    blocks.append(_contacts_section(card))
    if private and documents:
        blocks.append(_documents_section(documents))
    last = card.events[0].occurred_at if card.events else tp.updated_at
    blocks.append(context(f"Created {when(tp.created_at)} by {person(tp.created_by)} · last activity {when(last)}"))
    if card.events:
        lines = [f"{when(e.occurred_at)} · `{e.code}` {escape(e.label)}" for e in card.events]
        blocks.append(section("*Last events*\n" + "\n".join(lines)))
    if shared_by:
        blocks.append(context(f"Shared by {person(shared_by)}"))
    if with_buttons:
        blocks.append(_card_buttons(card, can_write))
    return message(f"{tp.name} ({tp.code})", blocks)


def _person(private: bool, names: dict[str, str]):
    """How a card names a person: a mention where only its reader sees it, else a plain name
    (a mention in a shared card would notify them)."""
    def person(user_id: str) -> str:
        if private:
            return user_mention(user_id)
        return escape(names.get(user_id) or user_id)
    return person


def _custom_field(definition, value) -> dict:
    if definition.field_type == "datetime":
        return markup_field(escape(definition.label), when(value))
    return plain_field(definition.label, fieldtypes.display(definition, value))


def _card_buttons(card: Card, can_write: bool) -> dict:
    tp = card.thirdparty
    value = str(tp.id)
    elements = []
    if can_write:
        elements += [button("Edit", "thirdparty_edit", value), button("Add contact", "contact_add", value)]
        if tp.email or any(c.email for c in card.contacts):
            elements.append(button("Send email", "mail_open", value))
    elements += [*timeline_views.card_entries(tp.id, can_write), files_views.card_button(tp.id)]
    if can_write:
        elements.append({"type": "static_select", "action_id": "document_new", "placeholder": plain("New document"),
                         "options": [option(label, f"{tp.id}:{doc_type}") for doc_type, label in DOCUMENT_TYPES.items()]})
        if card.contacts:
            elements.append({
                "type": "static_select", "action_id": "contact_edit", "placeholder": plain("Edit a contact"),
                "options": [option(c.full_name, str(c.id)) for c in card.contacts[:MAX_SELECT_OPTIONS]],
            })
    elements.append(button("Share in channel", "thirdparty_share", value, confirm=confirmation(
        "Share in channel?", f"Everyone in this channel will see the card of {tp.name}, "
                             f"without its private note.", "Share")))
    return actions(*elements, block_id=f"card:{tp.id}")


def _documents_section(documents: list[DocumentRecord]) -> dict:
    """The third party's newest documents; `/crm doc DOCREF` shows one."""
    lines = [f"• {d.title} · {STATUS_LABELS[d.status]} · "
             f"{format_currency(d.total_incl_tax, d.currency, locale='en')}" for d in documents]
    return plain_section("Documents\n" + "\n".join(lines))


def _contacts_section(card: Card) -> dict:
    if not card.contacts:
        return plain_section("Contacts\nNone yet.")
    lines = []
    for contact in card.contacts[:MAX_CARD_CONTACTS]:
        details = " · ".join(p for p in (contact.job_title, contact.email, phones.display(contact.phone)) if p)
        lines.append(f"• {contact.full_name}" + (f" — {details}" if details else ""))
    more = len(card.contacts) - MAX_CARD_CONTACTS
    if more > 0:
        lines.append(f"…and {more} more")
    return plain_section("Contacts\n" + "\n".join(lines))


def record_line(tp: ThirdPartyRecord) -> str:
    """One line naming a record: name, code, type and status, town (plain text)."""
    town = f" · {tp.town}" if tp.town else ""
    return f"{tp.name} · {tp.code} · {_type_and_status(tp)}{town}"


def thirdparty_list(title: str, thirdparties: list[ThirdPartyRecord], pager: dict | None = None) -> dict:
    """A short list with a Show button per line (search results, ambiguous refs), and the
    `pager` (an actions block of Previous and Next buttons) below it when there are more pages."""
    blocks = [plain_section(title)]
    for tp in thirdparties[:MAX_LISTED]:
        blocks.append(plain_section(record_line(tp), accessory=button("Show", "thirdparty_show", str(tp.id))))
    if pager:
        blocks.append(pager)
    return message(title, blocks)


def duplicate_warning(name: str, token: str, duplicates: list[ThirdPartyRecord]) -> dict:
    """Shown when `/crm new TYPE NAME` looks like an existing record: open it, or create anyway
    (the pending creation is kept server-side; the button carries only its token)."""
    blocks = [plain_section(f"“{name}” looks like a third party you already have:")]
    for tp in duplicates:
        blocks.append(plain_section(record_line(tp), accessory=button("Open", "thirdparty_show", str(tp.id))))
    blocks.append(divider())
    blocks.append(actions(button("Create anyway", "thirdparty_create_anyway", token, style="primary")))
    return message(f"{name} looks like an existing third party", blocks)


def loading_view(title: str) -> dict:
    """What a form shows while it is being filled (Slack's trigger expires after 3 s)."""
    return {"type": "modal", "title": plain(title, 24), "close": plain("Cancel", 24),
            "blocks": [section("Loading…")]}


def notice_view(title: str, text: str) -> dict:
    """A modal that only says something (an error in place of a form)."""
    return {"type": "modal", "title": plain(title, 24), "close": plain("Close", 24),
            "blocks": [plain_section(text)]}

