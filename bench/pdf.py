"""What a commercial document's PDF costs, and whether rendering them keeps the event loop free.

The document: a 2-page proposal of 40 lines, in French (labels from the catalog, figures
by Babel). Sides, each run `--repeats` times, alternately, medians quoted:

- the pool: 20 of them rendered at once through `PdfRenderer` with 2 worker processes
  (warmed up before timing), awaited from the event loop;
- the baseline: the same 20 rendered one after another by `render_pdf` in this process.

While the pool renders, a ticker on the event loop sleeps 10 ms at a time and records how
late each wake-up is. Targets: the pool renders at least 1.8x the documents per second of
one process; no tick is late by more than 100 ms (its 99th percentile is reported too).

The pool needs both cores: each run also reports how many cores other processes of the
machine kept busy meanwhile (from /proc), which the ratio cannot be read without.
"""
from __future__ import annotations

import asyncio
import io
import multiprocessing
import os
import statistics
import time
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from pypdf import PdfReader

from crm.documents.pdf import PdfRenderer, render_pdf
from crm.documents.printable import Company, Party, PrintableDocument, PrintableLine
from crm.money import Line, document_totals, line_totals

DOCUMENTS = 20
LINES = 40
PAGES = 2
WORKERS = 2
TICK = 0.010  # seconds
TARGET_SPEEDUP = 1.8  # the pool's documents per second over one process's
TARGET_WORST_LATENESS = 0.100  # seconds
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def proposal(number: int) -> PrintableDocument:
    """The measured document; `number` makes each of the batch a document of its own."""
    lines = [Line(Decimal(index % 4 + 1), Decimal("49.90") + index, Decimal(10 if index % 6 == 0 else 0),
                  Decimal("5.5") if index % 3 == 0 else Decimal(20)) for index in range(LINES)]
    printed = tuple(_printed(index, line) for index, line in enumerate(lines))
    return PrintableDocument(
        type="proposal", ref=f"PR2611-{number:05}", status="validated", language="fr", currency="EUR",
        issued_on=date(2026, 11, 28), valid_until=date(2026, 12, 28),
        company=Company("Widgets SARL", address="1 rue de la Paix", zip="75002", town="Paris", country="FR",
                        vat_id="FR12345678901", email="ventes@widgets.example"),
        recipient=Party("Acme Industries", address="5 avenue des Champs", zip="69001", town="Lyon", country="FR",
                        vat_id="FR98765432109", attention="Jeanne Martin"),
        rep_name="Alice Durand", lines=printed, totals=document_totals(lines, "EUR"),
        note_public="Paiement à 30 jours.",
        description_html="<p>Notre proposition pour <strong>votre site</strong></p>",
    )


def _printed(index: int, line: Line) -> PrintableLine:
    figures = line_totals(line, "EUR")
    description = "Delivered on site, tested with your team" if index % 8 == 0 else ""
    return PrintableLine(f"SRV-{index:03} - Service {index}", description, line.quantity, "h", line.unit_price,
                         line.discount_percent, line.vat_rate, figures.excl_tax, figures.vat)


@dataclass
class PdfResult:
    repeats: int
    pages: int
    single_seconds: list[float] = field(default_factory=list)  # one per run: DOCUMENTS one after another
    pool_seconds: list[float] = field(default_factory=list)  # one per run: DOCUMENTS at once through the pool
    lateness: list[list[float]] = field(default_factory=list)  # per run: how late each tick was, seconds
    single_others: list[float] = field(default_factory=list)  # per run: cores other processes kept busy
    pool_others: list[float] = field(default_factory=list)

    @property
    def single_rate(self) -> float:
        return DOCUMENTS / statistics.median(self.single_seconds)

    @property
    def pool_rate(self) -> float:
        return DOCUMENTS / statistics.median(self.pool_seconds)

    @property
    def speedup(self) -> float:
        return self.pool_rate / self.single_rate

    @property
    def worst_lateness(self) -> float:
        return max(max(run) for run in self.lateness)

    @property
    def p99_lateness(self) -> float:
        """The median over runs of each run's 99th percentile."""
        return statistics.median(percentile(run, 0.99) for run in self.lateness)

    @property
    def targets_met(self) -> tuple[bool, bool]:
        return self.speedup >= TARGET_SPEEDUP, self.worst_lateness <= TARGET_WORST_LATENESS

    def summary_rows(self) -> list[tuple[str, ...]]:
        """Rows of the bench's table: measure, ours, baseline, ratio, target, met."""
        speedup_met, lateness_met = self.targets_met
        return [
            (f"PDF, {PAGES}-page {LINES}-line proposal, pool of {WORKERS}", f"{self.pool_rate:.2f} docs/s",
             f"{self.single_rate:.2f} docs/s (1 process)", f"{self.speedup:.2f}x", f">= {TARGET_SPEEDUP:g}x",
             _yes(speedup_met)),
            (f"event loop tick late, {DOCUMENTS} PDFs rendering", f"worst {_ms(self.worst_lateness)}",
             f"p99 {_ms(self.p99_lateness)}", "-", f"worst <= {_ms(TARGET_WORST_LATENESS)}", _yes(lateness_met)),
        ]

    def detail_rows(self) -> list[tuple[str, ...]]:
        header = ("PDF run", "1 process", "pool", "ratio", "ticks", "tick p99 late", "worst",
                  "other load (cores): 1 process", "pool")
        runs = zip(self.single_seconds, self.pool_seconds, self.lateness, self.single_others, self.pool_others)
        return [header] + [
            (str(number), f"{single:.2f} s", f"{pool:.2f} s", f"{single / pool:.2f}x", str(len(ticks)),
             _ms(percentile(ticks, 0.99)), _ms(max(ticks)), f"{single_others:.2f}", f"{pool_others:.2f}")
            for number, (single, pool, ticks, single_others, pool_others) in enumerate(runs, 1)]

    def as_json(self) -> dict:
        speedup_met, lateness_met = self.targets_met
        return {
            "measure": f"PDF of a {PAGES}-page, {LINES}-line proposal",
            "documents": DOCUMENTS, "pages": self.pages, "workers": WORKERS, "cpus": os.cpu_count(),
            "repeats": self.repeats,
            "single_process_seconds": self.single_seconds, "pool_seconds": self.pool_seconds,
            "other_load_cores_single_process": self.single_others, "other_load_cores_pool": self.pool_others,
            "single_process_documents_per_second": self.single_rate, "pool_documents_per_second": self.pool_rate,
            "speedup": self.speedup, "target_speedup": TARGET_SPEEDUP, "speedup_met": speedup_met,
            "tick_seconds": TICK, "tick_lateness_p99_seconds": self.p99_lateness,
            "tick_lateness_worst_seconds": self.worst_lateness,
            "target_worst_lateness_seconds": TARGET_WORST_LATENESS, "lateness_met": lateness_met,
        }


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def measure(repeats: int) -> PdfResult:
    documents = [proposal(number) for number in range(1, DOCUMENTS + 1)]
    first = render_pdf(documents[0])  # also warms this process up, as the pool's workers are
    result = PdfResult(repeats, len(PdfReader(io.BytesIO(first)).pages))
    async with PdfRenderer(WORKERS) as renderer:
        await asyncio.gather(*(renderer.render(document) for document in documents[:WORKERS]))
        for repeat in range(1, repeats + 1):
            with OtherLoad() as other_load:
                result.single_seconds.append(_render_one_after_another(documents))
            result.single_others.append(other_load.cores)
            with OtherLoad() as other_load:
                seconds, lateness = await _render_through_pool(renderer, documents)
            result.pool_others.append(other_load.cores)
            result.pool_seconds.append(seconds)
            result.lateness.append(lateness)
            print(f"  PDF, run {repeat}/{repeats}: one process {result.single_seconds[-1]:.2f} s, "
                  f"pool {seconds:.2f} s, worst tick {_ms(max(lateness))}, other processes kept "
                  f"{other_load.cores:.2f} cores busy", flush=True)
    return result


class OtherLoad:
    """How many cores, on average over a `with` block, processes other than this one and its
    children kept busy."""

    def __enter__(self) -> OtherLoad:
        self._started = (time.perf_counter(), _machine_busy_seconds(), _our_cpu_seconds())
        return self

    def __exit__(self, *exc_info) -> None:
        wall, machine, ours = (now - then for now, then in zip(
            (time.perf_counter(), _machine_busy_seconds(), _our_cpu_seconds()), self._started))
        self.cores = max(0.0, machine - ours) / wall


def _machine_busy_seconds() -> float:
    """CPU time spent by all processes since boot (/proc/stat: every state but idle and iowait)."""
    user, nice, system, idle, iowait, *rest = map(int, Path("/proc/stat").read_text().split("\n")[0].split()[1:])
    return (user + nice + system + sum(rest[:3])) / CLOCK_TICKS


def _our_cpu_seconds() -> float:
    """CPU time of this process and of its live children (the pool's workers)."""
    pids = [os.getpid()] + [child.pid for child in multiprocessing.active_children()]
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS


def _render_one_after_another(documents: list[PrintableDocument]) -> float:
    started = time.perf_counter()
    for document in documents:
        render_pdf(document)
    return time.perf_counter() - started


async def _render_through_pool(renderer: PdfRenderer, documents: list[PrintableDocument]) -> tuple[float, list[float]]:
    lateness: list[float] = []
    ticker = asyncio.create_task(_tick(lateness))
    started = time.perf_counter()
    pdfs = await asyncio.gather(*(renderer.render(document) for document in documents))
    seconds = time.perf_counter() - started
    ticker.cancel()
    assert all(pdf.startswith(b"%PDF-") for pdf in pdfs)
    return seconds, lateness


async def _tick(lateness: list[float]) -> None:
    while True:
        due = time.perf_counter() + TICK
        await asyncio.sleep(TICK)
        lateness.append(max(0.0, time.perf_counter() - due))


def _yes(met: bool) -> str:
    return "yes" if met else "NO"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"
