"""Exports of third parties and contacts (SPEC §6): the columns, the rows in batches, CSV or XLSX.

Rows are read on the event loop a batch at a time (keyset pages by id, so memory stays flat
whatever the count) and written by a thread; the two hand whole batches over, the reader
one batch ahead of the writer.
"""
from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterator
from typing import BinaryIO, TextIO

from tortoise.expressions import Subquery
from tortoise.queryset import QuerySet

from crm import customfields, fieldtypes, filters, tabular
from crm.context import Context
from crm.customfields import FieldDefinition
from models import Contact, CustomFieldValue, Tag, ThirdParty, User

FORMATS = ("csv", "xlsx")
BATCH = 5000
AHEAD = 2  # batches read before the writer asks for them
# Export column -> model field, in SPEC §6 order; tags, reps and custom fields follow.
FIELD_COLUMNS = {
    "code": "code", "name": "name", "alias": "alias", "type": "type", "status": "status",
    "email": "email", "phone": "phone", "website": "website", "address": "address", "zip": "zip",
    "town": "town", "country": "country", "lang": "language", "vat_id": "vat_id",
}
COLUMNS = [*FIELD_COLUMNS, "tags", "sales_reps", "created_at"]
CONTACT_FIELD_COLUMNS = {
    "first_name": "first_name", "last_name": "last_name", "job_title": "job_title", "email": "email",
    "phone": "phone", "address": "address", "zip": "zip", "town": "town", "country": "country",
    "lang": "language", "note": "note", "default_roles": "default_roles",
}
CONTACT_COLUMNS = ["thirdparty_code", *CONTACT_FIELD_COLUMNS, "created_at"]

Progress = Callable[[int], None]  # told how many more rows were written


async def thirdparty_header() -> list[str]:
    return COLUMNS + [f"cf.{f.key}" for f in await customfields.definitions("thirdparty")]


async def contact_header() -> list[str]:
    return CONTACT_COLUMNS + [f"cf.{f.key}" for f in await customfields.definitions("contact")]


async def thirdparty_batches(ctx: Context, chosen: QuerySet[ThirdParty] | None = None,
                             batch: int = BATCH) -> AsyncIterator[list[list]]:
    """The rows of the third parties of `chosen` (default: every one the actor may see), in id
    order, `batch` at a time; one row per third party, its tags and reps as lists."""
    chosen = chosen if chosen is not None else await filters.thirdparties(ctx, "")
    fields = await customfields.definitions("thirdparty")
    unset = [None] * len(fields)
    last_id = 0
    while True:
        records = await (chosen.filter(id__gt=last_id).order_by("id").limit(batch)
                         .values_list("id", "created_at", *FIELD_COLUMNS.values()))
        if not records:
            return
        # What hangs off the batch is read by its id range (which the indexes serve) among the
        # chosen ids (a subquery): a list of thousands of ids costs more to build into SQL than to run.
        first, last = last_id, records[-1][0]
        ids = Subquery(chosen.filter(id__gt=first, id__lte=last).values("id"))
        in_batch = {"thirdparties__id__gt": first, "thirdparties__id__lte": last, "thirdparties__id__in": ids}
        tags = await _related(Tag.filter(**in_batch).order_by("name"), "name")
        reps = await _related(User.filter(**in_batch).order_by("id"), "id")
        custom = await _custom_values(
            CustomFieldValue.filter(thirdparty_id__gt=first, thirdparty_id__lte=last, thirdparty_id__in=ids),
            "thirdparty_id", fields)
        rows = []
        for thirdparty_id, created_at, *own in records:
            rows.append([*own, tags.get(thirdparty_id, ()), reps.get(thirdparty_id, ()), created_at,
                         *custom.get(thirdparty_id, unset)])
        yield rows
        last_id = records[-1][0]


async def contact_batches(ctx: Context, chosen: QuerySet[ThirdParty] | None = None,
                          batch: int = BATCH) -> AsyncIterator[list[list]]:
    """The rows of the contacts of the third parties of `chosen`, each with its third party's code."""
    chosen = chosen if chosen is not None else await filters.thirdparties(ctx, "")
    fields = await customfields.definitions("contact")
    unset = [None] * len(fields)
    contacts = Contact.filter(thirdparty_id__in=Subquery(chosen.values("id")))
    last_id = 0
    while True:
        records = await (contacts.filter(id__gt=last_id).order_by("id").limit(batch)
                         .values_list("id", "thirdparty__code", *CONTACT_FIELD_COLUMNS.values(), "created_at"))
        if not records:
            return
        ids = Subquery(contacts.filter(id__gt=last_id, id__lte=records[-1][0]).values("id"))
        custom = await _custom_values(CustomFieldValue.filter(contact_id__in=ids), "contact_id", fields)
        yield [[*row[1:], *custom.get(row[0], unset)] for row in records]
        last_id = records[-1][0]


async def _related(query, column: str) -> dict[int, list]:
    grouped: dict[int, list] = defaultdict(list)
    for thirdparty_id, value in await query.values_list("thirdparties__id", column):
        grouped[thirdparty_id].append(value)
    return grouped


async def _custom_values(query, owner_column: str, fields: list[FieldDefinition]) -> dict[int, list]:
    """owner id -> its custom values in the order of `fields` (None where unset); owners without any are left out."""
    if not fields:
        return {}
    position = {f.id: index for index, f in enumerate(fields)}
    values: dict[int, list] = {}
    for owner_id, field_id, text in await query.values_list(owner_column, "field_id", "value"):
        if field_id in position:
            row = values.setdefault(owner_id, [None] * len(fields))
            row[position[field_id]] = fieldtypes.from_storage(fields[position[field_id]], text)
    return values


async def export_thirdparties(ctx: Context, out: TextIO | BinaryIO | str, fmt: str = "csv", *,
                              chosen: QuerySet[ThirdParty] | None = None, progress: Progress | None = None) -> int:
    """Write the third parties of `chosen` (default: every one the actor may see) to `out` (a
    text stream for CSV, a path or binary stream for XLSX); returns the number of rows."""
    return await write(fmt, await thirdparty_header(), thirdparty_batches(ctx, chosen), out, "thirdparties", progress)


async def export_contacts(ctx: Context, out: TextIO | BinaryIO | str, fmt: str = "csv", *,
                          chosen: QuerySet[ThirdParty] | None = None, progress: Progress | None = None) -> int:
    """Write the contacts of the third parties of `chosen`, as `export_thirdparties` does."""
    return await write(fmt, await contact_header(), contact_batches(ctx, chosen), out, "contacts", progress)


async def write(fmt: str, header: list[str], batches: AsyncIterator[list[list]], out, sheet: str,
                progress: Progress | None = None) -> int:
    """Write the rows of `batches` as `fmt`: read on the loop, written in a thread."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    if fmt == "csv":
        return await _stream(lambda rows: tabular.write_csv(header, rows, out), batches, progress)
    return await _stream(lambda rows: tabular.write_xlsx(header, rows, out, sheet), batches, progress)


async def _stream(write_rows: Callable[[Iterator[list]], None], batches: AsyncIterator[list[list]],
                  progress: Progress | None) -> int:
    loop = asyncio.get_running_loop()
    handover: asyncio.Queue[list[list] | None] = asyncio.Queue(maxsize=AHEAD)
    count = 0

    async def read() -> None:
        nonlocal count
        try:
            async for batch in batches:
                await handover.put(batch)
                count += len(batch)
                if progress:
                    progress(len(batch))
        finally:
            await handover.put(None)  # the writer stops; a failed read is raised below

    def rows() -> Iterator[list]:
        while (batch := asyncio.run_coroutine_threadsafe(handover.get(), loop).result()) is not None:
            yield from batch

    reading = asyncio.ensure_future(read())
    writing = asyncio.ensure_future(asyncio.to_thread(write_rows, rows()))
    try:
        done, _ = await asyncio.wait({reading, writing}, return_when=asyncio.FIRST_EXCEPTION)
        if writing in done and writing.exception():
            raise writing.exception()
        await writing  # the reader always ends it, failed or not
        await reading
    finally:
        reading.cancel()
    return count
