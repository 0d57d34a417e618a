"""The filter language (SPEC §5): every field and operator, custom fields by type, bad terms."""
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from crm import clock, contacts, customfields, filters, thirdparties
from crm.errors import NotFound, ValidationError
from crm.permissions import Actor
from models import ThirdParty
from tests.conftest import ADMIN, ALICE, context

PARIS = ZoneInfo("Europe/Paris")
BOB = "U0BOB"
NOW = datetime(2026, 3, 15, 12, 0, tzinfo=timezone.utc)
# (name, type, values, tags, reps, custom values, created at)
RECORDS = [
    ("Acme Widgets", "customer",
     {"town": "Paris", "zip": "75002", "country": "fr", "language": "fr", "email": "Sales@ACME.example"},
     ["vip", "north"], [ALICE.id],
     {"revenue": "15000", "staff": "12", "segment": "retail", "segments": "smb;ent", "since": "2020-01-31",
      "seen": "2026-01-02 10:00", "partner": "yes", "motto": "Go Far"},
     datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)),
    ("Globex", "prospect", {"town": "Lyon", "country": "fr"}, ["b2b"], [BOB],
     {"revenue": "500", "staff": "3", "segment": "wholesale", "segments": "ent", "since": "2024-06-01",
      "partner": "no"},
     datetime(2026, 2, 1, 9, 0, tzinfo=timezone.utc)),
    ("Initech", "both", {"status": "closed", "town": "Austin", "country": "us", "language": "en"}, [],
     [ALICE.id, BOB], {"segments": "smb"},
     # 2025-12-31 23:30 UTC is already 2026 in Paris
     datetime(2025, 12, 31, 23, 30, tzinfo=timezone.utc)),
    ("Société Générale", "customer", {"town": "Zürich", "email": "info@sg.example"}, ["vip"], [], {},
     datetime(2025, 6, 1, 9, 0, tzinfo=timezone.utc)),
]


@pytest.fixture
async def registry(db):
    admin = context(ADMIN)
    await customfields.define(admin, "thirdparty", "revenue", "Revenue", "amount")
    await customfields.define(admin, "thirdparty", "staff", "Staff", "integer")
    await customfields.define(admin, "thirdparty", "segment", "Segment", "select", options=[
        {"key": "retail", "label": "Retail"}, {"key": "wholesale", "label": "Wholesale"}])
    await customfields.define(admin, "thirdparty", "segments", "Segments", "multiselect", options=[
        {"key": "smb", "label": "Small business"}, {"key": "ent", "label": "Enterprise"},
        {"key": "sm", "label": "Small"}])
    await customfields.define(admin, "thirdparty", "since", "Client since", "date")
    await customfields.define(admin, "thirdparty", "seen", "Last seen", "datetime")
    await customfields.define(admin, "thirdparty", "partner", "Partner", "boolean")
    await customfields.define(admin, "thirdparty", "motto", "Motto", "string")
    made = {}
    for name, kind, values, tags, reps, custom, created in RECORDS:
        clock.freeze(created)
        made[name] = await thirdparties.create(context(tz=PARIS), {"name": name, "type": kind, **values},
                                               tags=tags, sales_reps=reps, custom=custom)
    clock.freeze(NOW)
    await contacts.create(context(), made["Globex"].id, {"first_name": "Jane", "email": "Jane@Globex.example"})
    await contacts.create(context(), made["Initech"].id, {"first_name": "Bill"})
    return made


async def names(text: str, ctx=None) -> set[str]:
    query = await filters.thirdparties(ctx or context(tz=PARIS), text)
    return set(await query.values_list("name", flat=True))


ALL = {name for name, *_ in RECORDS}


@pytest.mark.parametrize("text, expected", [
    ("", ALL),
    ("type:customer", {"Acme Widgets", "Initech", "Société Générale"}),
    ("type:prospect", {"Globex", "Initech"}),
    ("type:both", {"Initech"}),
    ("TYPE:Customer", {"Acme Widgets", "Initech", "Société Générale"}),
    ("-type:prospect", {"Acme Widgets", "Société Générale"}),
    ("status:closed", {"Initech"}),
    ("status:active type:customer", {"Acme Widgets", "Société Générale"}),
    ("tag:vip", {"Acme Widgets", "Société Générale"}),
    ("tag:VIP tag:north", {"Acme Widgets"}),
    ("-tag:vip", {"Globex", "Initech"}),  # the untagged one included
    ("-tag:nobody-has-it", ALL),
    ("rep:me", {"Acme Widgets", "Initech"}),
    (f"rep:<@{BOB}>", {"Globex", "Initech"}),
    (f"rep:<@{BOB}|bob>", {"Globex", "Initech"}),
    (f"rep:{BOB}", {"Globex", "Initech"}),
    (f"rep:me rep:{BOB}", {"Initech"}),
    ("-rep:me", {"Globex", "Société Générale"}),
    ("town:paris", {"Acme Widgets"}),
    ('town:"Zürich"', {"Société Générale"}),
    ("town:zürich", {"Société Générale"}),  # case ignored beyond ASCII, on SQLite too
    ("zip:75002", {"Acme Widgets"}),
    ("country:FR", {"Acme Widgets", "Globex"}),
    ("country:us", {"Initech"}),
    ("lang:fr", {"Acme Widgets"}),
    ("lang:EN", {"Initech"}),
    ("email:sales@acme.example", {"Acme Widgets"}),
    ("email:JANE@globex.example", {"Globex"}),  # a contact's
    ("email:none", {"Initech"}),  # Bill has no email either
    ("-email:none", {"Acme Widgets", "Globex", "Société Générale"}),
    ("code:cu", ALL),
    ("name:acme", {"Acme Widgets"}),
    ('name:"societe gen"', {"Société Générale"}),
    ("acme", {"Acme Widgets"}),
    ("jane", {"Globex"}),  # bare words match as /crm search does: contacts too
    ("societe paris", set()),
    ("generale type:customer", {"Société Générale"}),
])
async def test_fields(registry, text, expected):
    assert await names(text) == expected


async def test_codes(registry):
    code = registry["Globex"].code
    assert await names(f"code:{code}") == {"Globex"}
    assert await names(code.lower()) == {"Globex"}  # a bare word matches codes too


@pytest.mark.parametrize("text, expected", [
    ("created>2026-01-01", {"Acme Widgets", "Globex", "Initech"}),  # Initech: 00:30 on Jan 1st in Paris
    ("created<2026-01-01", {"Société Générale"}),
    ("created:2026-01-01", {"Initech"}),
    ("created>2026-03-10 created<2026-03-11", {"Acme Widgets"}),
    ("created>30d", {"Acme Widgets"}),  # the clock says 2026-03-15
    ("created<30d", {"Globex", "Initech", "Société Générale"}),
    ("-created>30d", {"Globex", "Initech", "Société Générale"}),
    ("updated>2026-02-01", {"Acme Widgets", "Globex"}),
])
async def test_dates_in_the_time_zone(registry, text, expected):
    assert await names(text) == expected


async def test_the_same_date_in_utc(registry):
    assert await names("created>2026-01-01", context(tz=ZoneInfo("UTC"))) == {"Acme Widgets", "Globex"}


async def test_days_follow_the_clock(registry):
    clock.freeze(datetime(2026, 4, 1, tzinfo=timezone.utc))
    assert await names("created>20d") == set()
    assert await names("created>60d") == {"Acme Widgets", "Globex"}


@pytest.mark.parametrize("text, expected", [
    ("cf.revenue>10000", {"Acme Widgets"}),
    ("cf.revenue<10000", {"Globex"}),
    ("cf.revenue:500", {"Globex"}),
    ("cf.revenue>500", {"Acme Widgets"}),  # `>` on numbers is strictly greater
    ("cf.revenue>1e2", None),
    ("-cf.revenue>10000", {"Globex", "Initech", "Société Générale"}),  # those without a value too
    ("cf.staff>5", {"Acme Widgets"}),
    ("cf.staff:3", {"Globex"}),
    ("cf.segment:retail", {"Acme Widgets"}),
    ("cf.segment:Wholesale", {"Globex"}),  # a label is read as its option
    ("cf.segments:smb", {"Acme Widgets", "Initech"}),
    ("cf.segments:ent", {"Acme Widgets", "Globex"}),
    ("cf.segments:sm", set()),  # an option whose key starts another's
    ("cf.since<2021-01-01", {"Acme Widgets"}),
    ("cf.since>2021-01-01", {"Globex"}),
    ("cf.since:2024-06-01", {"Globex"}),
    ("cf.seen>2026-01-02", {"Acme Widgets"}),
    ("cf.seen<2026-01-02", set()),
    ('cf.seen:"2026-01-02 10:00"', {"Acme Widgets"}),
    ("cf.partner:yes", {"Acme Widgets"}),
    ("cf.partner:false", {"Globex"}),
    ("cf.motto:go far", set()),  # "far" is a bare word
    ('cf.motto:"go far"', {"Acme Widgets"}),
    ('cf.MOTTO:"GO FAR"', {"Acme Widgets"}),
])
async def test_custom_fields_by_type(registry, text, expected):
    if expected is None:
        with pytest.raises(ValidationError) as raised:
            await names(text)
        assert raised.value.field == "FILTER"
        return
    assert await names(text) == expected


@pytest.mark.parametrize("text, named", [
    ("colour:red", "colour"),
    ("type:partner", "type:partner"),
    ("status:open", "status:open"),
    ("tag>vip", "tag>vip"),
    ("town:", "town:"),
    ("rep:bob", "rep:bob"),
    ("created>yesterday", "created>yesterday"),
    ("created>2026-02-30", "created>2026-02-30"),
    ("cf.nothing:1", "nothing"),
    ("cf.revenue>lots", "cf.revenue>lots"),
    ("cf.segment:unknown", "cf.segment:unknown"),
    ("cf.segment>retail", "cf.segment>retail"),
    ("cf.since>31/01/2020", "cf.since>31/01/2020"),
    ("name:_", "name:_"),
    ('name:"acme', "quote"),
    ("-acme", "-acme"),
    (" ".join(["word"] * 13), "12 words"),
])
async def test_bad_terms_are_named(registry, text, named):
    with pytest.raises(ValidationError) as raised:
        await names(text)
    assert raised.value.field == "FILTER" and named in raised.value.message


async def test_values_are_parameters_not_sql(registry):
    assert await names('town:"\'; DROP TABLE crm_thirdparty; --"') == set()
    assert await names("town:%") == set() and await names("code:_") == set()
    assert await ThirdParty.all().count() == len(RECORDS)


async def test_the_scope_is_what_the_actor_may_see(registry, monkeypatch):
    only_mine = lambda actor: ThirdParty.filter(sales_reps__id=actor.id)  # noqa: E731 - a narrower rule
    monkeypatch.setattr(filters, "visible_thirdparties", only_mine)
    assert await names("type:customer") == {"Acme Widgets", "Initech"}
    assert await names("type:customer", context(Actor(BOB))) == {"Initech"}


def test_a_final_format_word_is_not_searched():
    parsed = filters.parse('tag:vip "acme co" csv')
    assert (parsed.format, parsed.text, parsed.words) == ("csv", 'tag:vip "acme co"', "acme co")
    assert filters.parse("XLSX").format == "xlsx" and filters.parse("xlsx").terms == ()
    assert filters.parse("csv acme").format is None


async def test_pages_by_name_with_the_total(registry):
    first = await filters.page(context(tz=PARIS), "type:customer", 0, size=2)
    assert first.total == 3 and [tp.name for tp in first.thirdparties] == ["Acme Widgets", "Initech"]
    second = await filters.page(context(tz=PARIS), "type:customer", 2, size=2)
    assert [tp.name for tp in second.thirdparties] == ["Société Générale"]


async def test_a_kept_filter_is_found_again(registry):
    token = await filters.keep(context(), "tag:vip " * 300)
    assert await filters.kept(context(), token) == "tag:vip " * 300
    with pytest.raises(NotFound):
        await filters.kept(context(), "nothing-kept")
