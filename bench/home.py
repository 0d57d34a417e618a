"""What the App Home costs for a rep owning 5,000 third parties and 20,000 events on PostgreSQL
(BENCHMARKS.md: built in under 300 ms, within Slack's 100-block limit).

The rows are COPYed straight into the tables: the rep's 5,000 third parties (every type, a
twentieth closed) and as many of another rep's, four events on each of the rep's (creation, a
note, an email, a planned call, a third of those still to come), and 300 validated proposals and
300 validated invoices of the rep's, a third of the invoices part paid. Two figures, each over
RENDERS runs per repeat, median and 95th percentile:

- built: the domain queries (crm.home, with crm.timeline's next events and crm.stats' month)
  and the view (bot.home_views), in this process;
- round trip: a signed `app_home_opened` posted to `crm web`'s aiohttp app (Bolt, as in
  production) until the stand-in for Slack (tests/slack_stub.py) receives its views.publish.
"""
from __future__ import annotations

import dataclasses
import json
import statistics
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import aiohttp
import asyncpg

from bench.export import THIRDPARTY_COLUMNS
from bot import home_views
from crm import clock, home
from crm.context import Context
from crm.permissions import Actor
from crm.settings import Settings
from tests.slack_requests import SlackClient, serving
from tests.slack_stub import SlackStub

REP, OTHER = "U0REP", "U0OTHER"
THIRDPARTIES = 5_000  # the rep's; the other rep has as many
EVENTS_EACH = 4  # 20,000 events on the rep's third parties
DOCUMENTS = 300  # validated proposals, and as many validated invoices
RENDERS = 20  # per repeat, for each figure
NOW = datetime(2026, 6, 15, 9, 0, tzinfo=timezone.utc)
TARGET_MS = 300
SLACK_BLOCK_LIMIT = 100
SIGNING_SECRET = "bench-signing-secret"
EVENT_COLUMNS = ("code", "occurred_at", "user_id", "thirdparty_id", "label", "details", "starts_at",
                 "duration_minutes")
DOCUMENT_COLUMNS = ("type", "ref", "status", "thirdparty_id", "rep_id", "currency", "issued_on", "valid_until",
                    "due_on", "note_public", "note_private", "description_html", "total_excl_tax", "total_vat",
                    "total_incl_tax", "validated_at", "validated_by", "created_at", "updated_at", "created_by",
                    "updated_by")


@dataclass
class HomeResult:
    built_ms: list[float] = field(default_factory=list)
    round_trip_ms: list[float] = field(default_factory=list)
    blocks: int = 0
    problems: list[str] = field(default_factory=list)

    @staticmethod
    def p95(values: list[float]) -> float:
        return statistics.quantiles(values, n=20)[-1]

    @property
    def target_met(self) -> bool:
        return statistics.median(self.built_ms) < TARGET_MS and self.blocks <= SLACK_BLOCK_LIMIT

    def summary_rows(self) -> list[tuple[str, ...]]:
        met = "yes" if self.target_met else "NO"
        return [(f"App Home, {THIRDPARTIES:,} third parties and {THIRDPARTIES * EVENTS_EACH:,} events",
                 f"built {statistics.median(self.built_ms):.0f} ms (p95 {self.p95(self.built_ms):.0f}), "
                 f"{self.blocks} blocks", "-", "-", f"< {TARGET_MS} ms, <= {SLACK_BLOCK_LIMIT} blocks", met)]

    def detail_rows(self) -> list[tuple[str, ...]]:
        return [("App Home", "median", "p95", "runs"),
                *[(name, f"{statistics.median(values):.1f} ms", f"{self.p95(values):.1f} ms", str(len(values)))
                  for name, values in (("built (queries + view)", self.built_ms),
                                       ("app_home_opened -> views.publish", self.round_trip_ms))]]

    def as_json(self) -> dict:
        return {"thirdparties": THIRDPARTIES, "events": THIRDPARTIES * EVENTS_EACH, "documents": 2 * DOCUMENTS,
                "built_ms": self.built_ms, "round_trip_ms": self.round_trip_ms,
                "built_median_ms": statistics.median(self.built_ms), "built_p95_ms": self.p95(self.built_ms),
                "round_trip_median_ms": statistics.median(self.round_trip_ms),
                "round_trip_p95_ms": self.p95(self.round_trip_ms), "blocks": self.blocks,
                "target_ms": TARGET_MS, "target_met": self.target_met, "problems": self.problems}


async def measure(server_url: str, repeats: int, fresh_database) -> HomeResult:
    result = HomeResult()
    clock.freeze(NOW)
    try:
        async with fresh_database(server_url) as url:
            await fill(url)
            settings = Settings(database_url=url, slack_bot_token="xoxb-bench", slack_signing_secret=SIGNING_SECRET,
                                secret_key="bench")
            ctx = Context(Actor(REP), settings, clock)
            for repeat in range(1, repeats + 1):
                result.built_ms += [await _built(ctx, result) for _ in range(RENDERS)]
                result.round_trip_ms += await _round_trips(settings, RENDERS)
                print(f"  home, run {repeat}/{repeats}: built {statistics.median(result.built_ms[-RENDERS:]):.0f} ms, "
                      f"round trip {statistics.median(result.round_trip_ms[-RENDERS:]):.0f} ms (medians)", flush=True)
    finally:
        clock.freeze(None)
    return result


async def _built(ctx: Context, result: HomeResult) -> float:
    started = time.perf_counter()
    data = await home.home(ctx)
    view = home_views.home_view(data, ctx.now(), can_write=True)
    elapsed = (time.perf_counter() - started) * 1000
    result.blocks = max(result.blocks, len(view["blocks"]))
    if data.prospects.count + data.customers.count == 0 or not data.upcoming:
        result.problems.append("the Home came out empty")
    return elapsed


async def _round_trips(settings: Settings, count: int) -> list[float]:
    """`count` signed app_home_opened events, one at a time, each until its views.publish arrives."""
    async with SlackStub() as slack, aiohttp.ClientSession() as session:
        slack.add_user(REP, name="rep")
        async with serving(dataclasses.replace(settings, slack_api_url=slack.api_url)) as url:
            rep = SlackClient(session, url, SIGNING_SECRET, user_id=REP)
            times = []
            for _ in range(count + 1):  # the first one also asks users.info: not counted
                published = len(slack.calls_to("views.publish"))
                started = time.perf_counter()
                await rep.event({"type": "app_home_opened", "user": REP, "channel": "D0REP", "tab": "home"})
                await slack.wait_for("views.publish", published + 1)
                times.append((time.perf_counter() - started) * 1000)
            slack.assert_nothing_refused()
    return times[1:]


async def fill(database_url: str) -> None:
    connection = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
    try:
        await connection.execute("INSERT INTO crm_user (id, name, role, is_guest, created_at, refreshed_at) VALUES "
                                 "($1, 'rep', 'sales', false, $3, $3), ($2, 'other', 'sales', false, $3, $3)",
                                 REP, OTHER, NOW)
        await connection.copy_records_to_table("crm_thirdparty", columns=THIRDPARTY_COLUMNS,
                                               records=[_thirdparty(n) for n in range(2 * THIRDPARTIES)])
        ids = [row["id"] for row in await connection.fetch("SELECT id FROM crm_thirdparty ORDER BY id")]
        mine = ids[:THIRDPARTIES]
        await connection.copy_records_to_table("crm_thirdparty_rep", columns=("crm_thirdparty_id", "user_id"),
                                               records=[(i, REP if n < THIRDPARTIES else OTHER)
                                                        for n, i in enumerate(ids)])
        await connection.copy_records_to_table("crm_event", columns=EVENT_COLUMNS,
                                               records=[e for n, i in enumerate(mine) for e in _events(n, i)])
        await connection.copy_records_to_table("crm_document", columns=DOCUMENT_COLUMNS, records=[
            _document(doc_type, n, mine[n * 7 % THIRDPARTIES]) for doc_type in ("proposal", "invoice")
            for n in range(DOCUMENTS)])
        invoices = [row["id"] for row in await connection.fetch(
            "SELECT id FROM crm_document WHERE type = 'invoice' ORDER BY id")]
        await connection.copy_records_to_table(
            "crm_payment", columns=("document_id", "paid_on", "amount", "method", "created_at", "created_by"),
            records=[(i, NOW.date(), Decimal("10.00"), "transfer", NOW, REP) for i in invoices[::3]])
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


def _thirdparty(number: int) -> tuple:
    created = NOW - timedelta(days=400) + timedelta(minutes=number)
    name = f"Company {number}"
    return (f"CU2606-{number:05d}", name, name.lower(), name.lower(), "", ("prospect", "customer", "both")[number % 3],
            "closed" if number % 20 == 19 else "active", "", "", "", "", "", "", "Paris", "FR", "fr", "", "", "", "",
            name.lower(), created, created, "system", "system")


def _events(number: int, thirdparty_id: int) -> list[tuple]:
    """Creation, a note, an email and a planned call: a third of the calls are still to come."""
    at = NOW - timedelta(days=300) + timedelta(minutes=number * 17)
    call = NOW + timedelta(hours=(number % 3 - 2) * 24 * 30 + number % 500)
    details = json.dumps({"kind": "call", "title": f"Call {number}"})
    return [("COMPANY_CREATE", at, REP, thirdparty_id, "created", "{}", None, None),
            ("NOTE_ADD", at + timedelta(days=1), REP, thirdparty_id, "Note", '{"text": "Note"}', None, None),
            ("EMAIL_SENT", at + timedelta(days=2), REP, thirdparty_id, "Email", "{}", None, None),
            ("MANUAL", at + timedelta(days=3), REP, thirdparty_id, f"Call: Call {number}", details, call, 30)]


def _document(doc_type: str, number: int, thirdparty_id: int) -> tuple:
    issued = (NOW - timedelta(days=number % 60)).date()
    excl = Decimal(100 + number)
    return (doc_type, f"{'PR' if doc_type == 'proposal' else 'IN'}2606-{number:05d}", "validated", thirdparty_id, REP,
            "EUR", issued, issued + timedelta(days=30) if doc_type == "proposal" else None,
            issued + timedelta(days=30) if doc_type == "invoice" else None, "", "", "", excl, excl / 5, excl * 6 / 5,
            NOW - timedelta(days=number % 60), REP, NOW, NOW, REP, REP)
