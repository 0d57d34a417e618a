"""Agenda events (SPEC §10): the timeline of each third party."""
import json
from dataclasses import dataclass, field
from datetime import datetime

from crm.context import UnitOfWork
from crm.db import insert_rows
from crm.permissions import Actor
from models import Event

CODES = frozenset(
    """COMPANY_CREATE COMPANY_MODIFY COMPANY_MERGE COMPANY_DELETE CONTACT_CREATE CONTACT_MODIFY
    NOTE_ADD FILE_ADD PROPAL_CREATE PROPAL_VALIDATE PROPAL_CLOSE_SIGNED PROPAL_CLOSE_REFUSED
    ORDER_CREATE ORDER_VALIDATE NOTE_MODIFY PROPAL_CLASSIFY_BILLED ORDER_CLOSE
    ORDER_CLASSIFY_BILLED FICHINTER_CREATE FICHINTER_VALIDATE FICHINTER_CLASSIFY_DONE
    BILL_CREATE BILL_VALIDATE BILL_PAYED BILL_CANCEL DOC_CONVERT EMAIL_SENT EMAIL_IN
    CAMPAIGN_SENT CAMPAIGN_BOUNCE MANUAL""".split()
)


@dataclass
class Changes:
    """What one edit changed: field -> (before, after), as COMPANY_MODIFY and CONTACT_MODIFY show it."""

    fields: dict[str, tuple] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.fields)

    def assign(self, record, values: dict) -> None:
        """Set `values` on `record`, noting each one that differs from what it held."""
        for name, value in values.items():
            if getattr(record, name) != value:
                self.fields[name] = (getattr(record, name), value)
                setattr(record, name, value)

    def details(self) -> dict:
        """The event's details: `{"changes": {field: [before, after]}}`, as JSON holds it."""
        return {"changes": {name: [_jsonable(before), _jsonable(after)]
                            for name, (before, after) in self.fields.items()}}


def _jsonable(value):
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, bool)):
        return value
    return str(value)


@dataclass(frozen=True)
class EventRecord:
    """One agenda event, as plain data."""

    id: int
    code: str
    occurred_at: datetime
    user_id: str
    thirdparty_id: int | None
    contact_id: int | None
    label: str
    details: dict


async def record(
    uow: UnitOfWork,
    code: str,
    actor: Actor,
    thirdparty_id: int | None,
    label: str,
    *,
    contact_id: int | None = None,
    document_id: int | None = None,
    details: dict | None = None,
    starts_at: datetime | None = None,
    duration_minutes: int | None = None,
) -> int:
    """Write one event in `uow`, the transaction of the change it records, at its time; its id.
    `starts_at` and `duration_minutes`: when a call, meeting or task (MANUAL) is planned.

    Plain SQL: every change writes one, and the ORM's model building costs more than the INSERT.
    """
    row = _row(uow, code, actor, thirdparty_id, label, contact_id, document_id, details)
    if starts_at is not None or duration_minutes is not None:  # only MANUAL events have them (migration 0013)
        row |= {"starts_at": starts_at, "duration_minutes": duration_minutes}
    inserted = await insert_rows(uow.connection, "crm_event", [row], returning="id")
    return inserted[0]["id"]


async def record_many(uow: UnitOfWork, code: str, actor: Actor, labels: dict[int, str]) -> None:
    """One event `code` on each third party of `labels` (third party id -> label), in one go
    (a bulk import creates thousands)."""
    await insert_rows(uow.connection, "crm_event", [
        _row(uow, code, actor, thirdparty_id, label) for thirdparty_id, label in labels.items()])


def _row(uow: UnitOfWork, code: str, actor: Actor, thirdparty_id: int | None, label: str,
         contact_id: int | None = None, document_id: int | None = None, details: dict | None = None) -> dict:
    """An event's columns."""
    if code not in CODES:
        raise ValueError(f"unknown agenda event code {code}")
    return {"code": code, "occurred_at": uow.now, "user_id": actor.id, "thirdparty_id": thirdparty_id,
            "contact_id": contact_id, "document_id": document_id, "label": label[:255],
            "details": json.dumps(details or {}, separators=(",", ":"))}


async def latest(thirdparty_id: int, limit: int = 5) -> list[EventRecord]:
    """The newest events of a third party the caller may see (the caller checked it)."""
    rows = await (Event.filter(thirdparty_id=thirdparty_id).order_by("-occurred_at", "-id").limit(limit)
                  .values("id", "code", "occurred_at", "user_id", "thirdparty_id", "contact_id", "label", "details"))
    return [EventRecord(**row) for row in rows]
