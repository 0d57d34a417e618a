"""Figures per sales rep (SPEC §9) through the domain: a fixture of reps, documents in and out of
the period, a customer with two reps; every figure is computed by hand below."""
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from crm import clock, periods, stats, thirdparties
from crm.documents import service as documents
from crm.permissions import Actor
from tests.conftest import ADMIN, ALICE, UTC, context

D = Decimal
PARIS = ZoneInfo("Europe/Paris")
CAROL, BOB = Actor("U0CAROL"), Actor("U0BOB")
Q2 = periods.parse("2026-Q2", PARIS, datetime(2026, 6, 1).date())


def at(*moment) -> None:
    """The clock at a Paris wall-clock time."""
    clock.freeze(datetime(*moment, tzinfo=PARIS).astimezone(UTC))  # the clock's moments are UTC, as in production


def ctx(actor=ALICE):
    return context(actor, tz=PARIS)


async def company(name, kind, reps, status="active"):
    tp = await thirdparties.create(ctx(ADMIN), {"name": name, "type": kind}, sales_reps=reps)
    if status != "active":
        await thirdparties.set_status(ctx(ADMIN), tp.code, status)
    return tp


async def document(doc_type, tp, lines, *, rep=None, currency=None):
    """A draft made by Alice (never a rep: documents count for their rep, not their creator)."""
    made = await documents.create(ctx(), doc_type, tp.id)
    header = {**({"rep_id": rep} if rep else {}), **({"currency": currency} if currency else {})}
    if header:
        await documents.update(ctx(), made.id, header)
    for quantity, price, cost, discount in lines:
        await documents.add_line(ctx(), made.id, {"label": "Work", "quantity": quantity, "unit_price": price,
                                                  "vat_rate": "20", "cost_price": cost, "discount_percent": discount})
    return made


async def move(made, name, *moment, actor=ALICE):
    at(*moment)
    await documents.apply_move(ctx(actor), made.id, name)


async def build_fixture():
    at(2026, 3, 1, 10)
    acme = await company("Acme", "customer", [CAROL.id, BOB.id])  # two reps
    beta = await company("Beta", "customer", [BOB.id])
    gamma = await company("Gamma", "both", [CAROL.id])
    await company("Epsilon", "prospect", [BOB.id])
    delta = await company("Delta", "customer", [])
    await company("Zeta", "customer", [CAROL.id], status="closed")  # not in anyone's portfolio

    p4 = await document("proposal", acme, [("1", "700", "0", "0")])
    await move(p4, "validate", 2026, 3, 31, 23, 30)  # validated the day before Q2 (21:30 UTC)...
    await move(p4, "sign", 2026, 4, 2, 9)  # ...and signed in it: a signed proposal, not one made
    at(2026, 3, 15, 10)
    await thirdparties.update(ctx(CAROL), gamma.id, {"town": "Lyon"})  # an event before the period

    at(2026, 5, 1, 10)
    p1 = await document("proposal", acme, [("2", "100", "0", "0")])  # Carol: the first rep
    p2 = await document("proposal", acme, [("1", "500", "0", "0")], rep=BOB.id)
    p3 = await document("proposal", beta, [("1", "300", "0", "0")])
    i1 = await document("invoice", acme, [("3", "100", "40", "0")])
    o1 = await document("order", gamma, [("1", "1000", "0", "0")])
    i2 = await document("invoice", beta, [("1", "250", "100", "10")])
    i3 = await document("invoice", delta, [("1", "50", "0", "0")])
    i4 = await document("invoice", acme, [("1", "999", "0", "0")])
    i5 = await document("invoice", beta, [("1", "400", "0", "0")], currency="USD")
    await document("proposal", acme, [("1", "10", "0", "0")])  # a draft: never counted
    at(2026, 5, 5, 10)
    await thirdparties.update(ctx(CAROL), gamma.id, {"town": "Paris"})

    await move(p1, "validate", 2026, 5, 10, 10)
    await move(p2, "validate", 2026, 5, 11, 10)
    await move(p3, "validate", 2026, 5, 12, 10, actor=BOB)
    await move(p1, "sign", 2026, 5, 12, 11)
    await move(p2, "refuse", 2026, 5, 13, 10)
    await move(i1, "validate", 2026, 5, 14, 10)
    await move(o1, "validate", 2026, 5, 15, 10)
    await move(i2, "validate", 2026, 5, 20, 10)
    await move(i3, "validate", 2026, 5, 21, 10)
    await move(i5, "validate", 2026, 5, 22, 10)
    await move(i4, "validate", 2026, 7, 1, 0, 30)  # Q3 in Paris, though still 30 June in UTC


def as_tuple(row: stats.RepFigures):
    return (row.rep_id, row.prospects, row.customers, row.proposals, row.proposals_amount, row.signed,
            row.signed_amount, row.refused, row.win_rate, row.orders_amount, row.invoices_amount, row.margin,
            row.events)


async def test_the_figures_of_each_rep_and_of_the_team_are_the_hand_computed_ones(db):
    await build_fixture()
    found = await stats.figures(ctx(), Q2)
    # rep, prospects, customers, proposals, amount, signed, amount, refused, win rate, orders, invoices, margin, events
    carol = ("U0CAROL", 1, 2,  # Gamma is both; Acme; Zeta is closed
             1, D("200"),  # P1 (P4 was validated in March)
             2, D("900"), 0, D(1),  # P1 200 + P4 700, signed in Q2
             D("1000"), D("300"),  # O1; I1 (I4 is Q3 in Paris)
             D("180"),  # I1: 3 × (100 − 40)
             1)  # her COMPANY_MODIFY of 5 May (not that of March)
    bob = ("U0BOB", 1, 2,  # Epsilon; Acme, Beta
           2, D("800"),  # P2 (its rep set to Bob) 500 + P3 300
           0, D("0"), 1, D(0),  # P2 refused
           D("0"), D("225"),  # I2: 250 less 10 %; I5 is in USD
           D("125"),  # I2: 225 − 100
           1)  # he validated P3
    nobody = (None, 0, 1, 0, D("0"), 0, D("0"), 0, None, D("0"), D("50"), D("50"), 0)  # Delta and I3
    assert [as_tuple(row) for row in found.reps] == [carol, bob, nobody]
    team = (None, 2, 4,  # Gamma, Epsilon; Acme (two reps, once), Beta, Gamma, Delta
            3, D("1000"), 2, D("900"), 1, D(2) / D(3), D("1000"), D("575"), D("355"), 2)
    assert as_tuple(found.team) == team
    assert found.other_currencies == {"USD": 1} and found.currency == "EUR"
    assert found.period.label == "2026-Q2"


async def test_one_rep_asked_for_gets_their_row_even_when_empty(db):
    await build_fixture()
    everyone = await stats.figures(ctx(), Q2)
    for row in everyone.reps[:2]:  # each rep's own figures are their row of everyone's
        assert (await stats.figures(ctx(), Q2, row.rep_id)).reps == [row]
    bob = await stats.figures(ctx(), Q2, "U0BOB")
    assert [row.rep_id for row in bob.reps] == ["U0BOB"] and bob.team is bob.reps[0]
    assert (bob.team.proposals, bob.team.proposals_amount, bob.team.invoices_amount) == (2, D("800"), D("225"))
    nobody = await stats.figures(ctx(), Q2, "U0NOBODY")
    assert as_tuple(nobody.reps[0]) == ("U0NOBODY", 0, 0, 0, D(0), 0, D(0), 0, None, D(0), D(0), D(0), 0)


async def test_another_period_counts_other_documents(db):
    await build_fixture()
    q3 = await stats.figures(ctx(), periods.parse("2026-07", PARIS, datetime(2026, 7, 2).date()))
    assert [(row.rep_id, row.invoices_amount, row.proposals, row.signed) for row in q3.reps] == [
        ("U0CAROL", D("999"), 0, 0), ("U0BOB", D("0"), 0, 0), (None, D("0"), 0, 0)]
    march = await stats.figures(ctx(), periods.parse("2026-03", PARIS, datetime(2026, 7, 2).date()))
    assert (march.team.proposals, march.team.proposals_amount, march.team.signed) == (1, D("700"), 0)
