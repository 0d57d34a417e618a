"""Schema migrations (crm/db.py): rows survive an upgrade, data migrations fill new columns,
`crm db upgrade` reports what it did, and processes starting together take turns."""
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from tortoise import connections

from crm import db as crm_db
from crm import thirdparties
from models import ThirdParty
from tests import database
from tests.conftest import ALICE

CRM = Path(sys.executable).with_name("crm")
MIGRATIONS = ["0001_initial", "0002_thirdparty_email_key"]
CREATED = datetime(2025, 3, 1, 10, 0, tzinfo=timezone.utc)
# third parties as version 0001 stored them: no email_key column yet
OLD_ROWS = [
    ("CU2503-00001", "Acme", "acme", "Sales@ACME.Example"),
    ("CU2503-00002", "Globex", "globex", "info@globex.example"),
    ("CU2503-00003", "Initech", "initech", ""),
]


async def other_database(tmp_path) -> str:
    """A new empty database on the backend of this run."""
    if database.target() == "sqlite":
        return database.sqlite_url(tmp_path / "other")
    return await database.create_postgres_database(database.target(), prefix="crm_migration_test")


async def drop(url: str) -> None:
    if url.startswith("postgres://"):
        await database.drop_postgres_database(url)


@pytest.fixture
async def fresh_url(migrated, tmp_path):
    """A fresh database for the test to connect to; afterwards the ORM is connected to the
    session's database again (Tortoise keeps one global connection set, which `connect` replaces)."""
    url = await other_database(tmp_path)
    try:
        yield url
    finally:
        await crm_db.connect(migrated)  # closes the test's connection first
        await drop(url)


async def insert_0001_rows() -> None:
    connection = connections.get("default")
    for code, name, key, email in OLD_ROWS:
        await connection.execute_script(
            "INSERT INTO crm_thirdparty (created_at, updated_at, created_by, updated_by, code, name, name_key, "
            "alias, type, status, email, phone, website, address, zip, town, country, language, vat_id, vat_key, "
            "note_public, note_private, search_text) VALUES "
            f"('{CREATED.isoformat(sep=' ')}', '{CREATED.isoformat(sep=' ')}', 'system', 'system', '{code}', "
            f"'{name}', '{key}', '', 'customer', 'active', '{email}', '', '', '', '', 'Paris', 'FR', 'fr', '', '', "
            f"'', '', ' {key} ')"
        )


async def test_upgrade_keeps_rows_and_fills_the_new_email_key(fresh_url):
    await crm_db.connect(fresh_url)
    assert await crm_db.pending_migrations() == MIGRATIONS
    assert await crm_db.upgrade(fresh_url, target="0001_initial") == ["0001_initial"]
    assert await crm_db.pending_migrations() == ["0002_thirdparty_email_key"]
    await insert_0001_rows()

    assert await crm_db.upgrade(fresh_url) == ["0002_thirdparty_email_key"]
    rows = await ThirdParty.all().order_by("id")
    assert [(tp.code, tp.name, tp.name_key, tp.email) for tp in rows] == OLD_ROWS
    assert [tp.email_key for tp in rows] == ["sales@acme.example", "info@globex.example", ""]
    assert {(tp.town, tp.created_at) for tp in rows} == {("Paris", CREATED)}

    assert await crm_db.pending_migrations() == []
    assert await crm_db.upgrade(fresh_url) == []
    with pytest.raises(ValueError):  # an upgrade never goes back to an older target
        await crm_db.upgrade(fresh_url, target="0001_initial")
    assert await crm_db.pending_migrations() == []
    # the migrated schema works for the domain: old rows are found by their key, new ones get codes
    [duplicate] = await thirdparties.likely_duplicates({"name": "X", "email": "sales@acme.EXAMPLE"})
    assert duplicate.code == "CU2503-00001"
    created = await thirdparties.create(ALICE, {"name": "Umbrella", "type": "prospect", "email": "A@B.example"},
                                        tz=timezone.utc)
    assert created.email_key == "a@b.example"


async def test_the_session_database_is_up_to_date(db):
    assert await crm_db.pending_migrations() == []
    assert await crm_db.upgrade(db) == []


# --- the command ---

def crm_env(database_url: str, tmp_path: Path) -> dict:
    environ = {key: value for key, value in os.environ.items() if not key.startswith(("CRM_", "SLACK_"))}
    environ.update(DATABASE_URL=database_url, DATA_DIR=str(tmp_path / "data"), CRM_SECRET_KEY="test")
    return environ


def upgrade_command(database_url: str, tmp_path: Path) -> subprocess.Popen:
    return subprocess.Popen([str(CRM), "db", "upgrade"], cwd=tmp_path, env=crm_env(database_url, tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen) -> str:
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    return stdout.strip()


APPLIED = "applied: " + ", ".join(MIGRATIONS)
UP_TO_DATE = "the database is up to date"


def test_crm_db_upgrade_says_what_it_applied_then_up_to_date(tmp_path):
    url = f"sqlite://{tmp_path / 'new' / 'crm.sqlite3'}"
    assert finish(upgrade_command(url, tmp_path)) == APPLIED
    assert (tmp_path / "new" / "crm.sqlite3").is_file()
    assert finish(upgrade_command(url, tmp_path)) == UP_TO_DATE


async def test_processes_upgrading_together_take_turns(migrated, tmp_path):
    url = await other_database(tmp_path)
    try:
        processes = [upgrade_command(url, tmp_path) for _ in range(3)]
        outputs = sorted(finish(process) for process in processes)
    finally:
        await drop(url)
    assert outputs == [APPLIED, UP_TO_DATE, UP_TO_DATE]
