"""Third parties (SPEC §3, §4, §10): create, edit, permissions, REF lookup, search, duplicates, card."""
import dataclasses
import logging
from datetime import datetime, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from tortoise import connections
from tortoise.models import Model

from crm import clock, contacts, customfields, search, thirdparties
from crm.errors import Ambiguous, Forbidden, NotFound, ValidationError
from crm.permissions import Actor
from models import Event, NumberingCounter, Tag, ThirdParty, User
from tests import database, faults
from tests.conftest import ADMIN, ALICE, context

UTC = ZoneInfo("UTC")
PARIS = ZoneInfo("Europe/Paris")
READONLY = Actor("U0READER", role="readonly")
# 2026-01-31 23:30 UTC is already February in Paris.
MONTH_EDGE = datetime(2026, 1, 31, 23, 30, tzinfo=timezone.utc)


async def new(name="Acme", kind="customer", *, actor=ALICE, tz=UTC, tags=(), sales_reps=(), custom=None,
              default_role="sales", **values):
    return await thirdparties.create(context(actor, tz, default_role), {"name": name, "type": kind, **values},
                                     tags=tags, sales_reps=sales_reps, custom=custom)


async def events(code: str | None = None) -> list[Event]:
    query = Event.filter(code=code) if code else Event.all()
    return await query.order_by("id")


async def tag_names(thirdparty) -> list[str]:
    return sorted(tag.name for tag in await Tag.filter(thirdparties__id=thirdparty.id))


async def rep_ids(thirdparty) -> list[str]:
    return (await thirdparties.tags_and_reps(thirdparty.id))[1]


# --- create ---

async def test_create_needs_only_name_and_type_and_numbers_in_crm_timezone(db):
    clock.freeze(MONTH_EDGE)
    first = await new("Acme", tz=PARIS)
    second = await new("Globex", "prospect", tz=PARIS)
    assert (first.code, second.code) == ("CU2602-00001", "CU2602-00002")
    stored = await ThirdParty.get(id=first.id)
    assert (stored.name, stored.type, stored.status, stored.email, stored.country) == (
        "Acme", "customer", "active", "", "")
    assert (stored.created_by, stored.updated_by) == (ALICE.id, ALICE.id)


async def test_the_same_moment_in_utc_is_still_january(db):
    clock.freeze(MONTH_EDGE)
    assert (await new(tz=UTC)).code == "CU2601-00001"


async def test_create_stores_every_field_normalised(db):
    tp = await new(
        "  Acme Widgets ", "both", alias="ACW", status="closed", email=" Jane.Doe@ACME.Example ",
        phone="+33 1 23 45 67 89", website="acme.example/shop", address="1 rue de la Paix\nBât. B",
        zip="75002", town="Paris", country="fr", language="EN-us", vat_id="FR 12 345 678 901",
        note_public="Public", note_private="Private",
    )
    stored = await ThirdParty.get(id=tp.id)
    assert {name: getattr(stored, name) for name in thirdparties.FIELDS} == {
        "name": "Acme Widgets", "alias": "ACW", "type": "both", "status": "closed",
        "email": "Jane.Doe@acme.example", "phone": "+33123456789", "website": "https://acme.example/shop",
        "address": "1 rue de la Paix\nBât. B", "zip": "75002", "town": "Paris", "country": "FR",
        "language": "en_US", "vat_id": "FR 12 345 678 901", "note_public": "Public", "note_private": "Private",
    }
    assert (stored.email_key, stored.vat_key, stored.name_key) == (
        "jane.doe@acme.example", "FR12345678901", "acme widgets")


BAD_VALUES = [
    ("email", "jane@", "email"),
    ("email", "jane doe@acme.example", "email"),
    ("phone", "call me", "phone"),
    ("phone", "12 34", "phone"),
    ("website", "not a site", "website"),
    ("country", "XX", "country"),
    ("country", "France", "country"),
    ("language", "english", "language"),
    ("type", "partner", "type"),
    ("status", "archived", "status"),
    ("name", "x" * 256, "name"),
    ("name", "   ", "name"),
    ("zip", "1" * 33, "zip"),
    ("fax", "+33 1 23 45 67 89", "fax"),
]


async def snapshot() -> dict:
    """Row counts and counter values: what a refused change must leave as it was."""
    return {
        "thirdparties": await ThirdParty.all().count(), "events": await Event.all().count(),
        "tags": await Tag.all().count(), "users": await User.all().count(),
        "counters": sorted(await NumberingCounter.all().values_list("counter_key", "value")),
    }


@pytest.fixture(scope="class")
async def existing(migrated):
    await database.empty_all_tables()
    tp = await new(email="a@acme.example", phone="+33 1 23 45 67 89", tags=["b2b"], sales_reps=["U0BOB"])
    return tp, await snapshot()


class TestRefusedValues:
    """Each case leaves the database as the class fixture made it: nothing is saved."""

    @pytest.mark.parametrize("values, field", [
        ({"type": "customer"}, "name"),
        ({"name": "Acme"}, "type"),
        ({"name": "Acme", "type": ""}, "type"),
    ])
    async def test_create_needs_name_and_type(self, existing, values, field):
        with pytest.raises(ValidationError) as error:
            await thirdparties.create(context(), values)
        assert error.value.field == field
        assert await snapshot() == existing[1]

    @pytest.mark.parametrize("name, value, field", BAD_VALUES)
    async def test_create_names_the_bad_field_and_saves_nothing(self, existing, name, value, field):
        values = {"name": "Globex", "type": "customer", name: value}
        with pytest.raises(ValidationError) as error:
            await thirdparties.create(context(), values, tags=["vip"], sales_reps=["U0CAROL"])
        assert error.value.field == field
        assert str(error.value)
        # no row, no event, no tag or user, and the counter did not move (no gap in codes)
        assert await snapshot() == existing[1]

    @pytest.mark.parametrize("name, value, field", BAD_VALUES)
    async def test_edit_names_the_bad_field_and_changes_nothing(self, existing, name, value, field):
        tp = existing[0]
        with pytest.raises(ValidationError) as error:
            await thirdparties.update(context(ALICE), tp.id, {"town": "Lyon", name: value}, tags=["vip"])
        assert error.value.field == field
        stored = await ThirdParty.get(id=tp.id)
        assert (stored.town, stored.email, stored.name, stored.status) == ("", "a@acme.example", "Acme", "active")
        assert await tag_names(stored) == ["b2b"]
        assert await snapshot() == existing[1]


async def test_the_code_after_refused_creations_has_no_gap(db):
    await new()
    for name, value, _ in BAD_VALUES:
        with pytest.raises(ValidationError):
            await thirdparties.create(context(), {"name": "Globex", "type": "customer", name: value})
    assert (await new("Initech")).code.endswith("-00002")


async def test_empty_optional_values_are_stored_empty(db):
    tp = await new(email="", phone=None, country="  ")
    stored = await ThirdParty.get(id=tp.id)
    assert (stored.email, stored.phone, stored.country) == ("", "", "")


async def test_tags_are_normalised_and_deduplicated(db):
    tp = await new(tags=["VIP", " vip ", "Key   Account", "", "b2b", "B2B"])
    other = await new("Globex", tags=["vip"])
    assert await tag_names(tp) == ["b2b", "key account", "vip"]
    assert await tag_names(other) == ["vip"]
    assert await Tag.all().count() == 3  # shared, not one row per third party


async def test_a_too_long_tag_is_refused(db):
    with pytest.raises(ValidationError) as error:
        await new(tags=["ok", "x" * 65])
    assert error.value.field == "tags"
    assert await ThirdParty.all().count() == 0


async def test_sales_reps_become_users_with_the_default_role(db):
    await User.create(id="U0BOB", role="sales", name="Bob", created_at=clock.now())
    tp = await new(sales_reps=["U0CAROL", "U0BOB", "U0CAROL"], default_role="readonly")
    assert await rep_ids(tp) == ["U0CAROL", "U0BOB"]  # in the order given: the first is the default rep
    roles = {u.id: (u.role, u.name) for u in await User.all()}
    assert roles == {"U0BOB": ("sales", "Bob"), "U0CAROL": ("readonly", "")}


async def test_putting_another_rep_first_is_a_change(db):
    tp = await new(sales_reps=["U0BOB", "U0CAROL"])
    _, changes = await thirdparties.update(context(ALICE), tp.id, {}, sales_reps=["U0CAROL", "U0BOB"])
    assert changes.fields == {"sales_reps": (["U0BOB", "U0CAROL"], ["U0CAROL", "U0BOB"])}
    assert await rep_ids(tp) == ["U0CAROL", "U0BOB"]


async def test_a_sales_rep_must_be_a_slack_user_id(db):
    with pytest.raises(ValidationError) as error:
        await new(sales_reps=["U0BOB", "bob@acme.example"])
    assert error.value.field == "sales_reps" and "'bob@acme.example'" in error.value.message
    assert await ThirdParty.all().count() == 0 and await User.all().count() == 0


async def test_create_records_company_create(db):
    clock.freeze(MONTH_EDGE)
    tp = await new("Acme", "prospect", tz=PARIS)
    [event] = await events()
    assert (event.code, event.user_id, event.thirdparty_id, event.occurred_at) == (
        "COMPANY_CREATE", ALICE.id, tp.id, MONTH_EDGE)
    assert event.label == "Prospect Acme created"


async def test_the_event_is_in_the_same_transaction_as_the_record(db):
    async with faults.failing_inserts("crm_event"):
        with pytest.raises(Exception, match=faults.MESSAGE):
            await new(tags=["vip"], sales_reps=["U0BOB"])
    assert await ThirdParty.all().count() == 0
    assert await Tag.all().count() == await User.all().count() == 0
    assert (await new()).code.endswith("-00001")


# --- update ---

async def test_update_records_what_changed(db):
    options = [{"key": "smb", "label": "Small business"}, {"key": "key", "label": "Key account"}]
    await customfields.define(context(ADMIN), "thirdparty", "segment", "Segment", "select", options=options)
    tp = await new(town="Paris", tags=["vip"], sales_reps=["U0BOB"], custom={"segment": "smb"})
    updated, changes = await thirdparties.update(
        context(ADMIN), tp.id, {"town": "Lyon", "email": "Info@Acme.Example", "name": "Acme"},
        tags=["VIP", "North"], sales_reps=["U0CAROL"], custom={"cf.segment": "key account"},
    )
    expected = {
        "town": ["Paris", "Lyon"],
        "email": ["", "info@acme.example"],  # email-validator: role mailboxes such as info@ are lower-cased
        "tags": [["vip"], ["north", "vip"]],
        "sales_reps": [["U0BOB"], ["U0CAROL"]],
        "cf.segment": ["smb", "key"],
    }
    assert changes.fields == {name: tuple(pair) for name, pair in expected.items()}
    [event] = await events("COMPANY_MODIFY")
    assert (event.user_id, event.thirdparty_id) == (ADMIN.id, tp.id)
    assert event.details == {"changes": expected}
    stored = await ThirdParty.get(id=tp.id)
    assert (stored.town, stored.email_key, stored.updated_by) == ("Lyon", "info@acme.example", ADMIN.id)
    assert await tag_names(stored) == ["north", "vip"]
    assert await rep_ids(stored) == ["U0CAROL"]
    assert (await customfields.values_by_owner("thirdparty", [tp.id]))[tp.id] == {"segment": "key"}
    assert updated.town == "Lyon"


async def test_an_edit_that_changes_nothing_records_nothing(db):
    await customfields.define(context(ADMIN), "thirdparty", "size", "Size", "integer")
    tp = await new(town="Paris", email="a@acme.example", tags=["vip", "b2b"], sales_reps=["U0BOB", "U0CAROL"],
                   custom={"size": 12})
    _, changes = await thirdparties.update(
        context(ALICE), tp.id, {"town": " Paris ", "email": "a@ACME.example", "name": "Acme"},
        tags=["B2B", "vip", "VIP"], sales_reps=["U0BOB", "U0CAROL", "U0BOB"], custom={"size": "12"},
    )
    assert not changes and changes.fields == {}
    assert await events("COMPANY_MODIFY") == []
    assert (await ThirdParty.get(id=tp.id)).updated_by == ALICE.id


async def test_an_edit_leaves_fields_not_given_alone(db):
    tp = await new(town="Paris", tags=["vip"], sales_reps=["U0BOB"])
    _, changes = await thirdparties.update(context(ALICE), tp.id, {"zip": "75001"})
    assert list(changes.fields) == ["zip"]
    stored = await ThirdParty.get(id=tp.id)
    assert (stored.town, stored.zip) == ("Paris", "75001")
    assert await tag_names(stored) == ["vip"]
    assert await rep_ids(stored) == ["U0BOB"]


async def test_clearing_tags_and_reps_is_a_change(db):
    tp = await new(tags=["vip"], sales_reps=["U0BOB"])
    _, changes = await thirdparties.update(context(ALICE), tp.id, {}, tags=[], sales_reps=[])
    assert changes.fields == {"tags": (["vip"], []), "sales_reps": (["U0BOB"], [])}
    assert await tag_names(tp) == [] and await rep_ids(tp) == []


async def test_set_status_closes_and_reopens(db):
    tp = await new()
    closed, changes = await thirdparties.set_status(context(ALICE), tp.code, "closed")
    assert closed.status == "closed" and changes.fields == {"status": ("active", "closed")}
    reopened, _ = await thirdparties.set_status(context(ALICE), "Acme", "active")
    assert (await ThirdParty.get(id=tp.id)).status == reopened.status == "active"
    assert len(await events("COMPANY_MODIFY")) == 2


async def test_update_of_a_missing_third_party_is_not_found(db):
    with pytest.raises(NotFound):
        await thirdparties.update(context(ALICE), 999, {"town": "Paris"})


# --- permissions ---

async def test_a_readonly_actor_cannot_create_or_edit(db):
    with pytest.raises(Forbidden):
        await new(actor=READONLY)
    assert await ThirdParty.all().count() == 0
    tp = await new()
    for attempt in (
        thirdparties.update(context(READONLY), tp.id, {"town": "Lyon"}),
        thirdparties.set_status(context(READONLY), tp.code, "closed"),
    ):
        with pytest.raises(Forbidden):
            await attempt
    stored = await ThirdParty.get(id=tp.id)
    assert (stored.town, stored.status) == ("", "active")
    assert [e.code for e in await events()] == ["COMPANY_CREATE"]


async def test_a_readonly_admin_can_still_write(db):
    tp = await new(actor=Actor("U0BOSS", role="readonly", is_admin=True))
    assert tp.created_by == "U0BOSS"


# --- resolve(REF) ---

@pytest.fixture(scope="class")
async def named(migrated):
    await database.empty_all_tables()
    named = {name: await new(name) for name in ("Acme", "Acme Widgets", "Globex", "Société Générale")}
    named["Initech"] = [await new("Initech"), await new("Initech")]
    return named


class TestResolve:
    @pytest.mark.parametrize("ref, expected", [
        ("Acme", "Acme"),                 # an exact name wins over the longer name it starts
        ("acme", "Acme"),
        ("  Globex ", "Globex"),
        ("acme w", "Acme Widgets"),       # unique prefix
        ("Glo", "Globex"),
        ("soc", "Société Générale"),
        ("societe gen", "Société Générale"),  # accents folded
        ("SOCIÉTÉ GÉNÉRALE", "Société Générale"),
    ])
    async def test_by_name_or_unique_prefix(self, named, ref, expected):
        assert (await thirdparties.resolve(context(), ref)).id == named[expected].id

    async def test_by_code_ignoring_case(self, named):
        tp = named["Globex"]
        assert (await thirdparties.resolve(context(), tp.code.lower())).id == tp.id
        assert (await thirdparties.resolve(context(), f" {tp.code} ")).id == tp.id

    async def test_a_shared_prefix_is_ambiguous_with_candidates(self, named):
        with pytest.raises(Ambiguous) as error:
            await thirdparties.resolve(context(), "ac")
        assert [tp.name for tp in error.value.candidates] == ["Acme", "Acme Widgets"]
        assert str(error.value)

    async def test_two_identical_names_are_ambiguous_but_codes_are_not(self, named):
        first, second = named["Initech"]
        with pytest.raises(Ambiguous) as error:
            await thirdparties.resolve(context(), "initech")
        assert sorted(tp.id for tp in error.value.candidates) == [first.id, second.id]
        assert (await thirdparties.resolve(context(), second.code)).id == second.id

    @pytest.mark.parametrize("ref, error", [
        ("Umbrella", NotFound), ("CU9999-99999", NotFound), ("Acme Widgets Intl", NotFound), ("  ", ValidationError),
    ])
    async def test_unknown_or_empty(self, named, ref, error):
        with pytest.raises(error):
            await thirdparties.resolve(context(), ref)


# --- search ---

async def searchable_records() -> dict[str, ThirdParty]:
    acme = await new("Acme Widgets", alias="ACW", email="sales@acme.example", phone="01 23 45 67 89",
                     town="Montréal", country="FR")
    globex = await new("Globex", "prospect", town="Springfield", phone="+1 650 555 0100")
    societe = await new("Société Générale", town="Paris")
    await contacts.create(context(), globex.id, {"first_name": "Zoë", "last_name": "Núñez",
                                             "email": "zoe.nunez@mail.example"})
    return {"acme": acme, "globex": globex, "societe": societe}


@pytest.fixture(scope="class")
async def searchable(migrated):
    await database.empty_all_tables()
    return await searchable_records()


class TestSearch:
    @pytest.mark.parametrize("text, expected", [
        ("acme", ["acme"]),
        ("WIDGETS", ["acme"]),
        ("acw", ["acme"]),                       # alias
        ("sales@acme.example", ["acme"]),        # email
        ("SALES@ACME", ["acme"]),
        ("0123456789", ["acme"]),                # phone digits
        ("01.23.45.67.89", ["acme"]),
        ("5550100", ["globex"]),
        ("+33 1 23 45 67 89", ["acme"]),        # the stored E.164 form, typed either way
        ("(650) 555-0100", ["globex"]),
        ("montreal", ["acme"]),                  # town, accents folded
        ("springfield", ["globex"]),
        ("zoe", ["globex"]),                     # contact name
        ("NUNEZ", ["globex"]),
        ("zoe.nunez@mail.example", ["globex"]),  # contact email
        ("societe generale", ["societe"]),
        ("Générale", ["societe"]),
        ("paris", ["societe"]),
        ("e", ["acme", "globex", "societe"]),
        ("acme globex", []),                     # every word must match
        ("umbrella", []),
        ("  ", []),
    ])
    async def test_matches_every_documented_field(self, searchable, text, expected):
        found = await search.search(context(), text)
        assert sorted(tp.id for tp in found) == sorted(searchable[key].id for key in expected)

    async def test_by_code(self, searchable):
        code = searchable["globex"].code
        assert [tp.id for tp in await search.search(context(), code.lower())] == [searchable["globex"].id]

    async def test_limit(self, searchable):
        assert len(await search.search(context(), "e", limit=2)) == 2


async def test_search_ranks_names_starting_with_the_text_first(db):
    later = await new("The Acme Store")
    first = await new("Acme")
    found = await search.search(context(), "acme")
    assert [tp.id for tp in found] == [first.id, later.id]


async def test_search_follows_edits(db):
    records = await searchable_records()
    await thirdparties.update(context(ALICE), records["acme"].id, {"town": "Lyon"})
    assert await search.search(context(), "montreal") == []
    assert [tp.id for tp in await search.search(context(), "lyon")] == [records["acme"].id]


# --- likely duplicates ---

@pytest.fixture(scope="class")
async def acme(migrated):
    await database.empty_all_tables()
    return await new("ACME S.A.R.L.", email="Sales@Acme.example", vat_id="FR 12 345 678 901")


class TestLikelyDuplicates:
    @pytest.mark.parametrize("values", [
        {"name": "Other", "email": "SALES@acme.EXAMPLE"},
        {"name": "Other", "email": " sales@acme.example "},
        {"name": "Other", "vat_id": "fr12.345.678-901"},
        {"name": "Acme"},
        {"name": "acme, sarl"},
        {"name": "Acmé Ltd"},
    ])
    async def test_found(self, acme, values):
        assert [tp.id for tp in await thirdparties.likely_duplicates(context(), values)] == [acme.id]

    @pytest.mark.parametrize("values", [
        {"name": "Globex"},
        {"name": "Acme Widgets International"},
        {"name": "Other", "email": "sales@acme.example.org", "vat_id": "FR 12 345 678 902"},
        {"name": ""},
    ])
    async def test_not_found(self, acme, values):
        assert await thirdparties.likely_duplicates(context(), values) == []

    async def test_the_record_itself_is_excluded(self, acme):
        assert await thirdparties.likely_duplicates(context(), {"name": "Acme"}, exclude_id=acme.id) == []


async def test_likely_duplicates_follow_an_email_edit(db):
    acme = await new("Acme", email="sales@acme.example")
    await thirdparties.update(context(ALICE), acme.id, {"email": "new@acme.example"})
    assert await thirdparties.likely_duplicates(context(), {"name": "X", "email": "sales@acme.example"}) == []
    assert len(await thirdparties.likely_duplicates(context(), {"name": "X", "email": "NEW@acme.example"})) == 1


async def test_validate_new_checks_without_storing(db):
    await customfields.define(context(ADMIN), "thirdparty", "size", "Size", "integer", required=True)
    await thirdparties.validate_new(context(), {"name": "Acme", "type": "customer"}, ["vip"], {"size": "3"})
    for values, tags, custom, field in [
        ({"name": "Acme", "type": "customer", "country": "XX"}, [], {"size": "3"}, "country"),
        ({"name": "Acme", "type": "customer"}, ["x" * 65], {"size": "3"}, "tags"),
        ({"name": "Acme", "type": "customer"}, [], {}, "cf.size"),
    ]:
        with pytest.raises(ValidationError) as error:
            await thirdparties.validate_new(context(), values, tags, custom)
        assert error.value.field == field
    assert await ThirdParty.all().count() == 0


# --- card ---

async def test_card_shows_everything_of_the_record(db):
    await customfields.define(context(ADMIN), "thirdparty", "budget", "Budget", "amount")
    await customfields.define(context(ADMIN), "thirdparty", "since", "Client since", "date")
    tp = await new("Acme", tags=["vip", "b2b"], sales_reps=["U0CAROL", "U0BOB"], custom={"budget": "1234.5"})
    await contacts.create(context(), tp.id, {"first_name": "Zed", "last_name": "Young"})
    await contacts.create(context(), tp.id, {"first_name": "Ann", "last_name": "Adams"})
    for town in ("Lyon", "Nice", "Metz", "Caen", "Pau"):
        await thirdparties.update(context(ALICE), tp.id, {"town": town})
    card = await thirdparties.card(context(tz=PARIS), tp.id)
    assert card.thirdparty.id == tp.id and card.thirdparty.town == "Pau"
    assert [c.last_name for c in card.contacts] == ["Adams", "Young"]
    assert card.tags == ["b2b", "vip"]
    assert card.sales_reps == ["U0CAROL", "U0BOB"]  # in the order given
    assert [(f.label, value) for f, value in card.custom] == [("Budget", Decimal("1234.5"))]
    assert [e.code for e in card.events] == ["COMPANY_MODIFY"] * 5  # the latest five, newest first
    assert card.events[0].details["changes"]["town"] == ["Caen", "Pau"]


async def test_card_of_a_missing_third_party_is_not_found(db):
    with pytest.raises(NotFound):
        await thirdparties.card(context(), 404)


# --- every script (SPEC §3) ---

@pytest.fixture(scope="class")
async def scripts(migrated):
    await database.empty_all_tables()
    names = {
        "cyrillic": "ООО Москва Трейд", "greek": "Αθηναϊκή Εταιρεία", "arabic": "شركة مُحَمَّد للتجارة",
        "hebrew": 'כהן בע"מ', "japanese": "株式会社トヨタ", "chinese": "北京科技有限公司",
    }
    return {key: await new(name, town="Ζάκυνθος" if key == "greek" else "") for key, name in names.items()}


class TestEveryScript:
    @pytest.mark.parametrize("text, expected", [
        ("Москва", "cyrillic"), ("москва трейд", "cyrillic"), ("МОСКВА", "cyrillic"),
        ("αθηναικη", "greek"), ("ΑΘΗΝΑΪΚΉ", "greek"), ("ζακυνθος", "greek"),
        ("محمد", "arabic"), ("مُحَمَّد", "arabic"),
        ("כהן", "hebrew"), ('בע"מ', "hebrew"),
        ("株式会社", "japanese"), ("トヨタ", "japanese"), ("ﾄﾖﾀ", "japanese"),  # half-width katakana
        ("科技", "chinese"),
    ])
    async def test_search_finds_names_in_every_script(self, scripts, text, expected):
        assert [tp.id for tp in await search.search(context(), text)] == [scripts[expected].id]

    @pytest.mark.parametrize("ref, expected", [
        ("ооо москва трейд", "cyrillic"), ("Москва", "cyrillic"), ("北京", "chinese"), ("כהן", "hebrew"),
    ])
    async def test_refs_resolve_in_every_script(self, scripts, ref, expected):
        assert (await thirdparties.resolve(context(), ref)).id == scripts[expected].id

    @pytest.mark.parametrize("name, expected", [
        ("ООО «Москва Трейд»", "cyrillic"), ("Москва-Трейд", "cyrillic"), ("αθηναικη εταιρεια", "greek"),
        ("شركة محمد للتجارة", "arabic"), ("כהן בעמ", "hebrew"), ("株式会社トヨタ", "japanese"),
    ])
    async def test_duplicates_are_flagged_in_every_script(self, scripts, name, expected):
        found = await thirdparties.likely_duplicates(context(), {"name": name})
        assert [tp.id for tp in found] == [scripts[expected].id]


async def test_names_that_differ_only_in_their_numbers_are_different_businesses(db):
    store = await new("Store 12")
    assert await thirdparties.likely_duplicates(context(), {"name": "Store 13"}) == []
    assert await thirdparties.likely_duplicates(context(), {"name": "Store 112"}) == []
    assert [tp.id for tp in await thirdparties.likely_duplicates(context(), {"name": "STORE 12 Ltd"})] == [store.id]


async def test_reads_return_plain_data_not_database_rows(db):
    tp = await new("Acme", tags=["vip"])
    await contacts.create(context(), tp.id, {"last_name": "Doe"})
    card = await thirdparties.card(context(), tp.id)
    for value in (tp, await thirdparties.resolve(context(), "Acme"), (await search.search(context(), "acme"))[0],
                  card.thirdparty, card.contacts[0], card.events[0], (await thirdparties.edit_form(context(), tp.id))):
        assert not isinstance(value, Model), value
        with pytest.raises(dataclasses.FrozenInstanceError):
            value.id = 0  # plain and frozen: nothing to save through it


async def test_after_commit_hooks_run_once_the_data_is_saved_and_never_on_failure(db):
    seen = []
    ctx = context()
    async with ctx.transaction() as uow:
        created = await thirdparties.create(ctx, {"name": "Hooked", "type": "customer"})  # joins this unit of work
        uow.after_commit(lambda: _note(seen, created.id))
        assert seen == []
    assert seen == [await ThirdParty.filter(name="Hooked").count()]
    with pytest.raises(ValidationError):
        async with ctx.transaction() as uow:
            await thirdparties.create(ctx, {"name": "Doomed", "type": "customer"})
            uow.after_commit(lambda: _note(seen, "never"))
            await thirdparties.create(ctx, {"name": "", "type": "customer"})
    assert "never" not in seen and await ThirdParty.filter(name="Doomed").count() == 0


async def _note(seen: list, value) -> None:
    seen.append(value)


@pytest.mark.postgres_only
@pytest.mark.parametrize("ref", ["cu2611-00001", "Acme Widgets", "acme wid", "Widgets"])
async def test_resolving_a_ref_is_served_by_indexes(db, caplog, ref):
    """Every query `resolve` sends can be answered from an index, however many rows there are
    (the planner is told to avoid scans; one it still needs shows as a Seq Scan)."""
    clock.freeze(datetime(2026, 11, 15, tzinfo=timezone.utc))
    await new("SARL Widgets")
    await new("Acme Widgets")
    caplog.set_level(logging.DEBUG, logger="tortoise.db_client")
    await thirdparties.resolve(context(), ref)
    queries = [record.args for record in caplog.records
               if record.name == "tortoise.db_client" and str(record.args[0]).lstrip().startswith("SELECT")]
    assert queries
    connection = connections.get("default")
    async with connection.acquire_connection() as raw:
        await raw.execute("SET enable_seqscan = off")
        try:
            for query, values in queries:
                plan = "\n".join(row[0] for row in await raw.fetch("EXPLAIN " + query, *values))
                assert "Seq Scan" not in plan and "Index" in plan, (query, plan)
        finally:
            await raw.execute("RESET enable_seqscan")
