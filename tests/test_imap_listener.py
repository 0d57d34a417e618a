"""The IMAP listener against a real Dovecot (tests/dovecot.py): mail delivered by APPEND is on
the customer's timeline within seconds and its rep told in Slack; nothing is lost or logged
twice when the listener stops, the server restarts or the mailbox is made again; awkward
mail is logged or refused with a reason while the listener keeps going."""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from email.message import EmailMessage

import pytest
import trustme

from crm import clock, contacts, thirdparties
from crm.filestore import FileStore
from crm.inbound import intake
from jobs.inbound import listen
from models import Event, InboundEmail, Mailbox, ScheduledJob
from tests.conftest import ADMIN, ALICE, context
from tests.dovecot import Dovecot
from tests.processes import Process, base_env, free_port
from tests.test_inbound_parsing import crlf, nested

DEADLINE = 5.0  # seconds from APPEND to event (the bound)
SLOW_DEADLINE = 30.0  # after a server restart: the listener waits before connecting again


@pytest.fixture
def dovecot():
    server = Dovecot().start()
    yield server
    server.close()


@pytest.fixture
def mailbox(settings, slack, dovecot):
    """Settings listening to Dovecot, telling Slack's stand-in."""
    return dataclasses.replace(settings, imap_url=dovecot.url, imap_lease_seconds=3, slack_api_url=slack.api_url,
                               mail_from="Acme Sales <sales@acme.example>")


@pytest.fixture
async def globex(db):
    """A customer whose contact Zoë writes to us; Alice is its rep."""
    thirdparty = await thirdparties.create(context(ADMIN), {"type": "customer", "name": "Globex"},
                                           sales_reps=[ALICE.id])
    zoe = await contacts.create(context(ADMIN), thirdparty.id, {"first_name": "Zoë", "last_name": "Núñez",
                                                                "email": "zoe@globex.example"})
    return thirdparty, zoe


def email_from(sender: str, subject: str, message_id: str, body: str = "Hello", attachment: bytes | None = None
               ) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, "sales@acme.example", subject
    message["Message-ID"], message["Date"] = message_id, "Sat, 28 Nov 2026 09:15:00 +0100"
    message.set_content(body)
    if attachment is not None:
        message.add_attachment(attachment, maintype="application", subtype="pdf", filename="devis été.pdf")
    return message.as_bytes()


def zoe_writes(number: int, **extra) -> bytes:
    return email_from("Zoë Núñez <zoe@globex.example>", f"Question {number}", f"<q{number}@globex.example>", **extra)


@contextlib.asynccontextmanager
async def listening(settings):
    task = asyncio.create_task(listen(settings))
    try:
        await until(lambda: Mailbox.exists(), SLOW_DEADLINE)  # connected, and knows where it got to
        yield task
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def until(condition, deadline: float = DEADLINE) -> None:
    async def poll() -> None:
        while not await condition():
            await asyncio.sleep(0.05)
    await asyncio.wait_for(poll(), deadline)


def emails_in(count: int):
    async def logged() -> bool:
        return await Event.filter(code="EMAIL_IN").count() >= count
    return logged


async def deliver(dovecot: Dovecot, *messages: bytes) -> None:
    for raw in messages:
        await asyncio.to_thread(dovecot.append, raw)


async def test_mail_delivered_while_listening_is_on_the_timeline_within_seconds_and_the_rep_told(
        mailbox, dovecot, globex, slack, caplog):
    thirdparty, zoe = globex
    async with listening(mailbox):
        await asyncio.sleep(0.5)  # waiting in IDLE
        await deliver(dovecot, zoe_writes(1, body="Can you send <!channel> the quote?", attachment=b"%PDF-1.4 quote"))
        await until(emails_in(1))
        await slack.wait_for("chat.postMessage")
    assert not [r.getMessage() for r in caplog.records if r.name == "jobs.inbound" and r.levelname == "WARNING"]
    event = await Event.get(code="EMAIL_IN")
    assert (event.thirdparty_id, event.contact_id, event.user_id) == (thirdparty.id, zoe.id, "system")
    assert event.label == "Email from Zoë Núñez <zoe@globex.example>: Question 1"
    assert event.details["excerpt"] == "Can you send <!channel> the quote?"
    [attached] = event.details["attachments"]
    assert attached["name"] == "devis été.pdf"
    assert FileStore.for_settings(mailbox).read(attached["sha256"]) == b"%PDF-1.4 quote"
    row = await InboundEmail.get(message_id="<q1@globex.example>")
    assert (row.status, row.thirdparty_id, row.uid) == ("logged", thirdparty.id, 1)
    [notice] = [call.args for call in slack.calls_to("chat.postMessage")]
    shown = str(notice["blocks"])
    assert "Question 1" in shown and "&lt;!channel&gt;" in shown and "<!channel>" not in shown
    assert notice["channel"] == f"D{ALICE.id}"


async def test_mail_delivered_while_stopped_is_logged_once_at_start_with_one_summary_per_rep(
        mailbox, dovecot, globex, slack):
    await deliver(dovecot, *(zoe_writes(n) for n in range(1, 4)))
    async with listening(mailbox):
        await until(emails_in(3), SLOW_DEADLINE)  # a backlog: the 5 s bound is for mail arriving while listening
    async with listening(mailbox):  # started again: the same mailbox, nothing new
        await deliver(dovecot, zoe_writes(4))
        await until(emails_in(4))
    assert await Event.filter(code="EMAIL_IN").count() == 4
    notices = [call.args for call in slack.calls_to("chat.postMessage")]
    assert len(notices) == 2  # the backlog of three in one summary, then the fourth on its own
    assert "3 new emails" in notices[0]["text"] and "Question 4" in notices[1]["text"]


async def test_a_backlog_of_thousands_is_read_in_order(mailbox, dovecot, globex):
    """aioimaplib overflows the stack on a response of thousands of lines: the listener asks for
    a few at a time."""
    await asyncio.to_thread(dovecot.append_many, [zoe_writes(n) for n in range(1, 2501)])
    async with listening(mailbox):
        await until(emails_in(2500), SLOW_DEADLINE * 4)
    assert (await Mailbox.get()).last_uid == 2500
    assert await InboundEmail.filter(status="logged").count() == 2500


async def test_restarting_the_server_mid_listen_loses_and_doubles_nothing(mailbox, dovecot, globex):
    async with listening(mailbox):
        await deliver(dovecot, zoe_writes(1))
        await until(emails_in(1))
        await asyncio.to_thread(dovecot.restart)
        await deliver(dovecot, zoe_writes(2), zoe_writes(3))
        await until(emails_in(3), SLOW_DEADLINE)
        await asyncio.sleep(1)  # time to log something twice, if it would
    assert sorted(await Event.filter(code="EMAIL_IN").values_list("label", flat=True)) == [
        f"Email from Zoë Núñez <zoe@globex.example>: Question {n}" for n in (1, 2, 3)]


async def test_a_mailbox_made_again_with_the_same_mail_doubles_nothing(mailbox, dovecot, globex):
    async with listening(mailbox):
        await deliver(dovecot, zoe_writes(1), zoe_writes(2))
        await until(emails_in(2))
        validity = (await Mailbox.get()).uidvalidity
        await asyncio.to_thread(dovecot.recreate_inbox)  # a new UIDVALIDITY, the same messages delivered again
        await deliver(dovecot, zoe_writes(1), zoe_writes(2), zoe_writes(3))
        await until(emails_in(3), SLOW_DEADLINE)
        await until(lambda: Mailbox.filter(last_uid=3).exclude(uidvalidity=validity).exists(), SLOW_DEADLINE)
    assert await Event.filter(code="EMAIL_IN").count() == 3
    assert await InboundEmail.all().count() == 3


async def delivered_and_logged(settings, server: Dovecot) -> None:
    """Mail delivered to `server` while listening to it is logged."""
    try:
        async with listening(dataclasses.replace(settings, imap_url=server.url, imap_lease_seconds=3)):
            await deliver(server, zoe_writes(1))
            await until(emails_in(1))
    finally:
        server.close()


async def test_a_server_without_idle_is_polled(settings, globex, monkeypatch):
    monkeypatch.setattr("jobs.inbound.POLL_EVERY", 0.2)
    await delivered_and_logged(settings, Dovecot(
        capabilities="IMAP4rev1 LITERAL+ SASL-IR LOGIN-REFERRALS ID ENABLE UIDPLUS").start())


async def test_a_server_over_implicit_tls(settings, globex, tmp_path, monkeypatch):
    authority = trustme.CA()
    bundle = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))  # trusted as a public CA would be
    server = Dovecot(tls=authority).start()
    assert server.url.startswith("imaps://")
    await delivered_and_logged(settings, server)


AWKWARD = {
    "no Message-ID": crlf("From: zoe@globex.example\nSubject: No id\n\nHi\n"),
    "bad charset": crlf("From: zoe@globex.example\nMessage-ID: <cs@globex.example>\n"
                        "Content-Type: text/plain; charset=x-no-such\n\nBonjour\n"),
    "8-bit headers": b"From: J\xfcrgen <zoe@globex.example>\r\nSubject: Gr\xfc\xdfe\r\n"
                     b"Message-ID: <8bit@globex.example>\r\n\r\nHallo\r\n",
    "deep nesting": nested(30).replace(b"From: a@b.example", b"From: zoe@globex.example\r\n"
                                                             b"Message-ID: <deep@globex.example>"),
    "empty body": crlf("From: zoe@globex.example\nMessage-ID: <empty@globex.example>\nSubject: Empty\n\n"),
    "truncated part": crlf("From: zoe@globex.example\nMessage-ID: <cut@globex.example>\nMIME-Version: 1.0\n"
                           "Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: text/plain\n\n"
                           "The first part\n--x\nContent-Type: application/pdf\n"
                           "Content-Disposition: attachment; filename=cut.pdf\n"
                           "Content-Transfer-Encoding: base64\n\nJVBER"),
    "no headers": b"\r\n\r\njust a body, no headers\r\n",
}


async def test_awkward_mail_is_logged_or_refused_with_a_reason_and_the_listener_goes_on(mailbox, dovecot, globex):
    big = zoe_writes(20, attachment=b"\x00" * (20 * 1024 * 1024))
    await deliver(dovecot, *AWKWARD.values(), big)
    async with listening(mailbox):
        await until(lambda: InboundEmail.filter(uid=len(AWKWARD) + 1).exists(), SLOW_DEADLINE)
        await deliver(dovecot, zoe_writes(99))  # still listening
        await until(lambda: InboundEmail.filter(message_id="<q99@globex.example>").exists())
    rows = {row.uid: row for row in await InboundEmail.all()}
    assert len(rows) == len(AWKWARD) + 2
    assert rows[len(AWKWARD)].status == "rejected" and "no headers" in rows[len(AWKWARD)].reason
    assert all(rows[uid].status == "logged" for uid in range(1, len(AWKWARD)))
    assert rows[len(AWKWARD) + 1].attachments[0]["size"] == 20 * 1024 * 1024
    assert await Event.filter(code="EMAIL_IN").count() == len(AWKWARD) + 1


async def test_an_email_whose_processing_fails_is_kept_and_tried_again_without_holding_up_the_next(
        mailbox, dovecot, globex, tmp_path):
    blocked = dataclasses.replace(mailbox, data_dir=tmp_path / "not-a-folder")
    blocked.data_dir.write_text("the file store cannot be made here")
    async with listening(blocked):
        await deliver(dovecot, zoe_writes(1, attachment=b"%PDF-1.4"), zoe_writes(2))
        await until(emails_in(1))
        failed = await InboundEmail.get(message_id="<q1@globex.example>")
        assert failed.status == "failed" and "attempt 1 of 5 failed" in failed.reason
        assert (await Event.get(code="EMAIL_IN")).label.endswith("Question 2")
    blocked.data_dir.unlink()
    clock.freeze(clock.now() + intake.FIRST_RETRY)
    async with listening(blocked):
        await until(emails_in(2))
    again = await InboundEmail.get(message_id="<q1@globex.example>")
    assert (again.status, again.attempts) == ("logged", 2)


@pytest.mark.postgres_only
async def test_one_worker_listens_at_a_time_and_another_takes_over_when_it_dies(
        mailbox, dovecot, globex, migrated, tmp_path):
    env = {**base_env(tmp_path, migrated, free_port()), "IMAP_URL": dovecot.url, "IMAP_LEASE_SECONDS": "3"}
    workers = [await Process("worker", env, tmp_path).start() for _ in range(2)]
    try:
        await deliver(dovecot, zoe_writes(1))
        await until(emails_in(1), SLOW_DEADLINE)
        holder = (await ScheduledJob.get(name__startswith="imap:")).holder
        [listening] = [w for w in workers if holder.split(":")[1] == str(w.process.pid)]
        listening.process.kill()  # SIGKILL: its hold is left to run out
        await listening.process.wait()
        await deliver(dovecot, zoe_writes(2))
        await until(emails_in(2), SLOW_DEADLINE)
        taken_over = (await ScheduledJob.get(name__startswith="imap:")).holder
        await asyncio.sleep(1)
    finally:
        for worker in workers:
            if worker.process.returncode is None:
                await worker.stop()
    assert await Event.filter(code="EMAIL_IN").count() == 2
    assert taken_over.split(":")[1] in {str(w.process.pid) for w in workers if w is not listening}
