"""Files attached to third parties: kept in the file store that documents use (content-addressed,
sanitized names, size cap CRM_FILE_MAX_MB), each a `crm_file` row and a FILE_ADD event.

The bytes go into the store first (off the event loop), then the row and its event are written
in one transaction: a failure on the way leaves no row and no event, only content nothing
refers to, which the store keeps once and erasure's sweep removes.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from tortoise.expressions import Subquery

from crm import agenda
from crm.context import Context
from crm.errors import NotFound
from crm.filestore import FileStore
from crm.permissions import require_writer, visible_thirdparties, visible_thirdparty
from models import ThirdPartyFile

CONTENT_TYPE_LIMIT = 128  # characters the column keeps
DEFAULT_CONTENT_TYPE = "application/octet-stream"
GONE = "This file is no longer attached; it may have been deleted with its third party."


@dataclass(frozen=True)
class FileRecord:
    """One attached file, as plain data."""

    id: int
    thirdparty_id: int
    name: str
    size: int
    content_type: str
    sha256: str
    added_by: str
    added_at: datetime
    slack_file_id: str


def store(ctx: Context) -> FileStore:
    return FileStore.for_settings(ctx.settings)


def check_size(ctx: Context, name: str, size: int) -> None:
    """Refuse a file over the cap before fetching it (a ValidationError naming it and the limit)."""
    store(ctx).check_size(name, size)


async def attach(ctx: Context, thirdparty_id: int, name: str, data: bytes, content_type: str, *,
                 slack_file_id: str = "") -> FileRecord:
    """Attach `data` to a third party: the bytes into the store, then its row and FILE_ADD."""
    require_writer(ctx.actor, "attach files")
    await visible_thirdparty(ctx.actor, thirdparty_id)  # a record gone is said before storing anything
    stored = await asyncio.to_thread(store(ctx).put, data, name)
    async with ctx.transaction() as uow:
        thirdparty = await visible_thirdparty(ctx.actor, thirdparty_id, uow.connection, for_update=True)
        row = await ThirdPartyFile.create(
            thirdparty_id=thirdparty.id, sha256=stored.sha256, name=stored.name, size=stored.size,
            content_type=(content_type or DEFAULT_CONTENT_TYPE)[:CONTENT_TYPE_LIMIT], added_by=ctx.actor.id,
            added_at=uow.now, slack_file_id=slack_file_id[:32], using_db=uow.connection)
        await agenda.record(uow, "FILE_ADD", ctx.actor, thirdparty.id, f"File {stored.name} attached",
                            details={"file_id": row.id, "name": stored.name, "size": stored.size})
    return _record(row)


async def files(ctx: Context, thirdparty_id: int) -> list[FileRecord]:
    """The files of a third party the actor may see, newest first."""
    await visible_thirdparty(ctx.actor, thirdparty_id)
    rows = await ThirdPartyFile.filter(thirdparty_id=thirdparty_id).order_by("-added_at", "-id")
    return [_record(row) for row in rows]


async def read(ctx: Context, file_id: int) -> tuple[FileRecord, bytes]:
    """One attached file and its bytes, if its third party is one the actor may see."""
    visible = Subquery(visible_thirdparties(ctx.actor).values("id"))
    row = await ThirdPartyFile.filter(id=file_id, thirdparty_id__in=visible).first()
    if row is None:
        raise NotFound(GONE)
    data = await asyncio.to_thread(store(ctx).read, row.sha256)
    return _record(row), data


def _record(row: ThirdPartyFile) -> FileRecord:
    return FileRecord(id=row.id, thirdparty_id=row.thirdparty_id, name=row.name, size=row.size,
                      content_type=row.content_type, sha256=row.sha256, added_by=row.added_by,
                      added_at=row.added_at, slack_file_id=row.slack_file_id)
