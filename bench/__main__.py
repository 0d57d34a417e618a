"""`make bench`: what creating third parties costs on PostgreSQL, how fast Slack's requests
are acknowledged, and what rendering PDFs costs, each beside a baseline measured in the
same run (see BENCHMARKS.md). `--only codes`, `--only ack` or `--only pdf` runs one of them.

Codes measures, each on a fresh database created on the server CRM_BENCH_POSTGRES names:

- third parties created one per call through the domain layer (`crm.thirdparties.create`:
  validation, customer code, search text, COMPANY_CREATE event) by one process;
- customer codes: the same by 4 processes at once, 250 each; the codes must come out
  unique and gapless.

The baseline of each is a bare INSERT loop of the same rows (same columns, asyncpg, one
transaction per row) in the same number of processes. Each side runs `--repeats` times,
alternately, and the medians are quoted. The ratio is our median time divided by the
baseline's: 1.0 would be as fast as bare INSERTs, 3.0 three times as slow. Targets are
ceilings on it.

The ack measure (bench/ack.py): `crm web` answering signed `/crm search` and `/crm show`,
50 at a time on 10,000 third parties, beside a bare Bolt app that only acks, and two
`crm web` processes beside one.

The PDF measure (bench/pdf.py), which needs no database: a 2-page, 40-line proposal
rendered by a pool of 2 worker processes beside one process, and how late a 10 ms ticker on
the event loop runs meanwhile. Results also go to bench/results/latest.json.

The search measure (bench/search.py, `--only search`): `/crm search` over 1,000,000 generated
third parties beside an `ILIKE '%term%'` scan of the same rows, and `/crm show` resolution.

The export measure (bench/export.py, `--only export`): `crm export thirdparties` of
1,000,000 generated third parties to CSV in a process of its own, its rows/s and peak memory.

The import measure (bench/imports.py, `--only import`): `crm import thirdparties` of a
generated 50,000-row CSV in our export format (tags, reps, custom values, some refused rows
and updates) in a process of its own on a fresh database, its rows/s beside a bare asyncpg
INSERT loop of the same rows (one transaction per 1,000), and whether the drawn codes came
out unique and gapless.

The campaign measure (bench/campaign.py, `--only campaign`): a campaign's sending to 2,000 and
20,000 recipients in a process of its own, to an aiosmtpd sink in another, beside the sink's
ceiling (prebuilt messages over as many reused connections) and a naive one-connection-per-
message loop; messages/s and peak memory.

The IMAP measure (bench/imap.py, `--only imap`): a backlog of 5,000 messages APPENDed to a Dovecot
of its own (2-20 KB each, a tenth with a 100 KB attachment, all from known contacts) taken by
`crm worker` in a process of its own on a fresh database, its messages/s and peak memory, beside
a bare aioimaplib loop that fetches and parses the same messages in the same batches; then the
delay from APPEND to event of 20 messages delivered one at a time to the idle listener.

The App Home measure (bench/home.py, `--only home`): a rep owning 5,000 third parties and 20,000
events (and 600 open documents), the Home's queries and view built in this process and the full
`app_home_opened` -> views.publish round trip through `crm web`'s app, median and 95th percentile,
and the view's block count (at most Slack's 100).
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import AsyncIterator

from bench import ack, campaign, export, home, imap, imports, pdf, search
from bench.workload import audit_codes, bare_inserter, domain_creator, expected_codes, run_in_processes
from crm import clock, db as crm_db
from tests.database import create_postgres_database, drop_postgres_database

RESULTS_FILE = Path(__file__).parent / "results" / "latest.json"
DEFAULT_REPEATS = 3


@dataclass(frozen=True)
class Measure:
    name: str
    processes: int
    per_process: int
    target_ratio: float | None  # our time at most this many times the baseline's; None: no target

    @property
    def rows(self) -> int:
        return self.processes * self.per_process


MEASURES = (
    Measure("third parties, 1 process x 10,000", 1, 10_000, None),
    Measure("customer codes, 4 processes x 250", 4, 250, 3.0),
)


@dataclass
class Result:
    measure: Measure
    ours: list[float]  # seconds, one per repetition
    baseline: list[float]
    code_problems: list[str]  # duplicates, gaps… over every repetition of ours

    @property
    def ratio(self) -> float:
        return statistics.median(self.ours) / statistics.median(self.baseline)

    @property
    def target_met(self) -> bool | None:
        if self.measure.target_ratio is None:
            return None
        return self.ratio <= self.measure.target_ratio and not self.code_problems

    def as_json(self) -> dict:
        ours, baseline = statistics.median(self.ours), statistics.median(self.baseline)
        return {
            "measure": self.measure.name,
            "processes": self.measure.processes,
            "rows": self.measure.rows,
            "ours_seconds": self.ours,
            "baseline_seconds": self.baseline,
            "ours_median_seconds": ours,
            "baseline_median_seconds": baseline,
            "ours_rows_per_second": self.measure.rows / ours,
            "baseline_rows_per_second": self.measure.rows / baseline,
            "ratio": self.ratio,
            "target_ratio": self.measure.target_ratio,
            "target_met": self.target_met,
            "code_problems": self.code_problems,
        }


@contextlib.asynccontextmanager
async def fresh_database(server_url: str) -> AsyncIterator[str]:
    """A new migrated database, connected in this process, dropped afterwards."""
    url = await create_postgres_database(server_url, prefix="crm_bench")
    try:
        await crm_db.connect(url)
        try:
            await crm_db.upgrade(url)
            yield url
        finally:
            await crm_db.close()
    finally:
        await drop_postgres_database(url)


async def time_ours(measure: Measure, server_url: str) -> tuple[float, list[str]]:
    async with fresh_database(server_url) as url:
        expected = expected_codes(measure.rows, clock.now())
        seconds = await run_in_processes(domain_creator, url, measure.processes, measure.per_process)
        return seconds, (await audit_codes()).problems(expected)


async def time_baseline(measure: Measure, server_url: str) -> float:
    async with fresh_database(server_url) as url:
        return await run_in_processes(bare_inserter, url, measure.processes, measure.per_process)


async def run_measure(measure: Measure, server_url: str, repeats: int) -> Result:
    result = Result(measure, [], [], [])
    for repeat in range(1, repeats + 1):
        seconds, problems = await time_ours(measure, server_url)
        result.ours.append(seconds)
        result.code_problems += [f"run {repeat}: {problem}" for problem in problems]
        result.baseline.append(await time_baseline(measure, server_url))
        print(f"  {measure.name}, run {repeat}/{repeats}: ours {seconds:.2f} s, "
              f"baseline {result.baseline[-1]:.2f} s", flush=True)
    return result


def table(results: list[Result], ack_result: ack.AckResult | None, pdf_result: pdf.PdfResult | None) -> str:
    header = ("measure", "ours (median)", "baseline (median)", "ratio", "target", "met")
    rows = [header] + [_table_row(result) for result in results]
    rows += ack_result.summary_rows() if ack_result else []
    rows += pdf_result.summary_rows() if pdf_result else []
    return aligned(rows)


def aligned(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows)


def _table_row(result: Result) -> tuple[str, ...]:
    measure = result.measure
    met = {None: "-", True: "yes", False: "NO"}[result.target_met]
    target = f"<= {measure.target_ratio:g}x" if measure.target_ratio else "-"
    return (measure.name, _figure(measure, result.ours), _figure(measure, result.baseline),
            f"{result.ratio:.2f}x", target, met)


def _figure(measure: Measure, seconds: list[float]) -> str:
    median = statistics.median(seconds)
    return f"{median:.2f} s ({measure.rows / median:,.0f} rows/s)"


def write_results(results: list[Result], ack_result: ack.AckResult | None, pdf_result: pdf.PdfResult | None,
                  repeats: int, search_result: search.SearchResult | None = None,
                  import_result: imports.ImportResult | None = None,
                  campaign_result: campaign.CampaignResult | None = None,
                  export_result: export.ExportResult | None = None,
                  imap_result: imap.ImapResult | None = None,
                  home_result: home.HomeResult | None = None) -> None:
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "repeats": repeats,
        "measures": [result.as_json() for result in results],
    }
    if ack_result is not None:
        document["ack"] = ack_result.as_json()
    if pdf_result is not None:
        document["pdf"] = pdf_result.as_json()
    if search_result is not None:
        document["search"] = search_result.as_json()
    if import_result is not None:
        document["import"] = import_result.as_json()
    if campaign_result is not None:
        document["campaign"] = campaign_result.as_json()
    if export_result is not None:
        document["export"] = export_result.as_json()
    if imap_result is not None:
        document["imap"] = imap_result.as_json()
    if home_result is not None:
        document["home"] = home_result.as_json()
    RESULTS_FILE.write_text(json.dumps(document, indent=2) + "\n")


async def run_ack(server_url: str, repeats: int) -> ack.AckResult:
    async with fresh_database(server_url) as url:
        return await ack.measure(url, repeats)


async def run_export(server_url: str, repeats: int) -> export.ExportResult:
    async with fresh_database(server_url) as url:
        return await export.measure(url, repeats)


async def main(server_url: str | None, repeats: int,
               only: str | None) -> tuple[list[Result], ack.AckResult | None, imports.ImportResult | None,
                                          imap.ImapResult | None]:
    results = []
    if only in (None, "codes"):
        print(f"Each side runs {repeats} times, alternately, each time on a fresh database; medians quoted.")
        results = [await run_measure(measure, server_url, repeats) for measure in MEASURES]
    ack_result = await run_ack(server_url, repeats) if only in (None, "ack") else None
    pdf_result = await pdf.measure(repeats) if only in (None, "pdf") else None
    search_result = await search.measure(server_url) if only in (None, "search") else None
    export_result = await run_export(server_url, repeats) if only in (None, "export") else None
    import_result = await imports.measure(server_url, repeats, fresh_database) if only in (None, "import") else None
    campaign_result = (await campaign.measure(server_url, repeats, fresh_database)
                       if only in (None, "campaign") else None)
    imap_result = await imap.measure(server_url, repeats, fresh_database) if only in (None, "imap") else None
    home_result = await home.measure(server_url, repeats, fresh_database) if only in (None, "home") else None
    if results or ack_result or pdf_result:
        print()
        print(table(results, ack_result, pdf_result))
    for result in results:
        status = "; ".join(result.code_problems) or "unique and gapless in every run"
        print(f"codes of '{result.measure.name}': {status}")
    if ack_result is not None:
        print()
        print(aligned(ack_result.detail_rows()))
        print(f"Slack requests: {len(ack_result.problems)} failures" if ack_result.problems
              else "Slack requests: every answer right (HTTP 200, acked within 3 s, answers name their record)")
    if pdf_result is not None:
        print()
        print(aligned(pdf_result.detail_rows()))
        print(f"PDF: {pdf_result.pages} pages each, {pdf.DOCUMENTS} documents per run")
    if export_result is not None:
        print()
        print(aligned(export_result.summary_rows()))
        print(aligned(export_result.detail_rows()))
    if import_result is not None:
        print()
        print(aligned([("measure", "ours (median)", "baseline (median)", "ratio", "target", "met"),
                       *import_result.summary_rows()]))
        print(aligned(import_result.detail_rows()))
        print("import: " + ("; ".join(import_result.problems) or "counts as expected, drawn codes unique and gapless, "
                            "one COMPANY_CREATE a creation"))
    if search_result is not None:
        print()
        print(aligned([("measure", "ours p95", "ILIKE p95", "ratio", "target", "met"),
                       *search_result.summary_rows()]))
        print(aligned(search_result.detail_rows()))
        print(f"search data: generated in {search_result.generation_seconds:.0f} s, "
              f"indexed by migration 0006 in {search_result.index_seconds:.0f} s")
    if campaign_result is not None:
        print()
        print(aligned([("measure", "ours (median)", "baseline (median)", "ratio", "target", "met"),
                       *campaign_result.summary_rows()]))
    if imap_result is not None:
        print()
        print(aligned([("measure", "ours (median)", "baseline (median)", "ratio", "target", "met"),
                       *imap_result.summary_rows()]))
        print(aligned(imap_result.detail_rows()))
        print("imap: " + ("; ".join(imap_result.problems) or f"every message logged once on its third party's "
                          f"timeline; backlog APPENDed in {imap_result.append_seconds:.0f} s, pipelined"))
    if home_result is not None:
        print()
        print(aligned([("measure", "ours", "baseline", "ratio", "target", "met"), *home_result.summary_rows()]))
        print(aligned(home_result.detail_rows()))
        print("home: " + ("; ".join(home_result.problems) or "every Home held the portfolio"))
    write_results(results, ack_result, pdf_result, repeats, search_result, import_result, campaign_result,
                  export_result, imap_result,
                  home_result=home_result)
    print(f"written to {RESULTS_FILE}")
    return results, ack_result, import_result, imap_result


if __name__ == "__main__":  # spawned worker processes import this module too
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=DEFAULT_REPEATS, help="runs of each side (default 3)")
    parser.add_argument("--only", choices=("codes", "ack", "pdf", "export", "search", "import", "campaign", "imap",
                                                  "home"),
                        help="run one measure (default: all)")
    arguments = parser.parse_args()
    server = os.environ.get("CRM_BENCH_POSTGRES")
    if not server and arguments.only != "pdf":
        sys.exit("Set CRM_BENCH_POSTGRES to a PostgreSQL server URL (make bench does), or run --only pdf.")
    results, ack_result, import_result, imap_result = asyncio.run(main(server, arguments.repeats, arguments.only))
    failed = (any(result.code_problems for result in results) or bool(ack_result and ack_result.problems)
              or bool(import_result and import_result.problems) or bool(imap_result and imap_result.problems))
    sys.exit(1 if failed else 0)  # a slow figure is still a run
