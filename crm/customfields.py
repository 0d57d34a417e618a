"""Custom fields: admins define them; every surface's values are checked here by type.

Values are keyed by the field's key; in errors and changes a field is named `cf.KEY`.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from tortoise import connections
from tortoise.exceptions import IntegrityError

from crm import fieldtypes, versions
from crm.context import Context, UnitOfWork
from crm.errors import Conflict, NotFound, ValidationError
from crm.fieldtypes import FieldSpec
from crm.permissions import require_admin
from models import CUSTOM_FIELD_TARGETS, CustomField, CustomFieldValue

MAX_FIELDS = 40  # keeps the create/edit modal under Slack's 100 blocks
MAX_UNIQUE_LENGTH = 255
# The parts of a definition an admin may change (key and type stay), as the field form names them.
PART_LABELS = {"label": "Label", "options": "Choices", "default": "Default value", "required": "Required",
               "unique": "Unique", "position": "Position"}
OWNER_COLUMNS = {"thirdparty": "thirdparty_id", "contact": "contact_id"}


@dataclass(frozen=True, kw_only=True)
class FieldDefinition(FieldSpec):
    """A custom field as stored: a FieldSpec with its id and what it applies to."""

    id: int
    applies_to: str


def _definition(row) -> FieldDefinition:
    """The plain definition of an ORM row, or of a row read as a dict by plain SQL."""
    get = row.get if isinstance(row, dict) else lambda name: getattr(row, name)
    options = get("options")
    return FieldDefinition(
        id=get("id"), applies_to=get("applies_to"), key=get("key"), label=get("label"),
        field_type=get("field_type"), required=bool(get("required")), unique=bool(get("unique")),
        default=get("default"), options=json.loads(options) if isinstance(options, str) else list(options),
        position=get("position"),
    )


def name(definition) -> str:
    """How forms, errors and changes name a custom field: `cf.KEY`."""
    return f"cf.{definition.key}"


async def definitions(applies_to: str, connection=None) -> list[FieldDefinition]:
    if applies_to not in CUSTOM_FIELD_TARGETS:
        raise ValueError(f"custom fields apply to {CUSTOM_FIELD_TARGETS}, not {applies_to!r}")
    # plain SQL (the value is one of two constants): read at every creation and card, and the
    # ORM's query and model building cost more than the query itself
    connection = connection or connections.get("default")
    rows = await connection.execute_query_dict(
        f"SELECT * FROM crm_custom_field WHERE applies_to = '{applies_to}' ORDER BY position, id")
    return [_definition(row) for row in rows]


async def get(field_id: int) -> FieldDefinition:
    row = await CustomField.get_or_none(id=field_id)
    if row is None:
        raise NotFound("This custom field no longer exists; another admin may have removed it.")
    return _definition(row)


async def define(
    ctx: Context,
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
) -> FieldDefinition:
    """Add a custom field to third parties or contacts (admins)."""
    require_admin(ctx.actor, "define custom fields")
    if applies_to not in CUSTOM_FIELD_TARGETS:
        raise ValidationError("applies_to", f"Custom fields apply to third parties or contacts, not {applies_to!r}.")
    fieldtypes.validate_key(key)
    options, default = fieldtypes.validate_definition(key, label, field_type, options or [], default, required, unique)
    async with ctx.transaction() as uow:
        existing = await CustomField.filter(applies_to=applies_to).using_db(uow.connection).count()
        if existing >= MAX_FIELDS:
            raise Conflict(f"There are already {MAX_FIELDS} custom fields on {applies_to}; remove one first.")
        if await CustomField.filter(applies_to=applies_to, key=key).using_db(uow.connection).exists():
            raise ValidationError("key", f"A custom field with the key {key!r} already exists.")
        row = await CustomField.create(
            applies_to=applies_to, key=key, label=label.strip(), field_type=field_type, options=options,
            default=default, required=required, unique=unique, created_at=uow.now,
            position=existing if position is None else position, using_db=uow.connection,
        )
    return _definition(row)


def definition_versions(definition: FieldDefinition) -> dict[str, str]:
    """The fingerprints the field form keeps of what it shows."""
    return versions.fingerprints(_editable(definition))


def _editable(definition) -> dict[str, str | None]:
    """A definition's editable parts as canonical text, for comparing edits."""
    return {
        "label": definition.label,
        "options": "\n".join(f"{o['key']}: {o['label']}" for o in definition.options),
        "default": definition.default,
        "required": str(bool(definition.required)),
        "unique": str(bool(definition.unique)),
        "position": str(definition.position),
    }


async def redefine(ctx: Context, field_id: int, *, label: str, options=None, default=None, required: bool = False,
                   unique: bool = False, position: int | None = None,
                   shown: dict[str, str] | None = None) -> FieldDefinition:
    """Change a field's label, options, default, flags or position; its key and type stay.

    `shown`: fingerprints of what the field form showed; only what its user changed is applied.
    """
    require_admin(ctx.actor, "edit custom fields")
    async with ctx.transaction() as uow:
        row = await CustomField.select_for_update().using_db(uow.connection).get_or_none(id=field_id)
        if row is None:
            raise NotFound("This custom field no longer exists; another admin may have removed it.")
        current = _definition(row)
        options, default = fieldtypes.validate_definition(
            current.key, label, current.field_type, options or [], default, required, unique)
        typed = FieldSpec(current.key, label.strip(), current.field_type, required, unique, default, options,
                          current.position if position is None else position)
        changed = versions.to_apply(_editable(typed), _editable(current), shown, versions.described_by(PART_LABELS))
        if not changed:
            return current
        merged = dataclasses.replace(current, **{part: getattr(typed, part) for part in changed})
        fieldtypes.validate_definition(merged.key, merged.label, merged.field_type, merged.options, merged.default,
                                       merged.required, merged.unique)
        if merged.unique and not current.unique:
            await _check_existing_values_unique(uow, current)
        row.label, row.options, row.default = merged.label, merged.options, merged.default
        row.required, row.unique, row.position = merged.required, merged.unique, merged.position
        await row.save(using_db=uow.connection)
        if merged.unique != current.unique:
            # the unique index reads `unique_value`: fill or empty it to match the flag
            for value in await CustomFieldValue.filter(field_id=field_id).using_db(uow.connection):
                value.unique_value = value.value[:MAX_UNIQUE_LENGTH] if merged.unique else None
                await value.save(using_db=uow.connection, update_fields=["unique_value"])
    return _definition(row)


async def remove(ctx: Context, field_id: int) -> None:
    """Delete a field and every value stored for it."""
    require_admin(ctx.actor, "remove custom fields")
    async with ctx.transaction() as uow:
        deleted = await CustomField.filter(id=field_id).using_db(uow.connection).delete()
    if not deleted:
        raise NotFound("This custom field no longer exists; another admin may have removed it.")


def by_key(fields: list[FieldDefinition]) -> dict[str, FieldDefinition]:
    return {f.key: f for f in fields}


def _known(fields: dict[str, FieldDefinition], raw_values: dict) -> dict:
    """Raw values by key (`cf.` prefixes dropped); an unknown key is an error naming it."""
    given = {key.removeprefix("cf."): raw for key, raw in raw_values.items()}
    for key in given:
        if key not in fields:
            raise ValidationError(f"cf.{key}", f"There is no custom field {key!r}.")
    return given


def parse_new(fields: list[FieldDefinition], raw_values: dict, tz: ZoneInfo) -> dict[str, object]:
    """The values of a new record: every field gets its value or its default; required ones must be set."""
    given = _known(by_key(fields), raw_values)
    values = {}
    for definition in fields:
        raw = given.get(definition.key)
        if raw is None and definition.default is not None:
            raw = fieldtypes.from_storage(definition, definition.default)
        values[definition.key] = fieldtypes.parse(definition, raw, tz=tz)
    return values


def parse_given(fields: list[FieldDefinition], raw_values: dict, tz: ZoneInfo) -> dict[str, object]:
    """The values given in an edit, by key (None for a blank one); whether a required field may
    become blank is decided when it changes (an older record may have left it empty)."""
    keyed = by_key(fields)
    return {key: fieldtypes.parse(_optional(keyed[key]), raw, tz=tz)
            for key, raw in _known(keyed, raw_values).items()}


def _optional(definition) -> FieldSpec:
    return FieldSpec(definition.key, definition.label, definition.field_type, False, definition.unique,
                     definition.default, definition.options, definition.position)


def require_set(definition, value) -> None:
    if value is None and definition.required:
        raise ValidationError(name(definition), f"{definition.label} is required.")


async def check_unique(definition, value, owner_id: int | None, connection=None) -> None:
    """A unique field's value must not be another record's (the database index has the last word)."""
    if value is None or not definition.unique:
        return
    text = fieldtypes.to_storage(definition, value)[:MAX_UNIQUE_LENGTH]
    query = CustomFieldValue.filter(field_id=definition.id, unique_value=text).using_db(connection)
    if owner_id is not None:
        query = query.exclude(**{OWNER_COLUMNS[definition.applies_to]: owner_id})
    if await query.exists():
        raise ValidationError(
            name(definition),
            f"{definition.label}: {fieldtypes.display(definition, value)!r} is already used by another record.",
        )


async def current(uow: UnitOfWork, applies_to: str, owner_id: int, fields: list[FieldDefinition]) -> dict[str, object]:
    """The stored values of one owner, by key (None where unset)."""
    return (await values_by_owner(applies_to, [owner_id], fields, uow.connection))[owner_id]


async def store(uow: UnitOfWork, applies_to: str, owner_id: int, fields: list[FieldDefinition],
                values: dict[str, object]) -> dict[str, tuple]:
    """Write parsed values (by key) for one owner; returns `cf.KEY -> (before, after)` for what changed."""
    keyed = by_key(fields)
    owner = {OWNER_COLUMNS[applies_to]: owner_id}
    connection = uow.connection
    changes = {}
    for key, value in values.items():
        definition = keyed[key]
        row = await CustomFieldValue.get_or_none(field_id=definition.id, using_db=connection, **owner)
        before = fieldtypes.from_storage(definition, row.value) if row else None
        if before == value:
            continue
        changes[name(definition)] = (before, value)
        if value is None:
            await row.delete(using_db=connection)
            continue
        stored = stored_columns(definition, value)
        try:
            if row:
                await CustomFieldValue.filter(id=row.id).using_db(connection).update(**stored)
            else:
                await CustomFieldValue.create(field_id=definition.id, using_db=connection, **owner, **stored)
        except IntegrityError:
            raise ValidationError(name(definition), f"{definition.label}: another record already has this value.") from None
    return changes


def stored_columns(definition, value) -> dict:
    """How a parsed value is stored: its text, its number (filters compare numbers numerically),
    and for a unique field the text the unique index reads."""
    text = fieldtypes.to_storage(definition, value)
    return {"value": text, "number": fieldtypes.sort_number(definition, value),
            "unique_value": text[:MAX_UNIQUE_LENGTH] if definition.unique else None}


async def values_by_owner(applies_to: str, owner_ids: list[int], fields: list[FieldDefinition] | None = None,
                          connection=None) -> dict[int, dict[str, object]]:
    """owner id -> {key: value or None} for a batch of third parties or contacts (exports, cards, forms)."""
    owner_column = OWNER_COLUMNS[applies_to]
    fields = fields if fields is not None else await definitions(applies_to, connection)
    by_id = {f.id: f for f in fields}
    result: dict[int, dict[str, object]] = {owner_id: dict.fromkeys(f.key for f in fields) for owner_id in owner_ids}
    if not owner_ids or not fields:
        return result
    rows = await (CustomFieldValue.filter(**{f"{owner_column}__in": owner_ids}).using_db(connection)
                  .values(owner_column, "field_id", "value"))
    for row in rows:
        definition = by_id.get(row["field_id"])
        if definition:
            result[row[owner_column]][definition.key] = fieldtypes.from_storage(definition, row["value"])
    return result


async def _check_existing_values_unique(uow: UnitOfWork, field: FieldDefinition) -> None:
    seen = set()
    for value in await CustomFieldValue.filter(field_id=field.id).using_db(uow.connection).values_list("value", flat=True):
        if value in seen:
            raise ValidationError("unique", f"{field.label} cannot become unique: {value!r} is used twice.")
        seen.add(value)
