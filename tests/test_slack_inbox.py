"""`/crm inbox` through Slack, by signed requests: the emails from unknown senders (taken by the
intake as the IMAP listener does), escaped; an admin assigns one to a third party from a form
whose menu searches third parties, once however often it is submitted; others are refused."""
import dataclasses
import json
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime

import pytest

from crm import clock, thirdparties
from crm.context import Context
from crm.inbound.intake import Position, take
from models import Event, InboundEmail
from tests.conftest import ADMIN, ALICE, context
from tests.slack_requests import modal

START = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def settings(settings):
    """Emails from unknown senders are kept for an admin (the default, said here)."""
    return dataclasses.replace(settings, imap_unknown_senders="log")


def texts(payload: dict) -> str:
    return json.dumps(payload.get("blocks", []), ensure_ascii=False) + payload.get("text", "")


def raw_email(uid: int, sender: str, subject: str, body: str, attachment: bytes | None = None) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, "sales@test", subject
    message["Message-ID"], message["Date"] = f"<inbox-{uid}@unknown.example>", format_datetime(START)
    message.set_content(body)
    if attachment is not None:
        message.add_attachment(attachment, maintype="application", subtype="pdf", filename="brief.pdf")
    return message.as_bytes()


async def receive(server, uid: int, sender: str, subject: str = "Hello", body: str = "Can we talk?",
                  attachment: bytes | None = None) -> InboundEmail:
    """An email from an unknown sender, as the IMAP listener hands it to the intake, a minute after the last."""
    clock.freeze(START + timedelta(minutes=uid))
    ctx = Context(ADMIN, server.settings, clock)
    assert await take(ctx, Position("sales@test/INBOX", 1, uid), raw_email(uid, sender, subject, body, attachment),
                      frozenset()) is None
    return await InboundEmail.get(uid=uid)


async def test_an_admin_assigns_an_unmatched_email_once(admin, slack, server):
    acme = await thirdparties.create(context(ADMIN), {"name": "Acme Widgets", "type": "customer"},
                                     sales_reps=[ALICE.id])
    older = await receive(server, 1, "Old Friend <old@unknown.example>", "Earlier")
    email = await receive(server, 2, '"<!channel> *Boss*" <boss@unknown.example>', "Deal <!here> _now_",
                          "Ping <!everyone> please", attachment=b"%PDF-1.4 brief")
    assert (email.status, older.status) == ("unmatched", "unmatched")
    await InboundEmail.create(message_id="<broken@x>", mailbox="sales@test/INBOX", uidvalidity=1, uid=3,
                              status="rejected", reason="unreadable: no headers", received_at=START)

    listed = await admin.ask("inbox")
    shown = texts(listed)
    for markup in ("<!channel>", "<!here>", "<!everyone>", "*Boss*", "_now_"):
        assert markup not in shown  # shown as written, never a broadcast or formatting
    assert "&lt;!channel&gt; ∗Boss∗" in shown and "boss@unknown.example" in shown and "1 attachment" in shown
    assert shown.index("boss@unknown.example") < shown.index("old@unknown.example")  # newest first
    assert "Failed or rejected" in shown and "unreadable: no headers" in shown
    assert "<!date^" in shown  # each reader sees the date in their own time zone
    buttons = [b["accessory"] for b in listed["blocks"] if b.get("accessory", {}).get("action_id") == "inbox_assign"]
    assert [b["value"] for b in buttons] == [str(email.id), str(older.id)]

    await admin.action("inbox_assign", str(email.id))
    inbox_reply = admin.last_response_url.rsplit("/", 1)[-1]
    form = (await slack.wait_for("views.open"))[-1].args["view"]
    assert form["callback_id"] == "inbox_assign_form" and "<!channel> *Boss* <boss@unknown.example>" in texts(form)
    offered = (await admin.suggest("thirdparty_pick", "acme", block_id="thirdparty",
                                   view=modal("inbox_assign_form", "VASSIGN"))).json["options"]
    assert offered[0] == {"text": {"type": "plain_text", "text": f"{acme.code} — Acme Widgets", "emoji": False},
                          "value": str(acme.id)}

    saved = await admin.submit_form(form, {"thirdparty": offered[0]}, view_id="VASSIGN")
    assert (saved.status, saved.text) == (200, "")
    [event] = await Event.filter(code="EMAIL_IN")
    assert (event.thirdparty_id, event.user_id) == (acme.id, ADMIN.id) and "Deal <!here> _now_" in event.label
    email = await InboundEmail.get(id=email.id)
    assert (email.status, email.thirdparty_id, email.assigned_by) == ("logged", acme.id, ADMIN.id)
    await slack.wait_for_response(count=2)
    updated = [r.body for r in slack.responses if r.name == inbox_reply][-1]
    assert updated["replace_original"] and "is now on the timeline of Acme Widgets" in texts(updated)
    assert "boss@unknown.example" not in json.dumps(updated["blocks"][1:])  # no longer listed; the older one is
    assert "old@unknown.example" in texts(updated)
    told = (await slack.wait_for("chat.postMessage"))[-1].args  # Acme's rep hears of it, as of any email logged
    assert told["channel"] == "D" + ALICE.id and "Acme Widgets" in texts(told) and "<!channel>" not in texts(told)

    again = await admin.submit_form(form, {"thirdparty": offered[0]}, view_id="VASSIGN")  # a double submit
    assert again.json["errors"]["thirdparty"] == "That email was already logged on Acme Widgets by admin."
    assert await Event.filter(code="EMAIL_IN").count() == 1


async def test_others_are_refused(alice, server, slack):
    email = await receive(server, 1, "Stranger <s@unknown.example>")
    assert "Only admins" in texts(await alice.ask("inbox"))
    assert "Only admins" in texts(await alice.press("inbox_assign", str(email.id)))
    refused = await alice.submit("inbox_assign_form", {"thirdparty": {"thirdparty_pick": {
        "type": "external_select", "selected_option": {"value": "1"}}}},
        private_metadata=json.dumps({"email": email.id, "inbox": ""}))
    assert "Only admins" in refused.json["errors"]["thirdparty"]
    assert not slack.calls_to("views.open") and not await Event.filter(code="EMAIL_IN").exists()


async def test_an_empty_inbox_says_so(admin):
    assert "No unmatched emails" in texts(await admin.ask("inbox"))


async def test_assign_on_an_email_gone_or_assigned_meanwhile(admin, server, slack):
    acme = await thirdparties.create(context(ADMIN), {"name": "Acme Widgets", "type": "customer"})
    gone = await receive(server, 1, "Stranger <s@unknown.example>")
    await admin.action("inbox_assign", str(gone.id))
    form = (await slack.wait_for("views.open"))[-1].args["view"]
    await gone.delete()  # meanwhile
    refused = await admin.submit_form(form, {"thirdparty": {"text": {"type": "plain_text", "text": "Acme"},
                                                            "value": str(acme.id)}})
    assert refused.json["errors"]["thirdparty"] == "That email is no longer in the inbox."
    assert "no longer in the inbox" in texts(await admin.press("inbox_assign", str(gone.id)))
    taken = await receive(server, 2, "Other <o@unknown.example>")
    await InboundEmail.filter(id=taken.id).update(status="logged")
    assert "no longer waiting to be assigned" in texts(await admin.press("inbox_assign", str(taken.id)))
    assert len(slack.calls_to("views.open")) == 1  # no form for either


async def test_a_full_inbox_stays_within_slack_limits(admin, server):
    for uid in range(1, 21):
        await receive(server, uid, f"Sender {uid} <s{uid}@unknown.example>", "&" * 2000, "<" * 3000)
    for uid in range(21, 41):
        await InboundEmail.create(message_id=f"<failed-{uid}@x>", mailbox="sales@test/INBOX", uidvalidity=1, uid=uid,
                                  status="failed", reason="attempt 1 of 5 failed: " + "&" * 5000, received_at=START)
    listed = await admin.ask("inbox")  # the stand-in refuses a message over Slack's limits
    assert len(listed["blocks"]) <= 50 and "5 more" in texts(listed)
    assert "Failed or rejected (20)" in texts(listed) and "5 more, older." in texts(listed)


async def test_without_the_list_to_update_the_confirmation_is_a_direct_message(admin, server, slack):
    acme = await thirdparties.create(context(ADMIN), {"name": "Acme Widgets", "type": "customer"})
    email = await receive(server, 1, "Stranger <s@unknown.example>")
    saved = await admin.submit("inbox_assign_form", {"thirdparty": {"thirdparty_pick": {
        "type": "external_select", "selected_option": {"value": str(acme.id)}}}},
        private_metadata=json.dumps({"email": email.id, "inbox": ""}))
    assert (saved.status, saved.text) == (200, "")
    told = (await slack.wait_for("chat.postMessage"))[-1].args
    assert told["channel"] == "D" + ADMIN.id and "is now on the timeline of Acme Widgets" in texts(told)
