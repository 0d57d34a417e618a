"""Contacts: the people of a third party."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from crm import agenda, customfields, validators
from crm.errors import NotFound, ValidationError
from crm.permissions import Actor, require_writer
from crm.agenda import Changes
from crm.thirdparties import refresh_search_text
from models import Contact, ThirdParty

FIELDS = {
    "first_name": "First name",
    "last_name": "Last name",
    "job_title": "Job title",
    "email": "Email",
    "phone": "Phone",
    "address": "Address",
    "zip": "Zip code",
    "town": "Town",
    "country": "Country",
    "language": "Language",
    "note": "Note",
}
TEXT_LIMITS = {"first_name": 128, "last_name": 128, "job_title": 128, "address": 1000, "zip": 32,
               "town": 128, "note": 5000}
SPECIAL_CHECKS = validators.ADDRESS_BOOK_CHECKS
# Where a contact has no address of its own, the third party's is used.
ADDRESS_FIELDS = ("address", "zip", "town", "country")


def clean(values: dict) -> dict:
    return validators.clean_fields(values, FIELDS, TEXT_LIMITS, SPECIAL_CHECKS, "contact")


async def get(contact_id: int) -> Contact:
    contact = await Contact.get_or_none(id=contact_id)
    if contact is None:
        raise NotFound(f"Contact #{contact_id} does not exist.")
    return contact


def full_name(contact: Contact) -> str:
    return " ".join(part for part in (contact.first_name, contact.last_name) if part) or contact.email or "(no name)"


def postal_address(contact: Contact, thirdparty: ThirdParty) -> dict[str, str]:
    """The contact's address, or its third party's when the contact has none."""
    source = contact if any(getattr(contact, f) for f in ADDRESS_FIELDS) else thirdparty
    return {f: getattr(source, f) for f in ADDRESS_FIELDS}


async def create(actor: Actor, thirdparty_id: int, values: dict, *, custom: dict | None = None,
                 tz: ZoneInfo | None = None) -> Contact:
    require_writer(actor, "add contacts")
    cleaned = clean(values)
    if not (cleaned.get("first_name") or cleaned.get("last_name")):
        raise ValidationError("last_name", "A contact needs a first or a last name.")
    async with in_transaction() as connection:
        thirdparty = await ThirdParty.get_or_none(id=thirdparty_id, using_db=connection)
        if thirdparty is None:
            raise NotFound(f"Third party #{thirdparty_id} no longer exists.")
        custom_values = await customfields.validate_all(
            "contact", custom or {}, connection=connection, creating=True, tz=tz)
        contact = await Contact.create(
            thirdparty=thirdparty, created_by=actor.id, updated_by=actor.id, using_db=connection, **cleaned
        )
        await customfields.store(connection, custom_values, contact=contact)
        await refresh_search_text(connection, thirdparty)
        await agenda.record(
            connection, "CONTACT_CREATE", actor, thirdparty,
            f"Contact {full_name(contact)} added to {thirdparty.name}", contact=contact,
        )
    return contact


async def update(actor: Actor, contact_id: int, values: dict, *, custom: dict | None = None,
                 tz: ZoneInfo | None = None) -> tuple[Contact, Changes]:
    require_writer(actor, "edit contacts")
    cleaned = clean(values)
    async with in_transaction() as connection:
        contact = await Contact.select_for_update().using_db(connection).get_or_none(id=contact_id)
        if contact is None:
            raise NotFound(f"Contact #{contact_id} no longer exists.")
        changes = Changes()
        changes.assign(contact, cleaned)
        if not (contact.first_name or contact.last_name):
            raise ValidationError("last_name", "A contact needs a first or a last name.")
        if custom is not None:
            changes.fields.update(await customfields.change(connection, "contact", contact, custom, tz=tz))
        if not changes:
            return contact, changes
        contact.updated_by = actor.id
        await contact.save(using_db=connection)
        thirdparty = await ThirdParty.get(id=contact.thirdparty_id, using_db=connection)
        await refresh_search_text(connection, thirdparty)
        await agenda.record(
            connection, "CONTACT_MODIFY", actor, thirdparty,
            f"Contact {full_name(contact)} modified: {', '.join(FIELDS.get(n, n) for n in changes.fields)}",
            contact=contact,
            details=changes.details(),
        )
    return contact, changes
