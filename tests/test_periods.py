"""PERIOD parsing (SPEC §3): the four forms, in CRM_TIMEZONE, and words for a bad one."""
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from crm import periods
from crm.errors import ValidationError
from crm.stats import win_rate

pytestmark = pytest.mark.database_free
PARIS = ZoneInfo("Europe/Paris")
TODAY = date(2026, 11, 28)


@pytest.mark.parametrize("text, start, end, label", [
    ("", (2026, 1, 1), (2027, 1, 1), "2026"),
    ("2025", (2025, 1, 1), (2026, 1, 1), "2025"),
    ("2026-Q3", (2026, 7, 1), (2026, 10, 1), "2026-Q3"),
    ("2026-q4", (2026, 10, 1), (2027, 1, 1), "2026-Q4"),
    ("2026-11", (2026, 11, 1), (2026, 12, 1), "2026-11"),
    ("2026-12", (2026, 12, 1), (2027, 1, 1), "2026-12"),
    ("2026-01-01..2026-03-31", (2026, 1, 1), (2026, 4, 1), "2026-01-01..2026-03-31"),
    ("2026-03-29..2026-03-29", (2026, 3, 29), (2026, 3, 30), "2026-03-29..2026-03-29"),
])
def test_each_form_is_a_period_from_midnight_to_midnight_in_the_zone(text, start, end, label):
    period = periods.parse(text, PARIS, TODAY)
    assert (period.start, period.end, period.label) == (
        datetime(*start, tzinfo=PARIS), datetime(*end, tzinfo=PARIS), label)


def test_a_period_across_a_clock_change_keeps_local_midnights():
    period = periods.parse("2026-03-29..2026-03-29", PARIS, TODAY)  # the day Paris moves to summer time
    assert period.end.timestamp() - period.start.timestamp() == 23 * 3600
    assert (period.start.utcoffset().total_seconds(), period.end.utcoffset().total_seconds()) == (3600, 7200)
    assert (period.first_day, period.last_day) == (date(2026, 3, 29), date(2026, 3, 29))


@pytest.mark.parametrize("text", ["2026-13", "2026-Q5", "last year", "2026-02-30..2026-03-01", "26", "2026-1-1"])
def test_a_bad_period_is_named_with_the_accepted_forms(text):
    with pytest.raises(ValidationError) as error:
        periods.parse(text, PARIS, TODAY)
    assert error.value.field == "PERIOD"
    assert f"`{text}`" in error.value.message and "`2026-Q3`" in error.value.message


def test_a_range_that_ends_before_it_starts_is_refused():
    with pytest.raises(ValidationError, match="ends before it starts"):
        periods.parse("2026-03-01..2026-02-01", PARIS, TODAY)


def test_this_month():
    period = periods.this_month(PARIS, date(2026, 12, 31))
    assert (period.start, period.end, period.label) == (
        datetime(2026, 12, 1, tzinfo=PARIS), datetime(2027, 1, 1, tzinfo=PARIS), "2026-12")


def test_win_rate_is_signed_over_closed_and_none_without_closed_proposals():
    assert win_rate(2, 1) == Decimal(2) / Decimal(3)
    assert (win_rate(0, 4), win_rate(3, 0), win_rate(0, 0)) == (Decimal(0), Decimal(1), None)
