"""What a person's App Home shows, as plain data: the third parties they are a sales rep of, the
open proposals and unpaid invoices assigned to them (a document counts for its rep, SPEC §9),
their next calls, meetings and tasks, and this month's figures. Only what they may see
(crm.permissions); each list is counted in full and its first few are returned, so the Home
stays small whatever the portfolio."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from tortoise.expressions import RawSQL, Subquery
from tortoise.functions import Count

from crm import periods, records, stats, timeline
from crm.context import Context
from crm.permissions import visible_thirdparties
from crm.records import DocumentRecord, ThirdPartyRecord
from crm.stats import RepFigures
from crm.timeline import PlannedEvent
from models import Document, Payment

FEW = 3  # records listed per section; the counts say how many there are in all
PROSPECT_TYPES = ("prospect", "both")  # as the filter `type:prospect` reads it (SPEC §5)
CUSTOMER_TYPES = ("customer", "both")
# A third party's last activity: its newest event (the (thirdparty_id, occurred_at) index answers
# each), else its last change.
LAST_ACTIVITY = RawSQL("COALESCE((SELECT MAX(e.occurred_at) FROM crm_event e "
                       "WHERE e.thirdparty_id = crm_thirdparty.id), crm_thirdparty.updated_at)")


@dataclass(frozen=True)
class Portfolio:
    count: int
    recent: list[ThirdPartyRecord]  # the most recently active first


@dataclass(frozen=True)
class Due:
    """An open document with what it is worth to its rep and when it falls due."""

    document: DocumentRecord
    thirdparty_name: str
    amount: Decimal  # a proposal's total excluding tax; what is left to pay of an invoice
    due_on: date | None  # a proposal's end of validity, an invoice's due date


@dataclass(frozen=True)
class OpenDocuments:
    count: int
    totals: dict[str, Decimal]  # currency -> the sum of the amounts
    nearest: list[Due]  # soonest due first


@dataclass(frozen=True)
class Month:
    """The person's figures (SPEC §9) for the current month of CRM_TIMEZONE."""

    label: str  # 2026-03
    currency: str  # of the amounts; documents in other currencies are left out of them
    figures: RepFigures


@dataclass(frozen=True)
class Home:
    prospects: Portfolio
    customers: Portfolio
    proposals: OpenDocuments
    invoices: OpenDocuments
    upcoming: list[PlannedEvent]
    month: Month

    @property
    def is_empty(self) -> bool:
        """Nothing of their own yet: a newcomer."""
        return not (self.prospects.count or self.customers.count or self.proposals.count or self.invoices.count
                    or self.upcoming)


async def home(ctx: Context, limit: int = FEW) -> Home:
    """The acting person's portfolio, `limit` records of each list."""
    mine = visible_thirdparties(ctx.actor).filter(sales_reps__id=ctx.actor.id, status="active")
    counts = dict(await mine.group_by("type").annotate(count=Count("id")).values_list("type", "count"))
    return Home(
        await _portfolio(mine, PROSPECT_TYPES, counts, limit),
        await _portfolio(mine, CUSTOMER_TYPES, counts, limit),
        await _open(ctx, "proposal", "valid_until", limit),
        await _open(ctx, "invoice", "due_on", limit),
        await timeline.upcoming(ctx, ctx.actor.id, limit),
        await _this_month(ctx),
    )


async def _this_month(ctx: Context) -> Month:
    period = periods.this_month(ctx.timezone, ctx.now().astimezone(ctx.timezone).date())
    figures = await stats.figures(ctx, period, rep_id=ctx.actor.id)
    mine = next(row for row in figures.reps if row.rep_id == ctx.actor.id)
    return Month(period.label, figures.currency, mine)


async def _portfolio(mine, types: tuple[str, ...], counts: dict[str, int], limit: int) -> Portfolio:
    count = sum(counts.get(t, 0) for t in types)
    if not count:
        return Portfolio(0, [])
    rows = await (mine.filter(type__in=types).annotate(last_activity=LAST_ACTIVITY)
                  .order_by("-last_activity", "-id").limit(limit))
    return Portfolio(count, [records.thirdparty(row) for row in rows])


async def _open(ctx: Context, doc_type: str, due_field: str, limit: int) -> OpenDocuments:
    """The actor's validated documents of `doc_type` (open proposals, unpaid invoices), soonest due first."""
    visible = Subquery(visible_thirdparties(ctx.actor).values("id"))
    query = Document.filter(rep_id=ctx.actor.id, type=doc_type, status="validated", thirdparty_id__in=visible)
    worth = "total_excl_tax" if doc_type == "proposal" else "total_incl_tax"
    rows = await query.values_list("id", "currency", worth)
    amounts = {document_id: amount for document_id, _, amount in rows}
    currencies = {document_id: currency for document_id, currency, _ in rows}
    if doc_type == "invoice" and amounts:
        for document_id, paid in await Payment.filter(
                document_id__in=Subquery(query.values("id"))).values_list("document_id", "amount"):
            amounts[document_id] -= paid
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for document_id, amount in amounts.items():
        totals[currencies[document_id]] += amount
    nearest = await query.order_by(due_field, "id").limit(limit)
    names = dict(await visible_thirdparties(ctx.actor).filter(id__in=[r.thirdparty_id for r in nearest])
                 .values_list("id", "name"))
    return OpenDocuments(len(amounts), dict(sorted(totals.items())), [
        Due(records.document(row), names.get(row.thirdparty_id, ""), amounts[row.id], getattr(row, due_field))
        for row in nearest])
