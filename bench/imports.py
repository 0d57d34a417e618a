"""What importing third parties from CSV costs on PostgreSQL (issue 7: at least 2,000 rows/s).

A CSV of 50,000 rows in our export format is generated once: half of the rows keep a code
of their own, the others get the mask's next; a tenth are tagged, half have sales reps, a
third have two custom values; a row in 500 is refused (a bad email or type) and a row in
1,000 repeats an earlier row's code, so it updates that row. `crm import thirdparties FILE`
then runs as its own process on a fresh database, as an operator would run it: rows/s is
over its whole run, start-up included. Afterwards the bench checks what it wrote: the
counts the command printed, drawn codes unique and gapless, one COMPANY_CREATE a creation.

The baseline, on another fresh database in the same run: the same CSV read and its valid
rows inserted into the third-party table by a bare asyncpg INSERT loop (normal forms and
search text computed as the domain does, no tags, reps, custom values or events), one
transaction per 1,000 rows.
"""
from __future__ import annotations

import asyncio
import contextlib
import csv
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from bench.workload import ACTOR, BARE_COLUMNS, BARE_INSERT, BLANK_FIELDS, CODE_MASK, UTC, expected_codes
from crm import clock, customfields, search
from crm.context import Context
from crm.normalize import fold, name_key
from crm.permissions import Actor
from crm.settings import Settings

ROWS = 50_000
TARGET_ROWS_PER_SECOND = 2_000
BARE_TRANSACTION = 1_000  # rows the baseline commits at a time
CRM = Path(sys.executable).with_name("crm")
TOWNS = ("Paris", "Lyon", "Zürich", "Москва", "東京", "Tel Aviv", "Lisboa", "Kraków")
HEADER = ("code", "name", "alias", "type", "status", "email", "phone", "website", "address", "zip", "town",
          "country", "lang", "vat_id", "tags", "sales_reps", "created_at", "cf.revenue", "cf.segment")
COLUMN_FIELDS = {"lang": "language"}  # our export's column -> the third party's field, where they differ
ADMIN = Actor("U0BENCHADMIN", is_admin=True)
REPORT = re.compile(r"(\d+) created, (\d+) updated, (\d+) refused")
DRAWN_CODE = re.compile(r"^CU\d{4}-\d{5}$")


def refused(number: int) -> bool:
    return number % 1000 in (500, 700)


def updating(number: int) -> bool:
    """Whether row `number` repeats the code of row `number - 2` (which has one, being even too)."""
    return number % 1000 == 2 and number > 1000


@dataclass(frozen=True)
class Expected:
    created: int
    updated: int
    refused: int
    drawn: int  # creations that get the mask's next code


EXPECTED = Expected(
    created=sum(1 for n in range(1, ROWS + 1) if not refused(n) and not updating(n)),
    updated=sum(1 for n in range(1, ROWS + 1) if updating(n)),
    refused=sum(1 for n in range(1, ROWS + 1) if refused(n)),
    drawn=sum(1 for n in range(1, ROWS + 1) if n % 2),
)


@dataclass
class ImportResult:
    ours: list[float] = field(default_factory=list)  # seconds, one per repetition
    baseline: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # what a run wrote that it should not have

    @property
    def rows_per_second(self) -> float:
        return ROWS / statistics.median(self.ours)

    @property
    def baseline_rows_per_second(self) -> float:
        return ROWS / statistics.median(self.baseline)

    @property
    def ratio(self) -> float:
        return statistics.median(self.ours) / statistics.median(self.baseline)

    @property
    def target_met(self) -> bool:
        return self.rows_per_second >= TARGET_ROWS_PER_SECOND and not self.problems

    def summary_rows(self) -> list[tuple[str, ...]]:
        return [(f"import of {ROWS:,} third parties from CSV", f"{self.rows_per_second:,.0f} rows/s",
                 f"{self.baseline_rows_per_second:,.0f} rows/s", f"{self.ratio:.2f}x",
                 f">= {TARGET_ROWS_PER_SECOND:,} rows/s", "yes" if self.target_met else "NO")]

    def detail_rows(self) -> list[tuple[str, ...]]:
        rows = [("import run", "ours", "baseline (bare INSERTs)")]
        for repeat, (ours, baseline) in enumerate(zip(self.ours, self.baseline), start=1):
            rows.append((f"run {repeat}", f"{ours:.1f} s ({ROWS / ours:,.0f} rows/s)",
                         f"{baseline:.1f} s ({ROWS / baseline:,.0f} rows/s)"))
        return rows

    def as_json(self) -> dict:
        return {"rows": ROWS, "ours_seconds": self.ours, "baseline_seconds": self.baseline,
                "median_rows_per_second": self.rows_per_second,
                "baseline_median_rows_per_second": self.baseline_rows_per_second, "ratio": self.ratio,
                "target_rows_per_second": TARGET_ROWS_PER_SECOND, "target_met": self.target_met,
                "problems": self.problems}


FreshDatabase = Callable[[str], contextlib.AbstractAsyncContextManager[str]]


async def measure(server_url: str, repeats: int, fresh_database: FreshDatabase) -> ImportResult:
    """Each side `repeats` times, alternately, each time on a fresh database."""
    result = ImportResult()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "thirdparties.csv"
        write_csv(path)
        for repeat in range(1, repeats + 1):
            async with fresh_database(server_url) as url:
                seconds, problems = await time_ours(url, path, Path(folder))
            result.ours.append(seconds)
            result.problems += [f"run {repeat}: {problem}" for problem in problems]
            async with fresh_database(server_url) as url:
                result.baseline.append(await time_baseline(url, path))
            print(f"  import, run {repeat}/{repeats}: ours {seconds:.1f} s ({ROWS / seconds:,.0f} rows/s), "
                  f"baseline {result.baseline[-1]:.1f} s", flush=True)
    return result


def write_csv(path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(HEADER)
        writer.writerows(_record(number) for number in range(1, ROWS + 1))


def _record(number: int) -> tuple:
    town = TOWNS[number % len(TOWNS)]
    code = f"IMP-{number - 2 if updating(number) else number:06d}" if number % 2 == 0 else ""
    email = f"contact{number}@company{number}.example" if number % 3 else ""
    if number % 1000 == 500:
        email = "not-an-email"
    kind = "supplier" if number % 1000 == 700 else ("customer", "prospect", "both")[number % 3]
    tags = "vip;b2b" if number % 10 == 0 else ""
    reps = ("U0ALICE" if number % 4 else "U0ALICE;U0BOB") if number % 2 == 0 else ""
    revenue, segment = (f"{number * 10}.50", "retail") if number % 3 == 0 else ("", "")
    return (code, f"Company {number} {town}", "", kind, "active" if number % 20 else "closed", email,
            f"+33 1 23 45 {number % 100:02d} {number % 97:02d}", "", f"{number} rue de la Paix",
            f"{75000 + number % 20:05d}", town, "FR", "fr", "", tags, reps, "2026-01-01T09:00:00+00:00",
            revenue, segment)


async def time_ours(database_url: str, path: Path, folder: Path) -> tuple[float, list[str]]:
    """`crm import thirdparties` in a process of its own, and what it wrote that it should not have."""
    await _define_custom_fields(database_url)
    environ = {key: value for key, value in os.environ.items() if not key.startswith(("CRM_", "SLACK_"))}
    environ.update(DATABASE_URL=database_url, DATA_DIR=str(folder / "data"), CRM_SECRET_KEY="bench")
    started = time.perf_counter()
    done = await asyncio.to_thread(subprocess.run, [str(CRM), "import", "thirdparties", str(path)], env=environ,
                                   capture_output=True)
    seconds = time.perf_counter() - started
    counts = REPORT.search(done.stdout.decode())
    if counts is None:
        raise RuntimeError(f"crm import failed: {done.stderr.decode()}")
    return seconds, _count_problems(counts, done.stderr.decode()) + await _written_problems(database_url)


async def _define_custom_fields(database_url: str) -> None:
    ctx = Context(ADMIN, Settings(database_url=database_url, timezone=UTC), clock)
    await customfields.define(ctx, "thirdparty", "revenue", "Revenue", "amount")
    await customfields.define(ctx, "thirdparty", "segment", "Segment", "select",
                              options=[{"key": "retail", "label": "Retail"}])


def _count_problems(counts: re.Match, stderr: str) -> list[str]:
    found = tuple(int(count) for count in counts.groups())
    wanted = (EXPECTED.created, EXPECTED.updated, EXPECTED.refused)
    said = stderr.strip().splitlines()[-1:]  # an import the database stopped says where
    return [] if found == wanted else [f"created, updated, refused: {found}, expected {wanted} {said}"]


async def _written_problems(database_url: str) -> list[str]:
    """Drawn codes unique and gapless, and one COMPANY_CREATE a creation."""
    connection = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
    try:
        codes = sorted(code for code in await connection.fetchval("SELECT array_agg(code) FROM crm_thirdparty")
                       if DRAWN_CODE.match(code))
        events = await connection.fetchval("SELECT count(*) FROM crm_event WHERE code = 'COMPANY_CREATE'")
    finally:
        await connection.close()
    problems = []
    if codes != expected_codes(EXPECTED.drawn, clock.now()):
        problems.append(f"{len(codes)} drawn codes, {len(set(codes))} distinct, from {codes[:1]} to {codes[-1:]}; "
                        f"expected {EXPECTED.drawn} from 1 up")
    if events != EXPECTED.created:
        problems.append(f"{events} COMPANY_CREATE events for {EXPECTED.created} creations")
    return problems


async def time_baseline(database_url: str, path: Path) -> float:
    """The valid rows of the same CSV by bare INSERTs, BARE_TRANSACTION a transaction."""
    connection = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
    try:
        started = time.perf_counter()
        with path.open(encoding="utf-8", newline="") as stream:
            records = csv.reader(stream)
            header = [COLUMN_FIELDS.get(column, column) for column in next(records)]
            rows = (_bare_row(dict(zip(header, record)), number)
                    for number, record in enumerate(records, start=1) if not refused(number) and not updating(number))
            while True:
                chunk = [row for _, row in zip(range(BARE_TRANSACTION), rows)]
                if not chunk:
                    break
                async with connection.transaction():
                    for row in chunk:
                        await connection.execute(BARE_INSERT, *row)
        return time.perf_counter() - started
    finally:
        await connection.close()


def _bare_row(record: dict, number: int) -> list:
    """What the domain would store for a row of the CSV, with its code or the mask's."""
    now = clock.now()
    values = {**BLANK_FIELDS, **{name: record[name] for name in BLANK_FIELDS if name in record}}
    row = {
        "created_at": now, "updated_at": now, "created_by": ACTOR.id, "updated_by": ACTOR.id,
        "code": record["code"] or CODE_MASK.render(number, now, UTC), **values,
        "name_fold": fold(values["name"]), "name_key": name_key(values["name"]), "email_key": values["email"].lower(),
        "vat_key": "", "search_text": search.haystack(values, []),
    }
    return [row[column] for column in BARE_COLUMNS]
