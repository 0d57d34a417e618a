"""Numbering masks (SPEC §4): parsing, rendering, reset periods, and the masks refused."""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from crm.errors import ValidationError
from crm.masks import DEFAULT_MASKS, parse_mask, preview

pytestmark = pytest.mark.database_free

UTC = ZoneInfo("UTC")
PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
# Already 2027-01-01 00:30 in Paris, still 2026-12-31 18:30 in New York.
NEW_YEAR_EDGE = datetime(2026, 12, 31, 23, 30, tzinfo=timezone.utc)
MID_NOVEMBER = datetime(2026, 11, 15, 12, 0, tzinfo=timezone.utc)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


@pytest.mark.parametrize("object_type, prefix", [
    ("thirdparty", "CU"), ("proposal", "PR"), ("order", "SO"), ("intervention", "FI"), ("invoice", "IN"),
])
def test_defaults_restart_each_month_and_render(object_type, prefix):
    mask = parse_mask(DEFAULT_MASKS[object_type])
    assert (mask.width, mask.start, mask.reset_month, mask.uses_type) == (5, 1, 0, False)
    assert mask.period_key(MID_NOVEMBER, PARIS) == "2026-11"
    assert mask.render(mask.first_value, MID_NOVEMBER, PARIS) == f"{prefix}2611-00001"


@pytest.mark.parametrize("text, tz, expected", [
    ("{yyyy}{mm}{dd}-{000}", PARIS, "20270101-007"),
    ("{yyyy}{mm}{dd}-{000}", NEW_YORK, "20261231-007"),
    ("{yyyy}{mm}{dd}-{000}", UTC, "20261231-007"),
    ("X{yy}.{mm}/{0000}", PARIS, "X27.01/0007"),
    ("X{yy}.{mm}/{0000}", NEW_YORK, "X26.12/0007"),
    ("{dd}{dd}#{0000000}", PARIS, "0101#0000007"),
])
def test_date_parts_are_taken_in_the_configured_timezone(text, tz, expected):
    assert parse_mask(text).render(7, NEW_YEAR_EDGE, tz) == expected


@pytest.mark.parametrize("thirdparty_type, letter", [("prospect", "P"), ("customer", "C"), ("both", "B")])
def test_type_tag_gives_each_type_its_own_letter_and_counter(thirdparty_type, letter):
    mask = parse_mask("{t}{yy}{mm}-{0000@0}")
    assert mask.uses_type
    assert mask.render(3, MID_NOVEMBER, UTC, thirdparty_type) == f"{letter}2611-0003"
    assert mask.counter_key(MID_NOVEMBER, UTC, thirdparty_type) == f"2026-11|{letter}"


def test_type_tag_without_reset_still_splits_counters_by_type():
    mask = parse_mask("{t}-{000}")
    assert mask.counter_key(MID_NOVEMBER, UTC, "prospect") == "|P"
    assert mask.counter_key(MID_NOVEMBER, UTC, "customer") == "|C"


def test_counter_key_ignores_the_type_when_the_mask_has_no_type_tag():
    assert parse_mask("{yy}{mm}{000@0}").counter_key(MID_NOVEMBER, UTC, "customer") == "2026-11"


@pytest.mark.parametrize("call", [
    lambda mask: mask.render(1, MID_NOVEMBER, UTC),
    lambda mask: mask.counter_key(MID_NOVEMBER, UTC, None),
])
def test_type_tag_without_a_type_is_refused(call):
    with pytest.raises(ValidationError) as refused:
        call(parse_mask("{t}-{000}"))
    assert refused.value.field == "mask" and "{t}" in refused.value.message


@pytest.mark.parametrize("text, width, start, reset_month, uses_type", [
    ("A{000}", 3, 1, None, False),
    ("A{0000000000}", 10, 1, None, False),
    ("A{0000+100}", 4, 100, None, False),
    ("A{yy}{0000+100@1}", 4, 100, 1, False),
    ("A{yy}{mm}{000@0}", 3, 1, 0, False),
    ("A{yyyy}{mm}{000@12}", 3, 1, 12, False),
    ("{t}{t}{yy}{yy}{mm}{mm}{dd}{000@4}", 3, 1, 4, True),  # repeated tags are allowed
    ("A-_./#{000+0}", 3, 0, None, False),
])
def test_accepted_masks(text, width, start, reset_month, uses_type):
    mask = parse_mask(text)
    assert (mask.text, mask.width, mask.start, mask.reset_month, mask.uses_type) == (
        text, width, start, reset_month, uses_type)
    assert mask.first_value == start


def test_start_offset_is_the_first_code():
    assert preview("PR{yyyy}-{0000+42}", MID_NOVEMBER, PARIS) == "PR2026-0042"
    assert preview("{t}{000}", MID_NOVEMBER, PARIS) == "C001"
    assert preview("{t}{000}", MID_NOVEMBER, PARIS, "prospect") == "P001"


@pytest.mark.parametrize("text, when, tz, expected", [
    ("{yy}{000}", NEW_YEAR_EDGE, PARIS, ""),
    # monthly: the month boundary falls at local midnight
    ("{yy}{mm}{000@0}", NEW_YEAR_EDGE, PARIS, "2027-01"),
    ("{yy}{mm}{000@0}", NEW_YEAR_EDGE, NEW_YORK, "2026-12"),
    ("{yy}{mm}{000@0}", utc(2026, 11, 30, 22, 59), PARIS, "2026-11"),
    ("{yy}{mm}{000@0}", utc(2026, 11, 30, 23, 0), PARIS, "2026-12"),
    ("{yy}{mm}{000@0}", utc(2026, 12, 1, 4, 59), NEW_YORK, "2026-11"),
    ("{yy}{mm}{000@0}", utc(2026, 12, 1, 5, 0), NEW_YORK, "2026-12"),
    # yearly from January
    ("{yy}{000@1}", NEW_YEAR_EDGE, PARIS, "FY2027@1"),
    ("{yy}{000@1}", NEW_YEAR_EDGE, NEW_YORK, "FY2026@1"),
    ("{yy}{000@1}", NEW_YEAR_EDGE, UTC, "FY2026@1"),
    # yearly from April: March belongs to the year that started the previous April (summer time here)
    ("{yy}{mm}{000@4}", utc(2027, 3, 31, 21, 59), PARIS, "FY2026@4"),
    ("{yy}{mm}{000@4}", utc(2027, 3, 31, 22, 0), PARIS, "FY2027@4"),
    ("{yy}{mm}{000@4}", utc(2027, 4, 1, 3, 59), NEW_YORK, "FY2026@4"),
    ("{yy}{mm}{000@4}", utc(2027, 4, 1, 4, 0), NEW_YORK, "FY2027@4"),
    ("{yy}{mm}{000@4}", NEW_YEAR_EDGE, PARIS, "FY2026@4"),
])
def test_period_keys_around_boundaries(text, when, tz, expected):
    assert parse_mask(text).period_key(when, tz) == expected


@pytest.mark.parametrize("call", [
    lambda mask: mask.period_key(datetime(2026, 11, 15), UTC),
    lambda mask: mask.render(1, datetime(2026, 11, 15), UTC),
])
def test_naive_datetimes_are_refused(call):
    with pytest.raises(ValueError, match="timezone-aware"):
        call(parse_mask("{yy}{mm}{000@0}"))


def test_counter_overflow_is_an_error_not_a_wrong_code():
    mask = parse_mask("A{000}")
    assert mask.render(999, MID_NOVEMBER, UTC) == "A999"
    with pytest.raises(ValidationError) as refused:
        mask.render(1000, MID_NOVEMBER, UTC)
    assert refused.value.message == (
        "Counter 1000 does not fit the 3 digits of mask A{000}; widen the counter, e.g. {0000}.")


@pytest.mark.parametrize("text, problem", [
    ("", "is empty"),
    ("   ", "is empty"),
    ("CU{foo}-{0000}", "unknown tag {foo}"),
    ("CU{yyy}-{0000}", "unknown tag {yyy}"),
    ("CU{}-{0000}", "unknown tag {}"),
    ("CU{yy-{0000}", "unbalanced brace"),
    ("CU}{0000}", "unbalanced brace"),
    ("CU{{0000}}", "unbalanced brace"),
    ("CU{yy}{mm}", "no counter"),
    ("{000}-{0000}", "2 counters"),
    ("CU{00}", "at least 3"),
    ("CU{0000+}", "not understood"),
    ("CU{0000+x}", "not understood"),
    ("CU{0000@}", "not understood"),
    ("CU{0000@-1}", "not understood"),
    ("CU{yy}{mm}{0000@1+5}", "start first"),
    ("CU{yy}{mm}{0000@13}", "month 13"),
    ("CU{000+1000}", "does not fit its 3 digits"),
    ("CU{0000@1}", "every year, so it needs a year part ({yyyy} or {yy}) or codes would repeat"),
    ("CU{mm}{0000@0}", "every month, so it needs a year part"),
    ("CU{yy}{0000@0}", "and a month part ({mm})"),
    ("CU{yyyy}{0000@4}", "straddle two calendar years, so it needs a year part ({yyyy} or {yy}) and a month"),
    ("CU {0000}", "whitespace"),
    ("CU\t{0000}", "whitespace"),
    ("CU{yyyy}" + "X" * 30 + "{00000}", "41 characters; keep them to 40"),
])
def test_refused_masks_say_why(text, problem):
    with pytest.raises(ValidationError) as refused:
        parse_mask(text)
    assert refused.value.field == "mask"
    assert refused.value.message.startswith("The mask")
    assert problem in refused.value.message


def test_yearly_reset_message_matches_the_spec_example():
    with pytest.raises(ValidationError) as refused:
        parse_mask("CU{0000@1}")
    assert refused.value.message == (
        "The mask CU{0000@1} resets the counter every year, "
        "so it needs a year part ({yyyy} or {yy}) or codes would repeat.")


def test_forty_character_codes_are_accepted():
    assert len(preview("CU{yyyy}" + "X" * 29 + "{00000}", MID_NOVEMBER, UTC)) == 40


@pytest.mark.parametrize("text", ["{yy}{mm}-{000@0}", "{yy}-{000@1}", "{yyyy}{mm}-{000@4}", "{t}{yy}{mm}{dd}{000@7}"])
def test_distinct_periods_and_counters_give_distinct_codes(text):
    """Whatever instant in a period renders a (period, counter) pair, no code serves two pairs."""
    mask = parse_mask(text)
    owner_of_code: dict[str, tuple[str, int]] = {}
    for day in range(0, 3 * 366, 5):
        when = utc(2026, 1, 1, 23, 30) + timedelta(days=day)
        for counter in (1, 2, 10, 999):
            pair = (mask.counter_key(when, PARIS, "both"), counter)
            code = mask.render(counter, when, PARIS, "both")
            assert owner_of_code.setdefault(code, pair) == pair
