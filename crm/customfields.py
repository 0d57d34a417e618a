"""Custom fields: admins define them; every surface's values are checked here by type."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from crm import fieldtypes
from crm.errors import Conflict, NotFound, ValidationError
from crm.permissions import Actor, require_admin
from models import CUSTOM_FIELD_TARGETS, Contact, CustomField, CustomFieldValue, ThirdParty

UTC = ZoneInfo("UTC")
MAX_FIELDS = 40  # keeps the create/edit modal under Slack's 100 blocks
MAX_UNIQUE_LENGTH = 255


async def definitions(applies_to: str, connection=None) -> list[CustomField]:
    if applies_to not in CUSTOM_FIELD_TARGETS:
        raise ValueError(f"custom fields apply to {CUSTOM_FIELD_TARGETS}, not {applies_to!r}")
    # raw SQL (the value is one of two constants): read at every creation, and the ORM's
    # query building costs more than the query itself
    return await CustomField.raw(
        f"SELECT * FROM crm_custom_field WHERE applies_to = '{applies_to}' ORDER BY position, id", connection)


async def get(field_id: int) -> CustomField:
    field = await CustomField.get_or_none(id=field_id)
    if field is None:
        raise NotFound(f"Custom field #{field_id} does not exist.")
    return field


async def define(
    actor: Actor,
    applies_to: str,
    key: str,
    label: str,
    field_type: str,
    *,
    options=None,
    default=None,
    required: bool = False,
    unique: bool = False,
    position: int | None = None,
) -> CustomField:
    """Add a custom field to third parties or contacts (admins)."""
    require_admin(actor, "define custom fields")
    if applies_to not in CUSTOM_FIELD_TARGETS:
        raise ValidationError("applies_to", f"Custom fields apply to third parties or contacts, not {applies_to!r}.")
    fieldtypes.validate_key(key)
    options, default = fieldtypes.validate_definition(key, label, field_type, options or [], default, required, unique)
    async with in_transaction() as connection:
        existing = await CustomField.filter(applies_to=applies_to).using_db(connection).count()
        if existing >= MAX_FIELDS:
            raise Conflict(f"There are already {MAX_FIELDS} custom fields on {applies_to}; remove one first.")
        if await CustomField.filter(applies_to=applies_to, key=key).using_db(connection).exists():
            raise ValidationError("key", f"A custom field with the key {key!r} already exists.")
        return await CustomField.create(
            applies_to=applies_to, key=key, label=label.strip(), field_type=field_type, options=options,
            default=default, required=required, unique=unique,
            position=existing if position is None else position, using_db=connection,
        )


async def redefine(actor: Actor, field_id: int, *, label: str, options=None, default=None,
                   required: bool = False, unique: bool = False, position: int | None = None) -> CustomField:
    """Change a field's label, options, default, flags or position; its key and type stay."""
    require_admin(actor, "edit custom fields")
    field = await get(field_id)
    options, default = fieldtypes.validate_definition(
        field.key, label, field.field_type, options or [], default, required, unique
    )
    if unique and not field.unique:
        await _check_existing_values_unique(field)
    field.label, field.options, field.default = label.strip(), options, default
    field.required, field.unique = required, unique
    if position is not None:
        field.position = position
    async with in_transaction() as connection:
        await field.save(using_db=connection)
        # the unique index reads `unique_value`: fill or empty it to match the flag
        for row in await CustomFieldValue.filter(field_id=field.id).using_db(connection):
            row.unique_value = row.value[:MAX_UNIQUE_LENGTH] if unique else None
            await row.save(using_db=connection, update_fields=["unique_value"])
    return field


async def remove(actor: Actor, field_id: int) -> None:
    """Delete a field and every value stored for it."""
    require_admin(actor, "remove custom fields")
    deleted = await CustomField.filter(id=field_id).delete()
    if not deleted:
        raise NotFound(f"Custom field #{field_id} does not exist.")


async def validate_all(
    applies_to: str, raw_values: dict, *, connection, creating: bool, owner_id: int | None = None,
    tz: ZoneInfo | None = None,
) -> list[tuple[CustomField, object]]:
    """Parse raw values keyed by field key (or `cf.KEY`) into (definition, value) pairs.

    Creating: every field gets a value or its default, and required fields must end up set.
    Editing: only the fields given change.
    """
    fields = {f.key: f for f in await definitions(applies_to, connection)}
    given = {key.removeprefix("cf."): raw for key, raw in raw_values.items()}
    for key in given:
        if key not in fields:
            raise ValidationError(f"cf.{key}", f"There is no custom field {key!r}.")
    pairs = []
    for key, definition in fields.items():
        if key in given:
            raw = given[key]
        elif creating:
            raw = fieldtypes.from_storage(definition, definition.default) if definition.default is not None else None
        else:
            continue
        value = fieldtypes.parse(definition, raw, tz=tz or UTC)
        if value is not None and definition.unique:
            await _check_unique(definition, value, connection, applies_to, owner_id)
        pairs.append((definition, value))
    return pairs


async def parsed(applies_to: str, raw_values: dict) -> dict:
    """key -> parsed value of the given raw values (refilling a form with what was typed)."""
    given = {key.removeprefix("cf.") for key in raw_values}
    pairs = await validate_all(applies_to, raw_values, connection=None, creating=False)
    return {definition.key: value for definition, value in pairs if definition.key in given}


async def store(connection, pairs, *, thirdparty: ThirdParty | None = None, contact: Contact | None = None) -> dict:
    """Write parsed values for one owner; returns `cf.KEY -> (before, after)` for what changed."""
    owner = {"thirdparty_id": thirdparty.id} if thirdparty else {"contact_id": contact.id}
    changes = {}
    for definition, value in pairs:
        row = await CustomFieldValue.get_or_none(field_id=definition.id, using_db=connection, **owner)
        before = fieldtypes.from_storage(definition, row.value) if row else None
        if before == value:
            continue
        changes[f"cf.{definition.key}"] = (before, value)
        if value is None:
            await row.delete(using_db=connection)
            continue
        text = fieldtypes.to_storage(definition, value)
        fields = {
            "value": text,
            "number": fieldtypes.sort_number(definition, value),
            "unique_value": text[:MAX_UNIQUE_LENGTH] if definition.unique else None,
        }
        try:
            if row:
                await CustomFieldValue.filter(id=row.id).using_db(connection).update(**fields)
            else:
                await CustomFieldValue.create(field_id=definition.id, using_db=connection, **owner, **fields)
        except IntegrityError:
            raise ValidationError(
                f"cf.{definition.key}", f"{definition.label}: another record already has this value."
            ) from None
    return changes


async def change(connection, applies_to: str, owner, raw_values: dict, *, tz: ZoneInfo | None = None) -> dict:
    """Edit the given custom values of one third party or contact; returns what changed."""
    pairs = await validate_all(applies_to, raw_values, connection=connection, creating=False, owner_id=owner.id, tz=tz)
    return await store(connection, pairs, **{applies_to: owner})


async def values_by_owner(applies_to: str, owner_ids: list[int]) -> dict[int, dict[str, object]]:
    """owner id -> {key: value} for a batch of third parties or contacts (exports, cards)."""
    owner_column = "thirdparty_id" if applies_to == "thirdparty" else "contact_id"
    fields = {f.id: f for f in await definitions(applies_to)}
    result: dict[int, dict[str, object]] = {owner_id: {} for owner_id in owner_ids}
    if not owner_ids or not fields:
        return result
    rows = await CustomFieldValue.filter(**{f"{owner_column}__in": owner_ids}).values(owner_column, "field_id", "value")
    for row in rows:
        definition = fields.get(row["field_id"])
        if definition:
            result[row[owner_column]][definition.key] = fieldtypes.from_storage(definition, row["value"])
    return result


async def displayed(applies_to: str, *, thirdparty=None, contact=None, tz: ZoneInfo | None = None) -> list[tuple[str, str]]:
    """(label, text) of each set field, in position order, for the record card."""
    owner = thirdparty or contact
    values = (await values_by_owner(applies_to, [owner.id]))[owner.id]
    return [
        (f.label, fieldtypes.display(f, values[f.key], tz=tz))
        for f in await definitions(applies_to)
        if values.get(f.key) is not None
    ]


async def _check_unique(definition: CustomField, value, connection, applies_to: str, owner_id: int | None) -> None:
    text = fieldtypes.to_storage(definition, value)[:MAX_UNIQUE_LENGTH]
    query = CustomFieldValue.filter(field_id=definition.id, unique_value=text).using_db(connection)
    if owner_id is not None:
        owner_column = "thirdparty_id" if applies_to == "thirdparty" else "contact_id"
        query = query.exclude(**{owner_column: owner_id})
    if await query.exists():
        raise ValidationError(
            f"cf.{definition.key}",
            f"{definition.label}: {fieldtypes.display(definition, value)!r} is already used by another record.",
        )


async def _check_existing_values_unique(field: CustomField) -> None:
    seen = set()
    for value in await CustomFieldValue.filter(field_id=field.id).values_list("value", flat=True):
        if value in seen:
            raise ValidationError("unique", f"{field.label} cannot become unique: {value!r} is used twice.")
        seen.add(value)
