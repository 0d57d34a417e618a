"""Codes and refs from numbering masks, with counters kept in the database.

The counter row is incremented inside the transaction that stores the record, so
concurrent creators queue on its row lock (PostgreSQL) or on the write lock (SQLite), and
the counter rolls back with a failed creation: codes are unique and gapless per counter.
Callers do everything else first and assign the code last, so the lock is held only for
the increment, the claim of the code and the commit.
"""
from __future__ import annotations

from datetime import datetime
from typing import Awaitable, Callable
from zoneinfo import ZoneInfo

from tortoise import connections

from crm.db import sql
from crm.errors import Conflict, ValidationError
from crm.masks import DEFAULT_MASKS, Mask, parse_mask
from crm.permissions import Actor, require_admin
from models import NumberingMask

# Codes already taken (imported, say) are skipped; this many in a row means a broken setup.
MAX_SKIPS = 10_000

# Sets the code on the record unless another record has it; says whether it did.
ClaimCode = Callable[[str], Awaitable[bool]]


async def current_mask(object_type: str, connection=None) -> Mask:
    connection = connection or connections.get("default")
    # plain SQL: this runs at every creation, and the ORM's query building costs more than the query
    rows = await connection.execute_query_dict(
        sql(connection, "SELECT mask FROM crm_numbering_mask WHERE object_type = ?"), [object_type])
    return parse_mask(rows[0]["mask"] if rows else DEFAULT_MASKS[object_type])


async def set_mask(actor: Actor, object_type: str, text: str) -> Mask:
    """Change a mask. Counters carry on: a new mask does not restart numbering."""
    require_admin(actor, "change numbering masks")
    if object_type not in DEFAULT_MASKS:
        raise ValidationError("object_type", f"There is no numbering for {object_type!r}.")
    mask = parse_mask(text.strip())
    await NumberingMask.update_or_create(
        object_type=object_type, defaults={"mask": mask.text, "updated_by": actor.id}
    )
    return mask


async def assign_code(
    connection,
    object_type: str,
    when: datetime,
    tz: ZoneInfo,
    claim: ClaimCode,
    thirdparty_type: str | None = None,
) -> str:
    """Give the record the next free code of `object_type`, through `claim`, and return it.

    Call it last in the transaction that stores the record: from here to the commit,
    other creators of the same counter wait.
    """
    mask = await current_mask(object_type, connection)
    counter_key = mask.counter_key(when, tz, thirdparty_type)
    for _ in range(MAX_SKIPS):
        value = await _increment(connection, object_type, counter_key, mask.start)
        if value is None:  # the counter's first use in this period
            await _ensure_counter(connection, object_type, counter_key, mask.start - 1)
            continue
        code = mask.render(value, when, tz, thirdparty_type)
        if await claim(code):
            return code
    raise Conflict(f"The next {MAX_SKIPS} codes of mask {mask.text} are all taken; change the mask.")


async def _ensure_counter(connection, object_type: str, counter_key: str, initial: int) -> None:
    await connection.execute_query(
        sql(
            connection,
            "INSERT INTO crm_numbering_counter (object_type, counter_key, value) VALUES (?, ?, ?) "
            "ON CONFLICT (object_type, counter_key) DO NOTHING",
        ),
        [object_type, counter_key, initial],
    )


async def _increment(connection, object_type: str, counter_key: str, start: int) -> int | None:
    # a mask whose start was raised (`{0000+500}`) jumps ahead; otherwise one more
    rows = await connection.execute_query_dict(
        sql(
            connection,
            "UPDATE crm_numbering_counter SET value = CASE WHEN value + 1 < ? THEN ? ELSE value + 1 END "
            "WHERE object_type = ? AND counter_key = ? RETURNING value",
        ),
        [start, start, object_type, counter_key],
    )
    return rows[0]["value"] if rows else None
