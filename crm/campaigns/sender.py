"""Sending campaigns, shared by every worker (SPEC §7, listmonk's manager as the model).

A worker claims a batch of pending recipients of campaigns that are sending (on PostgreSQL
under row locks that other workers skip), and sends it over CAMPAIGN_CONCURRENCY SMTP sessions,
each message at its turn of the CAMPAIGN_RATE that all workers share (crm.jobs.reserve).
A campaign paused or cancelled is left at the next batch. A claim is renewed while its worker
sends and runs out soon after it stops: the batch of a worker that died is claimed again by
another within seconds.

A recipient is `sent` only once the server accepted its message, in the transaction that
writes its CAMPAIGN_SENT event. Each message has a Message-ID made from the campaign and the
recipient, the same at every attempt, so a copy sent again after an unknown outcome (the
connection lost while the server was taking it) is detectable. A 4xx answer is tried again
later, each time waiting twice as long, up to MAX_ATTEMPTS; a 5xx answer marks it `failed`.
"""
from __future__ import annotations

import asyncio
import functools
import logging
from dataclasses import dataclass
from datetime import timedelta

from crm import company, db, filters, jobs, records
from crm.context import Context
from crm.db import sql, timestamp
from crm.errors import Conflict, DomainError, NotFound, ValidationError
from crm.mail import templates, unsubscribe
from crm.mail.compose import Draft, Mailbox, compose
from crm.mail.transport import OutcomeUnknown, PermanentFailure, SendFailure, open_transport
from crm.agenda import record as record_event
from crm.permissions import SYSTEM
from crm.documents.printable import Company
from models import Campaign, CampaignRecipient, Contact, ThirdParty, User

log = logging.getLogger(__name__)

BATCH = 50
# A worker's claim on its batch, renewed every HEARTBEAT while it sends: the batch of a worker
# that died is another's to take once its claim runs out.
CLAIM_FOR = timedelta(seconds=15)
HEARTBEAT = timedelta(seconds=5)
MAX_ATTEMPTS = 5
FIRST_RETRY = timedelta(minutes=1)
RATE_NAME = "campaign-rate"
CLAIM = """
UPDATE crm_campaign_recipient SET claimed_by = ?, claimed_until = ?
WHERE id IN (
    SELECT r.id FROM crm_campaign_recipient r JOIN crm_campaign c ON c.id = r.campaign_id
    WHERE c.status = 'sending' AND r.status = 'pending'
      AND (r.claimed_until IS NULL OR r.claimed_until < ?)
      AND (r.next_attempt_at IS NULL OR r.next_attempt_at <= ?)
    ORDER BY r.id LIMIT ? {lock})
RETURNING id, campaign_id, address, thirdparty_id, contact_id, language, attempts
"""
MARK_SENT = ("UPDATE crm_campaign_recipient SET status = 'sent', sent_at = ?, message_id = ?, reason = ?, "
             "claimed_by = '', claimed_until = NULL WHERE id = ? AND claimed_by = ?")
# PostgreSQL: workers claiming at once each take other rows; SQLite has one writer at a time.
ROW_LOCKS = {"postgres": "FOR UPDATE OF r SKIP LOCKED", "sqlite": ""}


@dataclass(frozen=True)
class Claimed:
    id: int
    campaign_id: int
    address: str
    thirdparty_id: int
    contact_id: int | None
    language: str
    attempts: int


class Sender:
    """One worker's share of the sending: batches claimed as `holder`, sent over its sessions."""

    def __init__(self, ctx: Context, holder: str):
        self.ctx = ctx
        self.holder = holder
        settings = ctx.settings
        self.sessions = [open_transport(settings.smtp_url, settings.data_dir)
                         for _ in range(settings.campaign_concurrency)]
        self.spacing = timedelta(seconds=1) / settings.campaign_rate
        self.sender = Mailbox.parse(settings.mail_from)

    async def run(self) -> int:
        """Send batches until no recipient is left to claim; returns how many were handled."""
        handled = 0
        while batch := await self.claim():
            await self.send(batch)
            handled += len(batch)
        return handled

    async def close(self) -> None:
        await asyncio.gather(*(session.close() for session in self.sessions))

    async def claim(self, size: int = BATCH) -> list[Claimed]:
        connection = db.connection()
        now = self.ctx.now()
        statement = CLAIM.format(lock=ROW_LOCKS[connection.capabilities.dialect])
        rows = await connection.execute_query_dict(sql(connection, statement), [
            self.holder, timestamp(connection, now + CLAIM_FOR), timestamp(connection, now),
            timestamp(connection, now), size])
        return sorted((Claimed(**row) for row in rows), key=lambda claimed: claimed.id)

    async def send(self, batch: list[Claimed]) -> None:
        """Each recipient of `batch` at its turn of the shared rate, over the sessions at once."""
        letters = await Letters.of(self.ctx, batch)
        first = await jobs.reserve(RATE_NAME, len(batch), self.spacing, self.ctx.now())
        queue: asyncio.Queue[tuple[int, Claimed]] = asyncio.Queue()
        for turn, recipient in enumerate(batch):
            queue.put_nowait((turn, recipient))

        async def deliver(session) -> None:
            while not queue.empty():
                turn, recipient = queue.get_nowait()
                wait = (first + self.spacing * turn - self.ctx.now()).total_seconds()
                if wait > 0:
                    await asyncio.sleep(wait)
                await self._deliver(session, letters, recipient)

        keeping = asyncio.create_task(self._keep_claim(batch))
        try:
            await asyncio.gather(*(deliver(session) for session in self.sessions))
        finally:
            keeping.cancel()

    async def _keep_claim(self, batch: list[Claimed]) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT.total_seconds())
            await CampaignRecipient.filter(id__in=[r.id for r in batch], claimed_by=self.holder,
                                           status="pending").update(claimed_until=self.ctx.now() + CLAIM_FOR)

    async def _deliver(self, session, letters: Letters, recipient: Claimed) -> None:
        try:
            outgoing = letters.outgoing(recipient, self.sender)
        except DomainError as error:  # a template that fails for this record's data
            await self._failed(recipient, f"the template could not be rendered: {error}")
            return
        try:
            accepted = await session.send(outgoing)
        except PermanentFailure as failure:
            await self._failed(recipient, failure.answer)
        except SendFailure as failure:
            await self._later(recipient, failure, outcome_unknown=isinstance(failure, OutcomeUnknown))
        else:
            await self._sent(recipient, outgoing.message_id, accepted.answer, letters.names)

    async def _sent(self, recipient: Claimed, message_id: str, answer: str, names: dict[int, str]) -> None:
        async with self.ctx.transaction() as uow:
            connection = uow.connection  # plain SQL: every message writes this, the ORM costs more than it
            updated, _ = await connection.execute_query(sql(connection, MARK_SENT), [
                timestamp(connection, uow.now), message_id, answer[:2000], recipient.id, self.holder])
            if updated:
                await record_event(uow, "CAMPAIGN_SENT", SYSTEM, recipient.thirdparty_id,
                                   f"Campaign “{names[recipient.campaign_id]}” sent to {recipient.address}",
                                   contact_id=recipient.contact_id,
                                   details={"campaign_id": recipient.campaign_id, "message_id": message_id})

    async def _failed(self, recipient: Claimed, answer: str) -> None:
        await _mine(db.connection(), recipient, self.holder).update(
            status="failed", reason=answer[:2000], attempts=recipient.attempts + 1, claimed_by="", claimed_until=None)

    async def _later(self, recipient: Claimed, failure: SendFailure, *, outcome_unknown: bool) -> None:
        attempts = recipient.attempts + 1
        if attempts >= MAX_ATTEMPTS:
            await self._failed(recipient, f"gave up after {attempts} attempts: {failure.answer}")
            return
        note = "(may have been sent: the next attempt carries the same Message-ID) " if outcome_unknown else ""
        await _mine(db.connection(), recipient, self.holder).update(
            attempts=attempts, reason=(note + failure.answer)[:2000], claimed_by="", claimed_until=None,
            next_attempt_at=self.ctx.now() + FIRST_RETRY * 2 ** (attempts - 1))


def _mine(connection, recipient: Claimed, holder: str):
    """The recipient's row, as long as this worker's claim on it holds."""
    return CampaignRecipient.filter(id=recipient.id, claimed_by=holder).using_db(connection)


@dataclass(frozen=True)
class Letters:
    """What a batch's messages are made from: campaigns, templates by language, third parties,
    contacts, the company and the campaigns' creators' names, each read once for the batch."""

    ctx: Context
    campaigns: dict[int, Campaign]
    thirdparties: dict[int, records.ThirdPartyRecord]
    contacts: dict[int, records.ContactRecord]
    creators: dict[str, str]
    company: Company
    chosen: dict[tuple[int, str], templates.TemplateRecord]

    @functools.cached_property
    def names(self) -> dict[int, str]:
        """The campaigns' names, by id."""
        return {campaign_id: row.name for campaign_id, row in self.campaigns.items()}

    @classmethod
    async def of(cls, ctx: Context, batch: list[Claimed]) -> Letters:
        campaigns = {row.id: row for row in await Campaign.filter(id__in={r.campaign_id for r in batch})}
        thirdparties = {row.id: records.thirdparty(row)
                        for row in await ThirdParty.filter(id__in={r.thirdparty_id for r in batch})}
        contacts = {row.id: records.contact(row)
                    for row in await Contact.filter(id__in={r.contact_id for r in batch if r.contact_id})}
        creators = dict(await User.filter(id__in={row.created_by for row in campaigns.values()}).values_list(
            "id", "name"))
        chosen = {}
        for key in {(r.campaign_id, r.language) for r in batch}:
            chosen[key] = await templates.pick(campaigns[key[0]].template_name, [key[1]] if key[1] else [])
        return cls(ctx, campaigns, thirdparties, contacts, creators, await company.details(ctx), chosen)

    def outgoing(self, recipient: Claimed, sender: Mailbox):
        campaign = self.campaigns[recipient.campaign_id]
        thirdparty = self.thirdparties[recipient.thirdparty_id]
        contact = self.contacts.get(recipient.contact_id)
        settings = self.ctx.settings
        link = unsubscribe.url(settings.public_url, settings.secret_key, recipient.address)
        rendered = templates.render(self.chosen[(recipient.campaign_id, recipient.language)], templates.variables(
            thirdparty=thirdparty, contact=contact, document=None,
            user_name=self.creators.get(campaign.created_by, ""), company=self.company, unsubscribe_url=link))
        draft = Draft(sender=sender, to=Mailbox(recipient.address, contact.full_name if contact else thirdparty.name),
                      subject=rendered.subject, text=rendered.text, html=rendered.html, reply_to=sender,
                      headers={"List-Unsubscribe": f"<{link}>",
                               "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                               "X-CRM-Campaign-Recipient": f"{campaign.id}/{recipient.id}"})
        return compose(draft, envelope_from=settings.mail_from, date=self.ctx.now(),
                       message_id=f"<campaign-{campaign.id}-{recipient.id}@{sender.domain}>")


async def send_test(ctx: Context, campaign_id: int, to: str) -> str:
    """The campaign's email as its first recipient with an address of their own would get it,
    sent to `to` (the person trying it) with "[Test]" before its subject; returns the server's
    answer. Nothing is recorded: it is no recipient's email."""
    campaign = await Campaign.get_or_none(id=campaign_id)
    if campaign is None:
        raise NotFound("This campaign no longer exists.")
    chosen = await filters.thirdparties(ctx, campaign.target)
    first = await chosen.exclude(email="").order_by("id").first()
    if first is None:
        raise ValidationError("campaign", "None of the campaign's third parties has an address to make a test from.")
    thirdparty = records.thirdparty(first)
    settings = ctx.settings
    link = unsubscribe.url(settings.public_url, settings.secret_key, to)
    template = await templates.pick(campaign.template_name, [thirdparty.language] if thirdparty.language else [])
    creator = await User.filter(id=campaign.created_by).values_list("name", flat=True)
    rendered = templates.render(template, templates.variables(
        thirdparty=thirdparty, contact=None, document=None, user_name=creator[0] if creator else "",
        company=await company.details(ctx), unsubscribe_url=link))
    sender = Mailbox.parse(settings.mail_from)
    outgoing = compose(Draft(sender=sender, to=Mailbox(to), subject=f"[Test] {rendered.subject}", text=rendered.text,
                             html=rendered.html, reply_to=sender, headers={"List-Unsubscribe": f"<{link}>"}),
                       envelope_from=settings.mail_from, date=ctx.now())
    session = open_transport(settings.smtp_url, settings.data_dir)
    try:
        return (await session.send(outgoing)).answer
    except SendFailure as failure:
        raise Conflict(f"The mail server did not take the test: {failure.answer}") from None
    finally:
        await session.close()
