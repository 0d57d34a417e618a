"""The processes as operators run them: `crm serve`, `crm web`, `crm worker`, and the
HTTP endpoints of SPEC §8 (health, readiness, the setup page)."""
from __future__ import annotations

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
