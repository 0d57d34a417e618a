"""Fixtures shared by the suite: the test database (SQLite or PostgreSQL, per
CRM_TEST_DATABASE), the settings, and a clean schema for every test that asks for `db`."""
from __future__ import annotations

import asyncio
import dataclasses
import itertools
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from crm import clock, db as crm_db
from crm.context import Context
from crm.permissions import Actor
from crm.settings import Settings
from tests import block_kit, database
from tests.slack_forms import fill
from tests.slack_requests import SlackClient, serving
from tests.slack_stub import SlackStub

ADMIN = Actor("U0ADMIN", is_admin=True)
ALICE = Actor("U0ALICE")
GUEST_ID = "U0GUEST"
SIGNING_SECRET = "test-signing-secret"
UTC = ZoneInfo("UTC")


def context(actor: Actor = ALICE, tz: ZoneInfo = UTC, default_role: str = "sales") -> Context:
    """The use-case context of domain tests: `actor` acting, CRM_TIMEZONE `tz`, the settable clock."""
    return Context(actor, Settings(timezone=tz, default_role=default_role, admins=frozenset({ADMIN.id}),
                                   secret_key="test-secret"), clock)


def pytest_collection_modifyitems(config, items):
    """`make test` runs the suite twice, on SQLite then on PostgreSQL: a test that touches no
    database runs in the first half only, one of a PostgreSQL seam in the second only. Every
    test runs in one half at least; none is skipped."""
    other_half = {"postgres_only"} if database.target() == "sqlite" else {"database_free", "sqlite_only"}
    elsewhere = [item for item in items if other_half & set(item.keywords)]
    if elsewhere:
        config.hook.pytest_deselected(items=elsewhere)
        items[:] = [item for item in items if item not in elsewhere]


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
        stub.add_user(ALICE.id, name="alice", tz="Europe/Paris", locale="fr-FR")
        stub.add_user(ADMIN.id, name="admin", tz="America/New_York")
        stub.add_user(GUEST_ID, name="guest", is_restricted=True)
        yield stub
        stub.assert_nothing_refused()  # every view and message the app sent was one Slack accepts


@pytest.fixture
async def server(db, slack, settings):
    """`crm web` as it runs in production (aiohttp + Bolt), on a free loopback port."""
    app_settings = dataclasses.replace(settings, slack_api_url=slack.api_url)
    async with serving(app_settings) as url:
        yield RunningServer(url, app_settings)


@dataclasses.dataclass
class RunningServer:
    url: str
    settings: Settings


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


class Person(SlackClient):
    """A Slack user driving the app: signed requests, and what the app answers each of them.

    Each request gets a response_url of its own, so its answers are told apart from others'.
    """

    def __init__(self, http, server_url: str, slack: SlackStub, user_id: str):
        super().__init__(http, server_url, SIGNING_SECRET, user_id=user_id)
        self.slack = slack
        self._requests = itertools.count(1)

    def _defaults(self, fields, response_url: bool = False):
        if response_url and "response_url" not in fields:
            fields = {**fields, "response_url": self.slack.response_url(f"{self.user_id}-{next(self._requests)}")}
        self.last_response_url = fields.get("response_url", self.response_url)
        return super()._defaults(fields, response_url)

    async def post(self, body: str, content_type: str, timestamp: int | None = None, signature: str | None = None):
        """Send a signed request; what the app answers in the ack must be Block Kit Slack accepts."""
        reply = await super().post(body, content_type, timestamp, signature)
        answer = reply.json if isinstance(reply.json, dict) else {}
        if answer.get("response_action") in ("update", "push"):
            block_kit.assert_valid_view(answer["view"], surface="modal")
        elif "text" in answer or "blocks" in answer:
            block_kit.assert_valid_message(answer)
        return reply

    async def submit(self, callback_id: str, state_values=None, **fields):
        """A form submitted; each gets a view id of its own unless told (a double submission is the same view)."""
        fields.setdefault("view_id", f"V{self.user_id}{next(self._requests)}")
        return await super().submit(callback_id, state_values, **fields)

    async def submit_form(self, view: dict, answers: dict | None = None, **fields):
        """Fill the form `view` the app opened, as the person would, and submit it with its hidden state."""
        fields.setdefault("private_metadata", view.get("private_metadata", ""))
        return await self.submit(view["callback_id"], fill(view, answers), **fields)

    async def ask(self, text: str, **fields) -> dict:
        """`/crm text`: the answer, in the ack or through the command's response_url."""
        reply = await self.command(text, **fields)
        assert reply.status == 200, reply.text
        if reply.json and (reply.json.get("text") or reply.json.get("blocks")):
            return reply.json
        return (await self.answers())[0]

    async def press(self, action_id: str, value: str | None = None, **fields) -> dict:
        """A click on a button or menu of a message: the answer posted to its response_url."""
        reply = await self.action(action_id, value, **fields)
        assert (reply.status, reply.text) == (200, ""), reply.text
        return (await self.answers())[0]

    async def answers(self, count: int = 1, timeout: float = 5.0) -> list[dict]:
        """What the app posted to the response_url of this person's last request."""
        name = self.last_response_url.rsplit("/", 1)[-1]
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            posted = [r.body for r in self.slack.responses if r.name == name]
            if len(posted) >= count:
                return posted
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"expected {count} answer(s) to {name}, got {posted}")
            await asyncio.sleep(0.005)


def slack_user(http, server, slack, user_id: str) -> Person:
    return Person(http, server.url, slack, user_id)


@pytest.fixture
def alice(http, server, slack) -> Person:
    return slack_user(http, server, slack, ALICE.id)


@pytest.fixture
def admin(http, server, slack) -> Person:
    return slack_user(http, server, slack, ADMIN.id)
