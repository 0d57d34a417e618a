"""The Bolt app: one AsyncApp, the listener modules registered on it, and the handler of last
resort that makes sure Slack never gets a 404 or a 500 and nobody is left without an answer."""
from __future__ import annotations

import logging
import secrets
import weakref

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.error import BoltUnhandledRequestError
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot import (
    admin, campaigns, cards, commands, documents, erasure, files, home, inbox, interactions, lists, mail, mentions,
    merge, options, products, reps, search, thirdparty_picker, timeline,
)
from bot.surface import STALE, UNEXPECTED, Surface, post_response
from crm.settings import Settings

log = logging.getLogger(__name__)

DRAIN_TIMEOUT = 5.0  # seconds answers under way may take to finish when the process stops
_surfaces: weakref.WeakKeyDictionary[AsyncApp, Surface] = weakref.WeakKeyDictionary()


def build_app(settings: Settings) -> AsyncApp:
    client = AsyncWebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url)
    app = AsyncApp(
        client=client,
        # Socket Mode requests are not signed, and without a signing secret the web server
        # hands Bolt nothing over HTTP; a random secret makes sure nothing could be signed anyway.
        signing_secret=settings.slack_signing_secret or secrets.token_hex(32),
        raise_error_for_unhandled_request=True,
        process_before_response=True,  # listeners ack and return; their work runs after (bot.surface)
    )
    surface = _surfaces[app] = Surface(settings)
    for listeners in (commands, interactions, admin, options, products, documents, mail, campaigns, inbox, merge,
                      erasure, search, lists, home, files, mentions, timeline, reps, thirdparty_picker):
        listeners.register(app, surface)
    app.error(_last_resort)
    return app


async def open_connections(app: AsyncApp) -> None:
    """One HTTP session for every call to Slack (Web API and response_url): kept-alive
    connections instead of a new one, and a TLS handshake, per call."""
    app.client.session = aiohttp.ClientSession()


async def close_connections(app: AsyncApp) -> None:
    """On the way out: answers under way get a few seconds to reach Slack, then the session closes."""
    await _surfaces[app].drain(DRAIN_TIMEOUT)
    await _surfaces[app].close_renderer()
    if app.client.session is not None:
        await app.client.session.close()


async def _last_resort(error: Exception, body: dict, client, response) -> BoltResponse | None:
    """Whatever no listener answered: a 200 for Slack and, where there is a way, a word for the person."""
    unhandled = isinstance(error, BoltUnhandledRequestError)
    if unhandled:
        log.info("no listener for a %s request", (body or {}).get("type") or "slash command")
    else:
        log.error("a Slack request failed", exc_info=error)
    interactive = (body or {}).get("type") in ("block_actions", "message_action", "shortcut") or "command" in (body or {})
    response_url = (body or {}).get("response_url")
    if response_url and (interactive or not unhandled):
        try:
            await post_response(client, response_url, {"response_type": "ephemeral", "replace_original": False,
                                                       **cards.error_message(STALE if unhandled else UNEXPECTED)})
        except Exception:  # noqa: BLE001 - Slack itself unreachable: the log has it
            log.warning("could not tell the person either", exc_info=True)
    # `response` is None when the listener had acknowledged already: Slack has its 200
    return BoltResponse(status=200, body="") if response is not None else None
