"""What the IMAP listener costs (BENCHMARKS.md, issue 9): a backlog of 5,000 messages in Dovecot
(2-20 KB of text each, a tenth with a 100 KB PDF attachment, every one from a known contact) at
least 200 messages/s, and from APPEND to event a median under 1 s while idle.

- setup: a fresh PostgreSQL database with 500 third parties of 2 contacts each (COPY); a Dovecot
  of its own (tests/dovecot.py) into which the 5,000 messages are APPENDed once, pipelined over
  one IMAP session with LITERAL+ (the backlog is kept for every run; what a run adds is expunged);
- ours: `crm worker` in a process of its own (DATABASE_URL, DATA_DIR, IMAP_URL, no Slack), timed
  from its launch until the 5,000 `crm_inbound_email` rows exist (the database polled every
  0.2 s): messages/s over that whole time, and the same from its first row on (start-up left
  out); its peak resident set is its own VmHWM, read from /proc while it runs;
- latency: with the backlog done and the listener idle, 20 messages APPENDed one at a time, each
  waited for until its row (written in the transaction of its EMAIL_IN event) is there, the
  database polled every 10 ms: median and 95th percentile;
- baseline, the ceiling of reading the mailbox: the listener's own reading (jobs.inbound.Session:
  the same SEARCH, sizes and FETCH batches) in a process of its own, timed from its launch, each
  message parsed with `email.message_from_bytes(policy=default)`, touching no database.

The ratio is the baseline's messages/s over ours: how many times slower than reading the
mailbox the listener is. When `crm worker` takes no message for STALL_SECONDS, the run stops
with the worker's own words about the mailbox.
"""
from __future__ import annotations

import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from email.message import EmailMessage
from pathlib import Path

import asyncpg

from bench.export import THIRDPARTY_COLUMNS
from tests.dovecot import Dovecot

MESSAGES = 5_000
THIRDPARTIES = 500
CONTACTS_EACH = 2
ATTACHMENT_EVERY = 10  # a tenth of the messages carry one
ATTACHMENT_BYTES = 100 * 1024
TEXT_BYTES = (2 * 1024, 20 * 1024)
LATENCY_MESSAGES = 20
COUNT_EVERY = 0.2  # seconds between counts of the rows while the backlog is taken
LOOK_EVERY = 0.01  # seconds between looks for one message's row
BACKLOG_TIMEOUT = 600.0
LATENCY_TIMEOUT = 30.0
STALL_SECONDS = 20.0  # no new row for this long: the worker is stuck
TARGET_MESSAGES_PER_SECOND = 200
TARGET_MEDIAN_LATENCY = 1.0
CRM = Path(sys.executable).with_name("crm")
CONTACT_COLUMNS = ("thirdparty_id", "first_name", "last_name", "job_title", "email", "phone", "address", "zip",
                   "town", "country", "language", "note", "default_roles", "created_at", "updated_at", "created_by",
                   "updated_by")
CREATED = datetime(2026, 1, 1, tzinfo=timezone.utc)
WORDS = ("devis", "facture", "livraison", "commande", "quote", "invoice", "delivery", "order", "meeting", "price",
         "discount", "contract", "renewal", "support", "ticket", "urgent", "question", "merci", "bonjour", "regards",
         "tomorrow", "Monday", "schedule", "pallet", "warehouse", "Zürich", "Kraków", "été", "réunion", "café",
         "the", "a", "of", "and", "to", "in", "for", "with", "on", "we", "you", "your", "our", "please", "can",
         "would", "could", "attached", "find", "below", "terms", "payment", "thirty", "days", "net", "VAT", "euro")


@dataclass
class Run:
    seconds: float  # from the worker's launch to the last row
    first_row_seconds: float  # from its launch to the first row
    peak_mb: float
    baseline_seconds: float  # from the baseline's launch to its end
    baseline_inner_seconds: float  # from its connection to its end
    latencies: list[float] = field(default_factory=list)  # seconds, APPEND to row, one per message

    @property
    def rate(self) -> float:
        return MESSAGES / self.seconds

    @property
    def steady_rate(self) -> float:
        return (MESSAGES - 1) / (self.seconds - self.first_row_seconds)

    @property
    def baseline_rate(self) -> float:
        return MESSAGES / self.baseline_seconds


class Stalled(Exception):
    """The worker took no message for STALL_SECONDS; `str(error)` says what it logged."""


@dataclass
class ImapResult:
    runs: list[Run] = field(default_factory=list)
    append_seconds: float = 0.0  # the backlog's pipelined APPEND
    backlog_mb: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return statistics.median(run.rate for run in self.runs)

    @property
    def baseline_rate(self) -> float:
        return statistics.median(run.baseline_rate for run in self.runs)

    @property
    def ratio(self) -> float:
        return self.baseline_rate / self.rate

    @property
    def peak_mb(self) -> float:
        return max(run.peak_mb for run in self.runs)

    @property
    def latencies(self) -> list[float]:
        return sorted(latency for run in self.runs for latency in run.latencies)

    @property
    def latency_median(self) -> float:
        return statistics.median(self.latencies) if self.latencies else float("inf")

    @property
    def latency_p95(self) -> float:
        return _percentile(self.latencies, 0.95)

    @property
    def rate_met(self) -> bool:
        return self.rate >= TARGET_MESSAGES_PER_SECOND and not self.problems

    @property
    def latency_met(self) -> bool:
        return self.latency_median < TARGET_MEDIAN_LATENCY and len(self.latencies) == LATENCY_MESSAGES * len(self.runs)

    def summary_rows(self) -> list[tuple[str, ...]]:
        return [
            (f"IMAP backlog, {MESSAGES:,} messages", f"{self.rate:,.0f} msg/s, peak {self.peak_mb:.0f} MB",
             f"{self.baseline_rate:,.0f} msg/s", f"{self.ratio:.1f}x slower", f">= {TARGET_MESSAGES_PER_SECOND} msg/s",
             _yes(self.rate_met)),
            ("IMAP APPEND to event, idle", f"median {self.latency_median * 1000:.0f} ms, "
             f"p95 {self.latency_p95 * 1000:.0f} ms", "-", "-", f"median < {TARGET_MEDIAN_LATENCY:g} s",
             _yes(self.latency_met)),
        ]

    def detail_rows(self) -> list[tuple[str, ...]]:
        rows = [("IMAP run", "to last row", "to first row", "msg/s", "msg/s after first row", "peak RSS",
                 "baseline", "baseline msg/s (after connecting)")]
        for number, run in enumerate(self.runs, 1):
            rows.append((f"run {number}", f"{run.seconds:.1f} s", f"{run.first_row_seconds:.1f} s", f"{run.rate:,.0f}",
                         f"{run.steady_rate:,.0f}", f"{run.peak_mb:.0f} MB", f"{run.baseline_seconds:.1f} s",
                         f"{run.baseline_rate:,.0f} ({MESSAGES / run.baseline_inner_seconds:,.0f})"))
        return rows

    def as_json(self) -> dict:
        return {"messages": MESSAGES, "runs": [{**asdict(run), "rate": run.rate, "steady_rate": run.steady_rate,
                                                 "baseline_rate": run.baseline_rate} for run in self.runs],
                "append_seconds": self.append_seconds, "backlog_mb": self.backlog_mb,
                "median_messages_per_second": self.rate, "baseline_messages_per_second": self.baseline_rate,
                "baseline_over_ours": self.ratio, "peak_mb": self.peak_mb,
                "latency_median_seconds": self.latency_median, "latency_p95_seconds": self.latency_p95,
                "target_messages_per_second": TARGET_MESSAGES_PER_SECOND,
                "target_median_latency_seconds": TARGET_MEDIAN_LATENCY,
                "rate_met": self.rate_met, "latency_met": self.latency_met, "problems": self.problems}


def _yes(met: bool) -> str:
    return "yes" if met else "NO"


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return float("inf")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def measure(server_url: str, repeats: int, fresh_database) -> ImapResult:
    result = ImapResult()
    backlog = [_message(number, random.Random(number)) for number in range(MESSAGES)]
    result.backlog_mb = sum(map(len, backlog)) / 1024 / 1024
    dovecot = Dovecot().start()
    try:
        started = time.perf_counter()
        await asyncio.to_thread(dovecot.append_many, backlog)
        result.append_seconds = time.perf_counter() - started
        del backlog
        print(f"  imap: {MESSAGES:,} messages ({result.backlog_mb:.0f} MB) APPENDed to Dovecot in "
              f"{result.append_seconds:.1f} s ({MESSAGES / result.append_seconds:,.0f} msg/s), pipelined", flush=True)
        await asyncio.to_thread(_baseline, dovecot.url)  # untimed: Dovecot's caches warm for both sides
        for repeat in range(1, repeats + 1):
            run = None
            async with fresh_database(server_url) as url:
                await _known_contacts(url)
                run = await _ours(url, dovecot, repeat, result.problems)
            await asyncio.to_thread(_expunge_after, dovecot, MESSAGES)
            run.baseline_seconds, run.baseline_inner_seconds = await asyncio.to_thread(_baseline, dovecot.url)
            result.runs.append(run)
            print(f"  imap, run {repeat}/{repeats}: {run.rate:,.0f} msg/s ({run.steady_rate:,.0f} after the first "
                  f"row at {run.first_row_seconds:.1f} s), peak {run.peak_mb:.0f} MB; baseline "
                  f"{run.baseline_rate:,.0f} msg/s; APPEND to event median "
                  f"{statistics.median(run.latencies or [float('inf')]) * 1000:.0f} ms, "
                  f"p95 {_percentile(run.latencies, 0.95) * 1000:.0f} ms", flush=True)
    finally:
        dovecot.close()
    return result


# -- setup -------------------------------------------------------------------------------------

def _sender(number: int) -> tuple[str, str, int]:
    """The contact who writes message `number`: its name, its address, its third party's number."""
    contact = number % (THIRDPARTIES * CONTACTS_EACH)
    company = contact // CONTACTS_EACH
    return f"Person{contact} Family{contact}", f"person{contact}@company{company}.example", company


async def _known_contacts(url: str) -> None:
    connection = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        await connection.copy_records_to_table("crm_thirdparty", columns=THIRDPARTY_COLUMNS,
                                               records=[_thirdparty(n) for n in range(THIRDPARTIES)])
        ids = dict(await connection.fetch("SELECT code, id FROM crm_thirdparty"))
        contacts = []
        for contact in range(THIRDPARTIES * CONTACTS_EACH):
            name, address, company = _sender(contact)
            first, last = name.split()
            contacts.append((ids[_code(company)], first, last, "", address, "", "", "", "", "", "", "", "", CREATED,
                             CREATED, "system", "system"))
        await connection.copy_records_to_table("crm_contact", columns=CONTACT_COLUMNS, records=contacts)
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


def _code(number: int) -> str:
    return f"CU-{number:06d}"


def _thirdparty(number: int) -> tuple:
    email = f"info@company{number}.example"
    name = f"Company {number}"
    values = {**dict.fromkeys(THIRDPARTY_COLUMNS, ""), "code": _code(number), "name": name,
              "name_fold": name.lower(), "name_key": name.lower(), "type": "customer", "status": "active",
              "email": email, "email_key": email, "search_text": f" {name.lower()} {email} ", "created_at": CREATED,
              "updated_at": CREATED, "created_by": "system", "updated_by": "system"}
    return tuple(values[column] for column in THIRDPARTY_COLUMNS)


def _message(number: int, rng: random.Random, message_id: str | None = None, text_bytes: int | None = None) -> bytes:
    """Message `number`: varied text of 2-20 KB (a third also as HTML), every tenth with a
    100 KB PDF-like attachment, from a known contact, with a Message-ID of its own."""
    name, address, _ = _sender(number)
    message = EmailMessage()
    message["From"], message["To"] = f"{name} <{address}>", "Acme Sales <sales@acme.example>"
    message["Subject"] = f"{rng.choice(WORDS).capitalize()} {rng.choice(WORDS)} #{number}"
    message["Message-ID"] = message_id or f"<bench-{number}@company{number % THIRDPARTIES}.example>"
    message["Date"] = "Sat, 28 Nov 2026 09:15:00 +0100"
    text = _text(rng, text_bytes or rng.randint(*TEXT_BYTES))
    message.set_content(text)
    if number % 3 == 1:
        paragraphs = "".join(f"<p>{paragraph}</p>" for paragraph in text.split("\n\n"))
        message.add_alternative(f"<html><body>{paragraphs}</body></html>", subtype="html")
    if number % ATTACHMENT_EVERY == 0 and message_id is None:
        content = b"%PDF-1.4\n" + rng.randbytes(ATTACHMENT_BYTES - 9)
        message.add_attachment(content, maintype="application", subtype="pdf", filename=f"devis-{number}.pdf")
    return message.as_bytes()


def _text(rng: random.Random, size: int) -> str:
    paragraphs, length = [], 0
    while length < size:
        paragraph = " ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 120))) + "."
        paragraphs.append(paragraph.capitalize())
        length += len(paragraph.encode()) + 2
    return "\n\n".join(paragraphs)


def _expunge_after(dovecot, last_uid: int) -> None:
    """The messages a run added after the backlog, removed: the next run finds the same backlog."""
    with dovecot.session() as connection:
        connection.select("INBOX")
        _, [found] = connection.uid("SEARCH", f"UID {last_uid + 1}:*")
        added = [uid for uid in found.split() if int(uid) > last_uid]  # "n:*" names the last message even below n
        if added:
            connection.uid("STORE", b",".join(added).decode(), "+FLAGS.SILENT", r"(\Deleted)")
            connection.expunge()


# -- ours ---------------------------------------------------------------------------------------

async def _ours(url: str, dovecot, repeat: int, problems: list[str]) -> Run:
    """`crm worker` listening to the mailbox: the backlog, then 20 messages one at a time."""
    database = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    folder = Path(tempfile.mkdtemp(prefix="crm-bench-imap-"))
    environ = {key: value for key, value in os.environ.items() if not key.startswith(("CRM_", "SLACK_", "DATABASE_"))}
    environ.update(DATABASE_URL=url, DATA_DIR=str(folder / "data"), IMAP_URL=dovecot.url, CRM_SECRET_KEY="bench",
                   MAIL_FROM="Acme Sales <sales@acme.example>")
    log = (folder / "worker.log").open("wb")
    started = time.perf_counter()
    worker = subprocess.Popen([str(CRM), "worker"], env=environ, stdout=log, stderr=subprocess.STDOUT,
                              cwd=Path(__file__).resolve().parent.parent)
    peak_kb = 0
    try:
        first, last_count, last_progress = None, 0, 0.0
        while True:
            await asyncio.sleep(COUNT_EVERY)
            count = await database.fetchval("SELECT count(*) FROM crm_inbound_email")
            now = time.perf_counter() - started
            peak_kb = max(peak_kb, _peak_kb(worker.pid))
            if count and first is None:
                first = now
            if count >= MESSAGES:
                break
            if count > last_count:
                last_count, last_progress = count, now
            elif now - last_progress > STALL_SECONDS:
                raise Stalled(_reason(folder / "worker.log", count))
            if worker.poll() is not None:
                raise RuntimeError(f"crm worker ended ({worker.returncode}): {_tail(folder / 'worker.log')}")
            if now > BACKLOG_TIMEOUT:
                raise RuntimeError(f"{count} of {MESSAGES} messages taken after {now:.0f} s")
        seconds = now
        logged = await database.fetchval("SELECT count(*) FROM crm_inbound_email WHERE status = 'logged'")
        events = await database.fetchval("SELECT count(*) FROM crm_event WHERE code = 'EMAIL_IN'")
        if logged != MESSAGES or events != MESSAGES:
            problems.append(f"run {repeat}: {logged} of {MESSAGES} emails logged, {events} EMAIL_IN events")
        await asyncio.sleep(1.0)  # the last batch's progress saved, the listener in IDLE
        latencies = await _latencies(database, dovecot, repeat, problems)
        peak_kb = max(peak_kb, _peak_kb(worker.pid))
    finally:
        worker.terminate()
        try:
            await asyncio.to_thread(worker.wait, 30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        log.close()
        await database.close()
        subprocess.run(["rm", "-rf", str(folder)], check=False)
    return Run(seconds, first, peak_kb / 1024, 0.0, 0.0, latencies)


def _reason(log: Path, count: int) -> str:
    """What the stuck worker said last about the mailbox."""
    said = [line for line in log.read_text(errors="replace").splitlines() if "imap:" in line and "WARNING" in line]
    words = said[-1].split("imap: ", 1)[-1] if said else "nothing logged"
    return f"{count} taken; it logged: {words}"


def _peak_kb(pid: int) -> int:
    """The process's own peak resident set (VmHWM), in kilobytes; 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-3000:]


async def _latencies(database: asyncpg.Connection, dovecot, repeat: int, problems: list[str]) -> list[float]:
    """APPEND one message at a time to the idle listener; seconds until each one's row is there."""
    rng = random.Random(1_000_000 + repeat)
    session = await asyncio.to_thread(dovecot.session)
    latencies = []
    try:
        for number in range(LATENCY_MESSAGES):
            message_id = f"<latency-{repeat}-{number}@company{number}.example>"
            raw = _message(number, rng, message_id=message_id, text_bytes=rng.randint(*TEXT_BYTES))
            await asyncio.sleep(rng.uniform(0.2, 0.5))  # the listener back in IDLE
            started = time.perf_counter()
            status, answer = await asyncio.to_thread(session.append, "INBOX", None, None, raw)
            if status != "OK":
                raise RuntimeError(f"APPEND refused: {answer}")
            while not await database.fetchval(
                    "SELECT 1 FROM crm_inbound_email WHERE message_id = $1 AND status = 'logged'", message_id):
                if time.perf_counter() - started > LATENCY_TIMEOUT:
                    problems.append(f"run {repeat}: {message_id} not logged within {LATENCY_TIMEOUT:.0f} s")
                    break
                await asyncio.sleep(LOOK_EVERY)
            else:
                latencies.append(time.perf_counter() - started)
    finally:
        await asyncio.to_thread(session.logout)
    return latencies


# -- baseline -----------------------------------------------------------------------------------

def _baseline(imap_url: str) -> tuple[float, float]:
    """The bare reading loop in a process of its own: seconds from its launch to its end, and
    from its connection to its end."""
    started = time.perf_counter()
    launched = subprocess.run([sys.executable, "-m", "bench.imap", "read", imap_url], capture_output=True, text=True,
                              timeout=BACKLOG_TIMEOUT)
    seconds = time.perf_counter() - started
    if launched.returncode:
        raise RuntimeError(f"the bare reading loop failed: {launched.stderr}")
    count, inner = launched.stdout.split()
    if int(count) < MESSAGES:
        raise RuntimeError(f"the bare reading loop read {count} of {MESSAGES} messages")
    return seconds, float(inner)


async def _read_all(imap_url: str) -> tuple[int, float]:
    """Every message of the mailbox read as the listener reads it, and parsed by the standard
    library, nothing else: how many, and the seconds."""
    import email
    import email.policy

    from crm.inbound.server import ImapServer
    from jobs.inbound import Session

    started = time.perf_counter()
    session = await Session.open(ImapServer.from_url(imap_url))
    parsed = 0
    try:
        async for fetched in session.backlog(0):
            for _, raw in fetched:
                email.message_from_bytes(raw, policy=email.policy.default)
                parsed += 1
    finally:
        await session.close()
    return parsed, time.perf_counter() - started


if __name__ == "__main__" and sys.argv[1:2] == ["read"]:
    count, seconds = asyncio.run(_read_all(sys.argv[2]))
    print(count, seconds)
