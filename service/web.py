"""HTTP endpoints on $PORT (SPEC §8): Slack's requests, health, readiness, the setup page."""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from urllib.parse import urlsplit

import jinja2
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier

from bot.app import close_connections, open_connections
from crm import clock, db
from crm.errors import NotFound
from crm.mail import unsubscribe
from crm.settings import Settings
from service import manifests

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "manifest.yml"
MANIFEST_BASE_URL = "https://crm.example.com"
READY = web.AppKey("ready", asyncio.Event)  # set once migrations are applied
HEALTH_TIMEOUT = 1.0  # seconds: a database that does not answer by then is unhealthy
MAX_BODY = 1024 * 1024  # Slack's requests are a few kilobytes
_templates = jinja2.Environment(loader=jinja2.FileSystemLoader(ROOT / "templates"), autoescape=True)


def _page(name: str, status: int = 200, **values) -> web.Response:
    return web.Response(text=_templates.get_template(name).render(**values), status=status, content_type="text/html")


def filled_manifest(public_url: str) -> str:
    """manifest.yml with its placeholder base URL replaced by PUBLIC_URL, and its placeholder host
    (the domain whose links unfurl) by PUBLIC_URL's."""
    text = MANIFEST.read_text(encoding="utf-8").replace(MANIFEST_BASE_URL, public_url.rstrip("/"))
    return text.replace(urlsplit(MANIFEST_BASE_URL).hostname, urlsplit(public_url).hostname or "localhost")


def _signed(verifier: SignatureVerifier, body: bytes, headers) -> bool:
    """Whether Slack signed `body` with our secret, recently; any malformed header means no."""
    try:
        return verifier.is_valid(body, headers.get("X-Slack-Request-Timestamp", ""),
                                 headers.get("X-Slack-Signature", ""))
    except (ValueError, TypeError):
        return False


def create_web_app(settings: Settings, slack: AsyncApp | None) -> web.Application:
    """The aiohttp application; `slack` is None when Slack credentials are missing."""
    app = web.Application(client_max_size=MAX_BODY)
    app[READY] = asyncio.Event()
    # Without a signing secret (Socket Mode), nothing over HTTP can be Slack's: nothing reaches Bolt.
    verifier = SignatureVerifier(settings.slack_signing_secret) if settings.slack_signing_secret else None

    async def slack_events(request: web.Request) -> web.Response:
        if slack is None:
            return web.Response(status=503, text="Slack is not configured on this server; see /")
        if verifier is None:
            return web.Response(status=404, text="Slack requests arrive over Socket Mode on this server")
        body = await request.read()
        if not _signed(verifier, body, request.headers):
            # one short line: the body of a forged request never goes to the log
            log.info("refused a request without a valid Slack signature from %s", request.remote)
            return web.Response(status=401, text="invalid signature")
        if not request.app[READY].is_set():
            return web.Response(status=503, text="starting")
        try:
            bolt_request = await to_bolt_request(request)
        except Exception:  # noqa: BLE001 - signed, but not a Slack payload: nothing to answer
            log.warning("refused a signed request that is not a Slack payload (%d bytes)", len(body))
            return web.Response(status=400, text="malformed request")
        return await to_aiohttp_response(await slack.async_dispatch(bolt_request))

    async def healthz(request: web.Request) -> web.Response:
        try:
            await asyncio.wait_for(db.ping(), HEALTH_TIMEOUT)
        except Exception as error:  # noqa: BLE001 - any database failure means unhealthy
            log.warning("health check failed: %r", error)
            return web.Response(status=503, text="database unavailable")
        return web.Response(text="ok")

    async def readyz(request: web.Request) -> web.Response:
        if request.app[READY].is_set():
            return web.Response(text="ready")
        return web.Response(status=503, text="starting")

    async def unsubscribe_ask(request: web.Request) -> web.Response:
        """Only a question: mail scanners open links, and must not unsubscribe anyone."""
        return await _unsubscribe(request, done=False)

    async def unsubscribe_now(request: web.Request) -> web.Response:
        """The page's button, or a mail client's one-click (RFC 8058: List-Unsubscribe=One-Click)."""
        return await _unsubscribe(request, done=True)

    async def _unsubscribe(request: web.Request, done: bool) -> web.Response:
        try:
            address = unsubscribe.address_of(settings.secret_key, request.match_info["token"])
        except NotFound as refused:
            return _page("unsubscribe.html", status=404, problem=str(refused))
        if done:
            await unsubscribe.opt_out(address, "unsubscribed by its link", clock.now())
        return _page("unsubscribe.html", address=address, done=done)

    async def record_link(request: web.Request) -> web.Response:
        """PUBLIC_URL/t/CODE unfurls in Slack; here it says only that, whatever the code: codes are
        sequential, and a page naming their records would let anyone list the customers."""
        return _page("link.html")

    async def setup_page(request: web.Request) -> web.Response:
        manifest = filled_manifest(settings.public_url)
        html = _templates.get_template("setup.html").render(
            missing=settings.missing_slack_credentials(),
            public_url=settings.public_url,
            manifest=manifest,
            socket_mode_manifest=manifests.socket_mode(manifest),
        )
        return web.Response(text=html, content_type="text/html")

    if slack is not None:
        app.on_startup.append(lambda _: open_connections(slack))
        app.on_cleanup.append(lambda _: close_connections(slack))
    app.router.add_post("/slack/events", slack_events)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/", setup_page)
    app.router.add_get("/u/{token}", unsubscribe_ask)
    app.router.add_post("/u/{token}", unsubscribe_now)
    app.router.add_get("/t/{code}", record_link)
    return app
