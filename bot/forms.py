"""The create/edit modals of third parties and contacts, and reading what was submitted.

Block ids are the domain's field names (`name`, `email`, `cf.segment`…), so a domain
`ValidationError(field, …)` lands next to its input with `response_action: errors`.
"""
from __future__ import annotations

from bot.blocks import button, divider, input_block, modal, option, plain, section, text_input
from bot.cards import record_line
from bot.field_inputs import input_block as custom_input, submitted_value
from crm import contacts as crm_contacts, thirdparties as crm_thirdparties
from crm.thirdparties import TYPE_LABELS
from models import Contact, CustomField, ThirdParty

THIRDPARTY_NEW = "thirdparty_new"
THIRDPARTY_EDIT = "thirdparty_edit"
CONTACT_NEW = "contact_new"
CONTACT_EDIT = "contact_edit"
CREATE_ANYWAY = "create_anyway"

HINTS = {
    "country": "Two-letter ISO code, e.g. FR, DE, US",
    "language": "e.g. en, fr or en_US",
    "website": "e.g. https://example.com",
}
LONG_TEXT = {"address", "note_public", "note_private", "note"}
EMAILS = {"email"}
URLS = {"website"}


def _text_field(name: str, label: str, value: str, *, required: bool = False) -> dict:
    if name in EMAILS:
        element = {"type": "email_text_input", **({"initial_value": value} if value else {})}
    elif name in URLS:
        element = {"type": "url_text_input", **({"initial_value": value} if value else {})}
    else:
        multiline = name in LONG_TEXT
        element = text_input(value, multiline=multiline, max_length=3000 if multiline else 255)
    return input_block(name, label, element, optional=not required, hint=HINTS.get(name))


def _type_field(current: str | None) -> dict:
    options = [option(label, value) for value, label in TYPE_LABELS.items()]
    element = {"type": "static_select", "options": options, "placeholder": plain("Prospect or customer?")}
    if current:
        element["initial_option"] = next(o for o in options if o["value"] == current)
    return input_block("type", "Type", element, optional=False)


def _status_field(current: str) -> dict:
    options = [option("Active", "active"), option("Closed", "closed")]
    element = {"type": "radio_buttons", "options": options,
               "initial_option": next(o for o in options if o["value"] == current)}
    return input_block("status", "Status", element, optional=False)


def thirdparty_modal(custom_fields: list[CustomField], values: dict | None = None, *, thirdparty_id: int | None = None,
                     tags=(), sales_reps=(), custom_values: dict | None = None,
                     duplicates: list[ThirdParty] = ()) -> dict:
    """The create modal, or the edit modal of `thirdparty_id`, filled with `values`.

    With `duplicates`, the create modal comes back listing them, with a box to create anyway.
    """
    values = values or {}
    blocks = _duplicate_blocks(duplicates) if duplicates else []
    blocks += [
        _text_field("name", "Name", values.get("name", ""), required=True),
        _type_field(values.get("type")),
    ]
    if thirdparty_id:
        blocks.append(_status_field(values.get("status", "active")))
    for name, label in crm_thirdparties.FIELDS.items():
        if name not in ("name", "type", "status"):
            blocks.append(_text_field(name, label, values.get(name, "")))
    blocks.append(input_block("tags", "Tags", text_input(", ".join(tags), placeholder="vip, reseller"),
                              hint="Separate tags with commas"))
    reps = {"type": "multi_users_select", "placeholder": plain("Choose sales reps")}
    if sales_reps:
        reps["initial_users"] = list(sales_reps)
    blocks.append(input_block("sales_reps", "Sales reps", reps))
    blocks += _custom_blocks(custom_fields, custom_values)
    if thirdparty_id:
        return modal("Edit third party", blocks, callback_id=THIRDPARTY_EDIT, private_metadata=str(thirdparty_id))
    return modal("New third party", blocks, callback_id=THIRDPARTY_NEW, submit="Create")


def thirdparty_values(tp: ThirdParty) -> dict:
    return {name: getattr(tp, name) for name in crm_thirdparties.FIELDS}


def _duplicate_blocks(duplicates: list[ThirdParty]) -> list[dict]:
    blocks = [section(":mag: *This looks like a third party you already have:*")]
    for tp in duplicates:
        blocks.append(section(record_line(tp), accessory=button("Open", "thirdparty_open", str(tp.id))))
    confirm = {"type": "checkboxes", "options": [option("Create it anyway", "yes")]}
    blocks.append(input_block(CREATE_ANYWAY, "Not the same?", confirm, optional=False,
                              hint="Tick the box and press Create, or close this form and open the existing one."))
    blocks.append(divider())
    return blocks


def create_anyway(state: dict) -> bool:
    """Whether the person ticked "Create it anyway" after being shown likely duplicates."""
    selected = state.get(CREATE_ANYWAY, {}).get("value", {}).get("selected_options") or []
    return any(o["value"] == "yes" for o in selected)


def contact_modal(tp: ThirdParty, custom_fields: list[CustomField], contact: Contact | None = None,
                  custom_values: dict | None = None) -> dict:
    values = {name: getattr(contact, name) for name in crm_contacts.FIELDS} if contact else {}
    blocks = [section(f"Contact of *{tp.name}* (`{tp.code}`). Without an address, {tp.name}'s is used.")]
    for name, label in crm_contacts.FIELDS.items():
        blocks.append(_text_field(name, label, values.get(name, "")))
    blocks += _custom_blocks(custom_fields, custom_values)
    if contact:
        return modal("Edit contact", blocks, callback_id=CONTACT_EDIT, private_metadata=str(contact.id))
    return modal("New contact", blocks, callback_id=CONTACT_NEW, submit="Add", private_metadata=str(tp.id))


def _custom_blocks(custom_fields: list[CustomField], values: dict | None) -> list[dict]:
    if not custom_fields:
        return []
    values = values or {}
    return [divider()] + [custom_input(f, values.get(f.key)) for f in custom_fields]


def read_submission(state: dict, custom_fields: list[CustomField], field_names) -> dict:
    """What a create/edit modal holds, as domain input: values, tags, sales reps, custom."""
    values = {}
    for name in field_names:
        if name in state:
            element = state[name]["value"]
            if "selected_option" in element:
                selected = element["selected_option"]
                values[name] = selected["value"] if selected else ""
            else:
                values[name] = element.get("value") or ""
    submission = {"values": values}
    if "tags" in state:
        raw = state["tags"]["value"].get("value") or ""
        submission["tags"] = [tag for tag in (t.strip() for t in raw.split(",")) if tag]
    if "sales_reps" in state:
        submission["sales_reps"] = state["sales_reps"]["value"].get("selected_users") or []
    submission["custom"] = {
        f.key: submitted_value(f, state[f"cf.{f.key}"]["value"])
        for f in custom_fields if f"cf.{f.key}" in state
    }
    return submission
