"""Campaigns: their use cases, the recipients written when sending starts, and the sending that
workers share, against a real SMTP server on loopback."""
from __future__ import annotations

import asyncio
import email
import email.policy
import io
from collections import Counter
from datetime import timedelta

import pytest
import trustme

from crm import clock, contacts, imports, jobs, thirdparties
from crm.campaigns import service
from crm.campaigns.sender import Sender
from crm.context import Context
from crm.errors import Conflict, Forbidden, ValidationError
from crm.mail import templates, unsubscribe
from crm.settings import Settings
from models import Campaign, CampaignRecipient, Contact, EmailTemplate, Event, OptOut, ThirdParty
from crm.permissions import Actor
from tests.conftest import ADMIN, ALICE, context
from tests.processes import Process, base_env, free_port
from tests.smtp_server import SmtpServer

FR_SUBJECT = "Nouveautés pour {{ thirdparty.name }}"
BOB = Actor("U0BOB")


@pytest.fixture
async def ready(db):
    await templates.ensure_defaults()
    now = clock.now()
    await EmailTemplate.create(name="campaign", language="fr", type="campaign", subject=FR_SUBJECT,
                               text="Bonjour {{ contact.first_name }}", html="<p>Bonjour</p>",
                               created_at=now, updated_at=now)


@pytest.fixture
def smtp():
    with SmtpServer("plain", trustme.CA()) as server:
        yield server


def sending(server: SmtpServer | None, tmp_path, **overrides) -> Context:
    settings = Settings(**{"smtp_url": server.url() if server else None, "data_dir": tmp_path,
                           "campaign_rate": 1000, "campaign_concurrency": 2, "mail_from": "Acme <news@acme.example>",
                           "public_url": "https://crm.acme.example", "secret_key": "test-secret",
                           "admins": frozenset({ADMIN.id}), **overrides})
    return Context(ALICE, settings, clock)


async def customers() -> dict[str, ThirdParty]:
    new = lambda name, **values: thirdparties.create(context(), {"name": name, "type": "customer", **values})
    made = {
        "acme": await new("Acme", email="info@acme.example", language="en"),
        "globex": await new("Globex", language="fr"),          # reached through its contact
        "initech": await new("Initech"),                       # nobody to write to
        "umbrella": await new("Umbrella", email="Legal@Umbrella.example"),
        "hooli": await new("Hooli", email="bad@hooli.example"),
        "other": await new("Other", type="prospect", email="x@other.example"),
    }
    await contacts.create(context(), made["globex"].id, {"first_name": "Zoë", "email": "zoe@globex.example"})
    await contacts.create(context(), made["acme"].id, {"first_name": "Ann", "email": "INFO@acme.example"})
    await OptOut.create(address="legal@umbrella.example", reason="unsubscribed", created_at=clock.now())
    await ThirdParty.filter(name="Hooli").update(email="bad@@hooli.example")  # typed before today's checks
    return made


async def started(ctx: Context, target: str = "type:customer") -> int:
    campaign = await service.create(ctx, "November news", "campaign", target)
    await service.move(ctx, campaign.id, "schedule")
    assert await service.start_due(ctx) == [campaign.id]
    return campaign.id


async def test_a_campaign_is_checked_when_created(ready):
    with pytest.raises(ValidationError) as bad:
        await service.create(context(), "News", "campaign", "type:customer colour:red")
    assert "colour" in bad.value.message
    with pytest.raises(ValidationError) as bad:
        await service.create(context(), "News", "proposal", "")
    assert bad.value.field == "template"
    with pytest.raises(ValidationError) as bad:
        await service.create(context(), "News", "campaign", "", send_at=clock.now() - timedelta(minutes=1))
    assert bad.value.field == "send_at"
    campaign = await service.create(context(), "News", "campaign", "")
    with pytest.raises(Forbidden):
        await service.move(context(BOB), campaign.id, "schedule")
    await service.move(context(), campaign.id, "cancel")
    with pytest.raises(Conflict, match="cannot be scheduled"):
        await service.move(context(), campaign.id, "schedule")


async def test_recipients_are_written_once_per_address_with_the_reason_of_each_skip(ready, tmp_path):
    made = await customers()
    campaign_id = await started(sending(None, tmp_path))
    rows = {r.address: r for r in await CampaignRecipient.filter(campaign_id=campaign_id)}
    assert {address: (r.status, r.reason.split(":")[0]) for address, r in rows.items()} == {
        "info@acme.example": ("pending", ""),            # the contact and the third party: one email
        "zoe@globex.example": ("pending", ""),
        f"(no email address: {made['initech'].code})": ("skipped", "no email address"),
        "legal@umbrella.example": ("skipped", "opted out"),
        "bad@@hooli.example": ("skipped", "invalid address"),
    }
    assert rows["info@acme.example"].contact_id is not None  # the contact wins
    assert rows["zoe@globex.example"].language == "fr"  # its third party's, the contact having none
    assert (await Campaign.get(id=campaign_id)).status == "sending"
    assert await service.start_due(sending(None, tmp_path)) == []  # started once


async def test_the_sender_delivers_each_recipient_once_and_logs_it(ready, smtp, tmp_path):
    made = await customers()
    ctx = sending(smtp, tmp_path)
    campaign_id = await started(ctx)
    sender = Sender(ctx, "worker-1")
    try:
        assert await sender.run() == 2
    finally:
        await sender.close()
    assert await service.finish_sent(ctx) == [campaign_id]
    received = {m.recipients[0]: email.message_from_bytes(m.data, policy=email.policy.default)
                for m in smtp.recorder.messages}
    assert set(received) == {"info@acme.example", "zoe@globex.example"}
    french = received["zoe@globex.example"]
    assert str(french["Subject"]) == "Nouveautés pour Globex"  # the French variant
    link = unsubscribe.url("https://crm.acme.example", "test-secret", "zoe@globex.example")
    assert french["List-Unsubscribe"] == f"<{link}>"
    assert french["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    recipient = await CampaignRecipient.get(campaign_id=campaign_id, address="zoe@globex.example")
    assert french["Message-ID"] == recipient.message_id == f"<campaign-{campaign_id}-{recipient.id}@acme.example>"
    assert recipient.status == "sent" and recipient.reason.startswith("250")
    events = await Event.filter(code="CAMPAIGN_SENT").order_by("thirdparty_id")
    assert [(e.thirdparty_id, e.user_id) for e in events] == [(made["acme"].id, "system"),
                                                              (made["globex"].id, "system")]
    tally = (await service.get(ctx, campaign_id))[1]
    assert tally.counts == {"pending": 0, "sent": 2, "failed": 0, "bounced": 0, "skipped": 3, "replied": 0}


async def test_a_full_mailbox_is_tried_again_later_and_an_unknown_one_fails(ready, smtp, tmp_path):
    await customers()
    smtp.recorder.refuse = {"info@acme.example": "452 4.2.2 Mailbox full",
                            "zoe@globex.example": "550 5.1.1 No such user"}
    ctx = sending(smtp, tmp_path)
    campaign_id = await started(ctx)
    sender = Sender(ctx, "worker-1")
    try:
        await sender.run()
        assert await sender.run() == 0  # the full mailbox waits for its next attempt
        full = await CampaignRecipient.get(campaign_id=campaign_id, address="info@acme.example")
        assert (full.status, full.attempts, full.reason) == ("pending", 1, "452 4.2.2 Mailbox full")
        assert full.next_attempt_at > clock.now()
        unknown = await CampaignRecipient.get(campaign_id=campaign_id, address="zoe@globex.example")
        assert (unknown.status, unknown.reason) == ("failed", "550 5.1.1 No such user")
        smtp.recorder.refuse = {}
        await CampaignRecipient.filter(id=full.id).update(next_attempt_at=clock.now())
        assert await sender.run() == 1
    finally:
        await sender.close()
    assert (await CampaignRecipient.get(id=full.id)).status == "sent"
    assert [m.recipients for m in smtp.recorder.messages] == [["info@acme.example"]]


async def test_a_paused_campaign_sends_nothing_until_resumed(ready, smtp, tmp_path):
    await customers()
    ctx = sending(smtp, tmp_path)
    campaign_id = await started(ctx)
    await service.move(ctx, campaign_id, "pause")
    sender = Sender(ctx, "worker-1")
    try:
        assert await sender.run() == 0
        await service.move(ctx, campaign_id, "resume")
        assert (await Campaign.get(id=campaign_id)).status == "sending"
        assert await sender.run() == 2
    finally:
        await sender.close()


async def test_the_batch_of_a_worker_that_died_is_sent_by_another(ready, smtp, tmp_path):
    await customers()
    ctx = sending(smtp, tmp_path)
    await started(ctx)
    dead = Sender(ctx, "worker-that-died")
    assert len(await dead.claim()) == 2  # then it died before sending
    alive = Sender(ctx, "worker-2")
    try:
        assert await alive.run() == 0  # its claim still holds
        clock.freeze(clock.now() + timedelta(seconds=16))
        assert await alive.run() == 2
    finally:
        clock.freeze(None)
        await alive.close()
        await dead.close()
    assert len(smtp.recorder.messages) == 2


async def test_turns_of_the_shared_rate_follow_each_other_across_processes(db):
    now = clock.now()
    spacing = timedelta(milliseconds=50)
    starts = await asyncio.gather(*(jobs.reserve("rate", 10, spacing, now) for _ in range(4)))
    assert sorted(starts) == [now + spacing * 10 * n for n in range(4)]  # no two reservations overlap


async def until(condition, deadline: float = 90.0) -> None:
    """Wait for `condition` (a coroutine function) to hold; a generous deadline, not a timing."""
    async def poll() -> None:
        while not await condition():
            await asyncio.sleep(0.1)
    await asyncio.wait_for(poll(), deadline)


async def imported(csv_text: str, what: str) -> None:
    run = imports.import_thirdparties if what == "thirdparties" else imports.import_contacts
    report = await run(context(), io.StringIO(csv_text))
    assert not report.refused, report.refused


@pytest.mark.postgres_only
async def test_a_sender_killed_midway_is_finished_by_another_and_no_address_gets_it_twice(ready, smtp, tmp_path,
                                                                                       migrated):
    # 2,000 rows: 1,700 third parties with an address each, and 300 contacts repeating some of
    # those addresses in other cases
    await imported("name,type,email\r\n" + "".join(
        f"Customer {n},customer,reader{n}@example.com\r\n" for n in range(1700)), "thirdparties")
    codes = dict(await ThirdParty.all().values_list("name", "code"))
    await imported("thirdparty_code,first_name,email\r\n" + "".join(
        f"{codes[f'Customer {n}']},Reader {n},{address}\r\n" for n in range(0, 1500, 5)
        for address in [f"Reader{n}@EXAMPLE.com" if n % 2 else f"READER{n}@example.COM"]), "contacts")
    assert await Contact.all().count() == 300
    campaign = await service.create(context(), "Big news", "campaign", "type:customer")
    env = {**base_env(tmp_path, migrated, free_port()), "SMTP_URL": smtp.url(), "CAMPAIGN_RATE": "300",
           "CAMPAIGN_CONCURRENCY": "4", "MAIL_FROM": "Acme <news@acme.example>", "CRM_SECRET_KEY": "test-secret"}
    first = await Process("worker", env, tmp_path).start()
    await first.wait_for_log("worker ready")
    await service.move(context(), campaign.id, "schedule")

    async def some_sent() -> bool:
        return len(smtp.recorder.messages) >= 300

    await until(some_sent)
    first.process.kill()  # SIGKILL: no clean stop, its claimed batch still held
    await first.process.wait()
    second = await Process("worker", env, tmp_path).start()

    async def none_pending() -> bool:
        return not await CampaignRecipient.exists(campaign_id=campaign.id, status="pending")

    try:
        await until(none_pending)
    finally:
        await second.stop()
    received = Counter(message.recipients[0] for message in smtp.recorder.messages)
    assert set(received) == {f"reader{n}@example.com" for n in range(1700)}  # one row per address
    twice = {address: count for address, count in received.items() if count > 1}
    assert all(count == 2 for count in twice.values()) and len(twice) <= 4  # in flight at the kill, at most
    for message in smtp.recorder.messages:
        parsed = email.message_from_bytes(message.data, policy=email.policy.default)
        assert not parsed.defects and parsed["Message-ID"] and parsed["List-Unsubscribe"].startswith("<https://")
    assert await CampaignRecipient.filter(campaign_id=campaign.id, status="sent").count() == 1700
    assert await Event.filter(code="CAMPAIGN_SENT").count() == 1700


@pytest.mark.postgres_only
async def test_two_workers_share_a_campaign_within_its_rate_and_each_address_gets_one_email(ready, smtp, tmp_path):
    await imported("name,type,email\r\n" + "".join(
        f"Customer {n},customer,reader{n}@example.com\r\n" for n in range(90)), "thirdparties")
    ctx = sending(smtp, tmp_path, campaign_rate=30)  # more than either worker could send alone
    await started(ctx)
    workers = [Sender(ctx, f"worker-{n}") for n in range(2)]
    try:
        handled = await asyncio.gather(*(worker.run() for worker in workers))
    finally:
        await asyncio.gather(*(worker.close() for worker in workers))
    arrivals = sorted(message.at for message in smtp.recorder.messages)
    assert sum(handled) == len(arrivals) == 90 and all(handled)  # both took part
    assert len({message.recipients[0] for message in smtp.recorder.messages}) == 90
    assert (len(arrivals) - 1) / (arrivals[-1] - arrivals[0]) <= 30 * 1.05  # measured over the run


async def test_a_paused_campaign_goes_on_by_resume_not_by_a_second_start(ready, tmp_path):
    await customers()
    ctx = sending(None, tmp_path)
    campaign_id = await started(ctx)
    await service.move(ctx, campaign_id, "pause")
    with pytest.raises(Conflict, match="paused cannot be scheduled"):
        await service.move(ctx, campaign_id, "schedule")
    assert (await service.move(ctx, campaign_id, "resume")).status == "sending"
