"""Figures per sales rep for a period (SPEC §9).

- A document counts for its rep (else its third party's first rep), never for its creator:
  proposals, orders and invoices on the day they were validated (a draft, even one validated
  once and put back, does not count; nor does an abandoned invoice); a proposal counts as
  signed or refused on the day it was closed so (its PROPAL_CLOSE_SIGNED / _REFUSED event),
  and the win rate is signed / (signed + refused) among the proposals closed in the period.
- Margin is that of the invoices counted: over their lines, quantity × (net unit price − cost
  price), i.e. the line's total excluding tax less its quantity × cost price rounded like it.
- Third parties are the active ones a rep holds now (a portfolio has no period); a "both"
  counts as a prospect and as a customer, as `type:prospect` and `type:customer` both list
  it. One with two reps counts for each rep, and once in the team's totals.
- Agenda events are those the rep recorded in the period.
- Amounts are in the company currency (CRM_CURRENCY). A document in another currency still
  counts in the numbers of proposals, signed and refused, but its amounts are left out and
  reported in `other_currencies` rather than added as if they were the same money.
- Documents and third parties are read through the permissions' scope; a document whose third
  party was erased stays in the figures (the books keep it). Whoever may use the CRM may see
  everyone's figures, as they may see every record.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from tortoise import connections
from tortoise.expressions import Q
from tortoise.functions import Count

from crm import money
from crm.context import Context
from crm.db import sql
from crm.periods import Period
from crm.permissions import held_by, visible_documents, visible_thirdparties
from models import DocumentLine, Event

SIGNED, REFUSED = "PROPAL_CLOSE_SIGNED", "PROPAL_CLOSE_REFUSED"
COUNTED_TYPES = ("proposal", "order", "invoice")
NOT_COUNTED_STATUSES = ("draft", "abandoned")
REPS_IN_ORDER = "SELECT crm_thirdparty_id, user_id FROM crm_thirdparty_rep {held} ORDER BY crm_thirdparty_id, position"
# one rep's figures need the reps of the third parties that rep holds only (a Home reads them)
HELD_BY = "WHERE crm_thirdparty_id IN (SELECT crm_thirdparty_id FROM crm_thirdparty_rep WHERE user_id = ?)"
ZERO = Decimal(0)


@dataclass
class RepFigures:
    """One rep's figures (rep_id None: what has no rep; on Figures.team: everyone's)."""

    rep_id: str | None
    prospects: int = 0
    customers: int = 0
    proposals: int = 0
    proposals_amount: Decimal = ZERO
    signed: int = 0
    signed_amount: Decimal = ZERO
    refused: int = 0
    orders_amount: Decimal = ZERO
    invoices_amount: Decimal = ZERO
    margin: Decimal = ZERO
    events: int = 0

    @property
    def win_rate(self) -> Decimal | None:
        return win_rate(self.signed, self.refused)


@dataclass
class Figures:
    period: Period
    currency: str
    reps: list[RepFigures]  # the most invoiced first; the row without a rep last
    team: RepFigures
    other_currencies: dict[str, int] = field(default_factory=dict)  # currency -> documents left out of amounts


def win_rate(signed: int, refused: int) -> Decimal | None:
    """signed / (signed + refused), a fraction; None when no proposal was closed."""
    closed = signed + refused
    return Decimal(signed) / Decimal(closed) if closed else None


async def figures(ctx: Context, period: Period, rep_id: str | None = None) -> Figures:
    """The figures of every rep (or of `rep_id` only, always with a row) and the team's totals."""
    currency = ctx.settings.currency
    portfolio = await _portfolio(ctx, rep_id)
    rows: dict[str | None, RepFigures] = {}
    team = RepFigures(None)
    other: Counter[str] = Counter()

    def row(rep: str | None) -> RepFigures:
        if rep not in rows:
            rows[rep] = RepFigures(rep)
        return rows[rep]

    for thirdparty in portfolio.active:
        kinds = _kinds(thirdparty["type"])
        for rep in portfolio.reps.get(thirdparty["id"]) or [None]:
            _add_kinds(row(rep), kinds)
        _add_kinds(team, kinds)

    def attributed(document: dict) -> RepFigures:
        return row(document["rep_id"] or (portfolio.reps.get(document["thirdparty_id"]) or [None])[0])

    def amount(document: dict) -> Decimal:
        if document["currency"] == currency:
            return document["total_excl_tax"]
        other[document["currency"]] += 1
        return ZERO

    start, end = period.in_utc()
    validated = await _documents(ctx, rep_id).filter(
        type__in=COUNTED_TYPES, validated_at__gte=start, validated_at__lt=end,
    ).exclude(status__in=NOT_COUNTED_STATUSES).values("id", "type", "rep_id", "thirdparty_id", "currency",
                                                      "total_excl_tax")
    invoices: dict[int, RepFigures] = {}
    for document in validated:
        figures_of, total = attributed(document), amount(document)
        for target in (figures_of, team):
            if document["type"] == "proposal":
                target.proposals += 1
                target.proposals_amount += total
            elif document["type"] == "order":
                target.orders_amount += total
            else:
                target.invoices_amount += total
        if document["type"] == "invoice" and document["currency"] == currency:
            invoices[document["id"]] = figures_of

    for document_id, margin in (await _margins(list(invoices), currency)).items():
        invoices[document_id].margin += margin
        team.margin += margin

    for document, code in await _closed_proposals(ctx, period, rep_id):
        figures_of, total = attributed(document), amount(document)
        for target in (figures_of, team):
            if code == SIGNED:
                target.signed += 1
                target.signed_amount += total
            else:
                target.refused += 1

    wanted = [rep_id] if rep_id else [rep for rep in rows if rep]
    for user_id, count in await _events_by(wanted, period):
        row(user_id).events = count
        team.events += count

    if rep_id:
        return Figures(period, currency, [row(rep_id)], row(rep_id), dict(other))
    ordered = sorted((r for r in rows.values() if r.rep_id), key=lambda r: (-r.invoices_amount, r.rep_id))
    if None in rows:
        ordered.append(rows[None])
    return Figures(period, currency, ordered, team, dict(other))


@dataclass(frozen=True)
class _Portfolio:
    active: list[dict]  # visible active third parties: id, type
    reps: dict[int, list[str]]  # third party id -> its reps, first one first


async def _portfolio(ctx: Context, rep_id: str | None) -> _Portfolio:
    active = visible_thirdparties(ctx.actor).filter(status="active")
    if rep_id:
        active = active.filter(id__in=held_by(rep_id))
    return _Portfolio(await active.values("id", "type"), await reps_in_order(rep_id))


async def reps_in_order(rep_id: str | None = None) -> dict[int, list[str]]:
    """Third party id -> its reps, first one first (a document with no rep counts for the first);
    with `rep_id`, only the third parties that rep holds."""
    connection = connections.get("default")
    reps: dict[int, list[str]] = defaultdict(list)
    query = REPS_IN_ORDER.format(held=HELD_BY if rep_id else "")
    for link in await connection.execute_query_dict(sql(connection, query), [rep_id] if rep_id else []):
        reps[link["crm_thirdparty_id"]].append(link["user_id"])
    return reps


def _kinds(thirdparty_type: str) -> tuple[bool, bool]:
    """(is a prospect, is a customer): a "both" is each."""
    return thirdparty_type in ("prospect", "both"), thirdparty_type in ("customer", "both")


def _add_kinds(target: RepFigures, kinds: tuple[bool, bool]) -> None:
    target.prospects += kinds[0]
    target.customers += kinds[1]


def _documents(ctx: Context, rep_id: str | None):
    """Documents of the third parties the actor may see, and those whose third party was erased;
    with `rep_id`, only those that may be that rep's (attribution then picks theirs)."""
    query = visible_documents(ctx.actor)
    if rep_id:
        query = query.filter(Q(rep_id=rep_id) | Q(rep_id__isnull=True, thirdparty_id__in=held_by(rep_id)))
    return query


async def _margins(invoice_ids: list[int], currency: str) -> dict[int, Decimal]:
    margins: dict[int, Decimal] = defaultdict(lambda: ZERO)
    if not invoice_ids:
        return margins
    lines = await DocumentLine.filter(document_id__in=invoice_ids).values(
        "document_id", "quantity", "cost_price", "total_excl_tax")
    for line in lines:
        margins[line["document_id"]] += line["total_excl_tax"] - money.rounded(
            line["quantity"] * line["cost_price"], currency)
    return margins


async def _closed_proposals(ctx: Context, period: Period, rep_id: str | None) -> list[tuple[dict, str]]:
    """The proposals signed or refused in the period, each with how (its last closing event)."""
    start, end = period.in_utc()
    closings = await Event.filter(code__in=(SIGNED, REFUSED), document_id__isnull=False,
                                  occurred_at__gte=start, occurred_at__lt=end,
                                  ).order_by("occurred_at", "id").values("document_id", "code")
    how = {closing["document_id"]: closing["code"] for closing in closings}
    if not how:
        return []
    documents = await _documents(ctx, rep_id).filter(id__in=list(how), type="proposal").values(
        "id", "rep_id", "thirdparty_id", "currency", "total_excl_tax")
    return [(document, how[document["id"]]) for document in documents]


async def _events_by(user_ids: list[str], period: Period) -> list[tuple[str, int]]:
    if not user_ids:
        return []
    start, end = period.in_utc()
    counted = await (Event.filter(user_id__in=user_ids, occurred_at__gte=start, occurred_at__lt=end)
                     .annotate(count=Count("id")).group_by("user_id").values_list("user_id", "count"))
    return [(user_id, count) for user_id, count in counted]
