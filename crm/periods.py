"""Periods of time for figures (SPEC §3 PERIOD): `2026`, `2026-Q3`, `2026-11`,
`2026-01-01..2026-03-31`; the days are CRM_TIMEZONE's, so a period starts and ends at that
zone's midnight whatever the daylight-saving time."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from crm.errors import ValidationError

FORMS = "`2026`, `2026-Q3`, `2026-11` or `2026-01-01..2026-03-31`"
_YEAR = re.compile(r"(\d{4})")
_QUARTER = re.compile(r"(\d{4})-[Qq]([1-4])")
_MONTH = re.compile(r"(\d{4})-(\d{1,2})")
_RANGE = re.compile(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})")


@dataclass(frozen=True)
class Period:
    """From `start` (included) to `end` (excluded), aware datetimes at midnight in the zone."""

    start: datetime
    end: datetime
    label: str

    def in_utc(self) -> tuple[datetime, datetime]:
        """The bounds as queries take them: stored moments are UTC, and SQLite compares their text."""
        return self.start.astimezone(timezone.utc), self.end.astimezone(timezone.utc)

    @property
    def first_day(self) -> date:
        return self.start.date()

    @property
    def last_day(self) -> date:
        return self.end.date() - timedelta(days=1)


def parse(text: str, tz: ZoneInfo, today: date) -> Period:
    """The period `text` names; this year when it is empty. A bad one says the accepted forms."""
    text = (text or "").strip()
    if not text:
        return year(tz, today.year)
    try:
        if match := _YEAR.fullmatch(text):
            return year(tz, int(match[1]))
        if match := _QUARTER.fullmatch(text):
            first_month = 3 * int(match[2]) - 2
            return _between(tz, date(int(match[1]), first_month, 1), _month_after(int(match[1]), first_month + 2),
                            f"{match[1]}-Q{match[2]}")
        if match := _MONTH.fullmatch(text):
            number = int(match[2])
            return _between(tz, date(int(match[1]), number, 1), _month_after(int(match[1]), number),
                            f"{match[1]}-{number:02d}")
        if match := _RANGE.fullmatch(text):
            first, last = date.fromisoformat(match[1]), date.fromisoformat(match[2])
            if last < first:
                raise ValidationError("PERIOD", f"Period `{text}` ends before it starts. Use {FORMS}.")
            return days(tz, first, last)
    except ValueError:  # a month 13, a 31 April
        pass
    raise ValidationError("PERIOD", f"`{text}` is not a period. Use {FORMS}.")


def year(tz: ZoneInfo, number: int) -> Period:
    return _between(tz, date(number, 1, 1), date(number + 1, 1, 1), str(number))


def days(tz: ZoneInfo, first: date, last: date) -> Period:
    """From the start of `first` to the end of `last`."""
    return _between(tz, first, last + timedelta(days=1), f"{first}..{last}")


def this_month(tz: ZoneInfo, today: date) -> Period:
    return _between(tz, today.replace(day=1), _month_after(today.year, today.month), f"{today:%Y-%m}")


def _month_after(year_number: int, month: int) -> date:
    return date(year_number + month // 12, month % 12 + 1, 1)


def _between(tz: ZoneInfo, first: date, end: date, label: str) -> Period:
    return Period(datetime.combine(first, time(), tz), datetime.combine(end, time(), tz), label)
