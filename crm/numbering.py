"""Codes and refs from numbering masks, with counters kept in the database.

The counter row is incremented inside the transaction that stores the record, so
concurrent creators queue on its row lock (PostgreSQL) or on the write lock (SQLite), and
the counter rolls back with a failed creation: codes are unique and gapless per counter.
Callers do everything else first and assign the code last, so the lock is held only for
the increment, the claim of the code and the commit. On PostgreSQL the increment and the
claim are one statement, so the lock is held for one round trip less.
"""
from __future__ import annotations

from dataclasses import dataclass

from tortoise import connections

from crm import versions
from crm.context import Context, UnitOfWork
from crm.db import sql, timestamp
from crm.errors import Conflict, ValidationError
from crm.masks import DEFAULT_MASKS, Mask, parse_mask
from crm.permissions import require_admin

# Codes already taken (imported, say) are skipped; this many in a row means a broken setup.
MAX_SKIPS = 10_000
MASK_LABELS = {
    "thirdparty": "Customer codes",
    "proposal": "Proposals",
    "order": "Sales orders",
    "intervention": "Interventions",
    "invoice": "Invoices",
}

# A mask whose start was raised (`{0000+500}`) jumps ahead; otherwise one more.
_INCREMENT = ("UPDATE crm_numbering_counter SET value = CASE WHEN value + 1 < ? THEN ? ELSE value + 1 END "
              "WHERE object_type = ? AND counter_key = ? RETURNING value")
_ENSURE_COUNTER = ("INSERT INTO crm_numbering_counter (object_type, counter_key, value) VALUES (?, ?, ?) "
                   "ON CONFLICT (object_type, counter_key) DO NOTHING")
# Many codes at once: the counter moves past `count` values, from the mask's start at the
# least, provided the stored mask ($default where none is stored) is still the one the codes
# are rendered with.
_INCREMENT_BY = ("UPDATE crm_numbering_counter SET value = CASE WHEN value < ? THEN ? ELSE value END + ? "
                 "WHERE object_type = ? AND counter_key = ? "
                 "AND COALESCE((SELECT mask FROM crm_numbering_mask WHERE object_type = ?), ?) = ? RETURNING value")
# Sets the code on the record unless another record has it.
_CLAIM = "UPDATE {table} SET {column} = ? WHERE id = ? AND NOT EXISTS (SELECT 1 FROM {table} WHERE {column} = ?)"
# PostgreSQL: the mask check, the increment and the claim in one statement. The process
# remembers each mask; the statement draws a value only if the stored mask is still that one
# ($10 is the default, where none is stored). It answers the stored mask, the value drawn
# (none: the mask changed, or the counter does not exist yet) and the code claimed (none:
# the value does not fit, or its code is taken).
_CHECK_INCREMENT_AND_CLAIM = """
WITH stored AS (SELECT COALESCE((SELECT mask FROM crm_numbering_mask WHERE object_type = $3), $10) AS mask),
next AS (
    UPDATE crm_numbering_counter SET value = CASE WHEN value + 1 < $1 THEN $2 ELSE value + 1 END
    WHERE object_type = $3 AND counter_key = $4 AND (SELECT mask FROM stored) = $11
    RETURNING value),
candidate AS (SELECT value, $5 || lpad(value::text, $6, '0') || $7 AS code FROM next),
claimed AS (
    UPDATE {table} SET {column} = candidate.code FROM candidate
    WHERE {table}.id = $8 AND candidate.value < $9
      AND NOT EXISTS (SELECT 1 FROM {table} taken WHERE taken.{column} = candidate.code)
    RETURNING {table}.{column} AS code)
SELECT (SELECT mask FROM stored) AS mask, (SELECT value FROM candidate) AS value, (SELECT code FROM claimed) AS code
"""


@dataclass(frozen=True)
class Target:
    """Where a code goes: the record `record_id` of `table`, in `column`."""

    table: str
    column: str
    record_id: int


async def current_mask(object_type: str, connection=None) -> Mask:
    connection = connection or connections.get("default")
    # plain SQL: this runs at every creation, and the ORM's query building costs more than the query
    rows = await connection.execute_query_dict(
        sql(connection, "SELECT mask FROM crm_numbering_mask WHERE object_type = ?"), [object_type])
    return parse_mask(rows[0]["mask"] if rows else DEFAULT_MASKS[object_type])


async def masks(ctx: Context) -> dict[str, Mask]:
    """Every object type's mask, as the settings form shows them."""
    require_admin(ctx.actor, "see the numbering settings")
    return {object_type: await current_mask(object_type) for object_type in MASK_LABELS}


async def set_masks(ctx: Context, texts: dict[str, str], shown: dict[str, str] | None = None) -> dict[str, Mask]:
    """Change masks, all or none: every text is checked first, then all are saved in one
    transaction. Counters carry on: a new mask does not restart numbering.

    `shown`: fingerprints of the masks the settings form showed (see crm.versions).
    """
    require_admin(ctx.actor, "change numbering masks")
    unknown = sorted(set(texts) - set(MASK_LABELS))
    if unknown:
        raise ValidationError(f"mask.{unknown[0]}", f"There is no numbering for {unknown[0]!r}.")
    wanted = {}
    for object_type, text in texts.items():
        try:
            wanted[field_name(object_type)] = parse_mask(text.strip()).text
        except ValidationError as error:
            raise ValidationError(field_name(object_type), error.message) from None
    async with ctx.transaction() as uow:
        current = {field_name(t): (await current_mask(t, uow.connection)).text for t in texts}
        changed = versions.to_apply(wanted, current, shown, versions.described_by(
            {field_name(t): f"{label} mask" for t, label in MASK_LABELS.items()}))
        for name, text in changed.items():
            await uow.connection.execute_query(sql(uow.connection, (
                "INSERT INTO crm_numbering_mask (object_type, mask, updated_at, updated_by) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (object_type) DO UPDATE SET mask = excluded.mask, updated_at = excluded.updated_at, "
                "updated_by = excluded.updated_by")),
                [name.removeprefix("mask."), text, timestamp(uow.connection, uow.now), ctx.actor.id])
    return {object_type: parse_mask(texts[object_type].strip()) for object_type in texts}


def field_name(object_type: str) -> str:
    """How a mask is named in the settings form and its errors: `mask.thirdparty`…"""
    return f"mask.{object_type}"


def mask_versions(current: dict[str, Mask]) -> dict[str, str]:
    """The fingerprints the settings form keeps of the masks it shows."""
    return versions.fingerprints({field_name(object_type): mask.text for object_type, mask in current.items()})


async def assign_code(uow: UnitOfWork, object_type: str, tz, target: Target, thirdparty_type: str | None = None) -> str:
    """Give the record `target` the next free code of `object_type`, made at the unit of work's
    time in `tz` (CRM_TIMEZONE), and return it.

    Call it last in the transaction that stores the record: from here to the commit,
    other creators of the same counter wait.
    """
    connection = uow.connection
    draw = _check_draw_and_claim if connection.capabilities.dialect == "postgres" else _read_draw_and_claim
    mask = _remembered.get(object_type) or await _remember(object_type, connection)
    for _ in range(MAX_SKIPS):
        counter_key = mask.counter_key(uow.now, tz, thirdparty_type)
        drawn = await draw(connection, object_type, counter_key, mask, uow.now, tz, thirdparty_type, target)
        if drawn.mask != mask.text:  # an admin changed it: use the new one
            mask = await _remember(object_type, connection)
            continue
        if drawn.value is None:  # the counter's first use in this period
            await connection.execute_query(sql(connection, _ENSURE_COUNTER),
                                           [object_type, counter_key, mask.start - 1])
            continue
        mask.check_fits(drawn.value)
        if drawn.code is not None:
            return drawn.code
    raise Conflict(f"The next {MAX_SKIPS} codes of mask {mask.text} are all taken; change the mask.")


async def draw_codes(uow: UnitOfWork, object_type: str, tz, thirdparty_types: list[str | None]) -> list[str]:
    """The next codes of `object_type`, one for each record about to be inserted with it (its
    third-party type), in order: those `assign_code` would give them one by one, drawn in a
    statement or two (a bulk import).

    From here to the commit, other creators of the same counter wait: call it last but for the
    writes themselves. Should a code be another record's already (an imported one), the
    insert fails on the unique index: roll back to before the call and create the records
    one at a time, as `assign_code` skips taken codes."""
    connection = uow.connection
    mask = _remembered.get(object_type) or await _remember(object_type, connection)
    codes = [""] * len(thirdparty_types)
    while waiting := [index for index, code in enumerate(codes) if not code]:
        thirdparty_type = thirdparty_types[waiting[0]]
        counter_key = mask.counter_key(uow.now, tz, thirdparty_type)
        group = [index for index in waiting if mask.counter_key(uow.now, tz, thirdparty_types[index]) == counter_key]
        last = await _increment_by(connection, object_type, counter_key, mask, len(group))
        if last is None:  # an admin changed the mask, or the counter's first use in this period
            mask = await _remember(object_type, connection)
            await connection.execute_query(sql(connection, _ENSURE_COUNTER), [
                object_type, mask.counter_key(uow.now, tz, thirdparty_type), mask.start - 1])
            continue
        for index, value in zip(group, range(last - len(group) + 1, last + 1)):
            codes[index] = mask.render(value, uow.now, tz, thirdparty_type)
    return codes


async def _increment_by(connection, object_type: str, counter_key: str, mask: Mask, count: int) -> int | None:
    """The counter's last value once moved past `count` values; None when the stored mask is
    no longer `mask` or the counter does not exist yet."""
    rows = await connection.execute_query_dict(sql(connection, _INCREMENT_BY), [
        mask.start - 1, mask.start - 1, count, object_type, counter_key, object_type, DEFAULT_MASKS[object_type],
        mask.text])
    return rows[0]["value"] if rows else None


# The mask of each object type as this process last read it; the database says when it changed.
_remembered: dict[str, Mask] = {}


async def _remember(object_type: str, connection) -> Mask:
    _remembered[object_type] = mask = await current_mask(object_type, connection)
    return mask


@dataclass(frozen=True)
class _Drawn:
    mask: str  # the mask stored now
    value: int | None  # the counter value drawn
    code: str | None  # the code claimed with it (None: taken, or the value does not fit)


async def _read_draw_and_claim(connection, object_type, counter_key, mask: Mask, when, tz, thirdparty_type,
                               target: Target) -> _Drawn:
    """SQLite: the mask read again, then the increment, then the claim; the write lock is
    held from the transaction's start, so nothing can change in between."""
    stored = (await current_mask(object_type, connection)).text
    if stored != mask.text:
        return _Drawn(stored, None, None)
    rows = await connection.execute_query_dict(
        sql(connection, _INCREMENT), [mask.start, mask.start, object_type, counter_key])
    if not rows:
        return _Drawn(stored, None, None)
    value = rows[0]["value"]
    mask.check_fits(value)
    code = mask.render(value, when, tz, thirdparty_type)
    claimed, _ = await connection.execute_query(
        sql(connection, _CLAIM.format(table=target.table, column=target.column)), [code, target.record_id, code])
    return _Drawn(stored, value, code if claimed == 1 else None)


async def _check_draw_and_claim(connection, object_type, counter_key, mask: Mask, when, tz, thirdparty_type,
                                target: Target) -> _Drawn:
    head, tail = mask.around_counter(when, tz, thirdparty_type)
    statement = _CHECK_INCREMENT_AND_CLAIM.format(table=target.table, column=target.column)
    [row] = await connection.execute_query_dict(statement, [
        mask.start, mask.start, object_type, counter_key, head, mask.width, tail, target.record_id, mask.limit,
        DEFAULT_MASKS[object_type], mask.text])
    return _Drawn(row["mask"], row["value"], row["code"])
