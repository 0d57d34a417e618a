"""The timeline through Slack, by signed requests: `/crm timeline REF` and its Older/Newer buttons
and filter, `/crm note`, notes edited by their author only, the Log activity form, the "Log to
customer" message shortcut, reminders, and a third party deleted while its timeline is open."""
import json
from datetime import datetime, timedelta, timezone

import pytest

from bot import timeline_views as views
from bot.blocks import button
from crm import clock, contacts, thirdparties, timeline
from jobs.reminders import remind
from models import Event, ThirdParty, User
from tests.conftest import ALICE, context, slack_user
from tests.slack_requests import chat_message

BOB = "U0BOB"
NOON = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


def texts(payload: dict) -> str:
    return json.dumps(payload.get("blocks", []), ensure_ascii=False) + payload.get("text", "")


def buttons(payload: dict) -> dict[str, str]:
    """The text of each button in the message's action blocks and section accessories -> its value."""
    found = {}
    for block in payload["blocks"]:
        for element in block.get("elements", []) + [block.get("accessory") or {}]:
            if element.get("type") == "button":
                found.setdefault(element["text"]["text"], element["value"])
    return found


def event_sections(payload: dict) -> list[str]:
    return [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section" and "`" in b["text"]["text"]]


async def acme():
    return await thirdparties.create(context(), {"name": "Acme", "type": "customer"})


async def opened_form(slack, callback_id: str) -> dict:
    view = (await slack.wait_for("views.open"))[-1].args["view"]
    assert view["callback_id"] == callback_id
    return view


async def test_pages_turn_with_buttons_that_replace_the_message(alice, slack):
    tp = await acme()
    for n in range(12):
        await timeline.add_note(context(), tp.id, f"note {n}")
    first = await alice.ask("timeline Acme")
    assert "Timeline · Acme" in texts(first)
    assert [s.split("\n")[1] for s in event_sections(first)] == [f"note {n}" for n in range(11, 1, -1)]
    assert "Newer" not in buttons(first)
    await timeline.add_note(context(), tp.id, "added while reading")
    older = await alice.press("timeline_older", buttons(first)["Older"])
    assert older["replace_original"] is True
    assert [s.split("`")[1] for s in event_sections(older)] == ["NOTE_ADD", "NOTE_ADD", "COMPANY_CREATE"]
    assert "Older" not in buttons(older)
    newer = await alice.press("timeline_newer", buttons(older)["Newer"])
    assert event_sections(newer) == event_sections(first)


async def test_the_filter_shows_one_type_of_events(alice, slack):
    tp = await acme()
    await timeline.add_note(context(), tp.id, "a note")
    await timeline.add_manual(context(), tp.id, "meeting", title="Demo", starts_at=None, duration_minutes=None)
    narrowed = await alice.press("timeline_filter", action_type="static_select", selected_option=f"{tp.id}:manual")
    [only] = event_sections(narrowed)
    assert "`MANUAL` Meeting: Demo" in only and narrowed["replace_original"] is True


async def test_note_from_the_command_is_shown_not_broadcast(alice, slack):
    tp = await acme()
    answer = await alice.ask("note Acme Call them <!channel> *now*")
    assert "Note added to the timeline of Acme" in texts(answer)
    note = await Event.get(code="NOTE_ADD")
    assert (note.thirdparty_id, note.user_id) == (tp.id, ALICE.id)
    shown = await alice.ask("timeline Acme")
    assert "&lt;!channel&gt;" in texts(shown) and "<!channel>" not in texts(shown)
    assert "*now*" not in texts(shown)  # shown as typed, not as bold


async def test_note_form_errors_next_to_the_field_and_saves_once(alice, slack):
    tp = await acme()
    anna = await contacts.create(context(), tp.id, {"first_name": "Anna"})
    await alice.command("note Acme")
    form = await opened_form(slack, "note_new")
    refused = await alice.submit_form(form, {"text": "   "})
    assert "note's text" in refused.json["errors"]["text"]
    assert not await Event.filter(code="NOTE_ADD").exists()
    for _ in range(2):  # a double submission of the same form
        saved = await alice.submit_form(form, {"text": "Met Anna", "contact": str(anna.id)}, view_id="VNOTE")
        assert (saved.status, saved.text) == (200, "")
    [note] = await Event.filter(code="NOTE_ADD")
    assert (note.details["text"], note.contact_id) == ("Met Anna", anna.id)


async def test_only_the_author_edits_a_note(alice, slack, http, server):
    tp = await acme()
    note = await timeline.add_note(context(), tp.id, "first words")
    slack.add_user(BOB, name="bob")
    bob = slack_user(http, server, slack, BOB)
    assert "Edit" not in buttons(await bob.ask("timeline Acme"))
    refused = await bob.press("note_edit", str(note.id))
    assert "Only the author" in texts(refused) and not slack.calls_to("views.open")

    mine = await alice.ask("timeline Acme")
    timeline_url = alice.last_response_url
    assert buttons(mine)["Edit"] == str(note.id)
    await alice.press("note_edit", str(note.id), response_url=timeline_url)
    form = await opened_form(slack, "note_edit")
    assert form["blocks"][0]["element"]["initial_value"] == "first words"
    saved = await alice.submit_form(form, {"text": "better words"})
    assert (saved.status, saved.text) == (200, "")
    modify = await Event.get(code="NOTE_MODIFY")
    assert modify.details == {"note_id": note.id, "before": "first words", "after": "better words"}
    assert (await Event.get(id=note.id)).details["text"] == "better words"
    alice.last_response_url = timeline_url
    refreshed = (await alice.answers(2))[-1]  # the timeline it was edited from, up to date
    assert refreshed["replace_original"] is True
    assert "better words" in texts(refreshed) and "edited" in texts(refreshed)


async def test_log_activity_from_the_card_menu(alice, slack):
    tp = await acme()
    anna = await contacts.create(context(), tp.id, {"first_name": "Anna"})
    card = await alice.ask("show Acme")
    menu = next(e for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]
                if e.get("action_id") == "timeline_menu")
    assert [o["text"]["text"] for o in menu["options"]] == ["Add note", "Log call, meeting or task"]
    await alice.action("timeline_menu", action_type="static_select", selected_option=f"activity:{tp.id}")
    form = await opened_form(slack, "activity_new")
    start = int(NOON.timestamp())
    refused = await alice.submit_form(form, {"title": "Demo", "duration": "45"})
    assert "date and time" in refused.json["errors"]["starts_at"]
    refused = await alice.submit_form(form, {"title": "", "starts_at": start})
    assert "title" in refused.json["errors"]["title"]
    assert not await Event.filter(code="MANUAL").exists()
    saved = await alice.submit_form(form, {"kind": "meeting", "title": "Demo", "starts_at": start,
                                           "duration": "45", "contact": str(anna.id), "note": "bring slides"})
    assert (saved.status, saved.text) == (200, "")
    event = await Event.get(code="MANUAL")
    assert (event.label, event.starts_at, event.duration_minutes, event.contact_id, event.details["note"]) == (
        "Meeting: Demo", NOON, 45, anna.id, "bring slides")


async def test_a_readonly_user_reads_the_timeline_and_writes_nothing(alice, http, server, slack):
    tp = await acme()
    await timeline.add_manual(context(), tp.id, "call", title="Renewal", starts_at=NOON, duration_minutes=None)
    assert "Done" in buttons(await alice.ask("timeline Acme"))
    slack.add_user("U0READER", name="reader")
    await User.create(id="U0READER", role="readonly", created_at=clock.now())
    reader = slack_user(http, server, slack, "U0READER")
    shown = await reader.ask("timeline Acme")
    assert "Call: Renewal" in texts(shown) and "Done" not in buttons(shown)
    assert "read-only" in texts(await reader.ask("note Acme hello"))
    assert "read-only" in texts(await reader.press("activity_done", f"{(await Event.get(code='MANUAL')).id}:{tp.id}"))
    assert not await Event.filter(code="NOTE_ADD").exists()
    assert (await Event.get(code="MANUAL")).done_at is None

    call = await Event.get(code="MANUAL")
    done = await alice.press("activity_done", f"{call.id}:{tp.id}")  # the timeline again, without Done
    assert done["replace_original"] and "Call: Renewal" in texts(done) and "Done" not in buttons(done)
    assert "already marked done" in texts(await alice.press("activity_done", f"{call.id}:{tp.id}"))
    assert (await Event.get(id=call.id)).done_at is not None


@pytest.mark.database_free
def test_the_card_offers_writers_more_than_the_timeline():
    assert views.card_entries(7, can_write=False) == [button("Timeline", "timeline_show", "7")]
    timeline_button, menu = views.card_entries(7, can_write=True)
    assert timeline_button == button("Timeline", "timeline_show", "7")
    assert [o["value"] for o in menu["options"]] == ["note:7", "activity:7"]


async def test_log_to_customer_keeps_the_text_author_and_permalink(alice, slack):
    tp = await acme()
    posted = chat_message("Anna &amp; Bo said yes", user_id=BOB, ts="1767225600.000200")
    await alice.shortcut("log_to_customer", message=posted, channel_id="C0SALES")
    form = await opened_form(slack, "log_to_customer")
    assert form["blocks"][1]["element"]["initial_value"] == "Anna & Bo said yes"
    refused = await alice.submit_form(form)
    assert "Choose the customer" in refused.json["errors"]["thirdparty"]
    offered = await alice.suggest("thirdparty_pick", "acm", block_id="thirdparty", view={"id": "VLOG", **form})
    [chosen] = offered.json["options"]
    assert chosen["text"]["text"] == f"{tp.code} — Acme"
    saved = await alice.submit_form(form, {"thirdparty": chosen})
    assert (saved.status, saved.text) == (200, "")
    note = await Event.get(code="NOTE_ADD")
    source = note.details["source"]
    assert (note.details["text"], source["author"], source["channel"], source["ts"]) == (
        "Anna & Bo said yes", BOB, "C0SALES", "1767225600.000200")
    assert source["permalink"].startswith("https://") and source["permalink"].endswith(
        "/archives/C0SALES/p1767225600000200")
    shown = await alice.ask("timeline Acme")
    assert "From a Slack message" in texts(shown) and f"<@{BOB}>" in texts(shown)


async def test_a_third_party_deleted_while_its_timeline_is_open(alice, slack):
    tp = await acme()
    for n in range(11):
        await timeline.add_note(context(), tp.id, f"note {n}")
    shown = await alice.ask("timeline Acme")
    await Event.filter(thirdparty_id=tp.id).delete()
    await ThirdParty.filter(id=tp.id).delete()
    answer = await alice.press("timeline_older", buttons(shown)["Older"])
    assert "no longer exists" in texts(answer)


async def test_a_planned_call_is_reminded_once_15_minutes_before(alice, slack, server):
    tp = await acme()
    clock.freeze(NOON)
    await timeline.add_manual(context(), tp.id, "call", title="Renewal <!here>", starts_at=NOON + timedelta(minutes=20),
                              duration_minutes=15)
    await remind(server.settings)
    assert not slack.calls_to("chat.postMessage")  # 20 minutes ahead: not yet
    clock.freeze(NOON + timedelta(minutes=6))
    await remind(server.settings)
    await remind(server.settings)  # the next minute, or another worker
    [reminder] = slack.calls_to("chat.postMessage")
    assert "Call “Renewal &lt;!here&gt;” with Acme" in texts(reminder.args)
    assert buttons(reminder.args) == {"Open": str(tp.id)}
    assert slack.calls_to("conversations.open")[-1].args["users"] == ALICE.id
    assert (await Event.get(code="MANUAL")).reminded_at == NOON + timedelta(minutes=6)
