"""Block Kit inputs for custom fields: an `input` block per definition, and its state back to raw input.

Pure: a definition (see crm.fieldtypes) and a value in, a dict out. What Slack sends back goes
through `submitted_value`, then `crm.fieldtypes.parse` like input from any other surface.

Slack's limits shape four things:
- a yes/no field is one checkbox in an always optional block: an unticked box means No, so a
  required yes/no field cannot be enforced in a modal, and an empty value shows unticked and saves No;
- a text box takes 3000 characters at most, below the 5000 a text field holds;
- a static select lists 100 options at most: a field with more uses an external select, whose
  options come from the app as the person types (bot.options);
- an input cannot show a value that is not among its options (an option removed since).
A value the input cannot show (`shows` is False) is left out of the input, with a hint saying
what it holds; the form then keeps it unless the person enters something (bot.forms).
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable

from crm.errors import ValidationError
from crm.fieldtypes import (
    CHOICE_TYPES, MAX_LENGTHS, NUMBER_TYPES, TEXT_TYPES, display, from_storage, removed_options, to_storage,
)

ACTION_ID = "value"
LABEL_MAX_LENGTH = 2000
OPTION_TEXT_MAX_LENGTH = 75
MAX_OPTIONS = 100
TEXT_BOX_MAX_LENGTH = 3000  # Slack's cap for a plain_text_input
CHECKED = "true"

ELEMENT_TYPES = {
    "string": "plain_text_input",
    "text": "plain_text_input",
    "integer": "number_input",
    "amount": "number_input",
    "date": "datepicker",
    "datetime": "datetimepicker",
    "boolean": "checkboxes",
    "select": "static_select",
    "multiselect": "multi_static_select",
    "email": "email_text_input",
    "phone": "plain_text_input",
    "url": "url_text_input",
}

_ELEMENT_SETTINGS = {
    "string": {"max_length": MAX_LENGTHS["string"]},
    "phone": {"max_length": MAX_LENGTHS["string"]},
    "text": {"multiline": True, "max_length": TEXT_BOX_MAX_LENGTH},
    "integer": {"is_decimal_allowed": False},
    "amount": {"is_decimal_allowed": True},
}


EXTERNAL = {"select": "external_select", "multiselect": "multi_external_select"}


def element_type(definition) -> str:
    """The Slack element of a field: its type's, or an external select past 100 options."""
    if definition.field_type in CHOICE_TYPES and len(definition.options) > MAX_OPTIONS:
        return EXTERNAL[definition.field_type]
    return ELEMENT_TYPES[definition.field_type]


def shows(definition, value) -> bool:
    """Whether the field's input can show `value` as it is (see the module docstring)."""
    if value is None:
        return True
    if removed_options(definition, value):
        return False
    return not (definition.field_type in TEXT_TYPES and len(to_storage(definition, value)) > TEXT_BOX_MAX_LENGTH)


def input_block(definition, value=None, *, block_id: str | None = None, creating: bool = False) -> dict:
    """The modal input for one field, showing `value` (in a new record's form, the default when None)."""
    current = value if value is not None or not creating else from_storage(definition, definition.default)
    kind = element_type(definition)
    element = {"type": kind, "action_id": ACTION_ID, **_ELEMENT_SETTINGS.get(definition.field_type, {})}
    if kind in EXTERNAL.values():
        element["min_query_length"] = 0
    elif definition.field_type in _OFFERED_OPTIONS:
        element["options"] = _OFFERED_OPTIONS[definition.field_type](definition)
    block = {
        "type": "input",
        "block_id": block_id or f"cf.{definition.key}",
        "label": _plain_text(definition.label, LABEL_MAX_LENGTH),
        "optional": definition.field_type == "boolean" or not definition.required,
        "element": element,
    }
    if current is not None and shows(definition, current):
        element.update(_INITIAL_VALUES[definition.field_type](definition, current))
    elif current is not None:
        block["optional"] = True
        block["hint"] = _plain_text(_kept_hint(definition, current), LABEL_MAX_LENGTH)
    return block


def _kept_hint(definition, value) -> str:
    if definition.field_type in CHOICE_TYPES:
        return f"Now: {display(definition, value)}. Leave this empty to keep it, or choose to replace it."
    length = len(to_storage(definition, value))
    return (f"Now holds {length:,} characters, more than a Slack box shows. Leave this empty to keep it, "
            f"or type to replace it.")


def option_object(option: dict) -> dict:
    return {"text": _plain_text(option["label"], OPTION_TEXT_MAX_LENGTH), "value": option["key"]}


def submitted_value(definition, state_value: dict):
    """The raw input for `crm.fieldtypes.parse` in a submitted element state.

    An element of another type than the field's means the field changed while the modal was open.
    """
    expected = element_type(definition)
    if state_value.get("type") != expected:
        raise ValidationError(
            f"cf.{definition.key}", f"{definition.label}: this field changed meanwhile; close the form and open it again.",
        )
    return _STATE_READERS[expected](state_value)


def _plain_text(text: str, limit: int) -> dict:
    return {"type": "plain_text", "text": text if len(text) <= limit else text[: limit - 1] + "…"}


def _checkbox(definition) -> dict:
    return {"text": _plain_text(definition.label, OPTION_TEXT_MAX_LENGTH), "value": CHECKED}


def _option_objects(definition) -> list[dict]:
    return [option_object(option) for option in definition.options[:MAX_OPTIONS]]


def _initial_options(definition, keys: list[str]) -> dict:
    """The options to preselect (`shows` made sure they are all still options)."""
    offered = {option["key"]: option_object(option) for option in definition.options}
    chosen = [offered[key] for key in keys]
    return {"initial_options": chosen} if chosen else {}


def _initial_option(definition, key: str) -> dict:
    chosen = _initial_options(definition, [key])
    return {"initial_option": chosen["initial_options"][0]} if chosen else {}


_OFFERED_OPTIONS: dict[str, Callable[[Any], list[dict]]] = {
    "boolean": lambda definition: [_checkbox(definition)],
    "select": _option_objects,
    "multiselect": _option_objects,
}

# Text-like elements take the value's storage text: the same digits, ISO date or string parse reads.
_INITIAL_VALUES: dict[str, Callable[[Any, Any], dict]] = {
    **dict.fromkeys(
        (*TEXT_TYPES, *NUMBER_TYPES),
        lambda definition, value: {"initial_value": to_storage(definition, value)},
    ),
    "date": lambda definition, day: {"initial_date": day.isoformat()},
    "datetime": lambda definition, moment: {"initial_date_time": int(moment.timestamp())},
    "boolean": lambda definition, flag: {"initial_options": [_checkbox(definition)]} if flag else {},
    "select": _initial_option,
    "multiselect": _initial_options,
}


def _typed_value(state: dict) -> str | None:
    return state.get("value")


def selected_moment(state: dict) -> datetime | None:
    """The moment a datetimepicker's submitted state holds, in UTC, or None."""
    epoch = state.get("selected_date_time")
    return None if epoch is None else datetime.fromtimestamp(epoch, timezone.utc)


_STATE_READERS: dict[str, Callable[[dict], Any]] = {
    **dict.fromkeys(("plain_text_input", "number_input", "email_text_input", "url_text_input"), _typed_value),
    "datepicker": lambda state: state.get("selected_date"),
    "datetimepicker": selected_moment,
    "checkboxes": lambda state: any(option["value"] == CHECKED for option in state.get("selected_options") or []),
    **dict.fromkeys(("static_select", "external_select"),
                    lambda state: (state.get("selected_option") or {}).get("value")),
    **dict.fromkeys(("multi_static_select", "multi_external_select"),
                    lambda state: [option["value"] for option in state.get("selected_options") or []]),
}
