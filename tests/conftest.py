"""Fixtures shared by the suite: the test database (SQLite or PostgreSQL, per
CRM_TEST_DATABASE), the settings, and a clean schema for every test that asks for `db`."""
from __future__ import annotations

import dataclasses
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp import web

from bot.app import build_app
from crm import clock, db as crm_db
from crm.permissions import Actor
from crm.settings import Settings
from service.web import READY, create_web_app
from tests import database
from tests.slack_requests import SlackClient
from tests.slack_stub import SlackStub

ADMIN = Actor("U0ADMIN", is_admin=True)
ALICE = Actor("U0ALICE")
GUEST_ID = "U0GUEST"
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


@pytest.fixture
async def own_database(tmp_path, migrated):
    """A database of the test's own for a subprocess (the session's stays with the suite)."""
    target = database.target()
    if target == "sqlite":
        yield database.sqlite_url(tmp_path)
        return
    url = await database.create_postgres_database(target)
    yield url
    await database.drop_postgres_database(url)


# -- the running app, driven through signed Slack requests -------------------------


@pytest.fixture
async def slack():
    """The stand-in for Slack's Web API, knowing the test users."""
    async with SlackStub() as stub:
        stub.add_user(ALICE.id, name="alice", tz="Europe/Paris")
        stub.add_user(ADMIN.id, name="admin", tz="America/New_York")
        stub.add_user(GUEST_ID, name="guest", is_restricted=True)
        yield stub


@pytest.fixture
async def server(db, slack, settings):
    """`crm web` as it runs in production (aiohttp + Bolt), on a free loopback port."""
    app_settings = dataclasses.replace(settings, slack_api_url=slack.api_url)
    web_app = create_web_app(app_settings, build_app(app_settings))
    web_app[READY].set()
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    yield RunningServer(f"http://{host}:{port}", app_settings)
    await runner.cleanup()


@dataclasses.dataclass
class RunningServer:
    url: str
    settings: Settings


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


def slack_user(http, server, slack, user_id: str) -> SlackClient:
    return SlackClient(http, server.url, SIGNING_SECRET, user_id=user_id, response_url=slack.response_url())


@pytest.fixture
def alice(http, server, slack) -> SlackClient:
    return slack_user(http, server, slack, ALICE.id)


@pytest.fixture
def admin(http, server, slack) -> SlackClient:
    return slack_user(http, server, slack, ADMIN.id)
