"""The create/edit modals of third parties and contacts, and reading what was submitted.

Block ids are the domain's field names (`name`, `email`, `cf.segment`…), so a domain
`ValidationError(field, …)` lands next to its input with `response_action: errors`.

An edit form keeps in `private_metadata` the record's id and the fingerprint of each value it
showed (crm.versions): the save applies only what its user changed. A value an input cannot
show (bot.field_inputs.shows) is marked `~`: left empty, it is kept as it is.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from babel import Locale

from bot.blocks import button, divider, input_block, modal, option, plain, plain_section, text_input
from bot.cards import record_line
from bot.field_inputs import MAX_OPTIONS, input_block as custom_input, shows, submitted_value
from bot.payloads import Stale, record_id
from crm import contacts as crm_contacts, countries, phones, thirdparties as crm_thirdparties
from crm.customfields import FieldDefinition
from crm.documents.service import ROLE_LABELS
from crm.records import ThirdPartyRecord
from crm.thirdparties import MAX_TAGS, TYPE_LABELS

THIRDPARTY_NEW = "thirdparty_new"
THIRDPARTY_EDIT = "thirdparty_edit"
CONTACT_NEW = "contact_new"
CONTACT_EDIT = "contact_edit"
CREATE_ANYWAY = "create_anyway"
METADATA_MAX_LENGTH = 3000  # Slack's limit for private_metadata
KEPT = "~"  # marks the fingerprint of a value the form could not show

HINTS = {
    "phone": "With its country code, or as dialled in the country chosen below",
    "website": "e.g. https://example.com",
}
ENGLISH = Locale("en")
NO_CHOICE = "-"  # the menus' first option: a country or language taken away


@dataclass(frozen=True)
class Menu:
    """A built-in field chosen from a long list (an external select: Slack shows 100 options at most)."""

    choices: Callable[[Locale], tuple[tuple[str, str, str], ...]]  # every (code, name, folded name)
    name: Callable[[str, Locale], str]  # a code's name for a reader
    placeholder: str
    none: str


MENUS = {
    "country": Menu(countries.country_choices, countries.country_name, "Type a country", "No country"),
    "language": Menu(countries.language_choices, countries.language_name, "Type a language", "No language"),
}


def menu_options(field: str, typed: str, reader: Locale) -> list[dict]:
    """The options of a built-in menu matching what the person typed, in their language."""
    menu = MENUS[field]
    found = [option(name, code) for code, name in countries.matching(menu.choices(reader), typed, MAX_OPTIONS - 1)]
    return ([option(menu.none, NO_CHOICE)] if not typed.strip() else []) + found


def menu_field(name: str, label: str, value: str, reader: Locale) -> dict:
    menu = MENUS[name]
    element = {"type": "external_select", "min_query_length": 0, "placeholder": plain(menu.placeholder)}
    hint = None
    if value in {code for code, _, _ in menu.choices(reader)}:
        element["initial_option"] = option(menu.name(value, reader), value)
    elif value:
        hint = f"Now: {value}, which is not on the list. Leave this empty to keep it, or choose to replace it."
    return input_block(name, label, element, hint=hint)


def chosen(element: dict) -> str:
    """The value of a select's submitted state: "" when none was chosen, or the menus' "none"."""
    selected = element.get("selected_option")
    return "" if selected is None or selected["value"] == NO_CHOICE else selected["value"]


def _kept_values(values: dict, reader: Locale) -> set[str]:
    """The built-in fields holding what their menu cannot show (a value typed before today's lists)."""
    return {name for name, menu in MENUS.items()
            if values.get(name) and values[name] not in {code for code, _, _ in menu.choices(reader)}}
LONG_TEXT = {"address", "note_public", "note_private", "note"}
EMAILS = {"email"}
URLS = {"website"}
TEXT_BOX_MAX_LENGTH = 3000


@dataclass(frozen=True)
class FormState:
    """What an edit form keeps: its record (if it edits one) and the fingerprints of what it showed."""

    record_id: int | None
    shown: dict[str, str]
    kept: frozenset[str]


def form_state(versions: dict[str, str], kept=(), *, record: int | None = None) -> str:
    shown = {name: (KEPT + fingerprint if name in kept else fingerprint) for name, fingerprint in versions.items()}
    state = {"v": shown} if record is None else {"id": record, "v": shown}
    metadata = json.dumps(state, separators=(",", ":"))
    if len(metadata) > METADATA_MAX_LENGTH:
        raise ValueError(f"the form's state takes {len(metadata)} characters; Slack keeps {METADATA_MAX_LENGTH}")
    return metadata


def read_form_state(private_metadata: str, *, of_record: bool = True) -> FormState:
    """The state `form_state` wrote; anything else is a Stale form."""
    try:
        state = json.loads(private_metadata)
        record = record_id(state["id"]) if of_record else None
        shown = {str(name): str(value) for name, value in dict(state["v"]).items()}
    except (ValueError, KeyError, TypeError, AttributeError):
        raise Stale(private_metadata[:40]) from None
    kept = frozenset(name for name, value in shown.items() if value.startswith(KEPT))
    return FormState(record, {name: value.removeprefix(KEPT) for name, value in shown.items()}, kept)


def _field(name: str, label: str, value: str, reader: Locale) -> dict:
    """The input of a built-in field: a menu, or a box showing the value as people write it."""
    if name in MENUS:
        return menu_field(name, label, value, reader)
    return _text_field(name, label, phones.display(value) if name == "phone" else value)


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


def _thirdparty_blocks(fields: list[FieldDefinition], values: dict, tags, sales_reps, custom_values: dict,
                       *, editing: bool, reader: Locale) -> tuple[list[dict], set[str]]:
    blocks = [_text_field("name", "Name", values.get("name", ""), required=True), _type_field(values.get("type"))]
    if editing:
        blocks.append(_status_field(values.get("status", "active")))
    for name, label in crm_thirdparties.FIELDS.items():
        if name not in ("name", "type", "status"):
            blocks.append(_field(name, label, values.get(name, ""), reader))
    blocks.append(input_block("tags", "Tags", text_input(", ".join(tags), max_length=TEXT_BOX_MAX_LENGTH,
                                                         placeholder="vip, reseller"),
                              hint=f"Separate tags with commas; at most {MAX_TAGS}."))
    reps = {"type": "multi_users_select", "placeholder": plain("Choose sales reps")}
    if sales_reps:
        reps["initial_users"] = list(sales_reps)
    blocks.append(input_block("sales_reps", "Sales reps", reps))
    custom, kept = _custom_blocks(fields, custom_values, creating=not editing)
    return blocks + custom, kept | _kept_values(values, reader)


def new_thirdparty_modal(fields: list[FieldDefinition], values: dict | None = None, *, tags=(), sales_reps=(),
                         custom_values: dict | None = None, duplicates: list[ThirdPartyRecord] = (),
                         reader: Locale = ENGLISH) -> dict:
    """The create modal, filled with `values`; with `duplicates`, it comes back listing them,
    with a box to create anyway. `reader`: the language menus name countries and languages in."""
    blocks, _ = _thirdparty_blocks(fields, values or {}, tags, sales_reps, custom_values or {}, editing=False,
                                   reader=reader)
    if duplicates:
        blocks = _duplicate_blocks(duplicates) + blocks
    return modal("New third party", blocks, callback_id=THIRDPARTY_NEW, submit="Create")


def edit_thirdparty_modal(form: crm_thirdparties.EditForm, reader: Locale = ENGLISH) -> dict:
    values = {name: getattr(form.thirdparty, name) for name in crm_thirdparties.FIELDS}
    blocks, kept = _thirdparty_blocks(form.fields, values, form.tags, form.sales_reps, form.custom, editing=True,
                                      reader=reader)
    return modal("Edit third party", blocks, callback_id=THIRDPARTY_EDIT,
                 private_metadata=form_state(form.versions, kept, record=form.thirdparty.id))


def _duplicate_blocks(duplicates: list[ThirdPartyRecord]) -> list[dict]:
    blocks = [plain_section("This looks like a third party you already have:")]
    for tp in duplicates:
        blocks.append(plain_section(record_line(tp), accessory=button("Open", "thirdparty_open", str(tp.id))))
    confirm = {"type": "checkboxes", "options": [option("Create it anyway", "yes")]}
    blocks.append(input_block(CREATE_ANYWAY, "Not the same?", confirm, optional=False,
                              hint="Tick the box and press Create, or close this form and open the existing one."))
    blocks.append(divider())
    return blocks


def create_anyway(state: dict) -> bool:
    """Whether the person ticked "Create it anyway" after being shown likely duplicates."""
    selected = state.get(CREATE_ANYWAY, {}).get("value", {}).get("selected_options") or []
    return any(o["value"] == "yes" for o in selected)


def _contact_intro(tp: ThirdPartyRecord) -> dict:
    return plain_section(f"Contact of {tp.name} ({tp.code}). Without an address, {tp.name}'s is used.")


def new_contact_modal(form: crm_contacts.NewForm, reader: Locale = ENGLISH) -> dict:
    blocks = [_contact_intro(form.thirdparty)]
    blocks += _contact_fields({}, reader)
    blocks += _custom_blocks(form.fields, {}, creating=True)[0]
    return modal("New contact", blocks, callback_id=CONTACT_NEW, submit="Add", private_metadata=str(form.thirdparty.id))


def edit_contact_modal(form: crm_contacts.EditForm, reader: Locale = ENGLISH) -> dict:
    values = {name: getattr(form.contact, name) for name in crm_contacts.FIELDS}
    blocks = [_contact_intro(form.thirdparty)]
    blocks += _contact_fields(values, reader)
    custom, kept = _custom_blocks(form.fields, form.custom, creating=False)
    return modal("Edit contact", blocks + custom, callback_id=CONTACT_EDIT,
                 private_metadata=form_state(form.versions, kept | _kept_values(values, reader),
                                             record=form.contact.id))


def _contact_fields(values: dict, reader: Locale) -> list[dict]:
    blocks = [_field(name, label, values.get(name, ""), reader) for name, label in crm_contacts.FIELDS.items()
              if name != "default_roles"]
    roles = {"type": "checkboxes", "options": [option(label, role) for role, label in ROLE_LABELS.items()]}
    chosen = [o for o in roles["options"] if o["value"] in crm_contacts.default_roles(values.get("default_roles", ""))]
    if chosen:
        roles["initial_options"] = chosen
    blocks.append(input_block("default_roles", crm_contacts.FIELDS["default_roles"], roles,
                              hint="New documents of this third party get this contact in these roles."))
    return blocks


def _custom_blocks(fields: list[FieldDefinition], values: dict, *, creating: bool) -> tuple[list[dict], set[str]]:
    """The custom fields' inputs, and the names of those whose value an input cannot show."""
    if not fields:
        return [], set()
    kept = {f"cf.{f.key}" for f in fields if not shows(f, values.get(f.key))}
    return [divider()] + [custom_input(f, values.get(f.key), creating=creating) for f in fields], kept


def read_submission(state: dict, fields: list[FieldDefinition], field_names, kept=frozenset()) -> dict:
    """What a create/edit modal holds, as domain input: values, tags, sales reps, custom.

    A custom field in `kept` left empty is not given at all, so its value stays.
    """
    values = {}
    for name in field_names:
        if name in state:
            element = state[name]["value"]
            if "selected_option" in element:
                if element["selected_option"] is None and name in kept:
                    continue  # a value the menu could not show, left as it is
                values[name] = chosen(element)
            elif element.get("type") == "checkboxes":
                values[name] = [o["value"] for o in element.get("selected_options") or []]
            else:
                values[name] = element.get("value") or ""
    submission = {"values": values}
    if "tags" in state:
        raw = state["tags"]["value"].get("value") or ""
        submission["tags"] = [tag for tag in (t.strip() for t in raw.split(",")) if tag]
    if "sales_reps" in state:
        submission["sales_reps"] = state["sales_reps"]["value"].get("selected_users") or []
    custom = {}
    for f in fields:
        name = f"cf.{f.key}"
        if name in state:
            raw = submitted_value(f, state[name]["value"])
            if not (name in kept and raw in (None, "", [])):
                custom[f.key] = raw
    submission["custom"] = custom
    return submission
