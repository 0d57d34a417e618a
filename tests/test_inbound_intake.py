"""What becomes of each incoming email, decided once per Message-ID: logged on a timeline with
its attachments, a campaign reply marking its recipient, a bounce recorded but never logged as
customer mail, an unknown sender ignored, kept or made a prospect; the same email read again
changes nothing."""
from __future__ import annotations

import dataclasses

from crm import clock, thirdparties
from crm.context import Context
from crm.inbound import intake
from crm.inbound.intake import Position
from models import CampaignRecipient, Contact, Event, InboundEmail, OptOut, ThirdParty
from tests.conftest import ALICE, context
from tests.test_inbound_bounces import sent_campaign_email
from tests.test_inbound_matching import OURS, email_from
from tests.test_inbound_parsing import delivery_report

AT = Position("sales@imap.example:143/INBOX", 7, 1)


WITH_ATTACHMENT = email_from("it@initech.example").replace(
    b"\r\n\r\nHi\r\n", b"\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n"
    b"Content-Type: application/pdf\r\nContent-Disposition: attachment; filename=a.pdf\r\n\r\n%PDF\r\n--x--\r\n")


def with_policy(settings, policy: str) -> Context:
    return Context(context().actor, dataclasses.replace(settings, imap_unknown_senders=policy), clock)


async def test_the_same_email_read_twice_or_under_a_new_uidvalidity_is_logged_once(db, settings):
    initech = await thirdparties.create(context(), {"name": "Initech", "type": "customer",
                                                    "email": "it@initech.example"}, sales_reps=[ALICE.id])
    ctx = Context(context().actor, settings, clock)
    raw = email_from("Peter <it@initech.example>")
    logged = await intake.take(ctx, AT, raw, OURS)
    assert logged.thirdparty_id == initech.id and logged.rep_ids == (ALICE.id,) and logged.sender_name == "Peter"
    assert await intake.take(ctx, AT, raw, OURS) is None
    assert await intake.take(ctx, dataclasses.replace(AT, uidvalidity=8, uid=40), raw, OURS) is None
    assert await Event.filter(code="EMAIL_IN").count() == 1 and await InboundEmail.all().count() == 1


async def test_a_reply_to_a_campaign_email_marks_its_recipient_replied(db, settings):
    initech, recipient = await sent_campaign_email()
    raw = email_from("it@initech.example").replace(b"Subject: Hello",
                                                   b"Subject: Re: News\r\nIn-Reply-To: <campaign-1-1@acme.example>")
    await intake.take(Context(context().actor, settings, clock), AT, raw, OURS)
    assert (await CampaignRecipient.get(id=recipient.id)).status == "replied"
    event = await Event.get(code="EMAIL_IN")
    assert event.thirdparty_id == initech.id and event.label == "Email from it@initech.example: Re: News"


async def test_a_bounce_is_recorded_never_logged_as_customer_mail(db, settings):
    initech, recipient = await sent_campaign_email()
    report = delivery_report("it@initech.example", "<campaign-1-1@acme.example>")
    await intake.take(Context(context().actor, settings, clock), AT, report, OURS)
    assert (await CampaignRecipient.get(id=recipient.id)).status == "bounced"
    assert await OptOut.exists(address="it@initech.example")
    assert not await Event.filter(code="EMAIL_IN").exists() and await Event.filter(code="CAMPAIGN_BOUNCE").count() == 1
    row = await InboundEmail.get(message_id="<bounce-1@mx.example>")
    assert row.status == "bounce" and "5.1.1" in row.reason and row.thirdparty_id is None


async def test_unknown_senders_are_kept_ignored_or_made_prospects_as_configured(db, settings):
    stranger = email_from("Ana Lima <ana@newco.example>")
    assert await intake.take(with_policy(settings, "log"), AT, stranger, OURS) is None
    assert (await InboundEmail.get()).status == "unmatched"
    await InboundEmail.all().delete()
    assert await intake.take(with_policy(settings, "ignore"), AT, stranger, OURS) is None
    assert (await InboundEmail.get()).status == "ignored" and not await Event.filter(code="EMAIL_IN").exists()
    await InboundEmail.all().delete()
    logged = await intake.take(with_policy(settings, "create"), AT, stranger, OURS)
    prospect = await ThirdParty.get(id=logged.thirdparty_id)
    contact = await Contact.get(thirdparty_id=prospect.id)
    assert (prospect.type, prospect.name, prospect.email) == ("prospect", "Ana Lima", "ana@newco.example")
    assert (contact.first_name, contact.last_name, contact.email) == ("Ana", "Lima", "ana@newco.example")
    assert (await Event.get(code="EMAIL_IN")).contact_id == contact.id
    # her next email finds her: no second prospect
    again = stranger.replace(b"<in-1@elsewhere.example>", b"<in-2@elsewhere.example>")
    assert (await intake.take(with_policy(settings, "create"), AT, again, OURS)).thirdparty_id == prospect.id
    assert await ThirdParty.all().count() == 1


async def test_no_prospect_is_made_from_our_own_address(db, settings):
    ours = email_from("Sales <sales@acme.example>", to="nobody@elsewhere.example")
    assert await intake.take(with_policy(settings, "create"), AT, ours, OURS) is None
    row = await InboundEmail.get()
    assert row.status == "unmatched" and "no sender of its own" in row.reason and not await ThirdParty.exists()


async def test_a_message_id_too_long_for_the_column_is_kept_by_its_digest(db, settings):
    await thirdparties.create(context(), {"name": "Initech", "type": "customer", "email": "it@initech.example"})
    raw = email_from("it@initech.example").replace(b"<in-1@elsewhere.example>", b"<" + b"x" * 400 + b"@long.example>")
    ctx = Context(context().actor, settings, clock)
    assert await intake.take(ctx, AT, raw, OURS) is not None
    assert await intake.take(ctx, AT, raw, OURS) is None
    assert (await InboundEmail.get()).message_id.endswith("@long-message-id>")


async def test_a_failed_email_is_due_again_later_and_given_up_after_the_last_attempt(db, settings, tmp_path):
    await thirdparties.create(context(), {"name": "Initech", "type": "customer", "email": "it@initech.example"})
    (tmp_path / "blocked").write_text("not a folder")
    blocked = Context(context().actor, dataclasses.replace(settings, data_dir=tmp_path / "blocked"), clock)
    raw = WITH_ATTACHMENT
    start = clock.now()
    clock.freeze(start)
    for attempt in range(1, intake.MAX_ATTEMPTS + 1):
        assert await intake.take(blocked, AT, raw, OURS) is None
        row = await InboundEmail.get()
        assert (row.status, row.attempts) == ("failed", attempt)
        if attempt < intake.MAX_ATTEMPTS:
            assert await intake.due_again(AT.mailbox, AT.uidvalidity, clock.now()) == []
            clock.freeze(row.next_attempt_at)
            assert await intake.due_again(AT.mailbox, AT.uidvalidity, clock.now()) == [AT.uid]
    assert row.next_attempt_at is None and "attempt 5 of 5" in row.reason
    assert await intake.due_again(AT.mailbox, AT.uidvalidity, clock.now() + intake.FIRST_RETRY * 100) == []
    assert await intake.take(Context(context().actor, settings, clock), AT, raw, OURS) is None  # given up on
    assert not await Event.filter(code="EMAIL_IN").exists()


async def test_a_failed_email_deleted_from_the_mailbox_is_not_tried_again(db, settings, tmp_path):
    (tmp_path / "blocked").write_text("not a folder")
    blocked = Context(context().actor, dataclasses.replace(settings, data_dir=tmp_path / "blocked"), clock)
    raw = WITH_ATTACHMENT
    await intake.take(blocked, AT, raw, OURS)
    await intake.left_mailbox(AT.mailbox, AT.uidvalidity, {AT.uid})
    row = await InboundEmail.get()
    assert (row.status, row.next_attempt_at) == ("failed", None) and "deleted from the mailbox" in row.reason
    assert await intake.due_again(AT.mailbox, AT.uidvalidity, clock.now() + intake.FIRST_RETRY * 100) == []
