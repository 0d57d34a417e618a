"""Messages about third parties: the record card, search results, help, warnings."""
from __future__ import annotations

import json
from zoneinfo import ZoneInfo

from bot.blocks import (
    actions, button, context, divider, escape, fields_sections, header, message, option, plain, section,
    user_mention, when,
)
from crm.contacts import full_name
from crm.thirdparties import TYPE_LABELS, Card
from models import ThirdParty

MAX_CARD_CONTACTS = 10
MAX_LISTED = 10
MAX_SELECT_OPTIONS = 100  # Slack's limit for a static_select

HELP = [
    ("/crm new", "create a third party in a form (all fields, tags, sales reps, custom fields)"),
    ("/crm new prospect|customer|both NAME", "create one at once, e.g. `/crm new prospect Acme Widgets`"),
    ("/crm show REF", "the record card; REF is a code, a name or the start of a name"),
    ("/crm search TEXT", "find by name, alias, code, email, phone, town, contact names and emails"),
    ("/crm edit REF", "edit a third party"),
    ("/crm close REF / reopen REF", "mark a third party closed or active again"),
    ("/crm contact add REF", "add a contact to a third party"),
    ("/crm settings", "admins: numbering masks and custom fields"),
]


def help_message(unknown: str | None = None) -> dict:
    lines = [f"`{usage}`  {what}" for usage, what in HELP]
    intro = f"I don't know `/crm {escape(unknown)}`. Here is what I can do:" if unknown else "*What `/crm` does*"
    blocks = [section(intro), section("\n".join(lines)),
              context('Names with spaces can be quoted: `/crm show "Acme Widgets"`.')]
    return message("How to use /crm", blocks)


def error_message(text: str, example: str | None = None) -> dict:
    body = f":warning: {escape(text)}"
    if example:
        body += f"\nFor example: `{example}`"
    return message(text, [section(body)])


def _type_and_status(tp: ThirdParty) -> str:
    status = "" if tp.status == "active" else " · closed"
    return TYPE_LABELS[tp.type] + status


def record_card(card: Card, tz: ZoneInfo | None, *, private: bool = True, buttons: bool = True) -> dict:
    """The record card (SLACK-UX): header, fields, context line, contacts, events, buttons.

    `private=False` is the version shared in a channel: no private note, no buttons.
    """
    tp = card.thirdparty
    pairs = [
        ("Code", tp.code),
        ("Type", _type_and_status(tp)),
        ("Town", escape(" ".join(p for p in (tp.zip, tp.town, tp.country) if p)) or "–"),
        ("Sales reps", ", ".join(user_mention(u) for u in card.sales_reps) or "–"),
    ]
    for label, value in (("Email", tp.email), ("Phone", tp.phone), ("Website", tp.website),
                         ("VAT id", tp.vat_id), ("Alias", tp.alias), ("Language", tp.language)):
        if value:
            pairs.append((label, escape(value)))
    blocks = [header(tp.name), *fields_sections(pairs)]
    extra = [(label, escape(text)) for label, text in card.custom]
    if card.tags:
        extra.insert(0, ("Tags", ", ".join(f"`{escape(t)}`" for t in card.tags)))
    blocks += fields_sections(extra)
    if tp.address:
        blocks.append(section(f"*Address*\n{escape(tp.address)}"))
    notes = [("Public note", tp.note_public)] + ([("Private note", tp.note_private)] if private else [])
    for label, note in notes:
        if note:
            blocks.append(section(f"*{label}*\n{escape(note)}"))
    blocks.append(_contacts_section(card))
    last = card.events[0].occurred_at if card.events else tp.updated_at
    blocks.append(context(f"Created {when(tp.created_at, tz)} by {user_mention(tp.created_by)} · "
                          f"last activity {when(last, tz)}"))
    if card.events:
        lines = [f"{when(e.occurred_at, tz)} · `{e.code}` {escape(e.label)}" for e in card.events]
        blocks.append(section("*Last events*\n" + "\n".join(lines)))
    if private and buttons:
        value = str(tp.id)
        elements = [button("Edit", "thirdparty_edit", value), button("Add contact", "contact_add", value)]
        if card.contacts:
            elements.append({
                "type": "static_select", "action_id": "contact_edit", "placeholder": plain("Edit a contact"),
                "options": [option(full_name(c), str(c.id)) for c in card.contacts[:MAX_SELECT_OPTIONS]],
            })
        elements.append(button("Share in channel", "thirdparty_share", value))
        blocks.append(actions(*elements, block_id=f"card:{tp.id}"))
    return message(f"{tp.name} ({tp.code})", blocks)


def _contacts_section(card: Card) -> dict:
    if not card.contacts:
        return section("*Contacts*\nNone yet.")
    lines = []
    for contact in card.contacts[:MAX_CARD_CONTACTS]:
        details = " · ".join(escape(p) for p in (contact.job_title, contact.email, contact.phone) if p)
        lines.append(f"• {escape(full_name(contact))}" + (f" — {details}" if details else ""))
    more = len(card.contacts) - MAX_CARD_CONTACTS
    if more > 0:
        lines.append(f"…and {more} more")
    return section("*Contacts*\n" + "\n".join(lines))


def record_line(tp: ThirdParty) -> str:
    """One line naming a record: name, code, type and status, town."""
    town = f" · {escape(tp.town)}" if tp.town else ""
    return f"*{escape(tp.name)}*  `{tp.code}` · {_type_and_status(tp)}{town}"


def public_stub(tp: ThirdParty) -> dict:
    """What a channel sees of a record unless its full card is shared: name, code, type."""
    return message(f"{tp.name} ({tp.code})", [section(f"*{escape(tp.name)}*  `{tp.code}` · {TYPE_LABELS[tp.type]}")])


def thirdparty_list(title: str, thirdparties: list[ThirdParty]) -> dict:
    """A short list with a Show button per line (search results, ambiguous refs)."""
    if not thirdparties:
        return message(title, [section(escape(title))])
    blocks = [section(f"*{escape(title)}*")]
    for tp in thirdparties[:MAX_LISTED]:
        blocks.append(section(record_line(tp), accessory=button("Show", "thirdparty_show", str(tp.id))))
    return message(title, blocks)


def duplicate_warning(name: str, thirdparty_type: str, duplicates: list[ThirdParty]) -> dict:
    """Shown when `/crm new TYPE NAME` looks like an existing record: open it or create anyway."""
    blocks = [section(f":mag: *{escape(name)}* looks like a third party you already have:")]
    for tp in duplicates:
        blocks.append(section(record_line(tp), accessory=button("Open", "thirdparty_show", str(tp.id))))
    blocks.append(divider())
    blocks.append(actions(button("Create anyway", "thirdparty_create_anyway",
                                 json.dumps({"name": name, "type": thirdparty_type}), style="primary")))
    return message(f"{name} looks like an existing third party", blocks)


def saved_message(text: str) -> dict:
    return message(text, [section(f":white_check_mark: {escape(text)}")])
