"""The database down or frozen, through real seams: `crm web` reaches PostgreSQL through a TCP
proxy the test freezes or cuts, or another process holds SQLite's write lock. Slack still gets
its acknowledgement at once, the person an answer in words within Slack's 3 seconds, /healthz
fails fast, and a save whose commit went unanswered is reported as possibly saved."""
from __future__ import annotations

import json
import sqlite3
import time
from urllib.parse import urlsplit

import pytest

from models import ThirdParty
from tests.conftest import ALICE, SIGNING_SECRET, Person
from tests.processes import Process, base_env, free_port
from tests.tcp_proxy import TcpProxy

SLACK_DEADLINE = 3.0  # seconds Slack waits for an acknowledgement, and what a person should wait for words


def texts(message: dict) -> str:
    return json.dumps(message.get("blocks", []), ensure_ascii=False) + message.get("text", "")


async def timed(awaitable):
    started = time.monotonic()
    result = await awaitable
    return result, time.monotonic() - started


@pytest.fixture
async def proxied_web(tmp_path, own_database, slack, http):
    """`crm web` whose every database connection goes through a proxy the test controls."""
    parts = urlsplit(own_database)
    async with TcpProxy(parts.hostname, parts.port or 5432) as proxy:
        port = free_port()
        env = {**base_env(tmp_path, proxy.url_for(own_database), port), "SLACK_BOT_TOKEN": "xoxb-test",
               "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": slack.api_url}
        web = await Process("web", env, tmp_path).start()
        try:
            await web.wait_ready(http)
            yield proxy, Person(http, f"http://127.0.0.1:{port}", slack, ALICE.id), f"http://127.0.0.1:{port}"
        finally:
            proxy.thaw()
            code, output = await web.stop()
            assert code == 0, output


async def answered(person: Person, text: str) -> tuple[dict, float]:
    """The answer to `/crm text` and how long it took from the request; the ack must be immediate."""
    started = time.monotonic()
    reply = await person.command(text)
    assert (reply.status, reply.text) == (200, "")
    assert time.monotonic() - started < 1.0, "the acknowledgement waited on something"
    [answer] = await person.answers(timeout=10)
    return answer, time.monotonic() - started


@pytest.mark.postgres_only
async def test_a_frozen_database_is_said_in_words_within_slacks_deadline(proxied_web, http, own_database):
    proxy, alice, url = proxied_web
    card, _ = await answered(alice, "new customer Frozen Foods")
    assert "Frozen Foods" in texts(card)
    proxy.freeze()
    answer, seconds = await answered(alice, "show Frozen Foods")
    assert "database is unavailable" in texts(answer) and seconds < SLACK_DEADLINE
    (status, _), seconds = await timed(_status(http, f"{url}/healthz"))
    assert status == 503 and seconds < 1.5
    # a form's errors can only go in its ack: it too answers within the deadline
    state = {"name": {"value": {"type": "plain_text_input", "value": "Cold Storage"}},
             "type": {"value": {"type": "static_select", "selected_option": {"value": "customer"}}}}
    reply, seconds = await timed(alice.submit("thirdparty_new", state))
    assert reply.json["response_action"] == "errors" and seconds < SLACK_DEADLINE
    proxy.thaw()
    card, _ = await answered(alice, "show Frozen Foods")  # back to normal once the database is
    assert "Frozen Foods" in texts(card)


@pytest.mark.postgres_only
async def test_a_database_that_died_is_said_in_words(proxied_web):
    proxy, alice, _ = proxied_web
    proxy.refuse()
    await proxy.sever()
    answer, seconds = await answered(alice, "new prospect Ghost Ltd")
    assert "database is unavailable" in texts(answer) and "nothing was changed" in texts(answer)
    assert seconds < SLACK_DEADLINE
    proxy.refuse(False)
    card, _ = await answered(alice, "new prospect Ghost Ltd")
    assert "Ghost Ltd" in texts(card)


@pytest.mark.postgres_only
async def test_a_creation_whose_commit_goes_unanswered_is_reported_as_possibly_saved(proxied_web):
    proxy, alice, _ = proxied_web
    await answered(alice, "show nothing-yet")  # every connection of the pool has been made
    proxy.freeze_when(b"COMMIT")
    answer, seconds = await answered(alice, "new prospect Schrodinger Ltd")
    assert "may or may not have been saved" in texts(answer)
    assert "Search for “Schrodinger Ltd” in a minute to see whether it is there" in texts(answer)
    assert "failed" not in texts(answer).lower() and seconds < SLACK_DEADLINE + 2
    proxy.thaw()


@pytest.mark.sqlite_only
async def test_a_locked_sqlite_database_is_said_in_words_within_slacks_deadline(alice, db, server):
    """Another process holding SQLite's write lock: writes wait for it, then give up in words."""
    other = sqlite3.connect(server.settings.database_url[len("sqlite://"):], timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")
        answer, seconds = await answered(alice, "new prospect Locked Ltd")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert "database is unavailable" in texts(answer) and seconds < SLACK_DEADLINE
    assert await ThirdParty.all().count() == 0
    card, _ = await answered(alice, "new prospect Locked Ltd")
    assert "Locked Ltd" in texts(card)


async def _status(http, url: str) -> tuple[int, str]:
    async with http.get(url) as response:
        return response.status, await response.text()
