"""The morning digest (issue 10, follow-ups): what each rep should act on today, in one message
rather than a flood: their proposals that expire within 3 days, their invoices past due, and
their calls, meetings and tasks planned today and not done. The team's digest holds them all.

A document is its rep's (else its third party's first rep's), as in the figures (crm.stats);
one with no rep at all is in the team's digest only. "Today" is CRM_TIMEZONE's.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from tortoise.expressions import Subquery

from crm import periods, records, stats, timeline
from crm.context import Context
from crm.permissions import visible_thirdparties
from crm.records import DocumentRecord
from crm.timeline import PlannedEvent
from models import Document

EXPIRING_WITHIN = timedelta(days=3)


@dataclass(frozen=True)
class DueDocument:
    document: DocumentRecord
    thirdparty_name: str
    rep_id: str | None  # the document's rep, else its third party's first rep


@dataclass
class Digest:
    rep_id: str | None  # None: the team's
    expiring: list[DueDocument] = field(default_factory=list)  # proposals, soonest first
    overdue: list[DueDocument] = field(default_factory=list)  # invoices, longest overdue first
    today: list[PlannedEvent] = field(default_factory=list)  # by time

    def __bool__(self) -> bool:
        return bool(self.expiring or self.overdue or self.today)


@dataclass(frozen=True)
class Digests:
    day: date
    reps: list[Digest]  # only those with something in them
    team: Digest


async def gather(ctx: Context, day: date) -> Digests:
    first_reps = await _first_reps()
    scope = Document.filter(thirdparty_id__in=Subquery(visible_thirdparties(ctx.actor).values("id")),
                            status="validated")
    expiring = await scope.filter(type="proposal", valid_until__gte=day,
                                  valid_until__lte=day + EXPIRING_WITHIN).order_by("valid_until", "id")
    overdue = await scope.filter(type="invoice", due_on__lt=day).order_by("due_on", "id")
    names = dict(await visible_thirdparties(ctx.actor).filter(
        id__in=[d.thirdparty_id for d in [*expiring, *overdue]]).values_list("id", "name"))
    planned = await timeline.planned_between(*periods.days(ctx.timezone, day, day).in_utc())

    team = Digest(None)
    by_rep: dict[str, Digest] = {}

    def of(rep: str) -> Digest:
        return by_rep.setdefault(rep, Digest(rep))

    for rows, section in ((expiring, "expiring"), (overdue, "overdue")):
        for row in rows:
            rep = row.rep_id or first_reps.get(row.thirdparty_id)
            due = DueDocument(records.document(row), names.get(row.thirdparty_id, ""), rep)
            for digest in (team, *([of(rep)] if rep else [])):
                getattr(digest, section).append(due)
    for event in planned:
        team.today.append(event)
        of(event.user_id).today.append(event)
    reps = [by_rep[rep] for rep in sorted(by_rep)]
    return Digests(day, reps, team)


async def _first_reps() -> dict[int, str]:
    return {thirdparty_id: reps[0] for thirdparty_id, reps in (await stats.reps_in_order()).items()}
