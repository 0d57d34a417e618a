"""Numbering masks (SPEC §4): how reference codes such as CU2611-00001 are built.

A mask is literal text plus tags: `{yyyy}` `{yy}` `{mm}` `{dd}` date parts, `{t}` the third
party's type letter, and exactly one counter `{00000}`, optionally `{00000+N}` (first value N)
and `{00000@M}` (reset yearly at month M, or monthly with `@0`). Pure logic: storing the
counters is the caller's job, keyed by `Mask.counter_key`.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime
from typing import NoReturn
from zoneinfo import ZoneInfo

from crm.errors import ValidationError

# As Dolibarr's: the counter restarts each month (the month is in the code, so codes stay unique).
DEFAULT_MASKS: dict[str, str] = {
    "thirdparty": "CU{yy}{mm}-{00000@0}",
    "proposal": "PR{yy}{mm}-{00000@0}",
    "order": "SO{yy}{mm}-{00000@0}",
    "intervention": "FI{yy}{mm}-{00000@0}",
    "invoice": "IN{yy}{mm}-{00000@0}",
}

MAX_CODE_LENGTH = 40
MIN_COUNTER_WIDTH = 3
MONTHLY = 0
TYPE_LETTERS = {"prospect": "P", "customer": "C", "both": "B"}
# Rendered length of each non-counter tag; the keys are also the only tags besides the counter.
TAG_LENGTHS = {"yyyy": 4, "yy": 2, "mm": 2, "dd": 2, "t": 1}
YEAR_TAGS = ("yyyy", "yy")
KNOWN_TAGS = "{yyyy}, {yy}, {mm}, {dd}, {t} and one counter such as {00000}"

# A mask is a sequence of `{tag}`s and literal runs; a brace outside a pair is a stray.
TOKEN = re.compile(r"\{(?P<tag>[^{}]*)\}|(?P<literal>[^{}]+)|(?P<stray>[{}])")
COUNTER = re.compile(r"(?P<zeros>0+)(?P<options>.*)")
COUNTER_OPTIONS = re.compile(r"(?:\+(?P<start>\d+))?(?:@(?P<reset>\d+))?")
OPTIONS_IN_WRONG_ORDER = re.compile(r"@\d+\+\d+")
COUNTER_MARK = "{counter}"  # where the counter stands while a mask's template is assembled


@dataclass(frozen=True)
class Mask:
    text: str
    width: int
    start: int
    reset_month: int | None  # None: never; 0: every month; 1..12: every year at that month
    uses_type: bool
    # What comes before and after the counter, as str.format templates of the other tags:
    # literals cannot hold braces, so they pass through unchanged.
    head: str
    tail: str

    @property
    def first_value(self) -> int:
        return self.start

    def period_key(self, when: datetime, tz: ZoneInfo) -> str:
        """The reset period `when` falls in, in `tz`: "", "2026-11" (monthly) or "FY2026@4" (yearly)."""
        local = _local(when, tz)
        if self.reset_month is None:
            return ""
        if self.reset_month == MONTHLY:
            return f"{local:%Y-%m}"
        fiscal_year = local.year if local.month >= self.reset_month else local.year - 1
        return f"FY{fiscal_year}@{self.reset_month}"

    def counter_key(self, when: datetime, tz: ZoneInfo, thirdparty_type: str | None) -> str:
        """Which counter a code created at `when` draws from: one per period, and per type with `{t}`."""
        period = self.period_key(when, tz)
        if not self.uses_type:
            return period
        return f"{period}|{self._type_letter(thirdparty_type)}"

    @property
    def limit(self) -> int:
        """The first counter value that no longer fits the counter's digits."""
        return 10**self.width

    def render(self, counter: int, when: datetime, tz: ZoneInfo, thirdparty_type: str | None = None) -> str:
        """The code for `counter`; refuses rather than truncate or widen a counter that does not fit."""
        if counter < 0:
            raise ValueError(f"a counter cannot be negative, got {counter}")
        self.check_fits(counter)
        head, tail = self.around_counter(when, tz, thirdparty_type)
        return f"{head}{counter:0{self.width}d}{tail}"

    def check_fits(self, counter: int) -> None:
        if counter >= self.limit:
            raise ValidationError(
                "mask",
                f"Counter {counter} does not fit the {self.width} digits of mask {self.text}; "
                f"widen the counter, e.g. {{{'0' * (self.width + 1)}}}.",
            )

    def around_counter(self, when: datetime, tz: ZoneInfo, thirdparty_type: str | None = None) -> tuple[str, str]:
        """The code's text before and after its counter digits, for a code made at `when`."""
        local = _local(when, tz)
        parts = {
            "yyyy": f"{local:%Y}",
            "yy": f"{local:%y}",
            "mm": f"{local:%m}",
            "dd": f"{local:%d}",
            "t": self._type_letter(thirdparty_type) if self.uses_type else "",
        }
        return self.head.format(**parts), self.tail.format(**parts)

    def _type_letter(self, thirdparty_type: str | None) -> str:
        if thirdparty_type is None:
            raise ValidationError(
                "mask",
                f"The mask {self.text} has a {{t}} part, so a code needs the third party's type "
                "(prospect, customer or both).",
            )
        if thirdparty_type not in TYPE_LETTERS:
            raise ValueError(f"unknown third party type {thirdparty_type!r}; expected one of {', '.join(TYPE_LETTERS)}")
        return TYPE_LETTERS[thirdparty_type]


@functools.lru_cache(maxsize=64)  # every creation parses its mask; a Mask is immutable
def parse_mask(text: str) -> Mask:
    """The mask `text` describes, or `ValidationError("mask", ...)` saying in words what is wrong."""
    if not text or not text.strip():
        raise ValidationError("mask", f"The mask is empty; write one such as {DEFAULT_MASKS['thirdparty']}.")
    template, tags, counters, code_length = [], set(), [], 0
    for token in TOKEN.finditer(text):
        tag, literal = token["tag"], token["literal"]
        if token["stray"]:
            _refuse(text, f"has an unbalanced brace {token['stray']!r}; every {{ must be closed by a }}.")
        elif literal is not None:
            if any(char.isspace() or not char.isprintable() for char in literal):
                _refuse(text, "contains whitespace or an invisible character, which a code cannot hold.")
            template.append(literal)
            code_length += len(literal)
        elif tag in TAG_LENGTHS:
            template.append(f"{{{tag}}}")
            tags.add(tag)
            code_length += TAG_LENGTHS[tag]
        elif tag.startswith("0"):
            width, start, reset_month = _parse_counter(text, tag)
            template.append(COUNTER_MARK)
            counters.append((width, start, reset_month))
            code_length += width
        else:
            _refuse(text, f"has an unknown tag {{{tag}}}; the known tags are {KNOWN_TAGS}.")
    if not counters:
        _refuse(text, "has no counter; add one such as {00000} so that codes differ.")
    if len(counters) > 1:
        _refuse(text, f"has {len(counters)} counters; a mask takes exactly one.")
    [(width, start, reset_month)] = counters
    _check_reset_has_date_parts(text, reset_month, tags)
    if code_length > MAX_CODE_LENGTH:
        _refuse(text, f"gives codes of {code_length} characters; keep them to {MAX_CODE_LENGTH} or fewer.")
    head, tail = "".join(template).split(COUNTER_MARK)
    return Mask(text, width, start, reset_month, "t" in tags, head, tail)


def preview(text: str, when: datetime, tz: ZoneInfo, thirdparty_type: str = "customer") -> str:
    """The first code the mask `text` would give at `when`, as an example in the settings modal."""
    mask = parse_mask(text)
    return mask.render(mask.first_value, when, tz, thirdparty_type)


def _parse_counter(text: str, tag: str) -> tuple[int, int, int | None]:
    """Width, first value and reset month of a counter tag such as `00000+100@4`."""
    zeros, options = COUNTER.fullmatch(tag).group("zeros", "options")
    width = len(zeros)
    if width < MIN_COUNTER_WIDTH:
        _refuse(text, f"has a counter {{{tag}}} that is too short; it needs at least {MIN_COUNTER_WIDTH} zeros, e.g. {{000}}.")
    if OPTIONS_IN_WRONG_ORDER.fullmatch(options):
        _refuse(text, "puts the @M reset before the +N start; write the start first, e.g. {0000+100@1}.")
    parsed = COUNTER_OPTIONS.fullmatch(options)
    if parsed is None:
        _refuse(
            text,
            f"has a counter {{{tag}}} that is not understood; after the zeros only +N (first value) "
            "then @M (reset month) may follow, e.g. {0000+100@1}.",
        )
    start = int(parsed["start"]) if parsed["start"] else 1
    if start >= 10**width:
        _refuse(text, f"starts the counter at {start}, which does not fit its {width} digits; widen the counter.")
    reset_month = int(parsed["reset"]) if parsed["reset"] else None
    if reset_month is not None and reset_month > 12:
        _refuse(text, f"resets at month {reset_month}; use @0 for every month or @1 to @12 for every year at that month.")
    return width, start, reset_month


def _check_reset_has_date_parts(text: str, reset_month: int | None, tags: set[str]) -> None:
    """A counter that restarts must leave the date parts that tell its periods apart, or codes repeat."""
    if reset_month is None:
        return
    needs_month = reset_month != 1  # a period is a calendar year only when it starts in January
    has_year = any(tag in tags for tag in YEAR_TAGS)
    if has_year and ("mm" in tags or not needs_month):
        return
    if reset_month == MONTHLY:
        reason = "resets the counter every month"
    elif reset_month == 1:
        reason = "resets the counter every year"
    else:
        reason = f"resets the counter every year in month {reset_month}, giving years that straddle two calendar years"
    needed = "a year part ({yyyy} or {yy})" if not needs_month else "a year part ({yyyy} or {yy}) and a month part ({mm})"
    _refuse(text, f"{reason}, so it needs {needed} or codes would repeat.")


def _refuse(text: str, problem: str) -> NoReturn:
    raise ValidationError("mask", f"The mask {text} {problem}")


def _local(when: datetime, tz: ZoneInfo) -> datetime:
    """`when` in the configured timezone, which decides both date parts and reset periods."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("masks take timezone-aware datetimes only")
    return when.astimezone(tz)
