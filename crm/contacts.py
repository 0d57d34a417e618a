"""Contacts: the people of a third party. A contact is seen through its third party."""
from __future__ import annotations

from dataclasses import dataclass

from crm import agenda, customfields, records, search, validators, versions
from crm.agenda import Changes
from crm.context import Context, UnitOfWork
from crm.customfields import FieldDefinition
from crm.errors import NotFound, ValidationError
from crm.fieldtypes import to_storage
from crm.permissions import require_writer, visible_thirdparties, visible_thirdparty
from crm.records import ContactRecord, ThirdPartyRecord
from models import DOCUMENT_CONTACT_ROLES, Contact, ThirdParty

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
    "default_roles": "Put on new documents as",
}
TEXT_LIMITS = {"first_name": 128, "last_name": 128, "job_title": 128, "address": 1000, "zip": 32,
               "town": 128, "note": 5000}
SPECIAL_CHECKS = validators.ADDRESS_BOOK_CHECKS
# Where a contact has no address of its own, the third party's is used.
ADDRESS_FIELDS = ("address", "zip", "town", "country")
GONE = "This contact no longer exists; it may have been deleted."


def clean(values: dict, region: str = "") -> dict:
    """Validate and normalise a contact's fields; a phone number without its country code is
    read as one of the contact's country, else `region` (its third party's)."""
    if isinstance(values.get("default_roles"), (list, tuple)):
        values = {**values, "default_roles": ",".join(values["default_roles"])}
    return validators.clean_fields(values, FIELDS, TEXT_LIMITS, {**SPECIAL_CHECKS, "default_roles": _roles},
                                   "contact", region=region)


def _roles(name: str, label: str, raw: str) -> str:
    """Roles (billing, shipping, customer) in which new documents of the third party get the
    contact, stored comma-separated in their usual order."""
    roles = {role.strip().lower() for role in raw.split(",") if role.strip()}
    unknown = sorted(roles - set(DOCUMENT_CONTACT_ROLES))
    if unknown:
        raise ValidationError(name, f"{label}: {unknown[0]!r} is not a role (billing, shipping, customer).")
    return ",".join(role for role in DOCUMENT_CONTACT_ROLES if role in roles)


def default_roles(stored: str) -> list[str]:
    return [role for role in stored.split(",") if role]


def _require_name(first_name: str, last_name: str) -> None:
    if not (first_name or last_name):
        raise ValidationError("last_name", "A contact needs a first or a last name.")


def postal_address(contact: ContactRecord, thirdparty: ThirdPartyRecord) -> dict[str, str]:
    """The contact's address, or its third party's when the contact has none."""
    source = contact if any(getattr(contact, f) for f in ADDRESS_FIELDS) else thirdparty
    return {f: getattr(source, f) for f in ADDRESS_FIELDS}


async def of_thirdparty(thirdparty_id: int) -> list[ContactRecord]:
    """The contacts of a third party the caller may see (the caller checked it), by name."""
    rows = await (Contact.filter(thirdparty_id=thirdparty_id).order_by("last_name", "first_name", "id")
                  .values(*records.columns(ContactRecord)))
    return [ContactRecord(**row) for row in rows]


async def _visible(ctx: Context, contact_id: int, uow: UnitOfWork | None = None, *,
                   for_update: bool = False) -> tuple[Contact, ThirdParty]:
    connection = uow.connection if uow else None
    query = Contact.filter(id=contact_id)
    if for_update:
        query = query.select_for_update()
    contact = await query.using_db(connection).first()
    thirdparty = contact and await visible_thirdparties(ctx.actor).filter(id=contact.thirdparty_id).using_db(
        connection).first()
    if thirdparty is None:
        raise NotFound(GONE)
    return contact, thirdparty


async def get(ctx: Context, contact_id: int) -> ContactRecord:
    contact, _ = await _visible(ctx, contact_id)
    return records.contact(contact)


async def create(ctx: Context, thirdparty_id: int, values: dict, *, custom: dict | None = None) -> ContactRecord:
    require_writer(ctx.actor, "add contacts")
    # checked before the third party is locked; its country reads a phone number without its code
    region = await visible_thirdparties(ctx.actor).filter(id=thirdparty_id).first().values_list("country", flat=True)
    cleaned = clean(values, region=region or "")
    _require_name(cleaned.get("first_name", ""), cleaned.get("last_name", ""))
    async with ctx.transaction() as uow:
        thirdparty = await visible_thirdparty(ctx.actor, thirdparty_id, uow.connection)
        fields = await customfields.definitions("contact", uow.connection)
        custom_values = customfields.parse_new(fields, custom or {}, ctx.timezone)
        for definition in fields:
            await customfields.check_unique(definition, custom_values[definition.key], None, uow.connection)
        contact = await Contact.create(
            thirdparty_id=thirdparty.id, created_at=uow.now, updated_at=uow.now, created_by=ctx.actor.id,
            updated_by=ctx.actor.id, using_db=uow.connection, **cleaned,
        )
        await customfields.store(uow, "contact", contact.id, fields,
                                 {key: value for key, value in custom_values.items() if value is not None})
        await search.refresh(uow, thirdparty.id)
        record = records.contact(contact)
        await agenda.record(uow, "CONTACT_CREATE", ctx.actor, thirdparty.id,
                            f"Contact {record.full_name} added to {thirdparty.name}", contact_id=contact.id)
    return record


@dataclass(frozen=True)
class EditForm:
    """What the contact form shows, and the fingerprints it keeps of it."""

    contact: ContactRecord
    thirdparty: ThirdPartyRecord
    fields: list[FieldDefinition]
    custom: dict[str, object]
    versions: dict[str, str]


@dataclass(frozen=True)
class NewForm:
    """What the new-contact form needs: whose contact, and the custom fields to ask."""

    thirdparty: ThirdPartyRecord
    fields: list[FieldDefinition]


async def new_form(ctx: Context, thirdparty_id: int) -> NewForm:
    require_writer(ctx.actor, "add contacts")
    thirdparty = await visible_thirdparty(ctx.actor, thirdparty_id)
    return NewForm(records.thirdparty(thirdparty), await customfields.definitions("contact"))


async def edit_form(ctx: Context, contact_id: int) -> EditForm:
    require_writer(ctx.actor, "edit contacts")
    async with ctx.transaction() as uow:
        contact, thirdparty = await _visible(ctx, contact_id, uow)
        fields = await customfields.definitions("contact", uow.connection)
        custom = await customfields.current(uow, "contact", contact.id, fields)
    return EditForm(records.contact(contact), records.thirdparty(thirdparty), fields, custom,
                    versions.fingerprints(_snapshot(contact, fields, custom)))


def _snapshot(contact, fields: list[FieldDefinition], custom: dict) -> dict:
    return {**{name: getattr(contact, name) for name in FIELDS},
            **{customfields.name(f): to_storage(f, custom[f.key]) for f in fields}}


async def update(ctx: Context, contact_id: int, values: dict, *, custom: dict | None = None,
                 shown: dict[str, str] | None = None) -> tuple[ContactRecord, Changes]:
    """Apply the given fields; with `shown` (EditForm.versions) only what the form's user changed."""
    require_writer(ctx.actor, "edit contacts")
    async with ctx.transaction() as uow:
        contact, thirdparty = await _visible(ctx, contact_id, uow, for_update=True)
        wanted: dict[str, object] = clean(validators.changed_only(values, contact),
                                          region=contact.country or thirdparty.country)
        fields = await customfields.definitions("contact", uow.connection)
        by_key = customfields.by_key(fields)
        given = customfields.parse_given(fields, custom or {}, ctx.timezone)
        wanted.update({customfields.name(by_key[k]): to_storage(by_key[k], v) for k, v in given.items()})
        current = _snapshot(contact, fields, await customfields.current(uow, "contact", contact.id, fields))
        labels = {**FIELDS, **{customfields.name(f): f.label for f in fields}}
        apply = versions.to_apply(wanted, current, shown, versions.described_by(labels))
        changes = Changes()
        changes.assign(contact, {name: value for name, value in apply.items() if name in FIELDS})
        _require_name(contact.first_name, contact.last_name)
        custom_changes = {key: given[key] for key in given if customfields.name(by_key[key]) in apply}
        for key, value in custom_changes.items():
            customfields.require_set(by_key[key], value)
            await customfields.check_unique(by_key[key], value, contact.id, uow.connection)
        changes.fields.update(await customfields.store(uow, "contact", contact.id, fields, custom_changes))
        record = records.contact(contact)
        if not changes:
            return record, changes
        contact.updated_by, contact.updated_at = ctx.actor.id, uow.now
        await contact.save(using_db=uow.connection)
        record = records.contact(contact)
        await search.refresh(uow, thirdparty.id)
        await agenda.record(
            uow, "CONTACT_MODIFY", ctx.actor, thirdparty.id,
            f"Contact {record.full_name} modified: {', '.join(labels.get(n, n) for n in changes.fields)}",
            contact_id=contact.id, details=changes.details(),
        )
    return record, changes

