"""Exports (SPEC §6): the query on this run's backend, and `crm export` as a real command.

The command runs against a SQLite file filled by `fill_database` in a subprocess of its own,
so that the session's Tortoise connection is never touched.
"""
import contextlib
import csv
import fcntl
import io
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from datetime import datetime, timezone
from pathlib import Path

import openpyxl
import pytest

from crm import clock, contacts, customfields, db as crm_db, exports, thirdparties
from crm.exports import export_thirdparties
from models import ThirdParty
from tests import database
from tests.conftest import ADMIN, context

ROOT = Path(__file__).resolve().parent.parent
CRM = Path(sys.executable).with_name("crm")
HEADER = ["code", "name", "alias", "type", "status", "email", "phone", "website", "address", "zip", "town",
          "country", "lang", "vat_id", "tags", "sales_reps", "created_at",
          "cf.budget", "cf.since", "cf.segments", "cf.partner"]
FORMULA = '=HYPERLINK("http://evil.example","click")'
CREATED_AT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?[+-]\d{2}:\d{2}")

# What `fill` creates: (values, tags, sales reps, custom values).
RECORDS = [
    ({"name": "Acme, Inc.", "type": "customer", "alias": "ACW", "email": "Sales@ACME.example",
      "phone": "+33 1 23 45 67 89", "website": "acme.example", "address": '1 "Grand" Rue\nBât. B', "zip": "75002",
      "town": "Paris", "country": "fr", "language": "fr", "vat_id": "FR 12 345", "note_private": "not exported"},
     ["vip", "b2b", "north"], ["U0BOB", "U0ALICE"],
     {"budget": "1234.50", "since": "2020-01-31", "segments": "ent;smb", "partner": "yes"}),
    ({"name": FORMULA, "type": "prospect", "alias": "@SUM(A1)"}, [], [], {"budget": "-5.00"}),
    ({"name": "Société Générale — Zürich 日本", "type": "both", "town": "Zürich"}, ["vip"], ["U0BOB"], {}),
    ({"name": "Initech", "type": "customer", "status": "closed"}, [], [], {"partner": "no"}),
]
# The cells of each record as a spreadsheet shows them, without code and created_at.
CELLS = [
    ["Acme, Inc.", "ACW", "customer", "active", "sales@acme.example", "+33123456789", "https://acme.example",
     '1 "Grand" Rue\nBât. B', "75002", "Paris", "FR", "fr", "FR 12 345", "b2b;north;vip", "U0ALICE;U0BOB",
     "1234.50", "2020-01-31", "smb;ent", "true"],
    [FORMULA, "@SUM(A1)", "prospect", "active", "", "", "", "", "", "", "", "", "", "", "",
     "-5.00", "", "", ""],
    ["Société Générale — Zürich 日本", "", "both", "active", "", "", "", "", "", "Zürich", "", "", "", "vip", "U0BOB",
     "", "", "", ""],
    ["Initech", "", "customer", "closed", "", "", "", "", "", "", "", "", "", "", "",
     "", "", "", "false"],
]
# CSV cells a spreadsheet would run as formulas carry a leading quote; "-5.00" is a plain number
# and "+33123456789" a phone number (E.164).
ESCAPED_IN_CSV = {FORMULA, "@SUM(A1)"}
CODES = [f"CU2603-{n:05d}" for n in range(1, len(RECORDS) + 1)]


async def fill() -> None:
    """Custom fields and the third parties of RECORDS, through the domain."""
    clock.freeze(datetime(2026, 3, 15, 12, 0, tzinfo=timezone.utc))
    try:
        await customfields.define(context(ADMIN), "thirdparty", "budget", "Budget", "amount")
        await customfields.define(context(ADMIN), "thirdparty", "since", "Client since", "date")
        await customfields.define(context(ADMIN), "thirdparty", "segments", "Segments", "multiselect", options=[
            {"key": "smb", "label": "Small business"}, {"key": "mid", "label": "Mid-market"},
            {"key": "ent", "label": "Enterprise"}])
        await customfields.define(context(ADMIN), "thirdparty", "partner", "Partner", "boolean")
        for values, tags, reps, custom in RECORDS:
            made = await thirdparties.create(context(), values, tags=tags, sales_reps=reps, custom=custom)
            if made.name == "Acme, Inc.":
                await contacts.create(context(), made.id, {"first_name": "Jane", "email": "jane@acme.example"})
        await contacts.create(context(), (await ThirdParty.get(name="Initech")).id, {"first_name": "Ann"})
    finally:
        clock.freeze(None)


async def fill_database(database_url: str) -> None:
    """Run by the subprocess that prepares the command's database."""
    await crm_db.connect(database_url)
    try:
        await crm_db.upgrade(database_url)
        await fill()
    finally:
        await crm_db.close()


def expected_csv_rows() -> list[list[str]]:
    return [[code, *(f"'{cell}" if cell in ESCAPED_IN_CSV else cell for cell in cells)]
            for code, cells in zip(CODES, CELLS)]


def without_created_at(row: list) -> list:
    return row[:16] + row[17:]


def check_created_at(text: str) -> datetime:
    assert CREATED_AT.fullmatch(text), text
    moment = datetime.fromisoformat(text)
    assert moment.utcoffset() is not None
    return moment


def check_csv(data: bytes) -> list[list[str]]:
    """The export's rows after checking the header, the encoding and RFC 4180 quoting."""
    assert data.startswith(("code,name,alias,type,status,email,phone").encode())  # no byte-order mark
    text = data.decode("utf-8")
    assert text.endswith("\r\n")
    assert f'"\'{FORMULA.replace(chr(34), chr(34) * 2)}"' in text    # quoted, quotes doubled, leading '
    assert '"Acme, Inc."' in text and '"1 ""Grand"" Rue\nBât. B"' in text
    [header, *rows] = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    assert header == HEADER
    assert [without_created_at(row) for row in rows] == expected_csv_rows()
    for row in rows:
        check_created_at(row[16])
    return rows


def check_xlsx(path: Path) -> None:
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == ["thirdparties"]
    sheet = workbook.active
    [header, *rows] = [list(row) for row in sheet.iter_rows()]
    assert [cell.value for cell in header] == HEADER
    assert {cell.data_type for row in rows for cell in row if cell.value is not None} == {"s"}  # never "f"
    values = [[cell.value for cell in row] for row in rows]
    assert [without_created_at(row) for row in values] == [
        [code, *(cell or None for cell in cells)] for code, cells in zip(CODES, CELLS)]
    assert values[1][1] == FORMULA
    for row in values:
        check_created_at(row[16])


# --- the export query, on this run's backend ---

@pytest.fixture(scope="class")
async def filled(migrated):
    await database.empty_all_tables()
    await fill()


class TestExportQuery:
    """Exports only read: the class fills the database once."""

    async def test_csv(self, filled):
        stream = io.StringIO(newline="")
        assert await export_thirdparties(context(), stream, "csv") == len(RECORDS)
        rows = check_csv(stream.getvalue().encode("utf-8"))
        stored = {tp.code: tp.created_at for tp in await ThirdParty.all()}
        assert {row[0]: datetime.fromisoformat(row[16]) for row in rows} == stored

    async def test_xlsx(self, filled, tmp_path):
        path = tmp_path / "thirdparties.xlsx"
        assert await export_thirdparties(context(), str(path), "xlsx") == len(RECORDS)
        check_xlsx(path)

    async def test_rows_are_read_in_batches_one_per_third_party(self, filled):
        batches = [batch async for batch in exports.thirdparty_batches(context(), batch=3)]
        assert [len(batch[0]) for batch in batches] == [3, 1]
        assert all(len(batch) == len(HEADER) for batch in batches)  # one sequence per column
        rows = [row for batch in batches for row in zip(*batch)]
        assert [row[0] for row in rows] == CODES
        assert rows[0][14:16] == (["b2b", "north", "vip"], ["U0ALICE", "U0BOB"])


async def test_an_empty_registry_exports_the_header(db):
    stream = io.StringIO(newline="")
    assert await export_thirdparties(context(), stream, "csv") == 0
    assert stream.getvalue() == ",".join(HEADER[:17]) + "\r\n"
    with pytest.raises(ValueError):
        await export_thirdparties(context(), io.StringIO(), "pdf")


# --- the command ---

def run_crm(*args: str, database_url: str, cwd: Path) -> subprocess.CompletedProcess:
    environ = {key: value for key, value in os.environ.items() if not key.startswith(("CRM_", "SLACK_"))}
    environ.update(DATABASE_URL=database_url, DATA_DIR=str(cwd / "data"), CRM_SECRET_KEY="test")
    return subprocess.run([str(CRM), *args], cwd=cwd, env=environ, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def filled_url(tmp_path_factory) -> str:
    url = f"sqlite://{tmp_path_factory.mktemp('cli') / 'crm.sqlite3'}"
    subprocess.run(
        [sys.executable, "-c", "import asyncio, sys; from tests.test_cli import fill_database; "
                               "asyncio.run(fill_database(sys.argv[1]))", url],
        cwd=ROOT, check=True, timeout=60,
    )
    return url


def test_crm_export_csv_to_a_file(filled_url, tmp_path):
    result = run_crm("export", "thirdparties", "--out", "x.csv", database_url=filled_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"exported {len(RECORDS)} third parties".encode() in result.stderr
    check_csv((tmp_path / "x.csv").read_bytes())


@pytest.mark.parametrize("args", [["--format", "xlsx", "--out", "x.xlsx"], ["--out", "x.xlsx"]])
def test_crm_export_xlsx(filled_url, tmp_path, args):
    result = run_crm("export", "thirdparties", *args, database_url=filled_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    check_xlsx(tmp_path / "x.xlsx")


def test_crm_export_writes_csv_to_standard_output_without_out(filled_url, tmp_path):
    result = run_crm("export", "thirdparties", database_url=filled_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    check_csv(result.stdout)


def test_crm_export_with_a_filter(filled_url, tmp_path):
    result = run_crm("export", "thirdparties", "--filter", "tag:vip -status:closed", "--out", "vip.csv",
                     database_url=filled_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert b"exported 2 third parties" in result.stderr
    rows = list(csv.reader(io.StringIO((tmp_path / "vip.csv").read_text("utf-8"), newline="")))
    assert [row[1] for row in rows[1:]] == ["Acme, Inc.", "Société Générale — Zürich 日本"]


def test_crm_export_takes_the_filters_format_and_rep_me(filled_url, tmp_path):
    result = run_crm("export", "thirdparties", "--filter", "rep:me xlsx", "--as", "U0ALICE", "--out", "mine",
                     database_url=filled_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    sheet = openpyxl.load_workbook(io.BytesIO((tmp_path / "mine").read_bytes())).active
    assert [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["Acme, Inc."]


def test_crm_export_names_a_bad_filter(filled_url, tmp_path):
    result = run_crm("export", "thirdparties", "--filter", "colour:red", database_url=filled_url, cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == b""
    assert "colour:red" in result.stderr.decode()


def test_crm_export_contacts_with_their_third_partys_code(filled_url, tmp_path):
    result = run_crm("export", "contacts", "--filter", "tag:vip", database_url=filled_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    [header, *rows] = list(csv.reader(io.StringIO(result.stdout.decode("utf-8"), newline="")))
    assert header == exports.CONTACT_COLUMNS
    assert [(row[0], row[1], row[4]) for row in rows] == [(CODES[0], "Jane", "jane@acme.example")]


def test_crm_export_shows_a_progress_bar_on_a_terminal(filled_url, tmp_path):
    terminal, its_other_end = pty.openpty()
    fcntl.ioctl(its_other_end, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 24 rows, 100 columns
    environ = {key: value for key, value in os.environ.items() if not key.startswith(("CRM_", "SLACK_"))}
    environ.update(DATABASE_URL=filled_url, DATA_DIR=str(tmp_path / "data"), CRM_SECRET_KEY="test")
    process = subprocess.Popen([str(CRM), "export", "thirdparties", "--out", "x.csv"], cwd=tmp_path, env=environ,
                               stderr=its_other_end, stdout=subprocess.DEVNULL)
    os.close(its_other_end)
    shown = b""
    with contextlib.suppress(OSError):  # the terminal closes with the process
        while chunk := os.read(terminal, 4096):
            shown += chunk
    os.close(terminal)
    assert process.wait(timeout=60) == 0
    assert b"  0%|" in shown and b"100%|" in shown and b"rows/s" in shown


def test_crm_export_shows_no_progress_bar_in_a_pipe(filled_url, tmp_path):
    result = run_crm("export", "thirdparties", "--out", "x.csv", database_url=filled_url, cwd=tmp_path)
    assert b"rows" not in result.stderr and b"%|" not in result.stderr


def test_crm_export_xlsx_needs_a_file(filled_url, tmp_path):
    result = run_crm("export", "thirdparties", "--format", "xlsx", database_url=filled_url, cwd=tmp_path)
    assert result.returncode == 2
    assert b"--out" in result.stderr and result.stdout == b""


def test_crm_export_refuses_a_database_that_is_not_migrated(tmp_path):
    result = run_crm("export", "thirdparties", database_url=f"sqlite://{tmp_path / 'empty.sqlite3'}", cwd=tmp_path)
    assert result.returncode == 1
    assert b"crm db upgrade" in result.stderr and result.stdout == b""
