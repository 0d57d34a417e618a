"""Custom field types: parsing from any surface, storage text, sort numbers, display, definitions."""
from datetime import date, datetime, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from crm.errors import ValidationError
from crm.fieldtypes import (
    CHOICE_TYPES, FIELD_TYPES, FieldSpec, display, from_storage, parse, sort_number, to_storage,
    validate_definition, validate_key,
)

pytestmark = pytest.mark.database_free

PARIS = ZoneInfo("Europe/Paris")
OPTIONS = [
    {"key": "smb", "label": "Small business"},
    {"key": "mid", "label": "Mid-market"},
    {"key": "ent", "label": "Enterprise"},
]


def probe(field_type: str, **overrides) -> FieldSpec:
    options = OPTIONS if field_type in CHOICE_TYPES else []
    return FieldSpec(key="probe", label="Probe", field_type=field_type, options=options, **overrides)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


@pytest.mark.parametrize("field_type, raw, value", [
    ("string", "  Acme  ", "Acme"),
    ("text", " first line\nsecond line \n", "first line\nsecond line"),
    ("integer", "42", 42),
    ("integer", " -1 234 567 ", -1234567),
    ("integer", "+5", 5),
    ("integer", "3.0", 3),
    ("integer", 12, 12),
    ("integer", Decimal("7"), 7),
    ("amount", "1234.50", Decimal("1234.50")),
    ("amount", "1 234 567.5", Decimal("1234567.5")),
    ("amount", "1\u202f234.50", Decimal("1234.50")),
    ("amount", "-0.000001", Decimal("-0.000001")),
    ("amount", 12, Decimal("12")),
    ("amount", Decimal("1E+3"), Decimal("1000")),
    ("date", "2026-11-28", date(2026, 11, 28)),
    ("date", date(2026, 11, 28), date(2026, 11, 28)),
    ("datetime", "2026-11-28T14:05:00+01:00", utc(2026, 11, 28, 13, 5)),
    ("datetime", "2026-11-28 14:05", utc(2026, 11, 28, 14, 5)),
    ("datetime", "2026-11-28T14:05:30.5Z", utc(2026, 11, 28, 14, 5, 30, 500000)),
    ("datetime", datetime(2026, 11, 28, 14, 5, tzinfo=PARIS), utc(2026, 11, 28, 13, 5)),
    ("boolean", "yes", True),
    ("boolean", " OFF ", False),
    ("boolean", "1", True),
    ("boolean", "False", False),
    ("boolean", False, False),
    ("select", "mid", "mid"),
    ("select", " small BUSINESS ", "smb"),
    ("select", "ENT", "ent"),
    ("multiselect", "ent; smb", ["smb", "ent"]),
    ("multiselect", "smb,Mid-market,smb", ["smb", "mid"]),
    ("multiselect", ["ent", "smb", ""], ["smb", "ent"]),
    ("email", " Jane.Doe@Example.COM ", "Jane.Doe@example.com"),
    ("phone", " +33 (1) 23-45.67.89 ", "+33123456789"),  # E.164
    ("url", "acme.com", "https://acme.com"),
    ("url", " http://www.acme.com/offers?id=1 ", "http://www.acme.com/offers?id=1"),
])
def test_parse_accepts(field_type, raw, value):
    parsed = parse(probe(field_type), raw)
    assert parsed == value
    assert type(parsed) is type(value)
    if field_type == "amount":  # exact: the same digits and exponent, not just an equal number
        assert str(parsed) == str(value)


def test_parse_reads_naive_datetimes_in_the_given_zone():
    assert parse(probe("datetime"), "2026-11-28 14:05", tz=PARIS) == utc(2026, 11, 28, 13, 5)
    assert parse(probe("datetime"), datetime(2026, 7, 1, 9, 0), tz=PARIS) == utc(2026, 7, 1, 7, 0)


@pytest.mark.parametrize("field_type, raw, complaint", [
    ("string", 12, "12 is not text; give it as a string, e.g. 'Acme'"),
    ("string", "x" * 256, "is 256 characters long; at most 255 fit"),
    ("text", "x" * 5001, "is 5001 characters long; at most 5000 fit"),
    ("integer", "1.5", "'1.5' is not a whole number, e.g. 42"),
    ("integer", "abc", "'abc' is not a number, e.g. 42"),
    ("integer", True, "True is not a number"),
    ("integer", 1.0, "1.0 is a float, which cannot hold decimals exactly; pass text, e.g. '42'"),
    ("integer", "1e3", "'1e3' is not a number"),
    ("integer", "12 34", "'12 34' is not a number"),
    ("integer", str(10 ** 18), "is too large"),
    ("amount", "1,5", "'1,5': write decimals with a point and thousands with spaces, e.g. 1 234.50"),
    ("amount", 0.1, "0.1 is a float"),
    ("amount", "NaN", "'NaN' is not a number, e.g. 1234.50"),
    ("amount", Decimal("Infinity"), "Decimal('Infinity') is not a number"),
    ("amount", "0.1234567", "'0.1234567' has more than 6 decimals, e.g. 1234.50"),
    ("date", "28/11/2026", "'28/11/2026' is not a date written YYYY-MM-DD, e.g. 2026-11-28"),
    ("date", "2026-02-30", "'2026-02-30' is not a date"),
    ("date", utc(2026, 11, 28, 14, 5), "is not a date written YYYY-MM-DD"),
    ("datetime", "2026-11-28", "'2026-11-28' is not a date and time, e.g. 2026-11-28 14:05"),
    ("datetime", "2026-11-28 25:00", "'2026-11-28 25:00' is not a date and time"),
    ("datetime", date(2026, 11, 28), "is not a date and time"),
    ("boolean", "maybe", "'maybe' is not yes or no; use true/false, yes/no, 1/0 or on/off"),
    ("boolean", 1, "1 is not yes or no"),
    ("select", "Gold", "'Gold' is not an option; use a key or a label among smb, mid, ent"),
    ("select", ["smb"], "['smb'] is not one option"),
    ("multiselect", "smb;gold;Silver", "'gold', 'Silver' are not options; use a key or a label among smb, mid, ent"),
    ("multiselect", [1, 2], "[1, 2] is not a list of options"),
    ("email", "jane@example", "'jane@example' is not an email address, e.g. jane@example.com"),
    ("email", "jane doe@example.com", "is not an email address"),
    ("email", "a@b@example.com", "is not an email address"),
    ("phone", "12345", "'12345' is not a phone number with its country code, e.g. +33 1 23 45 67 89"),
    ("phone", "+33 1 23 45 67", "'+33 1 23 45 67' is not a phone number, e.g. +33 1 23 45 67 89"),  # a digit short
    ("phone", "call me", "is not a phone number"),
    ("url", "ftp://acme.com", "'ftp://acme.com' is not a web address, e.g. https://example.com"),
    ("url", "https://intranet", "is not a web address"),
    ("url", "not a site", "is not a web address"),
])
def test_parse_refuses_naming_the_field(field_type, raw, complaint):
    with pytest.raises(ValidationError) as caught:
        parse(probe(field_type), raw)
    assert caught.value.field == "cf.probe"
    assert caught.value.message.startswith("Probe")
    assert complaint in caught.value.message


@pytest.mark.parametrize("field_type", FIELD_TYPES)
@pytest.mark.parametrize("blank", [None, "", "   ", []])
def test_blank_input_is_none_unless_required(field_type, blank):
    assert parse(probe(field_type), blank) is None
    with pytest.raises(ValidationError) as caught:
        parse(probe(field_type, required=True), blank)
    assert (caught.value.field, caught.value.message) == ("cf.probe", "Probe is required.")


def test_multiselect_of_separators_only_is_blank():
    assert parse(probe("multiselect"), " ; , ") is None
    with pytest.raises(ValidationError, match="Probe is required."):
        parse(probe("multiselect", required=True), ["", " "])


@pytest.mark.parametrize("field_type, value, text", [
    ("string", "Acme", "Acme"),
    ("text", "first line\nsecond line", "first line\nsecond line"),
    ("integer", -1234, "-1234"),
    ("amount", Decimal("1234.50"), "1234.50"),
    ("amount", Decimal("-0.000001"), "-0.000001"),
    ("amount", Decimal("1000"), "1000"),
    ("date", date(2026, 11, 28), "2026-11-28"),
    ("datetime", utc(2026, 11, 28, 13, 5), "2026-11-28T13:05:00+00:00"),
    ("datetime", utc(2026, 11, 28, 13, 5, 30, 250000), "2026-11-28T13:05:30.250000+00:00"),
    ("boolean", True, "1"),
    ("boolean", False, "0"),
    ("select", "mid", "mid"),
    ("multiselect", ["smb", "ent"], "smb;ent"),
    ("email", "jane@example.com", "jane@example.com"),
    ("phone", "+33123456789", "+33123456789"),
    ("url", "https://acme.com", "https://acme.com"),
])
def test_storage_round_trip_is_exact(field_type, value, text):
    definition = probe(field_type)
    assert to_storage(definition, value) == text
    restored = from_storage(definition, text)
    assert restored == value and type(restored) is type(value) and str(restored) == str(value)
    assert parse(definition, text) == value  # storage text is valid input too: defaults are kept that way


def test_storage_keeps_none_and_datetimes_in_utc():
    assert to_storage(probe("string"), None) is None
    assert from_storage(probe("string"), None) is None
    moment = parse(probe("datetime"), "2026-11-28T14:05:00+01:00")
    assert to_storage(probe("datetime"), moment) == "2026-11-28T13:05:00+00:00"


def test_datetime_storage_text_sorts_like_the_moments():
    moments = [utc(2026, 11, 28, 13, 5), utc(2026, 11, 28, 13, 5, 0, 1), utc(2026, 11, 28, 13, 5, 1), utc(2027, 1, 1)]
    texts = [to_storage(probe("datetime"), moment) for moment in moments]
    assert sorted(texts) == texts


@pytest.mark.parametrize("field_type, value, number", [
    ("integer", 42, Decimal(42)),
    ("amount", Decimal("1234.50"), Decimal("1234.50")),
    ("integer", None, None),
    ("date", date(2026, 11, 28), None),
    ("string", "42", None),
])
def test_sort_number_for_integers_and_amounts_only(field_type, value, number):
    assert sort_number(probe(field_type), value) == number


@pytest.mark.parametrize("field_type, value, tz, text", [
    ("string", "Acme", None, "Acme"),
    ("integer", 1234567, None, "1,234,567"),
    ("integer", -5, None, "-5"),
    ("amount", Decimal("1234.5"), None, "1,234.50"),
    ("amount", Decimal("1234.567"), None, "1,234.567"),
    ("amount", Decimal("-1000"), None, "-1,000.00"),
    ("date", date(2026, 11, 28), None, "2026-11-28"),
    ("datetime", utc(2026, 11, 28, 13, 5), PARIS, "2026-11-28 14:05"),
    ("datetime", utc(2026, 11, 28, 13, 5), None, "2026-11-28 13:05"),
    ("boolean", True, None, "Yes"),
    ("boolean", False, None, "No"),
    ("select", "smb", None, "Small business"),
    ("select", "gold", None, "gold (removed option)"),  # an option removed since: its key still shows
    ("multiselect", ["smb", "ent"], None, "Small business, Enterprise"),
    ("email", "jane@example.com", None, "jane@example.com"),
    ("url", None, None, ""),
])
def test_display(field_type, value, tz, text):
    assert display(probe(field_type), value, tz=tz) == text


@pytest.mark.parametrize("key", ["segment", "a", "vat_2", "x" * 32])
def test_validate_key_accepts(key):
    assert validate_key(key) == key


@pytest.mark.parametrize("key", ["Segment", "1st", "_x", "seg-ment", "x" * 33, "", "segment\n", None])
def test_validate_key_refuses(key):
    with pytest.raises(ValidationError) as caught:
        validate_key(key)
    assert caught.value.field == "key"
    assert "lower snake case" in caught.value.message


def definition_form(**overrides) -> dict:
    form = {"key": "segment", "label": "Segment", "field_type": "select", "options": OPTIONS,
            "default": None, "required": False, "unique": False}
    return form | overrides


@pytest.mark.parametrize("form, normalised", [
    (definition_form(default="small business"), (OPTIONS, "smb")),
    (definition_form(options=[{"key": " smb ", "label": " Small business "}]),
     ([{"key": "smb", "label": "Small business"}], None)),
    (definition_form(field_type="multiselect", default="ent;smb"), (OPTIONS, "smb;ent")),
    (definition_form(field_type="amount", default="1 234.5"), ([], "1234.5")),
    (definition_form(field_type="boolean", default="yes", required=True), ([], "1")),
    (definition_form(field_type="datetime", default="2026-11-28 14:05"), ([], "2026-11-28T14:05:00+00:00")),
    (definition_form(field_type="email", default="  ", unique=True), ([], None)),
])
def test_validate_definition_normalises(form, normalised):
    assert validate_definition(**form) == normalised


@pytest.mark.parametrize("form, field, complaint", [
    (definition_form(key="Segment"), "key", "lower snake case"),
    (definition_form(label="  "), "label", "Label is required"),
    (definition_form(label="x" * 61), "label", "at most 60"),
    (definition_form(field_type="money"), "field_type", "'money' is not one of string, text, integer"),
    (definition_form(options=[]), "options", "needs at least one"),
    (definition_form(options=[{"key": "smb", "label": "A"}, {"key": "smb", "label": "B"}]), "options", "'smb' is used twice"),
    (definition_form(options=[{"key": "a", "label": "Same"}, {"key": "b", "label": "SAME"}]), "options", "'same' is used twice"),
    (definition_form(options=[{"key": "Small Business", "label": "Small"}]), "options", "lower snake case"),
    (definition_form(options=[{"key": "smb", "label": ""}]), "options", "1 to 75 characters"),
    (definition_form(default="gold"), "default", "Default: 'gold' is not an option"),
    (definition_form(field_type="integer", default="1.5"), "default", "Default: '1.5' is not a whole number"),
    (definition_form(default="smb", unique=True), "default", "a unique field cannot have one"),
    (definition_form(field_type="boolean", unique=True), "unique", "a yes/no field has two values"),
    (definition_form(field_type="multiselect", unique=True), "unique", "a set of choices"),
])
def test_validate_definition_names_the_bad_part(form, field, complaint):
    with pytest.raises(ValidationError) as caught:
        validate_definition(**form)
    assert caught.value.field == field
    assert complaint in caught.value.message
