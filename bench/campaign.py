"""What sending a campaign costs (BENCHMARKS.md): 20,000 recipients to an aiosmtpd sink in a
process of its own, with CAMPAIGN_RATE high enough not to bind.

- ours: the campaign's sending as a worker does it (recipients written when it starts, batches
  claimed, each message rendered from its template, sent over CAMPAIGN_CONCURRENCY sessions,
  marked sent with its CAMPAIGN_SENT event), in a process of its own on a fresh PostgreSQL
  database: messages/s over the whole sending, and that process's peak memory, at 2,000 and at
  20,000 recipients (memory flat: the second peak within 20% of the first);
- the sink's ceiling: the same number of prebuilt messages sent by aiosmtplib over as many
  reused connections as our sender uses (aiosmtpd offers no pipelining), timed from the first
  message to the last;
- a naive loop: smtplib, one connection per message, one after the other.

Targets: ours at least 70% of the ceiling and at least 4x the naive loop.
"""
from __future__ import annotations

import asyncio
import multiprocessing
import os
import smtplib
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import asyncpg

from bench.export import LAUNCHER, THIRDPARTY_COLUMNS
from crm import clock, db
from crm.campaigns import service
from crm.campaigns.sender import Sender
from crm.context import Context
from crm.mail import templates
from crm.mail.compose import Draft, Mailbox, compose
from crm.mail.transport import SmtpSession
from crm.permissions import SYSTEM, Actor
from crm.settings import Settings, load_settings

RECIPIENTS = 20_000
SMALL = 2_000
CONCURRENCY = 4
RATE = 10_000  # CAMPAIGN_RATE's largest value: does not bind here
NAIVE_MESSAGES = 1_000
TARGET_SHARE_OF_CEILING = 0.70
TARGET_OVER_NAIVE = 4.0
TARGET_FLAT = 1.20
ACTOR = Actor("U0BENCH", role="sales")
MAIL_FROM = "Acme <news@acme.example>"
STARTED = datetime(2026, 1, 1, tzinfo=timezone.utc)


@dataclass
class CampaignResult:
    ours: dict[int, list[tuple[float, float]]] = field(default_factory=dict)  # recipients -> (msg/s, peak MB)
    ceiling: list[float] = field(default_factory=list)
    naive: list[float] = field(default_factory=list)

    def rate(self) -> float:
        """At the larger number of recipients."""
        return statistics.median(run[0] for run in self.ours[max(self.ours)])

    def peak(self, recipients: int) -> float:
        return statistics.median(run[1] for run in self.ours[recipients])

    @property
    def share_of_ceiling(self) -> float:
        return self.rate() / statistics.median(self.ceiling)

    @property
    def over_naive(self) -> float:
        return self.rate() / statistics.median(self.naive)

    @property
    def flatness(self) -> float:
        return self.peak(max(self.ours)) / self.peak(min(self.ours))

    def summary_rows(self) -> list[tuple[str, ...]]:
        return [
            ("campaign vs sink ceiling", f"{self.rate():,.0f} msg/s", f"{statistics.median(self.ceiling):,.0f} msg/s",
             f"{self.share_of_ceiling:.0%}", f">= {TARGET_SHARE_OF_CEILING:.0%}",
             _yes(self.share_of_ceiling >= TARGET_SHARE_OF_CEILING)),
            ("campaign vs naive loop", f"{self.rate():,.0f} msg/s", f"{statistics.median(self.naive):,.0f} msg/s",
             f"{self.over_naive:.1f}x", f">= {TARGET_OVER_NAIVE:.0f}x", _yes(self.over_naive >= TARGET_OVER_NAIVE)),
            (f"peak memory, {max(self.ours):,} vs {min(self.ours):,}", f"{self.peak(max(self.ours)):.0f} MB",
             f"{self.peak(min(self.ours)):.0f} MB",
             f"{self.flatness:.2f}x", f"<= {TARGET_FLAT:.2f}x", _yes(self.flatness <= TARGET_FLAT)),
        ]

    def as_json(self) -> dict:
        return {"ours": {str(n): runs for n, runs in self.ours.items()}, "ceiling": self.ceiling, "naive": self.naive,
                "share_of_ceiling": self.share_of_ceiling, "over_naive": self.over_naive, "flatness": self.flatness}


def _yes(met: bool) -> str:
    return "yes" if met else "NO"


async def measure(server_url: str, repeats: int, fresh_database) -> CampaignResult:
    result = CampaignResult()
    sink, port = _start_sink()
    try:
        for repeat in range(1, repeats + 1):
            for recipients in (SMALL, RECIPIENTS):
                async with fresh_database(server_url) as url:
                    await _campaign(url, recipients)
                    rate, peak = await asyncio.to_thread(_send, url, port)
                result.ours.setdefault(recipients, []).append((rate, peak))
                print(f"  campaign, run {repeat}/{repeats}: {recipients:,} recipients, {rate:,.0f} msg/s, "
                      f"peak {peak:.0f} MB", flush=True)
            result.ceiling.append(await asyncio.to_thread(_side, "ceiling", port, RECIPIENTS))
            result.naive.append(await asyncio.to_thread(_side, "naive", port, NAIVE_MESSAGES))
            print(f"  sink ceiling {result.ceiling[-1]:,.0f} msg/s, naive loop {result.naive[-1]:,.0f} msg/s",
                  flush=True)
    finally:
        sink.terminate()
        sink.join()
    return result


async def _campaign(url: str, recipients: int) -> None:
    """`recipients` customers with an address each, and a campaign to them, due now."""
    connection = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        await connection.copy_records_to_table("crm_thirdparty", columns=THIRDPARTY_COLUMNS,
                                               records=[_customer(n) for n in range(recipients)])
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    await templates.ensure_defaults()
    ctx = Context(ACTOR, Settings(), clock)
    campaign = await service.create(ctx, "Bench", "campaign", "type:customer")
    await service.move(ctx, campaign.id, "schedule")


def _customer(number: int) -> tuple:
    email = f"reader{number}@example.com"
    values = {**dict.fromkeys(THIRDPARTY_COLUMNS, ""), "code": f"CU-{number:06d}", "name": f"Customer {number}",
              "name_fold": f"customer {number}", "name_key": f"customer {number}", "type": "customer",
              "status": "active", "email": email, "email_key": email, "search_text": f" customer {number} ",
              "created_at": STARTED, "updated_at": STARTED, "created_by": "system", "updated_by": "system"}
    return tuple(values[column] for column in THIRDPARTY_COLUMNS)


def _send(url: str, port: int) -> tuple[float, float]:
    """The campaign's sending in a process of its own: messages/s, and its peak memory (MB)."""
    environ = {key: value for key, value in os.environ.items() if not key.startswith(("CRM_", "SLACK_"))}
    environ.update(DATABASE_URL=url, SMTP_URL=f"smtp://127.0.0.1:{port}", MAIL_FROM=MAIL_FROM,
                   CAMPAIGN_RATE=str(RATE), CAMPAIGN_CONCURRENCY=str(CONCURRENCY), CRM_SECRET_KEY="bench")
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "rate"  # the process's standard output goes to the launcher
        launched = subprocess.run([sys.executable, "-c", LAUNCHER, sys.executable, "-m", "bench.campaign", "send",
                                   str(out)], env=environ, capture_output=True, text=True)
        status, peak_kb = (int(word) for word in launched.stdout.split())
        if status:
            raise RuntimeError(f"the campaign's sending failed: {launched.stderr}")
        return float(out.read_text()), peak_kb / 1024


async def _send_in_this_process() -> float:
    settings = load_settings()
    await db.connect(settings.database_url)
    try:
        ctx = Context(SYSTEM, settings, clock)
        [campaign_id] = await service.start_due(ctx)
        sender = Sender(ctx, "bench")
        started = time.perf_counter()
        try:
            sent = await sender.run()
        finally:
            await sender.close()
        seconds = time.perf_counter() - started
        tally = await service.tally(campaign_id)
        if tally.counts["sent"] != sent:
            raise RuntimeError(f"sent {sent}, recorded {tally.counts}")
        return sent / seconds
    finally:
        await db.close()


def _side(kind: str, port: int, messages: int) -> float:
    """A baseline in a process of its own, as ours runs: messages/s."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_ceiling if kind == "ceiling" else _naive, (port, messages))


def _prebuilt(messages: int) -> list:
    sender = Mailbox.parse(MAIL_FROM)
    return [compose(Draft(sender=sender, to=Mailbox(f"reader{n}@example.com", f"Customer {n}"), subject="Bench",
                          text=f"Hello Customer {n},\n" + "News of the month.\n" * 20, html="<p>News</p>" * 20,
                          reply_to=sender), envelope_from=MAIL_FROM) for n in range(messages)]


def _ceiling(port: int, messages: int) -> float:
    prebuilt = _prebuilt(messages)

    async def send_all() -> float:
        sessions = [SmtpSession(f"smtp://127.0.0.1:{port}") for _ in range(CONCURRENCY)]
        started = time.perf_counter()
        await asyncio.gather(*(_send_share(session, prebuilt[n::CONCURRENCY]) for n, session in enumerate(sessions)))
        seconds = time.perf_counter() - started
        await asyncio.gather(*(session.close() for session in sessions))
        return messages / seconds
    return asyncio.run(send_all())


async def _send_share(session: SmtpSession, share: list) -> None:
    for outgoing in share:
        await session.send(outgoing)


def _naive(port: int, messages: int) -> float:
    prebuilt = _prebuilt(messages)
    started = time.perf_counter()
    for outgoing in prebuilt:
        with smtplib.SMTP("127.0.0.1", port) as connection:
            connection.sendmail(outgoing.envelope_from, [outgoing.recipient], outgoing.data)
    return messages / (time.perf_counter() - started)


def _start_sink():
    """aiosmtpd in a process of its own, accepting and discarding every message."""
    context = multiprocessing.get_context("spawn")
    ready = context.Queue()
    process = context.Process(target=_sink, args=(ready,), daemon=True)
    process.start()
    return process, ready.get(timeout=30)


def _sink(ready) -> None:
    from aiosmtpd.controller import Controller

    from tests.processes import free_port

    class Discard:
        async def handle_DATA(self, server, session, envelope):
            return "250 OK"

    port = free_port()
    controller = Controller(Discard(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.put(port)
    while True:
        time.sleep(3600)


if __name__ == "__main__" and sys.argv[1:2] == ["send"]:
    Path(sys.argv[2]).write_text(str(asyncio.run(_send_in_this_process())))
