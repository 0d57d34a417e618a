"""Custom fields: definitions (admins), every type through create/update, required, default,
unique, unknown keys, redefine and remove, batch reads and the record card."""
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from crm import clock, customfields, thirdparties
from crm.errors import Conflict, Forbidden, NotFound, ValidationError
from crm.fieldtypes import FIELD_TYPES, display
from models import CustomField, CustomFieldValue, Event, ThirdParty
from tests import database
from tests.conftest import ADMIN, ALICE, context

UTC = ZoneInfo("UTC")
PARIS = ZoneInfo("Europe/Paris")
SEGMENTS = [{"key": "smb", "label": "Small business"}, {"key": "mid", "label": "Mid-market"},
            {"key": "ent", "label": "Enterprise"}]
CHOICES = {"select": SEGMENTS, "multiselect": SEGMENTS}
AWARE_PARIS = datetime(2026, 11, 28, 14, 5, tzinfo=PARIS)


async def define(key, field_type, *, applies_to="thirdparty", label=None, **options) -> CustomField:
    return await customfields.define(context(ADMIN), applies_to, key, label or key.replace("_", " ").capitalize(), field_type,
                                     options=CHOICES.get(field_type), **options)


async def new(name="Acme", custom=None) :
    return await thirdparties.create(context(), {"name": name, "type": "customer"}, custom=custom)


async def edit(thirdparty, custom: dict, **values):
    return await thirdparties.update(context(), thirdparty.id, values, custom=custom)


async def custom_of(thirdparty) -> dict:
    values = (await customfields.values_by_owner("thirdparty", [thirdparty.id]))[thirdparty.id]
    return {key: value for key, value in values.items() if value is not None}


def same(value, expected) -> bool:
    """Equal, of the same type, and for Decimals with the same digits (1234.50 is not 1234.5)."""
    return type(value) is type(expected) and repr(value) == repr(expected)


# --- definitions ---

async def test_only_admins_define_redefine_and_remove(db):
    with pytest.raises(Forbidden):
        await customfields.define(context(ALICE), "thirdparty", "segment", "Segment", "string")
    assert await CustomField.all().count() == 0
    field = await define("segment", "string")
    with pytest.raises(Forbidden):
        await customfields.redefine(context(ALICE), field.id, label="Renamed")
    with pytest.raises(Forbidden):
        await customfields.remove(context(ALICE), field.id)
    assert (await CustomField.get(id=field.id)).label == "Segment"


async def test_define_stores_the_definition(db):
    field = await customfields.define(context(ADMIN), "thirdparty", "segment", " Segment ", "select",
                                      options=[{"key": " smb ", "label": " Small business "}],
                                      default="Small business", required=True)
    stored = await CustomField.get(id=field.id)
    assert (stored.applies_to, stored.key, stored.label, stored.field_type, stored.required, stored.unique) == (
        "thirdparty", "segment", "Segment", "select", True, False)
    assert stored.options == [{"key": "smb", "label": "Small business"}]
    assert stored.default == "smb"
    assert stored.position == 0
    assert (await define("other", "string")).position == 1


async def test_an_option_may_be_labelled_with_its_own_key(db):
    field = await customfields.define(context(ADMIN), "contact", "role", "Role", "select",
                                      options=[{"key": "buyer", "label": "Buyer"}, {"key": "user", "label": "User"}])
    assert [option["key"] for option in field.options] == ["buyer", "user"]


@pytest.mark.parametrize("applies_to, key, label, field_type, options, field", [
    ("document", "segment", "Segment", "string", {}, "applies_to"),
    ("thirdparty", "Segment", "Segment", "string", {}, "key"),
    ("thirdparty", "cf.segment", "Segment", "string", {}, "key"),
    ("thirdparty", "segment", "", "string", {}, "label"),
    ("thirdparty", "segment", "Segment", "money", {}, "field_type"),
    ("thirdparty", "segment", "Segment", "select", {}, "options"),
    ("thirdparty", "segment", "Segment", "boolean", {"unique": True}, "unique"),
    ("thirdparty", "segment", "Segment", "integer", {"default": "many"}, "default"),
    ("thirdparty", "segment", "Segment", "string", {"default": "x", "unique": True}, "default"),
    ("thirdparty", "existing", "Existing", "string", {}, "key"),
])
async def test_define_refuses_a_bad_definition(db, applies_to, key, label, field_type, options, field):
    await define("existing", "string")
    with pytest.raises(ValidationError) as error:
        await customfields.define(context(ADMIN), applies_to, key, label, field_type, **options)
    assert error.value.field == field
    assert [f.key for f in await CustomField.all()] == ["existing"]


async def test_the_same_key_may_serve_third_parties_and_contacts(db):
    await define("segment", "string")
    await define("segment", "string", applies_to="contact")
    assert [f.applies_to for f in await CustomField.all().order_by("id")] == ["thirdparty", "contact"]


async def test_at_most_forty_fields_per_target(db):
    for number in range(customfields.MAX_FIELDS):
        await CustomField.create(applies_to="thirdparty", key=f"f{number}", label=f"F{number}",
                                 field_type="string", position=number, created_at=clock.now())
    with pytest.raises(Conflict):
        await define("one_more", "string")
    assert (await define("one_more", "string", applies_to="contact")).key == "one_more"


# --- every type, through create and update ---

@pytest.fixture(scope="class")
async def typed_fields(migrated):
    """One field of each type, f_TYPE, none required."""
    await database.empty_all_tables()
    return {field_type: await define(f"f_{field_type}", field_type) for field_type in FIELD_TYPES}


class TestEveryType:
    @pytest.mark.parametrize("field_type, raw, expected", [
        ("string", "  Gold  ", "Gold"),
        ("text", "Line 1\nLine 2", "Line 1\nLine 2"),
        ("integer", "1 234", 1234),
        ("integer", -7, -7),
        ("amount", "1234.50", Decimal("1234.50")),
        ("amount", "1 234 567.891234", Decimal("1234567.891234")),
        ("amount", Decimal("0.10"), Decimal("0.10")),
        ("amount", 12, Decimal("12")),
        ("amount", "-0.01", Decimal("-0.01")),
        ("date", "2026-11-28", date(2026, 11, 28)),
        ("date", date(2024, 2, 29), date(2024, 2, 29)),
        ("datetime", "2026-11-28T14:05+01:00", datetime(2026, 11, 28, 13, 5, tzinfo=timezone.utc)),
        ("datetime", AWARE_PARIS, datetime(2026, 11, 28, 13, 5, tzinfo=timezone.utc)),
        ("datetime", "2026-07-01 09:30:15.250000Z", datetime(2026, 7, 1, 9, 30, 15, 250000, tzinfo=timezone.utc)),
        ("boolean", "yes", True),
        ("boolean", False, False),
        ("select", "Small business", "smb"),
        ("select", "ent", "ent"),
        ("multiselect", "ent; Small business", ["smb", "ent"]),
        ("multiselect", ["mid"], ["mid"]),
        ("email", "Jane@Example.COM", "Jane@example.com"),
        ("phone", "+33 1 23 45 67 89", "+33123456789"),
        ("url", "example.com/about", "https://example.com/about"),
    ])
    async def test_stored_and_read_back(self, typed_fields, field_type, raw, expected):
        key = f"f_{field_type}"
        tp = await new(custom={key: raw})
        value = (await custom_of(tp))[key]
        assert same(value, expected), (value, expected)
        if isinstance(expected, datetime):
            assert value.utcoffset() == timedelta(0)
        # unchanged by an edit giving the same value again, changed by another
        _, changes = await edit(tp, {key: raw})
        assert not changes
        _, changes = await edit(tp, {f"cf.{key}": None})
        assert list(changes.fields) == [f"cf.{key}"] and key not in await custom_of(tp)

    async def test_amounts_are_decimals_in_the_sort_column_too(self, typed_fields):
        tp = await new(custom={"f_amount": "1234.50", "f_integer": "3"})
        rows = {row.field_id: row for row in await CustomFieldValue.filter(thirdparty_id=tp.id)}
        amount, integer = rows[typed_fields["amount"].id], rows[typed_fields["integer"].id]
        assert (amount.value, integer.value) == ("1234.50", "3")
        assert isinstance(amount.number, Decimal) and amount.number == Decimal("1234.5")
        assert integer.number == 3

    @pytest.mark.parametrize("field_type, raw", [
        ("string", "x" * 256),
        ("integer", "12.5"),
        ("integer", "twelve"),
        ("amount", 12.5),          # a float cannot hold decimals exactly
        ("amount", "1,5"),
        ("amount", "0.0000001"),
        ("date", "2026-02-30"),
        ("date", "28/11/2026"),
        ("datetime", "tomorrow"),
        ("boolean", "maybe"),
        ("select", "gold"),
        ("multiselect", "smb;gold"),
        ("email", "jane@"),
        ("phone", "call me"),
        ("url", "not a url"),
    ])
    async def test_a_bad_value_names_the_field_and_saves_nothing(self, typed_fields, field_type, raw):
        before = await ThirdParty.all().count()
        with pytest.raises(ValidationError) as error:
            await new(custom={f"f_{field_type}": raw})
        assert error.value.field == f"cf.f_{field_type}"
        assert str(error.value).startswith(f"F {field_type}")  # the message names the label
        assert await ThirdParty.all().count() == before


async def test_edits_record_custom_changes_as_plain_data(db):
    await define("budget", "amount")
    await define("segments", "multiselect")
    await define("renewal", "date")
    tp = await new(custom={"budget": "1234.50", "segments": "smb"})
    _, changes = await edit(tp, {"budget": "99.90", "segments": ["smb", "ent"], "renewal": "2027-01-31"})
    assert changes.fields == {
        "cf.budget": (Decimal("1234.50"), Decimal("99.90")),
        "cf.segments": (["smb"], ["smb", "ent"]),
        "cf.renewal": (None, date(2027, 1, 31)),
    }
    event = await Event.get(code="COMPANY_MODIFY")
    assert event.details["changes"] == {
        "cf.budget": ["1234.50", "99.90"], "cf.segments": [["smb"], ["smb", "ent"]], "cf.renewal": [None, "2027-01-31"],
    }


# --- required, default, unique, unknown ---

async def test_a_required_field_must_be_given_on_create(db):
    await define("siret", "string", required=True)
    for custom in (None, {}, {"siret": "  "}):
        with pytest.raises(ValidationError) as error:
            await new(custom=custom)
        assert error.value.field == "cf.siret"
    assert await ThirdParty.all().count() == 0
    tp = await new(custom={"siret": "12345"})
    assert tp.code.endswith("-00001")  # refused creations took no code
    # an edit that does not mention it keeps it; one that empties it is refused
    await edit(tp, {}, town="Paris")
    with pytest.raises(ValidationError) as error:
        await edit(tp, {"cf.siret": ""}, town="Lyon")
    assert error.value.field == "cf.siret"
    stored = await ThirdParty.get(id=tp.id)
    assert (stored.town, await custom_of(stored)) == ("Paris", {"siret": "12345"})


async def test_a_required_field_added_later_does_not_block_edits_of_older_records(db):
    tp = await new()
    await define("siret", "string", required=True)
    _, changes = await edit(tp, {}, town="Paris")
    assert list(changes.fields) == ["town"]


async def test_the_default_applies_on_create_only(db):
    older = await new("Older")
    await define("segment", "select", default="Mid-market", required=True)
    await define("active", "boolean", default="yes")
    await define("note", "string")
    defaulted = await new("Defaulted")
    chosen = await new("Chosen", custom={"segment": "ent", "active": False})
    assert await custom_of(defaulted) == {"segment": "mid", "active": True}
    assert await custom_of(chosen) == {"segment": "ent", "active": False}
    assert await custom_of(older) == {}
    await edit(older, {"note": "x"})
    assert await custom_of(older) == {"note": "x"}


async def test_a_unique_field_refuses_a_second_record_with_the_same_value(db):
    await define("siret", "string", unique=True)
    first = await new("First", custom={"siret": "123 456"})
    with pytest.raises(ValidationError) as error:
        await new("Second", custom={"siret": "123 456"})
    assert error.value.field == "cf.siret"
    assert await ThirdParty.all().count() == 1
    second = await new("Second", custom={"siret": "999"})
    # the same record keeps its value through edits
    _, changes = await edit(first, {"siret": "123 456"}, town="Paris")
    assert list(changes.fields) == ["town"]
    with pytest.raises(ValidationError) as error:
        await edit(second, {"cf.siret": "123 456"})
    assert error.value.field == "cf.siret"
    assert await custom_of(second) == {"siret": "999"}
    # once the first lets it go, the second may take it
    await edit(first, {"siret": "777"})
    await edit(second, {"siret": "123 456"})
    assert (await custom_of(first), await custom_of(second)) == ({"siret": "777"}, {"siret": "123 456"})


async def test_unique_values_compare_in_canonical_form(db):
    await define("ref_no", "integer", unique=True)
    await new("First", custom={"ref_no": "1 000"})
    with pytest.raises(ValidationError) as error:
        await new("Second", custom={"ref_no": 1000})
    assert error.value.field == "cf.ref_no"


async def test_empty_values_of_a_unique_field_do_not_clash(db):
    await define("siret", "string", unique=True)
    await new("First")
    await new("Second", custom={"siret": ""})
    assert await ThirdParty.all().count() == 2


@pytest.mark.parametrize("key", ["nope", "cf.nope"])
async def test_an_unknown_key_is_refused(db, key):
    await define("segment", "string")
    with pytest.raises(ValidationError) as error:
        await new(custom={"segment": "x", key: "1"})
    assert error.value.field == "cf.nope"
    assert await ThirdParty.all().count() == 0
    tp = await new(custom={"segment": "x"})
    with pytest.raises(ValidationError) as error:
        await edit(tp, {key: "1"})
    assert error.value.field == "cf.nope"


# --- redefine and remove ---

async def test_redefine_changes_label_options_default_and_flags(db):
    field = await define("segment", "select")
    tp = await new(custom={"segment": "smb"})
    options = [*SEGMENTS, {"key": "gov", "label": "Government"}]
    changed = await customfields.redefine(context(ADMIN), field.id, label="Market", options=options, default="gov",
                                          required=True, position=5)
    stored = await CustomField.get(id=field.id)
    assert (stored.key, stored.field_type, stored.label, stored.default, stored.required, stored.position) == (
        "segment", "select", "Market", "gov", True, 5)
    assert changed.options == options
    assert await custom_of(tp) == {"segment": "smb"}
    assert await custom_of(await new("New")) == {"segment": "gov"}


async def test_redefine_refuses_a_bad_change(db):
    field = await define("segment", "select")
    with pytest.raises(ValidationError) as error:
        await customfields.redefine(context(ADMIN), field.id, label="Segment", options=[])
    assert error.value.field == "options"
    with pytest.raises(NotFound):
        await customfields.redefine(context(ADMIN), 404, label="X")
    assert (await CustomField.get(id=field.id)).options == SEGMENTS


async def test_making_a_field_unique_checks_and_then_enforces(db):
    field = await define("siret", "string")
    first = await new("First", custom={"siret": "123"})
    second = await new("Second", custom={"siret": "123"})
    with pytest.raises(ValidationError) as error:
        await customfields.redefine(context(ADMIN), field.id, label="SIRET", unique=True)
    assert error.value.field == "unique"
    assert not (await CustomField.get(id=field.id)).unique
    await edit(second, {"siret": "456"})
    await customfields.redefine(context(ADMIN), field.id, label="SIRET", unique=True)
    with pytest.raises(ValidationError) as error:
        await new("Third", custom={"siret": "123"})
    assert error.value.field == "cf.siret"
    # and back: not unique any more, the value may repeat
    await customfields.redefine(context(ADMIN), field.id, label="SIRET", unique=False)
    third = await new("Third", custom={"siret": "123"})
    assert await custom_of(third) == await custom_of(first) == {"siret": "123"}


async def test_remove_deletes_the_field_and_its_values(db):
    kept = await define("kept", "string")
    removed = await define("removed", "integer")
    tp = await new(custom={"kept": "a", "removed": "1"})
    await customfields.remove(context(ADMIN), removed.id)
    assert [f.key for f in await customfields.definitions("thirdparty")] == ["kept"]
    assert await CustomFieldValue.filter(field_id=removed.id).count() == 0
    assert await custom_of(tp) == {"kept": "a"}
    with pytest.raises(ValidationError) as error:
        await edit(tp, {"removed": "2"})
    assert error.value.field == "cf.removed"
    with pytest.raises(NotFound):
        await customfields.remove(context(ADMIN), removed.id)
    assert (await CustomField.get(id=kept.id)).key == "kept"


# --- batch reads and display ---

async def test_values_by_owner(db):
    await define("size", "integer")
    await define("size", "integer", applies_to="contact")
    first = await new("First", custom={"size": 1})
    second = await new("Second", custom={"size": "2"})
    bare = await new("Bare")
    values = await customfields.values_by_owner("thirdparty", [first.id, second.id, bare.id])
    assert values == {first.id: {"size": 1}, second.id: {"size": 2}, bare.id: {"size": None}}
    assert await customfields.values_by_owner("thirdparty", []) == {}
    assert await customfields.values_by_owner("contact", [first.id]) == {first.id: {"size": None}}


async def test_the_card_shows_set_fields_by_position_in_words(db):
    await define("budget", "amount", label="Budget", position=3)
    await define("segments", "multiselect", label="Segments", position=1)
    await define("partner", "boolean", label="Partner", position=2)
    await define("meeting", "datetime", label="Next meeting", position=0)
    await define("unset", "string", label="Unset", position=4)
    tp = await new(custom={"budget": "1234.5", "segments": "ent;smb", "partner": "no",
                           "meeting": "2026-11-28T13:05Z"})
    card = await thirdparties.card(context(), tp.id)
    assert [(f.label, display(f, value, PARIS)) for f, value in card.custom] == [
        ("Next meeting", "2026-11-28 14:05"),
        ("Segments", "Small business, Enterprise"),
        ("Partner", "No"),
        ("Budget", "1,234.50"),
    ]
    meeting, value = card.custom[0]
    assert display(meeting, value, UTC) == "2026-11-28 13:05"


async def test_a_date_time_typed_without_offset_is_read_in_crm_timezone(db):
    await define("visit", "datetime")
    tp = await thirdparties.create(context(tz=PARIS), {"name": "Acme", "type": "customer"},
                                   custom={"visit": "2026-11-28 14:05"})
    assert (await custom_of(tp))["visit"] == datetime(2026, 11, 28, 13, 5, tzinfo=timezone.utc)
    await thirdparties.update(context(tz=PARIS), tp.id, {}, custom={"visit": "2026-07-01 09:00"})
    assert (await custom_of(tp))["visit"] == datetime(2026, 7, 1, 7, 0, tzinfo=timezone.utc)
