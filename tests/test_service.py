"""The processes as operators run them: `crm serve`, `crm web`, `crm worker`, and the
HTTP endpoints of SPEC §8 (health, readiness, the setup page)."""
from __future__ import annotations

import html
import re

import pytest
import yaml

from service.manifests import socket_mode
from service.web import filled_manifest
from tests.conftest import ALICE, SIGNING_SECRET
from tests.processes import Process, base_env, free_port
from tests.slack_requests import SlackClient


async def test_serve_without_slack_credentials_shows_the_setup_page(tmp_path, own_database, http):
    port = free_port()
    serve = await Process("serve", base_env(tmp_path, own_database, port), tmp_path).start()
    try:
        await serve.wait_ready(http)
        async with http.get(f"http://127.0.0.1:{port}/") as response:
            page = await response.text()
        async with http.get(f"http://127.0.0.1:{port}/healthz") as health:
            assert (health.status, await health.text()) == (200, "ok")
        async with http.post(f"http://127.0.0.1:{port}/slack/events", data="x") as events:
            assert events.status == 503
    finally:
        code, output = await serve.stop()
    assert response.status == 200
    assert "request_url: https://crm.acme.example/slack/events" in page
    assert "crm.example.com" not in page
    assert "unfurl_domains:\n    - crm.acme.example" in page  # links to PUBLIC_URL unfurl
    http_manifest, socket_manifest = shown_manifest(page, "manifest-http"), shown_manifest(page, "manifest-socket")
    assert http_manifest["settings"]["event_subscriptions"]["request_url"] == "https://crm.acme.example/slack/events"
    assert socket_manifest["settings"]["socket_mode_enabled"] is True
    assert 'data-copy="manifest-socket" hidden' in page  # the copy button waits for the script; the text does not
    assert "SLACK_BOT_TOKEN" in page
    assert "Slack is not connected: SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET" in output
    assert code == 0, output


async def test_web_answers_signed_slack_requests_and_the_worker_stops_cleanly(tmp_path, own_database, http, slack):
    port = free_port()
    env = {**base_env(tmp_path, own_database, port), "SLACK_BOT_TOKEN": "xoxb-test",
           "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": slack.api_url}
    web = await Process("web", env, tmp_path).start()
    worker = await Process("worker", env, tmp_path).start()
    try:
        await web.wait_ready(http)
        alice = SlackClient(http, f"http://127.0.0.1:{port}", SIGNING_SECRET, user_id=ALICE.id,
                            response_url=slack.response_url("web"))
        reply = await alice.command("new customer Tyrell Corporation")
        assert (reply.status, reply.text) == (200, "")
        [answer] = await slack.wait_for_response()
        assert "Tyrell Corporation" in answer.body["text"]
        assert slack.calls_to("users.info")[0].token == "xoxb-test"
        await worker.wait_for_log("worker ready")  # it migrated the same database meanwhile
    finally:
        web_code, web_output = await web.stop()
        worker_code, worker_output = await worker.stop()
    assert (web_code, worker_code) == (0, 0), web_output + worker_output
    assert "worker ready" in worker_output


async def test_readyz_waits_for_migrations_and_healthz_for_the_database(db, settings, http):
    from aiohttp import web as aiohttp_web

    from service.web import READY, create_web_app

    app = create_web_app(settings, None)
    runner = aiohttp_web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await aiohttp_web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with http.get(f"http://127.0.0.1:{port}/readyz") as starting:
            assert starting.status == 503
        app[READY].set()
        async with http.get(f"http://127.0.0.1:{port}/readyz") as ready:
            assert ready.status == 200
        async with http.get(f"http://127.0.0.1:{port}/healthz") as health:
            assert await health.text() == "ok"
    finally:
        await runner.cleanup()


async def test_a_bad_setting_stops_start_up_with_one_line(tmp_path):
    process = await Process("serve", {"CRM_TIMEZONE": "Mars/Olympus", "DATA_DIR": str(tmp_path)}, tmp_path).start()
    code, output = await process.stop(terminate=False)
    assert code == 2
    assert output.strip().splitlines() == [
        "crm: configuration error: CRM_TIMEZONE: 'Mars/Olympus' is not an IANA time zone such as Europe/Paris"]


def shown_manifest(page: str, element_id: str) -> dict:
    """The manifest the set-up page shows in the element `element_id`, read as YAML."""
    shown = re.search(f'<pre id="{element_id}">(.*?)</pre>', page, re.S)
    assert shown, f"no {element_id} on the page"
    return yaml.safe_load(html.unescape(shown[1]))


@pytest.mark.database_free
def test_the_socket_mode_manifest_has_socket_mode_on_and_no_request_url():
    over_http = yaml.safe_load(filled_manifest("https://crm.acme.example"))
    socket = yaml.safe_load(socket_mode(filled_manifest("https://crm.acme.example")))
    assert over_http["settings"]["socket_mode_enabled"] is False
    assert over_http["settings"]["interactivity"]["message_menu_options_url"] == "https://crm.acme.example/slack/events"
    assert socket["settings"]["socket_mode_enabled"] is True
    assert "https://" not in socket_mode(filled_manifest("https://crm.acme.example"))
    assert socket["settings"]["interactivity"] == {"is_enabled": True}
    assert "request_url" not in socket["settings"]["event_subscriptions"]
    assert [command.get("url") for command in socket["features"]["slash_commands"]] == [None]
    for same in (("oauth_config",), ("features", "shortcuts"), ("features", "app_home"),
                 ("settings", "event_subscriptions", "bot_events"), ("features", "unfurl_domains")):
        ours, theirs = over_http, socket
        for key in same:
            ours, theirs = ours[key], theirs[key]
        assert ours == theirs, same
    laptop = yaml.safe_load(socket_mode(filled_manifest("http://localhost:3000")))
    assert "unfurl_domains" not in laptop["features"]  # Slack refuses localhost as an unfurl domain
