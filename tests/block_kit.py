"""Slack's Block Kit rules, checked on the payloads the app hands to (the stand-in for) Slack.

Slack refuses a view or a message that breaks Block Kit's rules (`invalid_arguments`,
`invalid_blocks`), so `tests/slack_stub.py` refuses them too, with the problems found here.
Each problem is one sentence that starts with where it is, e.g.
`blocks[3].element.initial_value: 300 characters, more than max_length 255`.

Two sources, in this order:

1. slack_sdk's own Block Kit models (`View`, `Block.parse`, `BlockElement.parse`, `Option`,
   `OptionGroup`, `ConfirmObject`): every object is built and all its validators run. They
   check, among others: modal title 1-24 characters, submit/close at most 24, 1-100 blocks
   in a view, no submit/close on a home tab, private_metadata at most 3,000, callback_id at
   most 255; block_id and action_id at most 255; section text at most 3,000 and at most 10
   fields; header text at most 150; context at most 10 elements; actions at most 25; input
   label and hint at most 2,000; placeholder at most 150; button text at most 75, value at
   most 2,000, url at most 3,000; option text at most 75, value at most 150; static selects
   at most 100 options or option groups; overflow at most 5 options; confirm title at most
   100, text 300, confirm/deny 30; datepicker initial_date YYYY-MM-DD (as a prefix only).
   A model only checks itself (not what it holds), so each object is checked at its own path.
   An unknown block or element type, which the SDK parses to None, is a problem.

2. What the models miss, from Slack's Block Kit reference
   (https://docs.slack.dev/reference/block-kit/blocks, .../block-elements,
   .../composition-objects, https://docs.slack.dev/reference/views and
   https://docs.slack.dev/reference/methods/chat.postMessage), the numbers in `LIMITS`:
   - message: at most 50 blocks, `text` at most 40,000 characters, text or blocks needed
     (or attachments; not when deleting the original), response_type in_channel/ephemeral;
   - view: a modal has a title, and a submit button when it holds an input block;
   - block_ids unique among a view's or message's blocks, action_ids unique within a block;
   - section fields at most 2,000 characters each;
   - text objects are `plain_text` or `mrkdwn` with non-empty text, and `plain_text` where
     Slack says so (TEXTS); option descriptions at most 75 characters;
   - elements of a type the block may hold (ELEMENTS_IN), e.g. input blocks hold inputs;
   - checkboxes and radio buttons at most 10 options, overflow at least 2; an initial option
     is one of the options offered (same value and text), except for external selects whose
     options come from the app's options endpoint;
   - plain_text_input max_length 1-3,000, min_length 0-3,000 and not above max_length,
     initial_value within max_length; email/url/number inputs' values are strings, a
     number_input's parse as numbers (integers unless is_decimal_allowed);
   - user/channel/conversation initial values are ids (strings); datepicker initial_date
     is a real YYYY-MM-DD date; datetimepicker initial_date_time an integer;
   - arrays inside blocks are never empty (as the SDK notes in `basic_objects`).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any, Callable, Generator, Iterator

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.basic_objects import JsonObject
from slack_sdk.models.blocks import Block, BlockElement, ConfirmObject, Option, OptionGroup
from slack_sdk.models.views import View

# Slack's limits that slack_sdk's models do not check.
LIMITS = {
    "message.blocks": 50,
    "message.text": 40_000,
    "section.fields[].text": 2_000,
    "option.description": 75,
    "checkboxes.options": 10,
    "radio_buttons.options": 10,
    "overflow.options (at least)": 2,
    "plain_text_input.max_length": 3_000,
    "plain_text_input.min_length": 3_000,
}

TEXT_TYPES = frozenset({"plain_text", "mrkdwn"})
VIEW_TYPES = ("modal", "home")
RESPONSE_TYPES = frozenset({"in_channel", "ephemeral"})

_SELECTS = {"static_select", "external_select", "users_select", "conversations_select", "channels_select"}
_MENUS = _SELECTS | {f"multi_{kind}" for kind in _SELECTS}
_PICKERS = {"checkboxes", "radio_buttons", "datepicker", "timepicker"}
_TYPED = {"plain_text_input", "rich_text_input", "email_text_input", "url_text_input", "number_input", "file_input"}
_BUTTONS = {"button", "overflow", "workflow_button"}
# Which elements a block may hold, from each block's reference page.
ELEMENTS_IN = {
    "input": _MENUS | _PICKERS | _TYPED | {"datetimepicker"},
    "actions": _MENUS | _PICKERS | _BUTTONS | {"datetimepicker", "plain_text_input", "rich_text_input"},
    "section": _MENUS | _PICKERS | _BUTTONS | {"image"},
    "context": TEXT_TYPES | {"image"},
}
# Options whose text may be mrkdwn; elsewhere (menus, overflow) options are plain_text.
MRKDWN_OPTIONS = frozenset({"checkboxes", "radio_buttons"})
# Elements offering options; the external ones' initial options are not among them.
OPTION_ELEMENTS = frozenset({"static_select", "multi_static_select", "overflow"} | MRKDWN_OPTIONS)
EXTERNAL_SELECTS = frozenset({"external_select", "multi_external_select"})
# Initial users, channels and conversations are ids: one, or a list of them.
ID_FIELDS = {
    "initial_user": False,
    "initial_channel": False,
    "initial_conversation": False,
    "initial_users": True,
    "initial_channels": True,
    "initial_conversations": True,
}
# Keys holding nested objects, checked at their own path rather than by their parent's model.
NESTED = {
    "view": ("blocks",),
    "section": ("fields", "accessory"),
    "actions": ("elements",),
    "context": ("elements",),
    "input": ("element",),
    "element": ("options", "option_groups", "initial_option", "initial_options", "confirm"),
    "option_group": ("options",),
}
# Arrays of blocks and elements that Slack refuses empty (and the lists of ID_FIELDS).
ARRAYS = ("elements", "fields", "options", "option_groups", "initial_options")
INTEGER = re.compile(r"-?\d+")
DECIMAL = re.compile(r"-?(\d+(\.\d*)?|\.\d+)")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Text:
    """What a text object must be where it sits."""

    required: bool = False
    plain: bool = False  # plain_text only
    max_length: int | None = None  # only where slack_sdk does not check the length


ANY, PLAIN = Text(), Text(plain=True)
REQUIRED_PLAIN = Text(required=True, plain=True)
# The text objects each kind of object holds.
TEXTS = {
    "modal": {"title": REQUIRED_PLAIN, "submit": PLAIN, "close": PLAIN},
    "section": {"text": ANY},
    "header": {"text": PLAIN},
    "input": {"label": PLAIN, "hint": PLAIN},
    "element": {"placeholder": PLAIN},
    "button": {"text": PLAIN},
    "workflow_button": {"text": PLAIN},
    "confirm": {"title": PLAIN, "text": ANY, "confirm": REQUIRED_PLAIN, "deny": REQUIRED_PLAIN},
    "option": {"text": REQUIRED_PLAIN, "description": Text(plain=True, max_length=LIMITS["option.description"])},
    "mrkdwn option": {"text": Text(required=True), "description": Text(max_length=LIMITS["option.description"])},
    "option_group": {"label": REQUIRED_PLAIN},
}

Problems = Iterator[str]


# -- public API --------------------------------------------------------------


def view_problems(view: Any, surface: str | None = None) -> list[str]:
    """What Slack would refuse in a modal or home tab; `surface` ("modal"/"home") pins the type."""
    return list(_view(view, surface))


def message_problems(message: Any) -> list[str]:
    """What Slack would refuse in chat.postMessage/update/postEphemeral arguments or a response_url body."""
    return list(_message(message))


def assert_valid_view(view: Any, surface: str | None = None) -> None:
    _assert_none(view_problems(view, surface), "view")


def assert_valid_message(message: Any) -> None:
    _assert_none(message_problems(message), "message")


def _assert_none(problems: list[str], what: str) -> None:
    if problems:
        raise AssertionError(f"Slack would refuse this {what}:\n- " + "\n- ".join(problems))


# -- views and messages ------------------------------------------------------


def _view(view: Any, surface: str | None) -> Problems:
    if not isinstance(view, dict):
        yield f"view: must be a view object, not {type(view).__name__}"
        return
    kind = view.get("type")
    allowed = (surface,) if surface else VIEW_TYPES
    if kind in View.types and kind not in allowed:
        yield f"type: must be {' or '.join(allowed)} here, not {kind!r}"
    yield from _sdk("view", lambda v: View(**v), view, NESTED["view"])
    if kind == "modal":
        yield from _texts(view, "", TEXTS["modal"])
        if "submit" not in view and any(_kind(block) == "input" for block in _list(view.get("blocks"))):
            yield "submit: a modal holding input blocks needs a submit button"
    yield from _blocks(view.get("blocks"), "blocks")


def _message(message: Any) -> Problems:
    if not isinstance(message, dict):
        yield f"message: must be an object, not {type(message).__name__}"
        return
    text, blocks = message.get("text"), message.get("blocks")
    if not (text or blocks or message.get("attachments") or message.get("delete_original") is True):
        yield "message: needs text or blocks"
    if text is not None:
        yield from _string(text, "text", LIMITS["message.text"])
    if "response_type" in message and message["response_type"] not in RESPONSE_TYPES:
        yield f"response_type: must be in_channel or ephemeral, not {message['response_type']!r}"
    yield from _count(blocks, "blocks", at_most=LIMITS["message.blocks"])
    yield from _blocks(blocks, "blocks")


def _blocks(blocks: Any, where: str) -> Problems:
    if blocks is None:
        return
    if not isinstance(blocks, list):
        yield f"{where}: must be a list of blocks"
        return
    for index, block in enumerate(blocks):
        yield from _block(block, f"{where}[{index}]")
    yield from _unique(blocks, where, "block_id")


# -- blocks ------------------------------------------------------------------


def _block(block: Any, where: str) -> Problems:
    if not isinstance(block, dict):
        yield f"{where}: must be a block object"
        return
    kind = _kind(block)
    if (yield from _sdk(where, Block.parse, block, NESTED.get(kind, ()))) is None:
        return
    yield from _arrays(block, where)
    yield from _texts(block, where, TEXTS.get(kind, {}))
    if kind == "section":
        for field, at in _entries(block, "fields", where):
            yield from _text(field, at, Text(max_length=LIMITS["section.fields[].text"]))
    if kind in ELEMENTS_IN:
        held = _held_elements(block, where)
        for element, at in held:
            yield from _element(element, at, kind)
        yield from _unique([element for element, _ in held], where, "action_id")


def _held_elements(block: dict, where: str) -> list[tuple[Any, str]]:
    """A section's accessory, an input's element or the elements of actions and context blocks."""
    single = [(block[key], f"{where}.{key}") for key in ("accessory", "element") if key in block]
    return single or _entries(block, "elements", where)


# -- elements ----------------------------------------------------------------


def _element(element: Any, where: str, block_kind: str) -> Problems:
    if not isinstance(element, dict):
        yield f"{where}: must be an element object"
        return
    kind = _kind(element)
    if kind in TEXT_TYPES and kind in ELEMENTS_IN[block_kind]:
        yield from _text(element, where, ANY)
        return
    if kind not in ELEMENTS_IN[block_kind]:
        yield f"{where}: {block_kind} blocks cannot hold a {kind} element"
    if (yield from _sdk(where, BlockElement.parse, element, NESTED["element"])) is None:
        return
    yield from _arrays(element, where)
    yield from _texts(element, where, {**TEXTS["element"], **TEXTS.get(kind, {})})
    if isinstance(element.get("confirm"), dict):
        yield from _confirm(element["confirm"], f"{where}.confirm")
    if kind in OPTION_ELEMENTS | EXTERNAL_SELECTS:
        yield from _options(element, where, kind)
    for key, many in ID_FIELDS.items():
        if key in element:
            yield from _ids(element[key], f"{where}.{key}", many)
    if kind in VALUE_CHECKS:
        yield from VALUE_CHECKS[kind](element, where)


def _confirm(confirm: dict, where: str) -> Problems:
    yield from _sdk(where, lambda c: ConfirmObject(**c), confirm)
    yield from _texts(confirm, where, TEXTS["confirm"])


def _options(element: dict, where: str, kind: str) -> Problems:
    """Options, option groups and initial options, and how many options there may be."""
    spec = TEXTS["mrkdwn option" if kind in MRKDWN_OPTIONS else "option"]
    offered = []
    for option, at in _entries(element, "options", where):
        yield from _option(option, at, spec)
        offered.append(option)
    for group, at in _entries(element, "option_groups", where):
        yield from _sdk(at, lambda g: OptionGroup(**g), group, NESTED["option_group"])
        yield from _texts(group, at, TEXTS["option_group"])
        for option, option_at in _entries(group, "options", at):
            yield from _option(option, option_at, spec)
            offered.append(option)
    yield from _count(
        element.get("options"),
        f"{where}.options",
        at_least=LIMITS.get(f"{kind}.options (at least)"),
        at_most=LIMITS.get(f"{kind}.options"),
    )
    initial = [(element["initial_option"], f"{where}.initial_option")] if "initial_option" in element else []
    for option, at in initial + _entries(element, "initial_options", where):
        yield from _option(option, at, spec)
        if kind not in EXTERNAL_SELECTS and not any(_same_option(option, o) for o in offered):
            yield f"{at}: must be one of the options offered (same value and text)"


def _option(option: Any, where: str, spec: dict[str, Text]) -> Problems:
    if not isinstance(option, dict):
        yield f"{where}: must be an option object"
        return
    yield from _sdk(where, lambda o: Option(**o), option)
    yield from _texts(option, where, spec)


def _same_option(one: Any, other: Any) -> bool:
    def identity(option: Any) -> tuple:
        text = option.get("text") if isinstance(option, dict) else None
        text = text if isinstance(text, dict) else {}
        return option.get("value"), text.get("type"), text.get("text")

    return isinstance(one, dict) and isinstance(other, dict) and identity(one) == identity(other)


def _ids(value: Any, where: str, many: bool) -> Problems:
    values = value if many and isinstance(value, list) else [value]
    if many and not (isinstance(value, list) and value):
        yield f"{where}: must be a non-empty list of ids"
    elif not all(isinstance(one, str) and one for one in values):
        yield f"{where}: must hold ids (non-empty strings), not {value!r}"


# -- initial values, by element type ------------------------------------------


def _plain_text_input(element: dict, where: str) -> Problems:
    cap = LIMITS["plain_text_input.max_length"]
    min_cap = LIMITS["plain_text_input.min_length"]
    yield from _integer(element, "max_length", where, 1, cap)
    yield from _integer(element, "min_length", where, 0, min_cap)
    max_length = _bounded(element.get("max_length"), 1, cap) or cap
    min_length = _bounded(element.get("min_length"), 0, min_cap) or 0
    if min_length > max_length:
        yield f"{where}.min_length: {min_length} is more than max_length {max_length}"
    if "initial_value" in element:
        yield from _string(element["initial_value"], f"{where}.initial_value", min(max_length, cap))


def _text_input(element: dict, where: str) -> Problems:
    if "initial_value" in element:
        yield from _string(element["initial_value"], f"{where}.initial_value")


def _number_input(element: dict, where: str) -> Problems:
    decimals = element.get("is_decimal_allowed")
    if not isinstance(decimals, bool):
        yield f"{where}.is_decimal_allowed: required, true or false"
    number = DECIMAL if decimals else INTEGER
    for key in ("initial_value", "min_value", "max_value"):
        value = element.get(key)
        if key not in element:
            continue
        if not isinstance(value, str):
            yield f"{where}.{key}: must be a string, not {type(value).__name__}"
        elif not number.fullmatch(value):
            yield f"{where}.{key}: {value!r} is not {'a number' if decimals else 'an integer'}"


def _datepicker(element: dict, where: str) -> Problems:
    value = element.get("initial_date")
    if value is not None and not (isinstance(value, str) and ISO_DATE.fullmatch(value) and _is_date(value)):
        yield f"{where}.initial_date: must be a date as YYYY-MM-DD, not {value!r}"


def _datetimepicker(element: dict, where: str) -> Problems:
    value = element.get("initial_date_time")
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        yield f"{where}.initial_date_time: must be a UNIX timestamp (an integer), not {value!r}"


VALUE_CHECKS: dict[str, Callable[[dict, str], Problems]] = {
    "plain_text_input": _plain_text_input,
    "email_text_input": _text_input,
    "url_text_input": _text_input,
    "number_input": _number_input,
    "datepicker": _datepicker,
    "datetimepicker": _datetimepicker,
}


# -- text objects ------------------------------------------------------------


def _texts(node: dict, where: str, slots: dict[str, Text]) -> Problems:
    for key, spec in slots.items():
        at = f"{where}.{key}" if where else key
        if key in node:
            yield from _text(node[key], at, spec)
        elif spec.required:
            yield f"{at}: required"


def _text(text: Any, where: str, spec: Text) -> Problems:
    if not isinstance(text, dict):
        yield f"{where}: must be a text object ({{'type': 'plain_text', 'text': ...}}), not {type(text).__name__}"
        return
    kind = text.get("type")
    if kind not in TEXT_TYPES:
        yield f"{where}.type: must be plain_text or mrkdwn, not {kind!r}"
    elif spec.plain and kind != "plain_text":
        yield f"{where}.type: must be plain_text here, not {kind}"
    if not text.get("text"):
        yield f"{where}.text: must not be empty"
    else:
        yield from _string(text["text"], f"{where}.text", spec.max_length)


# -- slack_sdk's checks --------------------------------------------------------


def _sdk(
    where: str, parse: Callable[[dict], JsonObject | None], node: dict, nested: tuple[str, ...] = ()
) -> Generator[str, None, JsonObject | None]:
    """slack_sdk's checks of one object: builds its model and runs every validator.

    The `nested` objects are checked at their own path, so the model is built without them
    (one bad child would otherwise fail its parent too); nested lists are put back as they
    came for the parent's counting validators (at most 25 elements, 10 fields...).
    Returns the model, None when the SDK does not know the type or cannot build it.
    """
    try:
        model = parse({key: None if key in nested else value for key, value in node.items()})
    except Exception as error:  # noqa: BLE001 - a model refusing the payload is the problem to report
        yield f"{where}: {_reason(error)}"
        return None
    if model is None:
        yield f"{where}: unknown type {node.get('type')!r}"
        return None
    for key in nested:
        if isinstance(node.get(key), list):
            setattr(model, key, node[key])
    for validator in _validators(model):
        try:
            validator()
        except SlackObjectFormationError as error:
            yield f"{where}: {error}"
        except Exception as error:  # noqa: BLE001 - a validator choking on a value: that value is wrong
            yield f"{where}: {_reason(error)}"
    return model


def _validators(model: JsonObject) -> list[Callable[[], None]]:
    """The methods JsonObject.validate_json calls, which stops at the first failure."""
    methods = (getattr(model, name, None) for name in dir(model) if not name.startswith("__"))
    return [method for method in methods if callable(method) and hasattr(method, "validator")]


def _reason(error: Exception) -> str:
    if isinstance(error, KeyError):
        return f"missing {error}"
    return re.sub(r"^\w+\.__init__\(\) ", "", str(error))


# -- small shared checks -------------------------------------------------------


def _string(value: Any, where: str, limit: int | None = None) -> Problems:
    if not isinstance(value, str):
        yield f"{where}: must be a string, not {type(value).__name__}"
    elif limit is not None and len(value) > limit:
        yield f"{where}: {len(value)} characters, more than the {limit} allowed"


def _integer(node: dict, key: str, where: str, low: int, high: int) -> Problems:
    if key in node and _bounded(node[key], low, high) is None:
        yield f"{where}.{key}: must be an integer from {low} to {high}, not {node[key]!r}"


def _count(items: Any, where: str, at_least: int | None = None, at_most: int | None = None) -> Problems:
    if not isinstance(items, list):
        return
    if at_least is not None and 0 < len(items) < at_least:  # an empty list is refused as such
        yield f"{where}: {len(items)} items, fewer than {at_least}"
    if at_most is not None and len(items) > at_most:
        yield f"{where}: {len(items)} items, more than {at_most}"


def _arrays(node: dict, where: str) -> Problems:
    for key in ARRAYS:
        if key in node and not (isinstance(node[key], list) and node[key]):
            yield f"{where}.{key}: must be a non-empty list"


def _unique(items: list, where: str, key: str) -> Problems:
    counts = Counter(item.get(key) for item in items if isinstance(item, dict) and item.get(key) is not None)
    for value, count in counts.items():
        if count > 1:
            yield f"{where}: {key} {value!r} is used {count} times; it must be unique"


def _entries(node: dict, key: str, where: str) -> list[tuple[Any, str]]:
    return [(item, f"{where}.{key}[{index}]") for index, item in enumerate(_list(node.get(key)))]


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _kind(node: Any) -> Any:
    return node.get("type") if isinstance(node, dict) else None


def _bounded(value: Any, low: int, high: int) -> int | None:
    """`value` if it is an integer from `low` to `high`, else None."""
    is_integer = isinstance(value, int) and not isinstance(value, bool)
    return value if is_integer and low <= value <= high else None


def _is_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True
