"""A third party's timeline (SPEC §10): its events newest first, page by page, and what people
add to it themselves: notes (NOTE_ADD, edited by their author: NOTE_MODIFY) and calls, meetings
and tasks (MANUAL), whose user is reminded in Slack 15 minutes before a planned one starts."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from tortoise.expressions import Subquery

from crm import agenda, validators
from crm.agenda import EventRecord
from crm.context import Context, UnitOfWork
from crm.errors import Forbidden, NotFound, ValidationError
from crm.permissions import require_writer, visible_thirdparties, visible_thirdparty
from crm.records import DOCUMENT_TYPE_LABELS, document_ref
from models import Contact, Document, Event

# The event types a timeline can be narrowed to: every code of SPEC §10 is in one group.
GROUPS: dict[str, tuple[str, frozenset[str]]] = {
    "notes": ("Notes and files", frozenset({"NOTE_ADD", "NOTE_MODIFY", "FILE_ADD"})),
    "emails": ("Emails", frozenset({"EMAIL_SENT", "EMAIL_IN"})),
    "documents": ("Documents", frozenset({
        "PROPAL_CREATE", "PROPAL_VALIDATE", "PROPAL_CLOSE_SIGNED", "PROPAL_CLOSE_REFUSED", "PROPAL_CLASSIFY_BILLED",
        "ORDER_CREATE", "ORDER_VALIDATE", "ORDER_CLOSE", "ORDER_CLASSIFY_BILLED", "FICHINTER_CREATE",
        "FICHINTER_VALIDATE", "FICHINTER_CLASSIFY_DONE", "BILL_CREATE", "BILL_VALIDATE", "BILL_PAYED",
        "BILL_CANCEL", "DOC_CONVERT"})),
    "campaigns": ("Campaigns", frozenset({"CAMPAIGN_SENT", "CAMPAIGN_BOUNCE"})),
    "manual": ("Calls, meetings, tasks", frozenset({"MANUAL"})),
    "changes": ("Record changes", frozenset({
        "COMPANY_CREATE", "COMPANY_MODIFY", "COMPANY_MERGE", "COMPANY_DELETE", "CONTACT_CREATE", "CONTACT_MODIFY"})),
}
assert frozenset().union(*(codes for _, codes in GROUPS.values())) == agenda.CODES

KINDS = {"call": "Call", "meeting": "Meeting", "task": "Task"}
MAX_NOTE = 3000  # what one Slack text box holds
MAX_TITLE = 200
MAX_DURATION = 24 * 60  # minutes
PAGE_SIZE = 10
REMIND_BEFORE = timedelta(minutes=15)
LABEL_SHOWN = 120  # characters of a note that name it in its label (the card's last events)

_COLUMNS = ("id", "code", "occurred_at", "user_id", "thirdparty_id", "contact_id", "document_id", "label",
            "details", "starts_at", "duration_minutes", "done_at", "edited_at",
            "contact__first_name", "contact__last_name", "document__ref", "document__type")


@dataclass(frozen=True)
class TimelineEvent:
    """One event as the timeline shows it."""

    id: int
    code: str
    occurred_at: datetime
    user_id: str
    thirdparty_id: int
    label: str
    details: dict
    contact_id: int | None
    contact_name: str  # "" without a contact
    document_id: int | None
    document_title: str  # "Proposal PR2611-0001", "" without a document
    starts_at: datetime | None
    duration_minutes: int | None
    done_at: datetime | None
    edited_at: datetime | None

    @property
    def note(self) -> str:
        """A note's text, or a manual event's note."""
        return str(self.details.get("text") or self.details.get("note") or "")


@dataclass(frozen=True)
class TimelinePage:
    thirdparty_id: int
    events: list[TimelineEvent]
    older: int | None  # `before_id` of the next page, None on the last
    newer: int | None  # `after_id` of the page before, None on the first


@dataclass(frozen=True)
class PlannedEvent:
    """A call, meeting or task with a time, and whose it is (App Home, reminders)."""

    id: int
    user_id: str
    kind: str
    title: str
    starts_at: datetime
    duration_minutes: int | None
    thirdparty_id: int
    thirdparty_code: str
    thirdparty_name: str


async def page(ctx: Context, thirdparty_id: int, *, codes: frozenset[str] | None = None,
               before_id: int | None = None, after_id: int | None = None, size: int = PAGE_SIZE) -> TimelinePage:
    """`size` events of a third party, newest first: those just older than `before_id`, or just
    newer than `after_id`, else the newest. Pages are cut by event id, so events added meanwhile
    never shift the page being read; `codes` narrows to those codes."""
    await visible_thirdparty(ctx.actor, thirdparty_id)
    query = Event.filter(thirdparty_id=thirdparty_id)
    if codes is not None:
        query = query.filter(code__in=sorted(codes))
    if after_id is not None:  # going back: the page was older, so there are older events
        rows = await query.filter(id__gt=after_id).order_by("id").limit(size + 1).values(*_COLUMNS)
        has_newer, has_older, rows = len(rows) > size, True, rows[:size][::-1]
    else:
        if before_id is not None:
            query = query.filter(id__lt=before_id)
        rows = await query.order_by("-id").limit(size + 1).values(*_COLUMNS)
        has_newer, has_older, rows = before_id is not None, len(rows) > size, rows[:size]
    events = [_event(row) for row in rows]
    return TimelinePage(thirdparty_id, events, older=events[-1].id if has_older and events else None,
                        newer=events[0].id if has_newer and events else None)


def _event(row: dict) -> TimelineEvent:
    contact = " ".join(p for p in (row.pop("contact__first_name"), row.pop("contact__last_name")) if p)
    ref, doc_type = row.pop("document__ref"), row.pop("document__type")
    title = f"{DOCUMENT_TYPE_LABELS[doc_type]} {document_ref(ref, row['document_id'])}" if doc_type else ""
    return TimelineEvent(contact_name=contact, document_title=title, **row)


async def add_note(ctx: Context, thirdparty_id: int, text: str, *, contact_id: int | None = None,
                   document_id: int | None = None, source: dict | None = None) -> EventRecord:
    """A note on a third party's timeline (NOTE_ADD), its text in the details; `source` says
    where it was taken from (a Slack message: its permalink and author)."""
    require_writer(ctx.actor, "add notes")
    text = _note_text("text", text)
    details = {"text": text, **({"source": source} if source else {})}
    async with ctx.transaction() as uow:
        await _check_links(ctx, uow, thirdparty_id, contact_id, document_id)
        event_id = await agenda.record(uow, "NOTE_ADD", ctx.actor, thirdparty_id, _first_line(text),
                                       contact_id=contact_id, document_id=document_id, details=details)
    return EventRecord(event_id, "NOTE_ADD", uow.now, ctx.actor.id, thirdparty_id, contact_id, _first_line(text),
                       details)


async def edit_note(ctx: Context, event_id: int, text: str) -> EventRecord:
    """A note's new text, by its author only: the note itself changes (its details and
    edited_at), and a NOTE_MODIFY event records the change, in one transaction; the same text
    changes nothing."""
    require_writer(ctx.actor, "edit notes")
    text = _note_text("text", text)
    async with ctx.transaction() as uow:
        note = await _visible_event(ctx, uow, event_id, "NOTE_ADD", "This note no longer exists.")
        if note.user_id != ctx.actor.id:
            raise Forbidden("Only the author of a note can edit it; add a note of your own instead.")
        before = note.details.get("text", "")
        if before == text:  # nothing to record (the form submitted twice)
            return _note_record(note)
        note.details = {**note.details, "text": text}
        note.label, note.edited_at = _first_line(text), uow.now
        await note.save(using_db=uow.connection, update_fields=["details", "label", "edited_at"])
        await agenda.record(uow, "NOTE_MODIFY", ctx.actor, note.thirdparty_id, f"Note edited: {_first_line(text)}",
                            contact_id=note.contact_id, document_id=note.document_id,
                            details={"note_id": note.id, "before": before, "after": text})
    return _note_record(note)


def _note_record(note: Event) -> EventRecord:
    return EventRecord(note.id, note.code, note.occurred_at, note.user_id, note.thirdparty_id, note.contact_id,
                       note.label, note.details)


async def add_manual(ctx: Context, thirdparty_id: int, kind: str, *, title: str, starts_at: datetime | None,
                     duration_minutes: int | None, contact_id: int | None = None, note: str = "") -> EventRecord:
    """A call, meeting or task (MANUAL), planned at `starts_at` or logged without a time."""
    require_writer(ctx.actor, "log calls, meetings and tasks")
    if kind not in KINDS:
        raise ValidationError("kind", "Choose whether it is a call, a meeting or a task.")
    title = validators.text("title", "The title", title or "", max_length=MAX_TITLE)
    if not title:
        raise ValidationError("title", "Give it a title, e.g. “Call about the renewal”.")
    if starts_at is not None and starts_at.tzinfo is None:
        raise ValidationError("starts_at", "The date and time need a time zone.")
    if duration_minutes is not None and not 0 < duration_minutes <= MAX_DURATION:
        raise ValidationError("duration", f"The duration is in minutes, from 1 to {MAX_DURATION}.")
    if duration_minutes is not None and starts_at is None:
        raise ValidationError("starts_at", "A duration needs a date and time to start from.")
    note = validators.text("note", "The note", note or "", max_length=MAX_NOTE)
    details = {"kind": kind, "title": title, **({"note": note} if note else {})}
    label = f"{KINDS[kind]}: {title}"
    starts_at = starts_at.astimezone(timezone.utc) if starts_at else None
    async with ctx.transaction() as uow:
        await _check_links(ctx, uow, thirdparty_id, contact_id, None)
        event_id = await agenda.record(uow, "MANUAL", ctx.actor, thirdparty_id, label, contact_id=contact_id,
                                       details=details, starts_at=starts_at, duration_minutes=duration_minutes)
    return EventRecord(event_id, "MANUAL", uow.now, ctx.actor.id, thirdparty_id, contact_id, label, details)


async def mark_done(ctx: Context, event_id: int) -> bool:
    """A call, meeting or task done (once: a second click changes nothing); whether it changed."""
    require_writer(ctx.actor, "mark calls, meetings and tasks done")
    async with ctx.transaction() as uow:
        await _visible_event(ctx, uow, event_id, "MANUAL", "This call, meeting or task no longer exists.")
        done = await Event.filter(id=event_id, done_at=None).using_db(uow.connection).update(done_at=uow.now)
    return done == 1


async def note_text(ctx: Context, event_id: int) -> str:
    """The text of a note its author is about to edit."""
    require_writer(ctx.actor, "edit notes")
    note = await _visible_event(ctx, None, event_id, "NOTE_ADD", "This note no longer exists.")
    if note.user_id != ctx.actor.id:
        raise Forbidden("Only the author of a note can edit it; add a note of your own instead.")
    return str(note.details.get("text", ""))


async def upcoming(ctx: Context, user_id: str, limit: int = 10) -> list[PlannedEvent]:
    """`user_id`'s calls, meetings and tasks from now on, not done, soonest first."""
    query = Event.filter(code="MANUAL", user_id=user_id, starts_at__gte=ctx.now().astimezone(timezone.utc),
                         done_at=None, thirdparty_id__in=Subquery(visible_thirdparties(ctx.actor).values("id")))
    return await _planned(query.order_by("starts_at", "id").limit(limit))


async def due_reminders(now: datetime) -> list[PlannedEvent]:
    """The planned events starting within REMIND_BEFORE whose user was not reminded yet."""
    now = now.astimezone(timezone.utc)
    return await _planned(Event.filter(code="MANUAL", starts_at__gt=now, starts_at__lte=now + REMIND_BEFORE,
                                       reminded_at=None, done_at=None).order_by("starts_at", "id"))


async def planned_between(start: datetime, end: datetime) -> list[PlannedEvent]:
    """Everyone's calls, meetings and tasks planned from `start` to `end` and not done (the morning digest)."""
    return await _planned(Event.filter(code="MANUAL", starts_at__gte=start, starts_at__lt=end, done_at=None)
                          .order_by("starts_at", "id"))


async def mark_reminded(event_id: int, now: datetime) -> bool:
    """Claim the reminder of an event: True for the one process that does, so it is sent once."""
    return await Event.filter(id=event_id, reminded_at=None).update(reminded_at=now) == 1


async def _planned(query) -> list[PlannedEvent]:
    rows = await query.values("id", "user_id", "details", "starts_at", "duration_minutes", "thirdparty_id",
                              "thirdparty__code", "thirdparty__name")
    return [PlannedEvent(row["id"], row["user_id"], row["details"].get("kind", "task"), row["details"].get("title", ""),
                         row["starts_at"], row["duration_minutes"], row["thirdparty_id"], row["thirdparty__code"],
                         row["thirdparty__name"]) for row in rows]


async def _visible_event(ctx: Context, uow: UnitOfWork | None, event_id: int, code: str, gone: str) -> Event:
    """An event of `code` on a third party the actor may see (locked inside `uow`), or NotFound."""
    query = Event.filter(id=event_id, code=code)
    if uow is not None:
        query = query.select_for_update().using_db(uow.connection)
    event = await query.first()
    if event is None or event.thirdparty_id is None:
        raise NotFound(gone)
    await visible_thirdparty(ctx.actor, event.thirdparty_id, uow.connection if uow else None)
    return event


async def _check_links(ctx: Context, uow: UnitOfWork, thirdparty_id: int, contact_id: int | None,
                       document_id: int | None) -> None:
    """The third party is there (locked against its deletion meanwhile), and the contact and
    document given are its own."""
    await visible_thirdparty(ctx.actor, thirdparty_id, uow.connection, for_update=True)
    if contact_id is not None and not await Contact.filter(
            id=contact_id, thirdparty_id=thirdparty_id).using_db(uow.connection).exists():
        raise ValidationError("contact", "That contact is not one of this third party's (any more).")
    if document_id is not None and not await Document.filter(
            id=document_id, thirdparty_id=thirdparty_id).using_db(uow.connection).exists():
        raise ValidationError("document", "That document is not one of this third party's.")


def _note_text(field: str, text: str) -> str:
    text = validators.text(field, "The note", text or "", max_length=MAX_NOTE)
    if not text:
        raise ValidationError(field, "Write the note's text, e.g. “Called Anna: the renewal is on for March”.")
    return text


def _first_line(text: str) -> str:
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= LABEL_SHOWN else line[:LABEL_SHOWN - 1] + "…"
