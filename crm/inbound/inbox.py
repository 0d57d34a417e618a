"""The unmatched emails (`/crm inbox`, admins): emails from senders nobody knows, kept when
IMAP_UNKNOWN_SENDERS is `log`, until an admin assigns each to a third party; and the emails
whose processing failed, with the reason."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from crm import records, users
from crm.context import Context
from crm.errors import Conflict, NotFound
from crm.inbound.intake import Logged, log_event, stored_count
from crm.permissions import require_admin, visible_thirdparty
from models import InboundEmail, ThirdParty

SHOWN = 15  # unmatched emails listed at once


@dataclass(frozen=True)
class ReceivedEmail:
    id: int
    status: str
    sender_name: str
    sender: str
    subject: str
    excerpt: str
    written_at: datetime | None
    received_at: datetime
    reason: str
    attachments: int


@dataclass(frozen=True)
class Inbox:
    unmatched: list[ReceivedEmail]  # newest first, at most SHOWN
    unmatched_total: int
    failed: list[ReceivedEmail]  # newest first, at most SHOWN
    failed_total: int


async def inbox(ctx: Context) -> Inbox:
    require_admin(ctx.actor, "see the unmatched emails")
    unmatched = InboundEmail.filter(status="unmatched")
    failed = InboundEmail.filter(status__in=("failed", "rejected"))
    return Inbox([_received(row) for row in await unmatched.order_by("-received_at", "-id").limit(SHOWN)],
                 await unmatched.count(),
                 [_received(row) for row in await failed.order_by("-received_at", "-id").limit(SHOWN)],
                 await failed.count())


async def received(ctx: Context, inbound_id: int) -> ReceivedEmail:
    require_admin(ctx.actor, "see the unmatched emails")
    row = await InboundEmail.filter(id=inbound_id).first()
    if row is None:
        raise NotFound("That email is no longer in the inbox.")
    return _received(row)


async def assign(ctx: Context, inbound_id: int, thirdparty_id: int) -> tuple[records.ThirdPartyRecord, Logged]:
    """Log an unmatched email on `thirdparty_id`'s timeline, as the admin who chose it (once,
    however often the form is submitted: the second time says who did it)."""
    require_admin(ctx.actor, "assign unmatched emails")
    async with ctx.transaction() as uow:
        row = await InboundEmail.filter(id=inbound_id).using_db(uow.connection).select_for_update().first()
        if row is None:
            raise NotFound("That email is no longer in the inbox.")
        if row.status != "unmatched":
            raise Conflict(await _settled(row))
        thirdparty = records.thirdparty(await visible_thirdparty(ctx.actor, thirdparty_id, uow.connection))
        row.status, row.thirdparty_id, row.assigned_by = "logged", thirdparty.id, ctx.actor.id
        row.reason = "assigned by an admin"
        await row.save(using_db=uow.connection, update_fields=["status", "thirdparty_id", "assigned_by", "reason"])
        logged = await log_event(uow, row, ctx.actor)
    return thirdparty, logged


async def _settled(row: InboundEmail) -> str:
    if row.thirdparty_id is None:
        return "That email is no longer waiting to be assigned."
    name = await ThirdParty.filter(id=row.thirdparty_id).values_list("name", flat=True)
    # named, not mentioned: surfaces show this in plain text (a form's error), where a mention stays markup
    admin = (await users.names([row.assigned_by])).get(row.assigned_by, row.assigned_by) if row.assigned_by else ""
    by = f" by {admin}" if admin else ""
    return f"That email was already logged on {name[0] if name else 'a third party'}{by}."


def _received(row: InboundEmail) -> ReceivedEmail:
    return ReceivedEmail(row.id, row.status, row.sender_name, row.sender, row.subject, row.excerpt, row.written_at,
                         row.received_at, row.reason, stored_count(row.attachments))
