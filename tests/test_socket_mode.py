"""Socket Mode: the stub's websocket agrees with slack_sdk's client, and `crm web` with an
app-level token (no signing secret) connects, answers a slash command in its ack and
writes to its database."""
from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import asyncpg
import pytest
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from tests.conftest import ALICE
from tests.slack_requests import (
    JSON, Built, SlackClient, block_actions, event_callback, slash_command, view_submission,
)
from tests.slack_stub import SlackStub
from tests.processes import Process, base_env, free_port

APP_TOKEN = "xapp-test"
BOT_TOKEN = "xoxb-test"


def socket_payload(built: Built) -> dict[str, Any]:
    """What an envelope carries for a request HTTP mode would post: the form fields of a
    command, the decoded `payload` of an interaction, the JSON body of an event."""
    body, content_type = built
    if content_type == JSON:
        return json.loads(body)
    fields = dict(parse_qsl(body))
    return json.loads(fields["payload"]) if fields.keys() == {"payload"} else fields


async def test_envelopes_of_every_type_reach_a_bolt_app_and_its_acks_are_recorded(slack):
    bolt = AsyncApp(client=AsyncWebClient(base_url=slack.api_url, token=BOT_TOKEN), signing_secret="unused")

    @bolt.command("/crm")
    async def crm_command(ack, command):
        await ack(f"Creating {command['text']}")

    @bolt.action("open_deal")
    async def open_deal(ack):
        await ack()

    @bolt.view("new_prospect")
    async def new_prospect(ack):
        await ack(response_action="errors", errors={"name": "Taken"})

    @bolt.event("app_mention")
    async def mentioned():
        pass

    handler = AsyncSocketModeHandler(bolt, APP_TOKEN)
    await handler.connect_async()
    try:
        await slack.wait_for_socket_connection()
        command = await slack.socket_send("slash_commands", socket_payload(slash_command("new prospect Acme")))
        click = await slack.socket_send("interactive", socket_payload(block_actions("open_deal", "D42")))
        submit = await slack.socket_send("interactive", socket_payload(view_submission("new_prospect", {})))
        mention = {"type": "app_mention", "user": ALICE.id, "text": "<@UBOT> hi", "channel": "C0GENERAL", "ts": "1.2"}
        event = await slack.socket_send("events_api", socket_payload(event_callback(mention)))

        assert (await slack.wait_for_socket_ack(command))["payload"] == {"text": "Creating new prospect Acme"}
        assert await slack.wait_for_socket_ack(click) == {"envelope_id": click}
        assert (await slack.wait_for_socket_ack(submit))["payload"]["errors"] == {"name": "Taken"}
        assert await slack.wait_for_socket_ack(event) == {"envelope_id": event}
    finally:
        await handler.close_async()
    assert [call.token for call in slack.calls_to("apps.connections.open")] == [APP_TOKEN]


def socket_mode_env(tmp_path: Path, database_url: str, slack: SlackStub) -> dict[str, str]:
    """`crm web` in Socket Mode: an app-level token and no signing secret, Slack being the stub."""
    return {**base_env(tmp_path, database_url, free_port()), "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_APP_TOKEN": APP_TOKEN, "SLACK_API_URL": slack.api_url}


async def test_web_in_socket_mode_acks_a_command_then_answers_it_and_stops_cleanly(tmp_path, own_database, slack):
    web = await Process("web", socket_mode_env(tmp_path, own_database, slack), tmp_path).start()
    try:
        await slack.wait_for_socket_connection()
        command = slash_command("new prospect Socket Corp", user_id=ALICE.id, response_url=slack.response_url("socket"))
        ack = await slack.wait_for_socket_ack(await slack.socket_send("slash_commands", socket_payload(command)))
        [answer] = await slack.wait_for_response()
    finally:
        code, output = await web.stop()
    assert code == 0, output
    assert "connected to Slack in Socket Mode" in output
    [code_in_database] = await thirdparty_codes(own_database, "Socket Corp")
    assert code_in_database.startswith("CU")
    assert "payload" not in ack  # acknowledged at once, answered after
    assert answer.name == "socket"
    assert "Socket Corp" in answer.body["text"] and code_in_database in json.dumps(answer.body["blocks"])
    assert slack.calls_to("apps.connections.open")[0].token == APP_TOKEN
    assert slack.calls_to("users.info")[0].token == BOT_TOKEN


@pytest.mark.parametrize("secret", ["unused-in-socket-mode", "", "anything"])
async def test_without_a_signing_secret_nothing_reaches_the_app_over_http(tmp_path, own_database, slack, http, secret):
    """Socket Mode without SLACK_SIGNING_SECRET: requests over HTTP are refused however they are
    signed (the old placeholder secret included), and the other routes keep working."""
    env = socket_mode_env(tmp_path, own_database, slack)
    web = await Process("web", env, tmp_path).start()
    try:
        await web.wait_ready(http)
        intruder = SlackClient(http, f"http://127.0.0.1:{env['PORT']}", secret, user_id=ALICE.id,
                               response_url=slack.response_url("intruder"))
        replies = [await intruder.command("new prospect Intruder Ltd"),
                   await intruder.post(*view_submission("thirdparty_new", {}))]
        async with http.get(f"http://127.0.0.1:{env['PORT']}/healthz") as health:
            healthy = (health.status, await health.text())
        async with http.get(f"http://127.0.0.1:{env['PORT']}/") as setup:
            setup_status = setup.status
    finally:
        code, output = await web.stop()
    assert code == 0, output
    assert [reply.status for reply in replies] == [404, 404]
    assert await thirdparty_codes(own_database, "Intruder Ltd") == []
    assert healthy == (200, "ok") and setup_status == 200
    assert slack.calls_to("users.info") == [] and slack.responses == []


async def test_web_is_ready_and_stops_on_sigterm_while_slack_refuses_the_connection(
        tmp_path, own_database, slack, http):
    for _ in range(10):  # slack_sdk retries every 10 s: refused for longer than the test lasts
        slack.fail_next("apps.connections.open", "invalid_auth")
    web = await Process("web", socket_mode_env(tmp_path, own_database, slack), tmp_path).start()
    try:
        await web.wait_ready(http)
        await slack.wait_for("apps.connections.open")
    finally:
        code, output = await web.stop()
    assert code == 0, output
    assert "invalid_auth" in output and "connected to Slack in Socket Mode" not in output


async def thirdparty_codes(database_url: str, name: str) -> list[str]:
    """Codes of the third parties called `name`, read from the database the subprocess wrote."""
    query = "SELECT code FROM crm_thirdparty WHERE name = {}"
    if database_url.startswith("sqlite://"):
        with contextlib.closing(sqlite3.connect(database_url.removeprefix("sqlite://"))) as connection:
            return [code for (code,) in connection.execute(query.format("?"), (name,))]
    connection = await asyncpg.connect(database_url)
    try:
        return [row["code"] for row in await connection.fetch(query.format("$1"), name)]
    finally:
        await connection.close()
