"""Exports of third parties (SPEC §6): the columns, the rows in batches, CSV or XLSX."""
from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from typing import BinaryIO, TextIO

from crm import customfields, tabular
from crm.context import Context
from crm.permissions import visible_thirdparties
from models import Tag, User

FORMATS = ("csv", "xlsx")
BATCH = 2000
# Export column -> model field, in SPEC §6 order; tags, reps and custom fields follow.
FIELD_COLUMNS = {
    "code": "code", "name": "name", "alias": "alias", "type": "type", "status": "status",
    "email": "email", "phone": "phone", "website": "website", "address": "address", "zip": "zip",
    "town": "town", "country": "country", "lang": "language", "vat_id": "vat_id",
}
COLUMNS = [*FIELD_COLUMNS, "tags", "sales_reps", "created_at"]


async def thirdparty_header() -> list[str]:
    return COLUMNS + [f"cf.{f.key}" for f in await customfields.definitions("thirdparty")]


async def thirdparty_rows(ctx: Context, batch: int = BATCH) -> AsyncIterator[list]:
    """One row per third party the actor may see, in id order, read `batch` at a time (memory stays flat)."""
    fields = await customfields.definitions("thirdparty")
    keys = [f.key for f in fields]
    last_id = 0
    while True:
        records = await (visible_thirdparties(ctx.actor).filter(id__gt=last_id).order_by("id").limit(batch)
                         .values("id", "created_at", *FIELD_COLUMNS.values()))
        if not records:
            return
        ids = [r["id"] for r in records]
        tags = await _related(Tag.filter(thirdparties__id__in=ids).order_by("name"), "name")
        reps = await _related(User.filter(thirdparties__id__in=ids).order_by("id"), "id")
        custom = await customfields.values_by_owner("thirdparty", ids, fields) if keys else {}
        for r in records:
            values = custom.get(r["id"], {})
            yield ([r[field] for field in FIELD_COLUMNS.values()]
                   + [tags[r["id"]], reps[r["id"]], r["created_at"]]
                   + [values.get(key) for key in keys])
        last_id = ids[-1]


async def _related(query, column: str) -> dict[int, list]:
    grouped: dict[int, list] = defaultdict(list)
    for row in await query.values("thirdparties__id", column):
        grouped[row["thirdparties__id"]].append(row[column])
    return grouped


async def export_thirdparties(ctx: Context, out: TextIO | BinaryIO | str, fmt: str = "csv") -> int:
    """Write every third party the actor may see to `out` (a text stream for CSV, a path or
    binary stream for XLSX); returns the number of rows. Writing runs in a thread, reading on the loop."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    header = await thirdparty_header()
    loop = asyncio.get_running_loop()
    count = 0

    def counted_rows() -> Iterator[list]:
        nonlocal count
        for row in _blocking(thirdparty_rows(ctx), loop):
            count += 1
            yield row

    if fmt == "csv":
        await asyncio.to_thread(tabular.write_csv, header, counted_rows(), out)
    else:
        await asyncio.to_thread(tabular.write_xlsx, header, counted_rows(), out, "thirdparties")
    return count


def _blocking(rows: AsyncIterator[list], loop: asyncio.AbstractEventLoop) -> Iterator[list]:
    """Iterate an async iterator from a worker thread, each step run on `loop`."""
    while True:
        try:
            yield asyncio.run_coroutine_threadsafe(rows.__anext__(), loop).result()
        except StopAsyncIteration:
            return
