"""Schema migrations (crm/db.py): rows survive an upgrade, data migrations fill new columns,
`crm db upgrade` reports what it did, and processes starting together take turns."""
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from tortoise import connections

from crm import clock, contacts, db as crm_db, numbering, search, stored_values
from crm import thirdparties
from crm.masks import DEFAULT_MASKS
from models import Contact, NumberingMask, ThirdParty
from tests import database
from tests.conftest import context

CRM = Path(sys.executable).with_name("crm")
MIGRATIONS = ["0001_initial", "0002_thirdparty_email_key", "0003_integrity_and_indexes", "0004_product_catalogue",
              "0005_commercial_documents", "0006_search_indexes", "0007_merge_and_erasure",
              "0008_checked_values", "0009_scheduled_jobs", "0010_email",
              "0011_search_words", "0012_inbound_email", "0013_agenda_and_files",
              "0014_search_words_plans"]
CREATED = datetime(2025, 3, 1, 10, 0, tzinfo=timezone.utc)
# third parties as version 0001 stored them: no email_key column yet, names folded to [0-9a-z]
OLD_ROWS = [
    ("CU2503-00001", "Acme", "acme", "Sales@ACME.Example"),
    ("CU2503-00002", "Globex", "globex", "info@globex.example"),
    ("CU2503-00003", "ООО Москва", "", ""),
]
PHONES = {"CU2503-00001": "01 23 45 67 89", "CU2503-00002": "not a number"}
# Every index a lookup, a card, an export or a merge relies on, by table.
EXPECTED_INDEXES = {
    "crm_thirdparty": {"crm_thirdparty_code_upper", "crm_thirdparty_name_fold", "crm_thirdparty_email_key"},
    "crm_contact": {"crm_contact_thirdparty"},
    "crm_event": {"crm_event_thirdparty_time", "crm_event_contact"},
    "crm_custom_value": {"crm_custom_value_thirdparty", "crm_custom_value_contact"},
    "crm_thirdparty_tag": {"crm_thirdparty_tag_tag"},
    "crm_thirdparty_rep": {"crm_thirdparty_rep_user"},
}
# What each foreign key's index must start with, so that following it is a lookup.
FOREIGN_KEYS = [("crm_contact", "thirdparty_id"), ("crm_event", "thirdparty_id"), ("crm_event", "contact_id"),
                ("crm_custom_value", "thirdparty_id"), ("crm_custom_value", "contact_id"),
                ("crm_thirdparty_tag", "crm_thirdparty_id"), ("crm_thirdparty_tag", "tag_id"),
                ("crm_thirdparty_rep", "crm_thirdparty_id"), ("crm_thirdparty_rep", "user_id")]


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
            f"'{name}', '{key}', '', 'customer', 'active', '{email}', '{PHONES.get(code, '')}', '', '', '', 'Paris', "
            "'FR', 'fr', '', '', "
            f"'', '', ' {key} ')"
        )


async def test_upgrade_keeps_rows_fills_new_columns_and_keeps_the_masks_in_use(fresh_url):
    await crm_db.connect(fresh_url)
    assert await crm_db.pending_migrations() == MIGRATIONS
    assert await crm_db.upgrade(fresh_url, target="0001_initial") == ["0001_initial"]
    assert await crm_db.pending_migrations() == MIGRATIONS[1:]
    await insert_0001_rows()

    assert await crm_db.upgrade(fresh_url) == MIGRATIONS[1:]
    rows = await ThirdParty.all().order_by("id")
    # emails normalised by email-validator (a role mailbox such as sales@ is lower-cased)
    assert [(tp.code, tp.name, tp.email) for tp in rows] == [
        (code, name, email.lower()) for code, name, _, email in OLD_ROWS]
    assert [tp.email_key for tp in rows] == ["sales@acme.example", "info@globex.example", ""]
    # phones in E.164, read in the record's country; one that is not a number is kept as typed
    assert [(tp.phone, tp.phone_key) for tp in rows] == [
        ("+33123456789", "+33123456789"), ("not a number", ""), ("", "")]
    assert {(tp.town, tp.created_at) for tp in rows} == {("Paris", CREATED)}
    # names are folded again, in every script: the Cyrillic one is found now
    assert [(tp.name_fold, tp.name_key) for tp in rows] == [
        ("acme", "acme"), ("globex", "globex"), ("ооо москва", "москва")]
    assert [tp.id for tp in await search.search(context(), "москва")] == [rows[2].id]
    assert (await thirdparties.resolve(context(), "ооо МОСКВА")).id == rows[2].id
    # this installation numbered third parties with the old defaults: it keeps them
    stored = dict(await NumberingMask.all().values_list("object_type", "mask"))
    assert stored["thirdparty"] == "CU{yy}{mm}-{00000}" and set(stored) == set(DEFAULT_MASKS)

    assert await crm_db.pending_migrations() == []
    assert await crm_db.upgrade(fresh_url) == []
    with pytest.raises(ValueError):  # an upgrade never goes back to an older target
        await crm_db.upgrade(fresh_url, target="0001_initial")
    assert await crm_db.pending_migrations() == []
    # the migrated schema works for the domain: old rows are found by their key, new ones get codes
    [duplicate] = await thirdparties.likely_duplicates(context(), {"name": "X", "email": "sales@acme.EXAMPLE"})
    assert duplicate.code == "CU2503-00001"
    clock.freeze(datetime(2025, 3, 2, tzinfo=timezone.utc))
    created = await thirdparties.create(context(), {"name": "Umbrella", "type": "prospect", "email": "A@B.example"})
    clock.freeze(None)
    assert created.code == "CU2503-00004"  # the kept mask, its codes already taken skipped
    assert (await ThirdParty.get(id=created.id)).email_key == "a@b.example"


async def test_a_new_installation_gets_the_monthly_defaults(fresh_url):
    await crm_db.connect(fresh_url)
    await crm_db.upgrade(fresh_url)
    assert await NumberingMask.all().count() == 0
    assert (await numbering.current_mask("thirdparty")).text == "CU{yy}{mm}-{00000@0}"


async def indexes_of(url: str) -> dict[str, dict[str, list[str]]]:
    """table -> index name -> its columns (or expression), read from the database's own catalogue."""
    found: dict[str, dict[str, list[str]]] = {}
    if url.startswith("sqlite://"):
        import sqlite3

        with sqlite3.connect(url[len("sqlite://"):]) as connection:
            for table, name in connection.execute("SELECT tbl_name, name FROM sqlite_master WHERE type = 'index'"):
                columns = [row[2] or "<expression>" for row in connection.execute(f"PRAGMA index_info('{name}')")]
                found.setdefault(table, {})[name] = columns
        return found
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch(
            "SELECT t.relname AS tbl, i.relname AS idx, "
            "array(SELECT pg_get_indexdef(x.indexrelid, k + 1, true) FROM generate_subscripts(x.indkey, 1) AS k "
            "      ORDER BY k) AS columns "
            "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
            "JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = 'public'")
    finally:
        await connection.close()
    for row in rows:
        found.setdefault(row["tbl"], {})[row["idx"]] = list(row["columns"])
    return found


async def test_crm_db_upgrade_creates_every_index_reads_and_merges_follow(migrated, tmp_path):
    url = await other_database(tmp_path)
    try:
        finish(upgrade_command(url, tmp_path))
        indexes = await indexes_of(url)
    finally:
        await drop(url)
    for table, names in EXPECTED_INDEXES.items():
        assert names <= set(indexes.get(table, {})), (table, sorted(indexes.get(table, {})))
    for table, column in FOREIGN_KEYS:
        leading = {columns[0] for columns in indexes[table].values()}
        assert column in leading, (table, column, indexes[table])


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


async def test_checked_values_are_rewritten_and_those_that_do_not_parse_are_kept_and_listed(fresh_url):
    await crm_db.connect(fresh_url)
    await crm_db.upgrade(fresh_url, target="0007_merge_and_erasure")
    connection = connections.get("default")
    acme = await thirdparties.create(context(), {"name": "Acme", "type": "customer", "country": "FR"})
    legacy = {"country": "fr", "language": "FR-be", "email": "Jane@Bücher.EXAMPLE", "phone": "01 23 45 67 89"}
    await ThirdParty.filter(id=acme.id).update(**legacy)  # as typed before today's checks
    jane = await Contact.create(thirdparty_id=acme.id, first_name="Jane", phone="06 12 34 56 78",
                                email="jane@@acme.example", created_at=CREATED, updated_at=CREATED,
                                created_by="system", updated_by="system")
    await ThirdParty.filter(id=acme.id).update(search_text=" acme ")

    assert (await crm_db.upgrade(fresh_url))[0] == "0008_checked_values"
    stored = await ThirdParty.get(id=acme.id)
    assert (stored.country, stored.language, stored.email, stored.phone, stored.phone_key) == (
        "FR", "fr_BE", "Jane@bücher.example", "+33123456789", "+33123456789")
    contact = await Contact.get(id=jane.id)
    assert contact.phone == "+33612345678"  # read in its third party's country
    assert contact.email == "jane@@acme.example"  # no address: kept as typed, never dropped
    # the search text holds the numbers again, found as stored and as dialled in France
    for typed in ("0612345678", "+33 6 12 34 56 78", "01 23 45 67 89"):
        assert [tp.id for tp in await search.search(context(), typed)] == [acme.id], typed
    count, listed = await stored_values.unchecked(connection, limit=10)
    assert count == 1
    assert str(listed[0]).startswith(f"contact of {acme.code}: email 'jane@@acme.example': ")
    # editing another field of a record keeps its unparseable value as it was
    _, changes = await contacts.update(context(), jane.id, {"first_name": "Janet", "email": "jane@@acme.example"})
    assert set(changes.fields) == {"first_name"}
