"""The timeline (SPEC §10): pages that new events do not shift, filters by event type, notes and
their author-only edits, calls/meetings/tasks and their reminders, sent once."""
from datetime import datetime, timedelta, timezone

import pytest

from crm import clock, contacts, thirdparties, timeline
from crm.documents import service as document_service
from crm.errors import Forbidden, NotFound, ValidationError
from crm.permissions import Actor
from models import Event, ThirdParty
from tests.conftest import ADMIN, ALICE, context

READONLY = Actor("U0READER", role="readonly")
BOB = Actor("U0BOB")
NOON = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


async def customer(name="Acme"):
    return await thirdparties.create(context(), {"name": name, "type": "customer"})


async def notes(tp, count: int) -> list[int]:
    return [(await timeline.add_note(context(), tp.id, f"note {n}")).id for n in range(count)]


async def test_pages_newest_first_and_new_events_do_not_shift_them(db):
    tp = await customer()
    ids = await notes(tp, 12)  # with COMPANY_CREATE: 13 events
    first = await timeline.page(context(), tp.id, size=5)
    assert [e.id for e in first.events] == ids[::-1][:5] and first.newer is None
    await notes(tp, 3)  # added while the first page is read
    second = await timeline.page(context(), tp.id, before_id=first.older, size=5)
    assert [e.id for e in second.events] == ids[::-1][5:10]
    last = await timeline.page(context(), tp.id, before_id=second.older, size=5)
    assert [e.code for e in last.events] == ["NOTE_ADD", "NOTE_ADD", "COMPANY_CREATE"] and last.older is None
    back = await timeline.page(context(), tp.id, after_id=last.newer, size=5)
    assert [e.id for e in back.events] == [e.id for e in second.events] and back.older == second.older


async def test_filter_by_group_of_codes(db):
    tp = await customer()
    await timeline.add_note(context(), tp.id, "first call went well")
    await timeline.add_manual(context(), tp.id, "call", title="Renewal", starts_at=None, duration_minutes=None)
    manual = await timeline.page(context(), tp.id, codes=timeline.GROUPS["manual"][1])
    assert [(e.code, e.label, e.details["kind"]) for e in manual.events] == [("MANUAL", "Call: Renewal", "call")]
    changes = await timeline.page(context(), tp.id, codes=timeline.GROUPS["changes"][1])
    assert [e.code for e in changes.events] == ["COMPANY_CREATE"]


async def test_event_shows_its_contact_and_user(db):
    tp = await customer()
    anna = await contacts.create(context(), tp.id, {"first_name": "Anna", "last_name": "Berg"})
    await timeline.add_note(context(), tp.id, "Spoke with Anna", contact_id=anna.id)
    event = (await timeline.page(context(), tp.id, size=1)).events[0]
    assert (event.contact_name, event.user_id, event.note) == ("Anna Berg", ALICE.id, "Spoke with Anna")


async def test_event_shows_its_document(db):
    tp = await customer()
    draft = await document_service.create(context(), "proposal", tp.id)
    await timeline.add_note(context(), tp.id, "Sent the figures", document_id=draft.id)
    notes_only = await timeline.page(context(), tp.id, codes=timeline.GROUPS["notes"][1])
    assert [e.document_title for e in notes_only.events] == [f"Proposal (PROV{draft.id})"]


async def test_note_needs_text_and_a_contact_of_its_own_third_party(db):
    tp, other = await customer(), await customer("Globex")
    stranger = await contacts.create(context(), other.id, {"first_name": "Zed"})
    with pytest.raises(ValidationError) as empty:
        await timeline.add_note(context(), tp.id, "   ")
    with pytest.raises(ValidationError) as long:
        await timeline.add_note(context(), tp.id, "x" * (timeline.MAX_NOTE + 1))
    with pytest.raises(ValidationError) as foreign:
        await timeline.add_note(context(), tp.id, "hello", contact_id=stranger.id)
    assert (empty.value.field, long.value.field, foreign.value.field) == ("text", "text", "contact")
    assert await Event.filter(code="NOTE_ADD").count() == 0


async def test_readonly_users_add_no_notes(db):
    tp = await customer()
    with pytest.raises(Forbidden, match="read-only"):
        await timeline.add_note(context(READONLY), tp.id, "hello")


async def test_only_the_author_edits_a_note_and_the_edit_is_recorded(db):
    tp = await customer()
    clock.freeze(NOON)
    note = await timeline.add_note(context(), tp.id, "Draft text")
    with pytest.raises(Forbidden, match="Only the author"):
        await timeline.edit_note(context(BOB), note.id, "Bob's text")
    with pytest.raises(Forbidden):
        await timeline.edit_note(context(ADMIN), note.id, "Admin's text")
    clock.freeze(NOON + timedelta(hours=1))
    await timeline.edit_note(context(), note.id, "Final text")
    stored = await Event.get(id=note.id)
    assert (stored.details["text"], stored.label, stored.edited_at) == ("Final text", "Final text",
                                                                        NOON + timedelta(hours=1))
    modify = await Event.get(code="NOTE_MODIFY")
    assert (modify.user_id, modify.details) == (ALICE.id, {"note_id": note.id, "before": "Draft text",
                                                           "after": "Final text"})
    with pytest.raises(NotFound):
        await timeline.edit_note(context(), modify.id, "not a note")


async def test_manual_event_validation_names_the_field(db):
    tp = await customer()
    cases = [({"kind": "lunch"}, "kind"), ({"title": ""}, "title"), ({"duration_minutes": 0}, "duration"),
             ({"duration_minutes": 30, "starts_at": None}, "starts_at"),
             ({"starts_at": datetime(2026, 12, 1, 9, 0)}, "starts_at")]
    for change, field in cases:
        values = {"kind": "meeting", "title": "Demo", "starts_at": NOON, "duration_minutes": 60} | change
        with pytest.raises(ValidationError) as error:
            await timeline.add_manual(context(), tp.id, values.pop("kind"), **values)
        assert error.value.field == field, change
    assert await Event.filter(code="MANUAL").count() == 0


async def test_upcoming_are_the_users_own_from_now_on_soonest_first(db):
    tp = await customer()
    clock.freeze(NOON)
    plan = [("Later", NOON + timedelta(days=2), ALICE), ("Soon", NOON + timedelta(hours=1), ALICE),
            ("Past", NOON - timedelta(hours=1), ALICE), ("Bob's", NOON + timedelta(hours=2), BOB)]
    for title, at, actor in plan:
        await timeline.add_manual(context(actor), tp.id, "meeting", title=title, starts_at=at, duration_minutes=30)
    upcoming = await timeline.upcoming(context(), ALICE.id, 10)
    assert [(p.title, p.thirdparty_name) for p in upcoming] == [("Soon", "Acme"), ("Later", "Acme")]
    assert await timeline.mark_done(context(), upcoming[0].id)
    assert not await timeline.mark_done(context(), upcoming[0].id)  # a second click changes nothing
    assert [p.title for p in await timeline.upcoming(context(), ALICE.id, 10)] == ["Later"]


async def test_reminders_are_due_15_minutes_before_and_claimed_once(db):
    tp = await customer()
    clock.freeze(NOON)
    for title, minutes in (("In ten", 10), ("In twenty", 20)):
        await timeline.add_manual(context(), tp.id, "call", title=title, starts_at=NOON + timedelta(minutes=minutes),
                                  duration_minutes=None)
    due = await timeline.due_reminders(NOON)
    assert [(r.title, r.user_id) for r in due] == [("In ten", ALICE.id)]
    assert await timeline.mark_reminded(due[0].id, NOON)
    assert not await timeline.mark_reminded(due[0].id, NOON)  # another worker: already claimed
    assert await timeline.due_reminders(NOON) == []
    assert [r.title for r in await timeline.due_reminders(NOON + timedelta(minutes=6))] == ["In twenty"]


async def test_a_deleted_third_party_timeline_is_not_found(db):
    tp = await customer()
    await Event.filter(thirdparty_id=tp.id).delete()
    await ThirdParty.filter(id=tp.id).delete()
    with pytest.raises(NotFound, match="no longer exists"):
        await timeline.page(context(), tp.id)
