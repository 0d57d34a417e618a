"""Custom field types: read a value from any surface, store it as text, show it to people.

Pure functions over a *definition*: any object with `key`, `label`, `field_type`, `required`,
`unique`, `default` (storage text), `options` (`[{"key", "label"}]`) and `position` — the ORM
model, or `FieldSpec` below. The Slack modal, the CSV import and the API all go through `parse`,
so a value is checked the same way wherever it comes from; a bad one raises
`ValidationError("cf.KEY", "Label: what is wrong, with the value and an example")`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone, tzinfo
from decimal import Decimal
from functools import partial
from typing import Any, Callable

from crm import validators
from crm.errors import ValidationError

FIELD_TYPES = (
    "string", "text", "integer", "amount", "date", "datetime", "boolean",
    "select", "multiselect", "email", "phone", "url",
)
TEXT_TYPES = ("string", "text", "email", "phone", "url")
CHOICE_TYPES = ("select", "multiselect")
NUMBER_TYPES = ("integer", "amount")
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
LABEL_MAX_LENGTH = 60
OPTION_LABEL_MAX_LENGTH = 75  # Slack's limit for the text of an option
MAX_LENGTHS = {"string": 255, "text": 5000}
# Numbers must fit the `number` sort column, NUMERIC(30, 6): amounts get no more decimals than it
# keeps (so sorting never rounds), and both stay well inside its whole digits (and a 64-bit int).
NUMBER_LIMIT = 10 ** 18
AMOUNT_MAX_DECIMALS = 6
EXAMPLES = {
    "string": "Acme", "text": "Met at the fair", "integer": "42", "amount": "1234.50",
    "date": "2026-11-28", "datetime": "2026-11-28 14:05", "boolean": "yes",
    "email": "jane@example.com", "phone": "+33 1 23 45 67 89", "url": "https://example.com",
}
UTC = timezone.utc

_BOOLEAN_WORDS = {
    "true": True, "yes": True, "1": True, "on": True,
    "false": False, "no": False, "0": False, "off": False,
}
# Spaces group thousands ("1 234 567.50"); a comma is refused as ambiguous (1,5 or 1,500?).
_NUMBER_TEXT = re.compile(r"[+-]?(?:\d{1,3}(?: \d{3})+|\d+)(?:\.\d+)?")
_WIDE_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " "})
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:?\d{2})?")
_MULTISELECT_SEPARATORS = re.compile(r"[;,]")


@dataclass(frozen=True)
class FieldSpec:
    """A definition that is not a database row: a form being checked, or a test fixture."""

    key: str
    label: str
    field_type: str
    required: bool = False
    unique: bool = False
    default: str | None = None
    options: list[dict] = field(default_factory=list)
    position: int = 0


@dataclass(frozen=True)
class _Context:
    """What parsers and displayers need besides the value: the definition and the time zone."""

    definition: Any
    tz: tzinfo

    @property
    def field(self) -> str:
        return f"cf.{self.definition.key}"

    def rejection(self, problem: str) -> ValidationError:
        return ValidationError(self.field, f"{self.definition.label}: {problem}")


def validate_key(key: str) -> str:
    """The key itself, if it can name a field in `cf.KEY`, CSV headers and the database."""
    if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
        raise ValidationError(
            "key", f"Key: {key!r} must be lower snake case (a letter, then letters, digits or _, "
                   f"32 at most), e.g. segment.",
        )
    return key


def parse(definition, raw, *, tz: tzinfo = UTC):
    """The canonical value of `raw` (text, or an already typed value), or None when empty.

    Naive date-times are read in `tz`. Raises ValidationError naming `cf.KEY`.
    """
    context = _Context(definition, tz)
    value = None if _is_blank(raw) else _PARSERS[definition.field_type](raw, context)
    if value is None and definition.required:
        raise ValidationError(context.field, f"{definition.label} is required.")
    return value


def to_storage(definition, value) -> str | None:
    """The database text of a value `parse` returned; `from_storage` gives the same value back."""
    return None if value is None else _TO_STORAGE[definition.field_type](value)


def from_storage(definition, text: str | None):
    """The value stored as `text` by `to_storage`."""
    return None if text is None else _FROM_STORAGE[definition.field_type](text)


def sort_number(definition, value) -> Decimal | None:
    """The number the database orders integers and amounts by; other types sort by their text."""
    if value is None or definition.field_type not in NUMBER_TYPES:
        return None
    return Decimal(value)


def display(definition, value, tz: tzinfo | None = None) -> str:
    """The value as people read it on a record card or in an export; "" when empty."""
    if value is None:
        return ""
    return _DISPLAYERS[definition.field_type](value, _Context(definition, tz or UTC))


_NEVER_UNIQUE = {
    "boolean": "a yes/no field has two values, so at most two records could differ.",
    "multiselect": "a set of choices cannot identify a record; use a single choice field.",
}


def validate_definition(key, label, field_type, options, default, required, unique) -> tuple[list[dict], str | None]:
    """The normalised options and default (storage text) of a field an admin defines.

    Raises ValidationError naming the part at fault: key, label, field_type, options, unique
    or default. Any type may be `required`; the flag is taken so forms pass the whole field.
    """
    validate_key(key)
    label = (label or "").strip()
    if not label:
        raise ValidationError("label", "Label is required, e.g. Segment.")
    if len(label) > LABEL_MAX_LENGTH:
        raise ValidationError("label", f"Label is {len(label)} characters long; at most {LABEL_MAX_LENGTH} fit.")
    if field_type not in FIELD_TYPES:
        raise ValidationError("field_type", f"Type: {field_type!r} is not one of {', '.join(FIELD_TYPES)}.")
    if unique and field_type in _NEVER_UNIQUE:
        raise ValidationError("unique", f"Unique: {_NEVER_UNIQUE[field_type]}")
    checked_options = _checked_options(options) if field_type in CHOICE_TYPES else []
    # Checked as a field labelled "Default", so that its errors read "Default: ...".
    default_field = FieldSpec(key, "Default", field_type, options=checked_options)
    try:
        default_value = parse(default_field, default)
    except ValidationError as error:
        raise ValidationError("default", error.message) from None
    if default_value is not None and unique:
        raise ValidationError("default", "Default: a unique field cannot have one, every new record would share it.")
    return checked_options, to_storage(default_field, default_value)


def _checked_options(options) -> list[dict]:
    """Options as `[{"key", "label"}]`: valid keys, short labels, neither repeated (labels are matched too)."""
    if not options:
        raise ValidationError("options", "Options: a choice field needs at least one, e.g. smb = Small business.")
    checked, seen = [], set()
    for option in options:
        key = str(option.get("key", "")).strip()
        label = str(option.get("label", "")).strip()
        if not KEY_PATTERN.fullmatch(key):
            raise ValidationError("options", f"Options: key {key!r} must be lower snake case, e.g. small_business.")
        if not label or len(label) > OPTION_LABEL_MAX_LENGTH:
            raise ValidationError(
                "options", f"Options: the label of {key!r} must have 1 to {OPTION_LABEL_MAX_LENGTH} characters.",
            )
        names = dict.fromkeys((key, label.casefold()))  # an option's label may be its own key ("buyer", "Buyer")
        for name in names:
            if name in seen:
                raise ValidationError("options", f"Options: {name!r} is used twice.")
        seen.update(names)
        checked.append({"key": key, "label": label})
    return checked


def _is_blank(raw) -> bool:
    if isinstance(raw, str):
        return not raw.strip()
    return raw is None or (isinstance(raw, (list, tuple, set, frozenset)) and not raw)


def _shown(raw) -> str:
    """`raw` as quoted in an error message, cut short so a pasted essay does not flood it."""
    text = repr(raw)
    return text if len(text) <= 40 else text[:39] + "…"


# --- parsers: (raw, context) -> canonical value, or None for "nothing given" ---

def _textual(check: Callable[[str, str, str], str]):
    """A parser running `check(field, label, text)` from crm.validators, once it knows it has text."""
    def parse_text(raw, context: _Context) -> str:
        if not isinstance(raw, str):
            example = EXAMPLES[context.definition.field_type]
            raise context.rejection(f"{_shown(raw)} is not text; give it as a string, e.g. {example!r}.")
        return check(context.field, context.definition.label, raw)
    return parse_text


def _parse_number(raw, context: _Context) -> Decimal:
    """A finite Decimal from text, int or Decimal; floats are refused, they cannot hold 0.1 exactly."""
    example = EXAMPLES[context.definition.field_type]
    if isinstance(raw, float):
        raise context.rejection(f"{raw!r} is a float, which cannot hold decimals exactly; pass text, e.g. {example!r}.")
    if isinstance(raw, str):
        text = raw.strip().translate(_WIDE_SPACES)
        if "," in text:
            raise context.rejection(f"{_shown(raw)}: write decimals with a point and thousands with spaces, "
                                    f"e.g. 1 234.50.")
        number = Decimal(text.replace(" ", "")) if _NUMBER_TEXT.fullmatch(text) else None
    elif isinstance(raw, (int, Decimal)) and not isinstance(raw, bool):
        number = Decimal(raw)
    else:
        number = None
    if number is None or not number.is_finite():
        raise context.rejection(f"{_shown(raw)} is not a number, e.g. {example}.")
    if abs(number) >= NUMBER_LIMIT:
        raise context.rejection(f"{_shown(raw)} is too large; numbers stay below 10^18.")
    return number


def _parse_integer(raw, context: _Context) -> int:
    number = _parse_number(raw, context)
    if number != number.to_integral_value():
        raise context.rejection(f"{_shown(raw)} is not a whole number, e.g. {EXAMPLES['integer']}.")
    return int(number)


def _parse_amount(raw, context: _Context) -> Decimal:
    """The amount exactly as given ("1234.50" keeps its zero), without exponent."""
    number = _parse_number(raw, context)
    if number.as_tuple().exponent < -AMOUNT_MAX_DECIMALS:
        raise context.rejection(f"{_shown(raw)} has more than {AMOUNT_MAX_DECIMALS} decimals, "
                                f"e.g. {EXAMPLES['amount']}.")
    return Decimal(f"{number:f}")


def _parse_date(raw, context: _Context) -> date:
    if isinstance(raw, date) and not isinstance(raw, datetime):
        return raw
    if isinstance(raw, str) and _ISO_DATE.fullmatch(raw.strip()):
        try:
            return date.fromisoformat(raw.strip())
        except ValueError:
            pass  # shaped like a date but no such day: refused below
    raise context.rejection(f"{_shown(raw)} is not a date written YYYY-MM-DD, e.g. {EXAMPLES['date']}.")


def _parse_datetime(raw, context: _Context) -> datetime:
    """An aware datetime in UTC; a naive one, or text without offset, is read in the context's zone."""
    moment = raw if isinstance(raw, datetime) else None
    if isinstance(raw, str) and _ISO_DATETIME.fullmatch(raw.strip()):
        try:
            moment = datetime.fromisoformat(raw.strip())
        except ValueError:
            pass  # shaped right but no such day or hour: refused below
    if moment is None:
        raise context.rejection(f"{_shown(raw)} is not a date and time, e.g. {EXAMPLES['datetime']} "
                                f"or 2026-11-28T14:05+01:00.")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=context.tz)
    return moment.astimezone(UTC)


def _parse_boolean(raw, context: _Context) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().casefold() in _BOOLEAN_WORDS:
        return _BOOLEAN_WORDS[raw.strip().casefold()]
    raise context.rejection(f"{_shown(raw)} is not yes or no; use true/false, yes/no, 1/0 or on/off.")


def _chosen_keys(names: list[str], context: _Context) -> list[str]:
    """Option keys for `names` (keys, or labels in any case), in option order, without repeats."""
    options = context.definition.options
    by_name = {option["label"].casefold(): option["key"] for option in options}
    by_name.update({option["key"]: option["key"] for option in options})  # a key wins over a like label
    unknown = [name for name in names if name.strip().casefold() not in by_name]
    if unknown:
        what = "is not an option" if len(unknown) == 1 else "are not options"
        valid = ", ".join(option["key"] for option in options)
        raise context.rejection(f"{', '.join(map(_shown, unknown))} {what}; use a key or a label among {valid}.")
    chosen = {by_name[name.strip().casefold()] for name in names}
    return [option["key"] for option in options if option["key"] in chosen]


def _parse_select(raw, context: _Context) -> str:
    if not isinstance(raw, str):
        raise context.rejection(f"{_shown(raw)} is not one option; give its key or label as text.")
    return _chosen_keys([raw], context)[0]


def _parse_multiselect(raw, context: _Context) -> list[str] | None:
    """Keys from a list, or from text separated by ";" or ","; None when only blanks were given."""
    names = _MULTISELECT_SEPARATORS.split(raw) if isinstance(raw, str) else raw
    if not isinstance(names, (list, tuple, set, frozenset)) or not all(isinstance(name, str) for name in names):
        raise context.rejection(f"{_shown(raw)} is not a list of options; e.g. give keys separated by ';'.")
    given = [name for name in names if name.strip()]
    return _chosen_keys(given, context) if given else None


_PARSERS: dict[str, Callable[[Any, _Context], Any]] = {
    "string": _textual(partial(validators.text, max_length=MAX_LENGTHS["string"])),
    "text": _textual(partial(validators.text, max_length=MAX_LENGTHS["text"])),
    "integer": _parse_integer,
    "amount": _parse_amount,
    "date": _parse_date,
    "datetime": _parse_datetime,
    "boolean": _parse_boolean,
    "select": _parse_select,
    "multiselect": _parse_multiselect,
    "email": _textual(validators.email),
    "phone": _textual(validators.phone),
    "url": _textual(validators.url),
}

# --- storage: canonical value <-> database text ---
# Datetimes are stored in UTC with "+00:00" (not "Z"): then the text sorts like the moments,
# with or without a fraction of a second, as "+" sorts before ".".

_TO_STORAGE: dict[str, Callable[[Any], str]] = {
    **dict.fromkeys((*TEXT_TYPES, "select", "integer"), str),
    "amount": lambda amount: f"{amount:f}",
    "date": date.isoformat,
    "datetime": lambda moment: moment.astimezone(UTC).isoformat(),
    "boolean": lambda flag: "1" if flag else "0",
    "multiselect": ";".join,
}

_FROM_STORAGE: dict[str, Callable[[str], Any]] = {
    **dict.fromkeys((*TEXT_TYPES, "select"), str),
    "integer": int,
    "amount": Decimal,
    "date": date.fromisoformat,
    "datetime": datetime.fromisoformat,
    "boolean": lambda text: text == "1",
    "multiselect": lambda text: text.split(";"),
}

# --- display: canonical value -> text for people ---


def _option_label(key: str, context: _Context) -> str:
    """The label of an option; the stored key, marked, if an admin has since removed the option."""
    return next((option["label"] for option in context.definition.options if option["key"] == key),
                f"{key} (removed option)")


def removed_options(definition, value) -> list[str]:
    """The keys in a select or multiselect value whose options an admin has since removed."""
    if value is None or definition.field_type not in CHOICE_TYPES:
        return []
    offered = {option["key"] for option in definition.options}
    return [key for key in ([value] if isinstance(value, str) else value) if key not in offered]


def _display_amount(amount: Decimal, _: _Context) -> str:
    """Grouped thousands and at least two decimals: "1,234.50", "1,234.567"."""
    places = max(2, -amount.as_tuple().exponent)
    return f"{amount:,.{places}f}"


_DISPLAYERS: dict[str, Callable[[Any, _Context], str]] = {
    **dict.fromkeys(TEXT_TYPES, lambda text, _: text),
    "integer": lambda number, _: f"{number:,}",
    "amount": _display_amount,
    "date": lambda day, _: day.isoformat(),
    "datetime": lambda moment, context: moment.astimezone(context.tz).strftime("%Y-%m-%d %H:%M"),
    "boolean": lambda flag, _: "Yes" if flag else "No",
    "select": _option_label,
    "multiselect": lambda keys, context: ", ".join(_option_label(key, context) for key in keys),
}
