"""Fixtures shared by the suite: the test database (SQLite or PostgreSQL, per
CRM_TEST_DATABASE), the settings, and a clean schema for every test that asks for `db`."""
from __future__ import annotations

import asyncio
from zoneinfo import ZoneInfo

import pytest

from crm import clock, db as crm_db
from crm.permissions import Actor
from crm.settings import Settings
from tests import database

ADMIN = Actor("U0ADMIN", is_admin=True)
ALICE = Actor("U0ALICE")
SIGNING_SECRET = "test-signing-secret"


@pytest.fixture(scope="session")
async def database_url(tmp_path_factory):
    target = database.target()
    if target == "sqlite":
        yield database.sqlite_url(tmp_path_factory.mktemp("sqlite"))
        return
    try:
        url = await database.create_postgres_database(target)
    except (OSError, Exception) as error:  # noqa: BLE001 - any failure to reach the server ends the run
        pytest.exit(f"PostgreSQL at {target} cannot be reached or refused CREATE DATABASE: {error}", returncode=3)
    try:
        yield url
    finally:
        await database.drop_postgres_database(url)


@pytest.fixture(scope="session")
async def migrated(database_url):
    await crm_db.connect(database_url)
    await crm_db.upgrade(database_url)
    yield database_url
    await crm_db.close()


@pytest.fixture
async def db(migrated):
    """A migrated, empty database; the clock is released after the test."""
    await database.empty_all_tables()
    yield migrated
    clock.freeze(None)


@pytest.fixture
def settings(tmp_path, migrated) -> Settings:
    return Settings(
        database_url=migrated,
        data_dir=tmp_path / "data",
        slack_bot_token="xoxb-test",
        slack_signing_secret=SIGNING_SECRET,
        admins=frozenset({ADMIN.id}),
        timezone=ZoneInfo("Europe/Paris"),
        secret_key="test-secret",
    )
