"""Codes and refs from numbering masks, with counters kept in the database.

The counter row is incremented by the first statement touching it in the creating
transaction, so concurrent creators queue on its row lock (PostgreSQL) or on the
write lock (SQLite) and the counter rolls back with a failed creation: codes are unique
and gapless per counter.
"""
from __future__ import annotations

from datetime import datetime
from typing import Awaitable, Callable
from zoneinfo import ZoneInfo

from crm.errors import Conflict, ValidationError
from crm.masks import DEFAULT_MASKS, Mask, parse_mask
from crm.permissions import Actor, require_admin
from models import NumberingMask

# Codes already taken (imported, say) are skipped; this many in a row means a broken setup.
MAX_SKIPS = 10_000

CodeTaken = Callable[[str], Awaitable[bool]]


async def current_mask(object_type: str, connection=None) -> Mask:
    stored = await NumberingMask.get_or_none(object_type=object_type, using_db=connection)
    return parse_mask(stored.mask if stored else DEFAULT_MASKS[object_type])


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


async def next_code(
    connection,
    object_type: str,
    when: datetime,
    tz: ZoneInfo,
    is_taken: CodeTaken,
    thirdparty_type: str | None = None,
) -> str:
    """The next free code for `object_type`; call inside the transaction that stores it."""
    mask = await current_mask(object_type, connection)
    counter_key = mask.counter_key(when, tz, thirdparty_type)
    await _ensure_counter(connection, object_type, counter_key, mask.start - 1)
    for _ in range(MAX_SKIPS):
        value = await _increment(connection, object_type, counter_key, mask.start)
        code = mask.render(value, when, tz, thirdparty_type)
        if not await is_taken(code):
            return code
    raise Conflict(f"The next {MAX_SKIPS} codes of mask {mask.text} are all taken; change the mask.")


def _placeholders(connection, sql: str) -> str:
    """Our SQL is written with `?`; asyncpg wants `$1, $2, …`."""
    if connection.capabilities.dialect != "postgres":
        return sql
    parts = sql.split("?")
    return "".join(part + (f"${i}" if i < len(parts) else "") for i, part in enumerate(parts, 1))


async def _ensure_counter(connection, object_type: str, counter_key: str, initial: int) -> None:
    await connection.execute_query(
        _placeholders(
            connection,
            "INSERT INTO crm_numbering_counter (object_type, counter_key, value) VALUES (?, ?, ?) "
            "ON CONFLICT (object_type, counter_key) DO NOTHING",
        ),
        [object_type, counter_key, initial],
    )


async def _increment(connection, object_type: str, counter_key: str, start: int) -> int:
    # a mask whose start was raised (`{0000+500}`) jumps ahead; otherwise one more
    rows = await connection.execute_query_dict(
        _placeholders(
            connection,
            "UPDATE crm_numbering_counter SET value = CASE WHEN value + 1 < ? THEN ? ELSE value + 1 END "
            "WHERE object_type = ? AND counter_key = ? RETURNING value",
        ),
        [start, start, object_type, counter_key],
    )
    return rows[0]["value"]
