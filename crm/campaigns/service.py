"""Campaign use cases (SPEC §7): create, schedule, pause, resume, cancel, show; and the start
of a due campaign, which writes its recipients.

Statuses: draft → scheduled → sending → sent, with paused (from scheduled or sending, back to
where it was by resume) and cancelled (from any but sent). A scheduled campaign starts when its time comes,
whichever worker's tick sees it first: the status change is a conditional update, which one
worker wins, in the same transaction as its recipients (a worker dying halfway leaves it
scheduled, for another to start).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise.expressions import F, Q
from tortoise.functions import Count

from crm import filters, validators
from crm.campaigns import recipients
from crm.context import Context
from crm.errors import Conflict, Forbidden, NotFound, ValidationError
from crm.permissions import Actor, require_writer
from models import Campaign, CampaignRecipient, EmailTemplate, RECIPIENT_STATUSES, User

STATUS_LABELS = {"draft": "Draft", "scheduled": "Scheduled", "sending": "Sending", "paused": "Paused",
                 "sent": "Sent", "cancelled": "Cancelled"}
MOVES = {  # action: (statuses it applies to, the status it leads to, which a refusal names)
    "schedule": ({"draft"}, "scheduled"),  # a paused campaign goes on by resume, from where it was
    "pause": ({"scheduled", "sending"}, "paused"),
    "resume": ({"paused"}, "resumed"),
    "cancel": ({"draft", "scheduled", "sending", "paused"}, "cancelled"),
}
NAME_MAX = 255


@dataclass(frozen=True)
class CampaignRecord:
    id: int
    name: str
    template_name: str
    target: str
    status: str
    send_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    created_by: str
    progress_channel: str
    progress_ts: str


@dataclass(frozen=True)
class Tally:
    """How many recipients are in each status."""

    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def done(self) -> int:
        return self.total - self.counts.get("pending", 0)

    @property
    def sent(self) -> int:
        """Sent, the replied ones included (a reply says it arrived)."""
        return self.counts.get("sent", 0) + self.counts.get("replied", 0)


def _record(row: Campaign) -> CampaignRecord:
    return CampaignRecord(row.id, row.name, row.template_name, row.target, row.status, row.send_at, row.started_at,
                          row.finished_at, row.created_by, row.progress_channel, row.progress_ts)


async def create(ctx: Context, name: str, template_name: str, target: str, send_at: datetime | None = None
                 ) -> CampaignRecord:
    """A draft campaign; with `send_at`, scheduled for then."""
    require_writer(ctx.actor, "create campaigns")
    name = validators.text("name", "Name", name, max_length=NAME_MAX)
    if not name:
        raise ValidationError("name", "A campaign needs a name.")
    await filters.thirdparties(ctx, target)  # a bad term is refused now, naming it
    if not await EmailTemplate.exists(name=template_name, type="campaign"):
        raise ValidationError("template", f"There is no campaign template named {template_name!r}.")
    _require_future(ctx, send_at)
    async with ctx.transaction() as uow:
        row = await Campaign.create(
            name=name, template_name=template_name, target=target.strip(),
            status="scheduled" if send_at else "draft", send_at=send_at, created_at=uow.now, updated_at=uow.now,
            created_by=ctx.actor.id, updated_by=ctx.actor.id, using_db=uow.connection)
    return _record(row)


async def matching(ctx: Context, target: str) -> int:
    """How many third parties the target filter finds for the actor."""
    return await (await filters.thirdparties(ctx, target)).count()


async def get(ctx: Context, campaign_id: int) -> tuple[CampaignRecord, Tally]:
    row = await _visible(ctx, campaign_id)
    return _record(row), await tally(row.id)


async def latest(ctx: Context, limit: int = 20) -> list[CampaignRecord]:
    return [_record(row) for row in await Campaign.all().order_by("-id").limit(limit)]


async def tally(campaign_id: int) -> Tally:
    rows = await CampaignRecipient.filter(campaign_id=campaign_id).annotate(n=Count("id")).group_by(
        "status").values_list("status", "n")
    return Tally({status: 0 for status in RECIPIENT_STATUSES} | dict(rows))


async def move(ctx: Context, campaign_id: int, action: str, send_at: datetime | None = None) -> CampaignRecord:
    """schedule (at `send_at`, default now), pause, resume or cancel, by its creator or an admin."""
    allowed, done = MOVES[action]
    if action == "schedule":
        _require_future(ctx, send_at)
    async with ctx.transaction() as uow:
        row = await _visible(ctx, campaign_id, for_update=True, connection=uow.connection)
        _require_owner(ctx.actor, row)
        if row.status not in allowed:
            raise Conflict(f"A campaign that is {STATUS_LABELS[row.status].lower()} cannot be {done}.")
        # the word of each move is its status; resuming goes back to where it was paused
        row.status = ("sending" if row.started_at else "scheduled") if action == "resume" else done
        if action == "schedule":
            row.send_at = send_at or uow.now
        row.updated_at, row.updated_by = uow.now, ctx.actor.id
        await row.save(using_db=uow.connection)
    return _record(row)


async def set_progress_message(campaign_id: int, channel: str, ts: str) -> None:
    """Where the campaign's progress is shown (its message in the creator's conversation with the app)."""
    await Campaign.filter(id=campaign_id).update(progress_channel=channel, progress_ts=ts)


async def start_due(ctx: Context) -> list[int]:
    """Start every scheduled campaign whose time has come that no other worker started first;
    returns their ids."""
    due = await Campaign.filter(status="scheduled", send_at__lte=ctx.now()).order_by("send_at").values_list(
        "id", flat=True)
    return [campaign_id for campaign_id in due if await _start(ctx, campaign_id)]


async def _start(ctx: Context, campaign_id: int) -> bool:
    async with ctx.transaction() as uow:
        won = await Campaign.filter(id=campaign_id, status="scheduled").using_db(uow.connection).update(
            status="sending", started_at=uow.now, updated_at=uow.now)
        if not won:
            return False
        row = await Campaign.get(id=campaign_id).using_db(uow.connection)
        creator = await _actor(ctx, row.created_by)
        await recipients.write(Context(creator, ctx.settings, ctx.clock), row.id, row.target)
    return True


async def finish_sent(ctx: Context) -> list[int]:
    """Mark sent the campaigns sending with no recipient left pending; returns their ids."""
    sending = await Campaign.filter(status="sending").values_list("id", flat=True)
    finished = []
    for campaign_id in sending:
        if await CampaignRecipient.exists(campaign_id=campaign_id, status="pending"):
            continue
        if await Campaign.filter(id=campaign_id, status="sending").update(
                status="sent", finished_at=ctx.now(), updated_at=ctx.now()):
            finished.append(campaign_id)
    return finished


async def progress_to_show() -> list[tuple[CampaignRecord, Tally]]:
    """The campaigns whose message needs bringing up to date: those sending, and those changed
    since their message was last brought up to date."""
    rows = await Campaign.exclude(progress_ts="").filter(
        Q(status="sending") | Q(progress_at__isnull=True) | Q(progress_at__lt=F("updated_at")))
    return [(_record(row), await tally(row.id)) for row in rows]


async def progress_shown(campaign_id: int, when: datetime) -> None:
    await Campaign.filter(id=campaign_id).update(progress_at=when)


async def _actor(ctx: Context, user_id: str) -> Actor:
    """The campaign's creator, whose permissions bound its targets."""
    role = await User.filter(id=user_id).values_list("role", flat=True)
    return Actor(user_id, role=role[0] if role else ctx.settings.default_role, is_admin=user_id in ctx.settings.admins)


async def _visible(ctx: Context, campaign_id: int, *, for_update: bool = False, connection=None) -> Campaign:
    query = Campaign.filter(id=campaign_id)
    if for_update:
        query = query.select_for_update().using_db(connection)
    row = await query.first()
    if row is None:
        raise NotFound("This campaign no longer exists.")
    return row


def may_change(actor: Actor, campaign: CampaignRecord | Campaign) -> bool:
    """Its creator and admins send, pause, resume and cancel a campaign."""
    return actor.is_admin or (actor.id == campaign.created_by and actor.can_write)


def _require_owner(actor: Actor, row: Campaign) -> None:
    if not may_change(actor, row):
        raise Forbidden("Only the campaign's creator or an admin can change it.")


def _require_future(ctx: Context, send_at: datetime | None) -> None:
    if send_at is None:
        return
    if send_at.tzinfo is None:
        raise ValidationError("send_at", "The send time needs a time zone.")
    if send_at < ctx.now():
        raise ValidationError("send_at", "The send time is in the past; choose a later one, or send now.")
