"""Exports of third parties and contacts (SPEC §6): the columns, the rows in batches, CSV or XLSX.

Rows are read on the event loop a batch at a time (keyset pages by id, so memory stays flat
whatever the count) and written by a thread; the two hand whole batches over, the reader
one batch ahead of the writer. A batch goes column by column (`tabular.Columns`), as the
database driver returned its values, so that no step works cell by cell in Python where C can.
"""
from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from datetime import datetime
from itertools import repeat
from typing import BinaryIO, TextIO

from tortoise.expressions import Subquery
from tortoise.models import Model
from tortoise.queryset import QuerySet, ValuesListQuery

from crm import customfields, fieldtypes, filters, tabular
from crm.context import Context
from crm.customfields import FieldDefinition
from crm.tabular import Columns
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
                             batch: int = BATCH) -> AsyncIterator[Columns]:
    """The third parties of `chosen` (default: every one the actor may see), in id order, `batch`
    at a time, column by column in the order of `thirdparty_header`; tags and reps as lists."""
    chosen = chosen if chosen is not None else await filters.thirdparties(ctx, "")
    fields = await customfields.definitions("thirdparty")
    last_id = 0
    while True:
        records = await _plain_rows(chosen.filter(id__gt=last_id).order_by("id").limit(batch)
                                    .values_list("id", "created_at", *FIELD_COLUMNS.values()))
        if not records:
            return
        ids, created_at, *own = zip(*records)
        # What hangs off the batch is read by its id range (which the indexes serve) among the
        # chosen ids (a subquery): a list of thousands of ids costs more to build into SQL than to run.
        first, last = last_id, ids[-1]
        in_range = Subquery(chosen.filter(id__gt=first, id__lte=last).values("id"))
        in_batch = {"thirdparties__id__gt": first, "thirdparties__id__lte": last, "thirdparties__id__in": in_range}
        tags = await _related(Tag.filter(**in_batch).order_by("name"), "name")
        reps = await _related(User.filter(**in_batch).order_by("id"), "id")
        custom = await _custom_values(
            CustomFieldValue.filter(thirdparty_id__gt=first, thirdparty_id__lte=last, thirdparty_id__in=in_range),
            "thirdparty_id", fields)
        yield [*own, _lookup(tags, ids, ()), _lookup(reps, ids, ()), _datetimes(created_at, ThirdParty),
               *(_lookup(values, ids, None) for values in custom)]
        last_id = last


async def contact_batches(ctx: Context, chosen: QuerySet[ThirdParty] | None = None,
                          batch: int = BATCH) -> AsyncIterator[Columns]:
    """The contacts of the third parties of `chosen`, each with its third party's code, as
    `thirdparty_batches` gives third parties."""
    chosen = chosen if chosen is not None else await filters.thirdparties(ctx, "")
    fields = await customfields.definitions("contact")
    contacts = Contact.filter(thirdparty_id__in=Subquery(chosen.values("id")))
    last_id = 0
    while True:
        records = await _plain_rows(contacts.filter(id__gt=last_id).order_by("id").limit(batch)
                                    .values_list("id", "thirdparty__code", *CONTACT_FIELD_COLUMNS.values(),
                                                 "created_at"))
        if not records:
            return
        ids, *own, created_at = zip(*records)
        in_batch = Subquery(contacts.filter(id__gt=last_id, id__lte=ids[-1]).values("id"))
        custom = await _custom_values(CustomFieldValue.filter(contact_id__in=in_batch), "contact_id", fields)
        yield [*own, _datetimes(created_at, Contact), *(_lookup(values, ids, None) for values in custom)]
        last_id = ids[-1]


async def _plain_rows(query: ValuesListQuery) -> list[Sequence]:
    """The rows `query` selects as the database driver returns them. Tortoise's own conversion
    of each value cost a fifth of an export's time; the columns read this way are text and
    integers, which need none, and `created_at`, which `_datetimes` converts when it must."""
    query._choose_db_if_not_chosen()
    query._make_query()
    _, rows = await query._db.execute_query(*query.query.get_parameterized_sql())
    return rows


def _datetimes(values: Sequence, model: type[Model]) -> Sequence:
    """`created_at` as the model reads it. asyncpg returns aware datetimes in UTC, the
    timezone the ORM is set to, which need nothing; SQLite returns text."""
    if set(map(type, values)) <= {datetime}:
        return values
    return list(map(model._meta.fields_map["created_at"].to_python_value, values))


def _lookup(found: dict[int, object], ids: Sequence[int], default) -> list:
    """The column of what `found` holds for each id, `default` for the others."""
    return list(map(found.get, ids, repeat(default)))


async def _related(query: QuerySet, column: str) -> dict[int, list]:
    grouped: dict[int, list] = defaultdict(list)
    for thirdparty_id, value in await _plain_rows(query.values_list("thirdparties__id", column)):
        grouped[thirdparty_id].append(value)
    return grouped


async def _custom_values(query: QuerySet, owner_column: str, fields: list[FieldDefinition]) -> list[dict[int, object]]:
    """For each of `fields`, in order, owner id -> its value; owners without one are left out."""
    position = {f.id: index for index, f in enumerate(fields)}
    values: list[dict[int, object]] = [{} for _ in fields]
    if not fields:
        return values
    for owner_id, field_id, text in await _plain_rows(query.values_list(owner_column, "field_id", "value")):
        if (index := position.get(field_id)) is not None:
            values[index][owner_id] = fieldtypes.from_storage(fields[index], text)
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


async def write(fmt: str, header: list[str], batches: AsyncIterator[Columns], out, sheet: str,
                progress: Progress | None = None) -> int:
    """Write the rows of `batches` as `fmt`: read on the loop, written in a thread."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    if fmt == "csv":
        return await _stream(lambda handed_over: tabular.write_csv(header, handed_over, out), batches, progress)
    return await _stream(lambda handed_over: tabular.write_xlsx(header, handed_over, out, sheet), batches, progress)


async def _stream(write_batches: Callable[[Iterator[Columns]], None], batches: AsyncIterator[Columns],
                  progress: Progress | None) -> int:
    loop = asyncio.get_running_loop()
    handover: asyncio.Queue[Columns | None] = asyncio.Queue(maxsize=AHEAD)
    count = 0

    async def read() -> None:
        nonlocal count
        try:
            async for batch in batches:
                await handover.put(batch)
                rows = len(batch[0])
                count += rows
                if progress:
                    progress(rows)
        finally:
            await handover.put(None)  # the writer stops; a failed read is raised below

    def handed_over() -> Iterator[Columns]:
        while (batch := asyncio.run_coroutine_threadsafe(handover.get(), loop).result()) is not None:
            yield batch

    reading = asyncio.ensure_future(read())
    writing = asyncio.ensure_future(asyncio.to_thread(write_batches, handed_over()))
    try:
        done, _ = await asyncio.wait({reading, writing}, return_when=asyncio.FIRST_EXCEPTION)
        if writing in done and writing.exception():
            raise writing.exception()
        await writing  # the reader always ends it, failed or not
        await reading
    finally:
        reading.cancel()
    return count
