"""What becomes of one incoming email (issue 9), decided once per Message-ID.

An email is read (crm.inbound.parsing), then in one transaction: a delivery report updates the
campaign recipient it is about (crm.inbound.bounces); any other email goes on the timeline of
the third party it belongs to (crm.inbound.matching) as an EMAIL_IN event, its attachments in
the file store; an email from nobody we know is ignored, kept for an admin to assign
(`/crm inbox`), or makes a new prospect with a contact (IMAP_UNKNOWN_SENDERS). The same
transaction writes the email's row, whose Message-ID is unique: reading the same email again
(a replay, a mailbox whose UIDVALIDITY changed) changes nothing.

An email whose processing fails is kept with the reason and tried again a few times, later,
by its UID; the emails after it go on meanwhile.
"""
from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.exceptions import IntegrityError

from crm import agenda, contacts, thirdparties, validators
from crm.context import Context, UnitOfWork
from crm.errors import DatabaseUnavailable, OutcomeUnknown, ValidationError
from crm.filestore import MEGABYTE, FileStore
from crm.inbound import bounces, matching
from crm.inbound.matching import Match
from crm.inbound.parsing import Incoming, Unreadable, named_address, parse
from crm.permissions import SYSTEM
from models import CampaignRecipient, InboundEmail, ThirdParty

MAX_ATTEMPTS = 5
FIRST_RETRY = timedelta(minutes=1)  # doubled after each failed attempt
KEY_LIMIT = 255  # characters of the unique Message-ID column
NAME_LIMIT = 120  # characters of a new prospect's name taken from the sender's


@dataclass(frozen=True)
class Position:
    """Where an email is in the server's mailbox."""

    mailbox: str
    uidvalidity: int
    uid: int


@dataclass(frozen=True)
class Logged:
    """An email just logged on a timeline: what its third party's reps are told."""

    inbound_id: int
    thirdparty_id: int
    thirdparty_name: str
    rep_ids: tuple[str, ...]
    sender_name: str
    sender: str
    subject: str
    excerpt: str
    attachments: int


@dataclass(frozen=True)
class Read:
    """An email as the server gave it, and what reading it made of it (or why it could not)."""

    raw: bytes
    incoming: Incoming | None
    unreadable: str = ""


def read(raw: bytes, max_attachment_bytes: int) -> Read:
    """Parse `raw`: pure work, which the listener does off the event loop while it records the
    emails before it."""
    try:
        return Read(raw, parse(raw, max_attachment_bytes))
    except Unreadable as error:
        return Read(raw, None, str(error))


async def take(ctx: Context, position: Position, message: Read | bytes, own_addresses: frozenset[str]
               ) -> Logged | None:
    """Process the email `message` (read, or its bytes) found at `position`, unless it was
    processed before; returns what was logged, if anything, for the reps to be told. A database
    that cannot be reached raises (nothing was decided: the listener reads the email again later)."""
    if isinstance(message, bytes):
        message = read(message, ctx.settings.file_max_mb * MEGABYTE)
    incoming = message.incoming
    if incoming is None:
        await _settle_alone(ctx, position, _key(f"<sha256-{hashlib.sha256(message.raw).hexdigest()}@unreadable>"),
                            "rejected", f"unreadable: {message.unreadable}")
        return None
    key = _key(incoming.message_id)
    before = await InboundEmail.filter(message_id=key).first()
    if before is not None and (before.status != "failed" or before.attempts >= MAX_ATTEMPTS):
        return None  # processed already, or given up on
    try:
        stored = await _store_attachments(ctx, incoming)
        async with ctx.transaction() as uow:
            return await _record(ctx, uow, position, key, incoming, stored, before, own_addresses)
    except IntegrityError:
        return None  # recorded meanwhile: the Message-ID is unique
    except (DatabaseUnavailable, OutcomeUnknown):
        raise
    except Exception as error:  # noqa: BLE001 - kept with the reason, tried again later
        await _failed(ctx, position, key, incoming, before, error)
        return None


async def due_again(mailbox: str, uidvalidity: int, now: datetime) -> list[int]:
    """The UIDs of the emails of `mailbox` whose processing failed and is due to be tried again."""
    return await InboundEmail.filter(mailbox=mailbox, uidvalidity=uidvalidity, status="failed",
                                     attempts__lt=MAX_ATTEMPTS, next_attempt_at__lte=now).order_by(
        "uid").values_list("uid", flat=True)


async def left_mailbox(mailbox: str, uidvalidity: int, uids: set[int]) -> None:
    """Failed emails that are no longer in the mailbox (deleted meanwhile): not tried again."""
    if uids:
        await InboundEmail.filter(mailbox=mailbox, uidvalidity=uidvalidity, uid__in=uids, status="failed").update(
            next_attempt_at=None, reason="deleted from the mailbox before it could be tried again")


async def _record(ctx: Context, uow: UnitOfWork, position: Position, key: str, incoming: Incoming,
                  stored: list[dict], before: InboundEmail | None, own_addresses: frozenset[str]) -> Logged | None:
    if incoming.bounces:
        reported = [bounce for bounce in incoming.bounces if await bounces.record(ctx, bounce)]
        reason = ("reports on " + ", ".join(f"{b.recipient or b.original_message_id} ({b.action} {b.status})"
                                           for b in reported)) if reported else "a delivery report about no email of ours"
        await _save(uow, position, key, incoming, before, status="bounce", reason=reason)
        return None
    found = await matching.match(incoming, own_addresses)
    reason = "no contact or third party has the sender's address"
    if found is None and ctx.settings.imap_unknown_senders == "create":
        found, reason = await _new_prospect(ctx, incoming, own_addresses)
    if found is None:
        ignored = ctx.settings.imap_unknown_senders == "ignore"
        await _save(uow, position, key, incoming, before, status="ignored" if ignored else "unmatched",
                    reason=reason, attachments=stored)
        return None
    row = await _save(uow, position, key, incoming, before, status="logged", reason=f"matched by {found.how}",
                      attachments=stored, found=found)
    if found.campaign_recipient_id:  # a reply to a campaign email
        await CampaignRecipient.filter(id=found.campaign_recipient_id, status="sent").using_db(uow.connection).update(
            status="replied")
    return await log_event(uow, row, SYSTEM)


async def log_event(uow: UnitOfWork, row: InboundEmail, actor) -> Logged:
    """The EMAIL_IN event of `row`, now on its third party's timeline."""
    who = named_address(row.sender_name, row.sender)
    await agenda.record(uow, "EMAIL_IN", actor, row.thirdparty_id, f"Email from {who}: {row.subject or '(no subject)'}",
                        contact_id=row.contact_id, document_id=row.document_id, details={
                            "inbound_email_id": row.id, "from": row.sender, "from_name": row.sender_name,
                            "subject": row.subject, "excerpt": row.excerpt,
                            "date": row.written_at.isoformat() if row.written_at else None,
                            "attachments": row.attachments})
    name = await ThirdParty.filter(id=row.thirdparty_id).using_db(uow.connection).values_list("name", flat=True)
    _, reps = await thirdparties.tags_and_reps(row.thirdparty_id, uow.connection)
    return Logged(row.id, row.thirdparty_id, name[0] if name else "", tuple(reps), row.sender_name, row.sender,
                  row.subject, row.excerpt, stored_count(row.attachments))


def stored_count(attachments: list[dict]) -> int:
    """How many of an email's attachments are in the store (those over the size cap are only named)."""
    return sum(1 for attachment in attachments if "sha256" in attachment)


async def _save(uow: UnitOfWork, position: Position, key: str, incoming: Incoming, before: InboundEmail | None, *,
                status: str, reason: str, attachments: list[dict] = (), found: Match | None = None) -> InboundEmail:
    """The email's row, with its fate (a failed one's row is brought up to date)."""
    values = dict(
        mailbox=position.mailbox, uidvalidity=position.uidvalidity, uid=position.uid, status=status, reason=reason,
        next_attempt_at=None, **_about(incoming), written_at=incoming.date, received_at=uow.now,
        attachments=list(attachments) + [{"name": name, "too_large": True} for name in incoming.too_large],
        thirdparty_id=found.thirdparty_id if found else None, contact_id=found.contact_id if found else None,
        document_id=found.document_id if found else None)
    if before is None:
        return await InboundEmail.create(message_id=key, using_db=uow.connection, **values)
    values["attempts"] = before.attempts + 1
    await InboundEmail.filter(id=before.id).using_db(uow.connection).update(**values)
    return await InboundEmail.get(id=before.id).using_db(uow.connection)


async def _failed(ctx: Context, position: Position, key: str, incoming: Incoming, before: InboundEmail | None,
                  error: Exception) -> None:
    attempts = before.attempts + 1 if before else 1
    again = ctx.now() + FIRST_RETRY * 2 ** (attempts - 1) if attempts < MAX_ATTEMPTS else None
    reason = f"attempt {attempts} of {MAX_ATTEMPTS} failed: {error!r}"[:5000]
    values = dict(status="failed", reason=reason, next_attempt_at=again, **_about(incoming))
    if before is None:
        await _settle_alone(ctx, position, key, **values)
    else:
        await InboundEmail.filter(id=before.id).update(attempts=attempts, **values)


def _about(incoming: Incoming) -> dict:
    """What an email's row says of it, whatever became of it."""
    return dict(sender=incoming.sender[:255], sender_name=incoming.sender_name[:255], subject=incoming.subject,
                excerpt=incoming.excerpt)


async def _settle_alone(ctx: Context, position: Position, key: str, status: str, reason: str, **values) -> None:
    """An email's row when nothing else is recorded with it (it is unreadable, or failed)."""
    try:
        await InboundEmail.create(message_id=key, mailbox=position.mailbox, uidvalidity=position.uidvalidity,
                                  uid=position.uid, status=status, reason=reason, received_at=ctx.now(), **values)
    except IntegrityError:
        pass  # the same email, seen again


async def _new_prospect(ctx: Context, incoming: Incoming, own_addresses: frozenset[str]) -> tuple[Match | None, str]:
    """IMAP_UNKNOWN_SENDERS=create: the sender becomes a prospect with a contact, in the
    transaction that logs the email; a sender that cannot be one leaves the email unmatched."""
    try:
        address = validators.email("email", "sender", incoming.sender) if incoming.sender not in own_addresses else ""
    except ValidationError as refused:
        return None, f"no prospect made: {refused}"
    if not address:
        return None, "no prospect made: the email has no sender of its own"
    name = (incoming.sender_name or address)[:NAME_LIMIT]
    first, _, last = name.rpartition(" ") if incoming.sender_name else ("", "", address.split("@")[0])
    thirdparty = await thirdparties.create(ctx, {"type": "prospect", "name": name, "email": address})
    contact = await contacts.create(ctx, thirdparty.id, {"first_name": first[:NAME_LIMIT],
                                                         "last_name": last[:NAME_LIMIT], "email": address})
    return Match(thirdparty.id, contact.id, how="a new prospect"), ""


async def _store_attachments(ctx: Context, incoming: Incoming) -> list[dict]:
    """The email's attachments in the file store (off the event loop: one may be megabytes)."""
    if not incoming.attachments:
        return []
    store = FileStore.for_settings(ctx.settings)

    def put_all() -> list[dict]:
        return [{"sha256": kept.sha256, "name": kept.name, "size": kept.size, "content_type": attachment.content_type}
                for attachment in incoming.attachments for kept in [store.put(attachment.content, attachment.filename)]]
    return await asyncio.to_thread(put_all)


def _key(message_id: str) -> str:
    """The unique key of a Message-ID: itself, or a digest of one too long for the column."""
    if len(message_id) <= KEY_LIMIT:
        return message_id
    return f"<sha256-{hashlib.sha256(message_id.encode('utf-8', 'replace')).hexdigest()}@long-message-id>"
