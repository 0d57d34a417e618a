"""Contacts: the people of a third party, their events, their address and their part in search."""
from zoneinfo import ZoneInfo

import pytest

from crm import contacts, customfields, search, thirdparties
from crm.errors import Forbidden, NotFound, ValidationError
from crm.fieldtypes import display
from crm.permissions import Actor
from models import Contact, Event
from tests import database
from tests.conftest import ADMIN, ALICE, context

UTC = ZoneInfo("UTC")
READONLY = Actor("U0READER", role="readonly")


async def company(name="Acme", **values) :
    return await thirdparties.create(context(), {"name": name, "type": "customer", **values})


async def test_a_default_role_must_be_one_of_the_three(db):
    tp = await company()
    with pytest.raises(ValidationError) as error:
        await contacts.create(context(), tp.id, {"last_name": "Doe", "default_roles": "billing, accounting"})
    assert error.value.field == "default_roles" and "'accounting'" in error.value.message
    assert await Contact.all().count() == 0


async def event_codes() -> list[str]:
    return [e.code for e in await Event.all().order_by("id")]


async def test_create_stores_every_field_and_records_contact_create(db):
    tp = await company()
    contact = await contacts.create(context(ALICE), tp.id, {
        "first_name": " Jane ", "last_name": "Doe", "job_title": "CFO", "email": "Jane.Doe@ACME.example",
        "phone": "+33 6 12 34 56 78", "address": "2 rue Haute", "zip": "69001", "town": "Lyon",
        "country": "fr", "language": "FR-be", "note": "Met at the fair", "default_roles": ["customer", "billing"],
    })
    stored = await Contact.get(id=contact.id)
    assert {name: getattr(stored, name) for name in contacts.FIELDS} == {
        "first_name": "Jane", "last_name": "Doe", "job_title": "CFO", "email": "Jane.Doe@acme.example",
        "phone": "+33612345678", "address": "2 rue Haute", "zip": "69001", "town": "Lyon",
        "country": "FR", "language": "fr_BE", "note": "Met at the fair", "default_roles": "billing,customer",
    }
    assert (stored.thirdparty_id, stored.created_by) == (tp.id, ALICE.id)
    event = await Event.get(code="CONTACT_CREATE")
    assert (event.thirdparty_id, event.contact_id, event.user_id) == (tp.id, contact.id, ALICE.id)
    assert "Jane Doe" in event.label and "Acme" in event.label


@pytest.mark.parametrize("values", [
    {},
    {"email": "jane@acme.example"},
    {"first_name": "  ", "last_name": "", "job_title": "CFO"},
])
async def test_a_contact_needs_a_name(db, values):
    tp = await company()
    with pytest.raises(ValidationError) as error:
        await contacts.create(context(ALICE), tp.id, values)
    assert error.value.field == "last_name"
    assert await Contact.all().count() == 0
    assert await event_codes() == ["COMPANY_CREATE"]


@pytest.mark.parametrize("values", [{"first_name": "Jane"}, {"last_name": "Doe"}])
async def test_a_first_or_a_last_name_is_enough(db, values):
    tp = await company()
    contact = await contacts.create(context(ALICE), tp.id, values)
    assert contact.full_name == next(iter(values.values()))


BAD_VALUES = [
    ("email", "jane@", "email"),
    ("phone", "n/a", "phone"),
    ("country", "XX", "country"),
    ("language", "french", "language"),
    ("first_name", "x" * 129, "first_name"),
    ("mobile", "+33 6 12 34 56 78", "mobile"),
]


@pytest.fixture(scope="class")
async def jane(migrated):
    await database.empty_all_tables()
    tp = await company()
    return await contacts.create(context(ALICE), tp.id, {"first_name": "Jane", "last_name": "Doe", "email": "jane@acme.example"})


class TestRefusedValues:
    """Every case leaves the database as the class fixture made it."""

    @pytest.mark.parametrize("name, value, field", BAD_VALUES)
    async def test_create_names_the_bad_field(self, jane, name, value, field):
        with pytest.raises(ValidationError) as error:
            await contacts.create(context(ALICE), jane.thirdparty_id, {"last_name": "Roe", name: value})
        assert error.value.field == field
        assert await Contact.all().count() == 1
        assert await event_codes() == ["COMPANY_CREATE", "CONTACT_CREATE"]

    @pytest.mark.parametrize("name, value, field", [*BAD_VALUES, ("first_name", "", "last_name")])
    async def test_edit_names_the_bad_field(self, jane, name, value, field):
        # the last case would leave the contact without any name
        with pytest.raises(ValidationError) as error:
            await contacts.update(context(ALICE), jane.id, {"last_name": "", "job_title": "CEO", name: value})
        assert error.value.field == field
        stored = await Contact.get(id=jane.id)
        assert (stored.first_name, stored.last_name, stored.job_title) == ("Jane", "Doe", "")
        assert await event_codes() == ["COMPANY_CREATE", "CONTACT_CREATE"]


async def test_contact_of_a_missing_third_party(db):
    with pytest.raises(NotFound):
        await contacts.create(context(ALICE), 404, {"last_name": "Doe"})
    with pytest.raises(NotFound):
        await contacts.update(context(ALICE), 404, {"last_name": "Doe"})


async def test_a_readonly_actor_cannot_add_or_edit_contacts(db):
    tp = await company()
    with pytest.raises(Forbidden):
        await contacts.create(context(READONLY), tp.id, {"last_name": "Doe"})
    contact = await contacts.create(context(ALICE), tp.id, {"last_name": "Doe"})
    with pytest.raises(Forbidden):
        await contacts.update(context(READONLY), contact.id, {"last_name": "Roe"})
    assert [c.last_name for c in await Contact.all()] == ["Doe"]


async def test_update_records_contact_modify_with_the_changes(db):
    tp = await company()
    contact = await contacts.create(context(ALICE), tp.id, {"first_name": "Jane", "last_name": "Doe", "town": "Lyon"})
    updated, changes = await contacts.update(context(ADMIN), contact.id, {"last_name": "Roe", "town": "Lyon",
                                                                 "email": "jane@ROE.example"})
    assert changes.fields == {"last_name": ("Doe", "Roe"), "email": ("", "jane@roe.example")}
    assert (updated.last_name, updated.updated_by) == ("Roe", ADMIN.id)
    event = await Event.get(code="CONTACT_MODIFY")
    assert (event.thirdparty_id, event.contact_id, event.user_id) == (tp.id, contact.id, ADMIN.id)
    assert event.details == {"changes": {"last_name": ["Doe", "Roe"], "email": ["", "jane@roe.example"]}}


async def test_an_edit_that_changes_nothing_records_nothing(db):
    tp = await company()
    contact = await contacts.create(context(ALICE), tp.id, {"first_name": "Jane", "email": "jane@acme.example"})
    _, changes = await contacts.update(context(ALICE), contact.id, {"first_name": " Jane ", "email": "jane@ACME.example"})
    assert not changes
    assert await event_codes() == ["COMPANY_CREATE", "CONTACT_CREATE"]


async def test_postal_address_falls_back_to_the_third_party(db):
    tp = await company(address="1 rue de la Paix", zip="75002", town="Paris", country="FR")
    without = await contacts.create(context(ALICE), tp.id, {"last_name": "Doe"})
    own = await contacts.create(context(ALICE), tp.id, {"last_name": "Roe", "town": "Genève", "country": "ch"})
    assert contacts.postal_address(without, tp) == {
        "address": "1 rue de la Paix", "zip": "75002", "town": "Paris", "country": "FR"}
    # a contact with any address part of its own keeps its own address, not a mix
    assert contacts.postal_address(own, tp) == {"address": "", "zip": "", "town": "Genève", "country": "CH"}


async def test_contact_names_and_emails_make_the_third_party_searchable(db):
    tp = await company()
    await company("Globex")
    contact = await contacts.create(context(ALICE), tp.id, {"first_name": "Jürgen", "last_name": "Müller",
                                                   "email": "j.mueller@mail.example"})
    for text in ("jurgen", "MÜLLER", "j.mueller@mail.example", "jurgen muller"):
        assert [found.id for found in await search.search(context(), text)] == [tp.id], text
    await contacts.update(context(ALICE), contact.id, {"last_name": "Schmidt", "email": ""})
    assert await search.search(context(), "muller") == []
    assert await search.search(context(), "mail.example") == []
    assert [found.id for found in await search.search(context(), "schmidt")] == [tp.id]


async def test_contacts_show_on_the_card_sorted_by_name(db):
    tp = await company()
    for first, last in (("Zoe", "Young"), ("Ann", "Young"), ("Bob", "Adams")):
        await contacts.create(context(ALICE), tp.id, {"first_name": first, "last_name": last})
    card = await thirdparties.card(context(), tp.id)
    assert [c.full_name for c in card.contacts] == ["Bob Adams", "Ann Young", "Zoe Young"]


async def test_contact_custom_fields(db):
    await customfields.define(context(ADMIN), "contact", "birthday", "Birthday", "date")
    await customfields.define(context(ADMIN), "contact", "role", "Role", "select", required=True,
                              options=[{"key": "buyer", "label": "Buyer"}, {"key": "user", "label": "User"}])
    tp = await company()
    with pytest.raises(ValidationError) as error:
        await contacts.create(context(ALICE), tp.id, {"last_name": "Doe"}, custom={"birthday": "1990-02-03"})
    assert error.value.field == "cf.role"
    assert await Contact.all().count() == 0
    contact = await contacts.create(context(ALICE), tp.id, {"last_name": "Doe"}, custom={"role": "Buyer"})
    _, changes = await contacts.update(context(ALICE), contact.id, {}, custom={"cf.birthday": "1990-02-03"})
    assert list(changes.fields) == ["cf.birthday"]
    values = await customfields.values_by_owner("contact", [contact.id])
    assert str(values[contact.id]["birthday"]) == "1990-02-03" and values[contact.id]["role"] == "buyer"
    fields = await customfields.definitions("contact")
    assert [display(f, values[contact.id][f.key]) for f in fields] == ["1990-02-03", "Buyer"]
    event = await Event.get(code="CONTACT_MODIFY")
    assert event.details == {"changes": {"cf.birthday": [None, "1990-02-03"]}}  # as on COMPANY_MODIFY
