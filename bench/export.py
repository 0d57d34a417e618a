"""What exporting 1,000,000 third parties to CSV costs on PostgreSQL (BENCHMARKS.md: at least
50,000 rows/s, peak memory under 200 MB).

The rows are generated straight into the tables with COPY (a tenth of them tagged, half with
a sales rep, a third with two custom values), then `crm export thirdparties --out FILE` runs
as its own process, as an operator would run it: rows/s is over its whole run (start-up
included) and the peak memory is that process's own peak resident set, so nothing else this
bench started is counted. The same export of a tenth of the rows shows whether memory stays
flat as rows grow.
"""
from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import asyncpg

ROWS = 1_000_000
CHUNK = 50_000  # rows generated and copied at a time
START = datetime(2026, 1, 1, 9, 0, tzinfo=timezone.utc)  # a tenth of the rows is created each day from then
TARGET_ROWS_PER_SECOND = 50_000
TARGET_PEAK_MB = 200
CRM = Path(sys.executable).with_name("crm")
# Linux counts the memory of the process that started a program in the program's peak resident
# set (wait4's ru_maxrss keeps the high-water mark of the memory exec replaced): started from this
# bench, which holds the generated rows, `crm export` would be charged ~170 MB it never used. A
# small Python process starts it instead, and hands back its exit status and peak in kilobytes.
LAUNCHER = """import os, subprocess, sys
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
"""
TOWNS = ("Paris", "Lyon", "Zürich", "Москва", "東京", "Tel Aviv", "Lisboa", "Kraków")
THIRDPARTY_COLUMNS = ("code", "name", "name_fold", "name_key", "alias", "type", "status", "email", "email_key",
                      "phone", "website", "address", "zip", "town", "country", "language", "vat_id", "vat_key",
                      "note_public", "note_private", "search_text", "created_at", "updated_at", "created_by",
                      "updated_by")


@dataclass(frozen=True)
class Run:
    rows: int
    seconds: float
    peak_mb: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds


@dataclass
class ExportResult:
    runs: list[Run] = field(default_factory=list)  # the full export, once per repeat
    small: Run | None = None  # a tenth of the rows, for memory flatness

    @property
    def rows_per_second(self) -> float:
        return statistics.median(run.rows_per_second for run in self.runs)

    @property
    def peak_mb(self) -> float:
        return max(run.peak_mb for run in self.runs)

    @property
    def target_met(self) -> bool:
        return self.rows_per_second >= TARGET_ROWS_PER_SECOND and self.peak_mb < TARGET_PEAK_MB

    def summary_rows(self) -> list[tuple[str, ...]]:
        return [(f"export, {ROWS:,} third parties to CSV", f"{self.rows_per_second:,.0f} rows/s, "
                 f"peak {self.peak_mb:.0f} MB", "-", "-",
                 f">= {TARGET_ROWS_PER_SECOND:,} rows/s, < {TARGET_PEAK_MB} MB", "yes" if self.target_met else "NO")]

    def detail_rows(self) -> list[tuple[str, ...]]:
        rows = [("export run", "rows", "seconds", "rows/s", "peak RSS")]
        for run in ([self.small] if self.small else []) + self.runs:
            rows.append(("crm export thirdparties", f"{run.rows:,}", f"{run.seconds:.1f}",
                         f"{run.rows_per_second:,.0f}", f"{run.peak_mb:.0f} MB"))
        return rows

    def as_json(self) -> dict:
        return {"rows": ROWS, "runs": [run.__dict__ for run in self.runs],
                "small": self.small.__dict__ if self.small else None,
                "median_rows_per_second": self.rows_per_second, "peak_mb": self.peak_mb,
                "target_rows_per_second": TARGET_ROWS_PER_SECOND, "target_peak_mb": TARGET_PEAK_MB,
                "target_met": self.target_met}


async def measure(database_url: str, repeats: int) -> ExportResult:
    """Fill the (fresh, migrated) database, then time the exports."""
    started = time.perf_counter()
    await fill(database_url, ROWS)
    print(f"  export: {ROWS:,} third parties generated in {time.perf_counter() - started:.0f} s", flush=True)
    result = ExportResult()
    with tempfile.TemporaryDirectory() as folder:
        first_day = f"created<{(START + timedelta(days=1)).date()}"
        result.small = await asyncio.to_thread(run_export, database_url, Path(folder), first_day)
        for repeat in range(1, repeats + 1):
            result.runs.append(await asyncio.to_thread(run_export, database_url, Path(folder), ""))
            run = result.runs[-1]
            print(f"  export, run {repeat}/{repeats}: {run.seconds:.1f} s, {run.rows_per_second:,.0f} rows/s, "
                  f"peak {run.peak_mb:.0f} MB", flush=True)
    return result


def run_export(database_url: str, folder: Path, chosen: str) -> Run:
    """`crm export thirdparties` in a process of its own: its time and its own peak memory."""
    out = folder / "export.csv"
    environ = {key: value for key, value in os.environ.items() if not key.startswith(("CRM_", "SLACK_"))}
    environ.update(DATABASE_URL=database_url, DATA_DIR=str(folder / "data"), CRM_SECRET_KEY="bench")
    arguments = [str(CRM), "export", "thirdparties", "--out", str(out)] + (["--filter", chosen] if chosen else [])
    started = time.perf_counter()
    launched = subprocess.run([sys.executable, "-c", LAUNCHER, *arguments], env=environ, capture_output=True)
    seconds = time.perf_counter() - started
    status, peak_kb = (int(word) for word in launched.stdout.split())
    if status:
        raise RuntimeError(f"crm export failed: {launched.stderr.decode()}")
    with out.open("rb") as written:
        rows = sum(1 for _ in written) - 1  # no generated value holds a line break
    return Run(rows, seconds, peak_kb / 1024)  # kilobytes on Linux


def _code(number: int) -> str:
    return f"CU2611-{number:07d}"


async def fill(database_url: str, rows: int) -> None:
    """Third parties with tags, reps and custom values, COPYed in chunks (memory stays small here too)."""
    connection = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
    try:
        now = START
        await connection.execute("INSERT INTO crm_tag (name) VALUES ('vip'), ('b2b'), ('north')")
        await connection.execute(
            "INSERT INTO crm_user (id, name, role, is_guest, created_at) VALUES "
            "('U0ALICE', 'alice', 'sales', false, $1), ('U0BOB', 'bob', 'sales', false, $1)", now)
        revenue = await connection.fetchval(
            "INSERT INTO crm_custom_field (applies_to, key, label, field_type, required, \"unique\", options, "
            "position, created_at) VALUES ('thirdparty', 'revenue', 'Revenue', 'amount', false, false, '[]', 0, $1) "
            "RETURNING id", now)
        segment = await connection.fetchval(
            "INSERT INTO crm_custom_field (applies_to, key, label, field_type, required, \"unique\", options, "
            "position, created_at) VALUES ('thirdparty', 'segment', 'Segment', 'select', false, false, "
            "'[{\"key\": \"retail\", \"label\": \"Retail\"}]', 1, $1) RETURNING id", now)
        tags = [row["id"] for row in await connection.fetch("SELECT id FROM crm_tag ORDER BY id")]
        for start in range(1, rows + 1, CHUNK):
            numbers = range(start, min(start + CHUNK, rows + 1))
            await connection.copy_records_to_table(
                "crm_thirdparty", columns=THIRDPARTY_COLUMNS, records=[_thirdparty(n, rows) for n in numbers])
            ids = dict(await connection.fetch(
                "SELECT code, id FROM crm_thirdparty WHERE code >= $1 AND code <= $2", _code(numbers[0]),
                _code(numbers[-1])))
            await connection.copy_records_to_table(
                "crm_thirdparty_tag", columns=("crm_thirdparty_id", "tag_id"),
                records=[(ids[_code(n)], tags[n % len(tags)]) for n in numbers if n % 10 == 0])
            await connection.copy_records_to_table(
                "crm_thirdparty_rep", columns=("crm_thirdparty_id", "user_id"),
                records=[(ids[_code(n)], "U0ALICE" if n % 4 else "U0BOB") for n in numbers if n % 2 == 0])
            await connection.copy_records_to_table(
                "crm_custom_value", columns=("field_id", "thirdparty_id", "value", "number"),
                records=[record for n in numbers if n % 3 == 0 for record in (
                    (revenue, ids[_code(n)], f"{n * 10}.50", Decimal(f"{n * 10}.50")), (segment, ids[_code(n)], "retail", None))])
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


def _thirdparty(number: int, rows: int) -> tuple:
    created = START + timedelta(days=number * 10 // rows)
    town = TOWNS[number % len(TOWNS)]
    name = f"Company {number} {town}"
    email = f"contact{number}@company{number}.example" if number % 3 else ""
    folded = name.lower()
    return (_code(number), name, folded, folded, "", ("customer", "prospect", "both")[number % 3],
            "active" if number % 20 else "closed", email, email, f"+33 1 23 45 {number % 100:02d} {number % 97:02d}",
            "", f"{number} rue de la Paix", f"{75000 + number % 20:05d}", town, "FR", "fr", "", "", "", "",
            f"{folded} {email}", created, created, "system", "system")
