"""Signed requests to the app's `POST /slack/events`, shaped exactly as Slack sends them.

Builders return `(body, content_type)`: slash commands are form-encoded fields,
interactivity is form-encoded `payload=<json>`, Events API callbacks are JSON.
`SlackClient` signs and posts them so tests go through bolt's signature check.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any, AsyncIterator
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from bot.app import build_app
from crm.settings import Settings
from service.web import READY, create_web_app
from tests.slack_stub import APP_ID, BOT_ID, BOT_USER_ID, TEAM_DOMAIN, TEAM_ID

DEFAULT_USER_ID = "U0ALICE"
DEFAULT_CHANNEL_ID = "C0GENERAL"
DEFAULT_VIEW_ID = "V123"
DEFAULT_VIEW_HASH = "1700000000.abc123"
DEFAULT_RESPONSE_URL = f"https://hooks.slack.com/actions/{TEAM_ID}/1/placeholder"
VERIFICATION_TOKEN = "legacy-verification-token"
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

Built = tuple[str, str]


def sign(secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    """Slack's v0 signature headers for `body`; callers add the Content-Type."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": f"v0={digest}"}


# -- payload builders ----------------------------------------------------


def slash_command(
    text: str,
    user_id: str = DEFAULT_USER_ID,
    user_name: str | None = None,
    channel_id: str = DEFAULT_CHANNEL_ID,
    command: str = "/crm",
    response_url: str = DEFAULT_RESPONSE_URL,
    trigger_id: str | None = None,
) -> Built:
    """A slash command, as the form fields Slack posts."""
    fields = {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": _name_of(channel_id),
        "user_id": user_id,
        "user_name": user_name or _name_of(user_id),
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or _trigger_id(),
    }
    return urlencode(fields), FORM


def modal(
    callback_id: str = "",
    view_id: str = DEFAULT_VIEW_ID,
    state_values: dict[str, Any] | None = None,
    private_metadata: str = "",
    hash: str = DEFAULT_VIEW_HASH,
    blocks: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The `view` object Slack embeds in view_submission, view_closed and in-modal actions."""
    return {
        "id": view_id,
        "team_id": TEAM_ID,
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": private_metadata,
        "blocks": blocks or [],
        "state": {"values": state_values or {}},
        "hash": hash,
        "title": {"type": "plain_text", "text": "CRM"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "submit": {"type": "plain_text", "text": "Save"},
        "clear_on_close": False,
        "notify_on_close": False,
        "root_view_id": view_id,
        "previous_view_id": None,
        "external_id": "",
        "app_id": APP_ID,
        "app_installed_team_id": TEAM_ID,
        "bot_id": BOT_ID,
    }


def chat_message(
    text: str = "",
    ts: str = "1700000000.000100",
    user_id: str = BOT_USER_ID,
    blocks: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A channel message as it appears in action and shortcut payloads (the app's own by default)."""
    message = {"type": "message", "user": user_id, "team": TEAM_ID, "text": text, "ts": ts, "blocks": blocks or []}
    if user_id == BOT_USER_ID:
        message["bot_id"] = BOT_ID
    return message


def block_actions(
    action_id: str,
    value: str | None = None,
    user_id: str = DEFAULT_USER_ID,
    view: dict[str, Any] | None = None,
    message: dict[str, Any] | None = None,
    channel_id: str = DEFAULT_CHANNEL_ID,
    response_url: str = DEFAULT_RESPONSE_URL,
    trigger_id: str | None = None,
    selected_option: str | None = None,
    action_type: str = "button",
    block_id: str = "actions",
    action_fields: dict[str, Any] | None = None,
) -> Built:
    """A click in a modal/home view (`view=modal(...)`) or, by default, in a channel message
    (only the latter carries a `response_url`, as in Slack).

    `selected_option` is the option value of a select (pass `action_type="static_select"`);
    `action_fields` adds anything else the element reports (selected_date, selected_user...).
    """
    action: dict[str, Any] = {
        "type": action_type,
        "action_id": action_id,
        "block_id": block_id,
        "action_ts": _action_ts(),
    }
    if action_type == "button":
        action["text"] = {"type": "plain_text", "text": action_id, "emoji": True}
    if value is not None:
        action["value"] = value
    if selected_option is not None:
        action["selected_option"] = {"text": {"type": "plain_text", "text": selected_option}, "value": selected_option}
    action.update(action_fields or {})
    where = _where(view, message, channel_id)
    if view is None:
        where["response_url"] = response_url
    return _interactive("block_actions", user_id, trigger_id=trigger_id or _trigger_id(), **where, actions=[action])


def block_suggestion(
    action_id: str,
    value: str,
    user_id: str = DEFAULT_USER_ID,
    block_id: str = "suggestions",
    view: dict[str, Any] | None = None,
    channel_id: str = DEFAULT_CHANNEL_ID,
) -> Built:
    """The options-load request of an external_select while the user types `value`."""
    where = _where(view, None, channel_id)
    return _interactive("block_suggestion", user_id, action_id=action_id, block_id=block_id, value=value, **where)


def view_submission(
    callback_id: str,
    state_values: dict[str, Any],
    user_id: str = DEFAULT_USER_ID,
    private_metadata: str = "",
    view_id: str = DEFAULT_VIEW_ID,
    hash: str = DEFAULT_VIEW_HASH,
    previous_view_id: str | None = None,
) -> Built:
    """A modal submit; `state_values` is Slack's `{block_id: {action_id: {...}}}`.
    A pushed modal has the `previous_view_id` of the one beneath it."""
    view = {**modal(callback_id, view_id, state_values, private_metadata, hash), "previous_view_id": previous_view_id}
    return _interactive("view_submission", user_id, trigger_id=_trigger_id(), view=view, response_urls=[])


def view_closed(
    callback_id: str,
    user_id: str = DEFAULT_USER_ID,
    private_metadata: str = "",
    view_id: str = DEFAULT_VIEW_ID,
    is_cleared: bool = False,
) -> Built:
    view = modal(callback_id, view_id, private_metadata=private_metadata)
    return _interactive("view_closed", user_id, view=view, is_cleared=is_cleared)


def global_shortcut(callback_id: str, user_id: str = DEFAULT_USER_ID, trigger_id: str | None = None) -> Built:
    trigger_id = trigger_id or _trigger_id()
    return _interactive("shortcut", user_id, callback_id=callback_id, trigger_id=trigger_id, action_ts=_action_ts())


def message_shortcut(
    callback_id: str,
    message: dict[str, Any] | None = None,
    channel_id: str = DEFAULT_CHANNEL_ID,
    user_id: str = DEFAULT_USER_ID,
    response_url: str = DEFAULT_RESPONSE_URL,
    trigger_id: str | None = None,
) -> Built:
    """A message action ("..." menu); `message` defaults to one written by the user."""
    message = message or chat_message("Meeting with Acme tomorrow", user_id=user_id)
    return _interactive(
        "message_action",
        user_id,
        callback_id=callback_id,
        trigger_id=trigger_id or _trigger_id(),
        action_ts=_action_ts(),
        channel={"id": channel_id, "name": _name_of(channel_id)},
        message_ts=message["ts"],
        message=message,
        response_url=response_url,
    )


def event_callback(
    event: dict[str, Any], team_id: str = TEAM_ID, event_id: str | None = None, event_time: int | None = None
) -> Built:
    """An Events API delivery wrapping `event` (e.g. {"type": "app_home_opened", ...})."""
    body = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": int(time.time()) if event_time is None else event_time,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
    }
    return json.dumps(body), JSON


def url_verification(challenge: str) -> Built:
    return json.dumps({"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}), JSON


def _interactive(payload_type: str, user_id: str, **fields: Any) -> Built:
    """The envelope shared by every interactivity payload, form-encoded as `payload=<json>`."""
    payload = {
        "type": payload_type,
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "user": {"id": user_id, "username": _name_of(user_id), "name": _name_of(user_id), "team_id": TEAM_ID},
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "enterprise": None,
        "is_enterprise_install": False,
        **fields,
    }
    return urlencode({"payload": json.dumps(payload)}), FORM


def _where(view: dict[str, Any] | None, message: dict[str, Any] | None, channel_id: str) -> dict[str, Any]:
    """Container fields: the view the user is in, else the channel message."""
    if view is not None:
        return {"container": {"type": "view", "view_id": view["id"]}, "view": view}
    message = message or chat_message()
    return {
        "container": {"type": "message", "message_ts": message["ts"], "channel_id": channel_id, "is_ephemeral": False},
        "channel": {"id": channel_id, "name": _name_of(channel_id)},
        "message": message,
    }


def _name_of(slack_id: str) -> str:
    """Readable name derived from a test id: U0ALICE -> alice, C0GENERAL -> general."""
    return slack_id[1:].lstrip("0").lower() or slack_id.lower()


def _action_ts() -> str:
    return f"{time.time():.6f}"


def _trigger_id() -> str:
    return f"{int(time.time())}.{TEAM_ID}.{uuid.uuid4().hex}"


# -- client --------------------------------------------------------------


@dataclass
class SlackReply:
    """What the app answered to a Slack request."""

    status: int
    text: str
    json: Any


class SlackClient:
    """Posts signed Slack requests to the app, as a given user (U0ALICE by default).

    `response_url` (e.g. `slack.response_url()` of a SlackStub) becomes the default
    for commands, actions and message shortcuts so `respond()` lands in the stub.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        signing_secret: str,
        user_id: str = DEFAULT_USER_ID,
        response_url: str = DEFAULT_RESPONSE_URL,
        path: str = "/slack/events",
    ) -> None:
        self.session = session
        self.url = base_url.rstrip("/") + path
        self.signing_secret = signing_secret
        self.user_id = user_id
        self.response_url = response_url

    async def command(self, text: str, **fields: Any) -> SlackReply:
        return await self.post(*slash_command(text, **self._defaults(fields, response_url=True)))

    async def action(self, action_id: str, value: str | None = None, **fields: Any) -> SlackReply:
        return await self.post(*block_actions(action_id, value, **self._defaults(fields, response_url=True)))

    async def submit(self, callback_id: str, state_values: dict[str, Any] | None = None, **fields: Any) -> SlackReply:
        return await self.post(*view_submission(callback_id, state_values or {}, **self._defaults(fields)))

    async def close(self, callback_id: str, **fields: Any) -> SlackReply:
        return await self.post(*view_closed(callback_id, **self._defaults(fields)))

    async def shortcut(self, callback_id: str, message: dict[str, Any] | None = None, **fields: Any) -> SlackReply:
        """A global shortcut, or a message shortcut when `message` is given."""
        if message is None:
            return await self.post(*global_shortcut(callback_id, **self._defaults(fields)))
        return await self.post(*message_shortcut(callback_id, message, **self._defaults(fields, response_url=True)))

    async def suggest(self, action_id: str, value: str, **fields: Any) -> SlackReply:
        return await self.post(*block_suggestion(action_id, value, **self._defaults(fields)))

    async def event(self, event: dict[str, Any], **fields: Any) -> SlackReply:
        return await self.post(*event_callback(event, **fields))

    async def post(
        self, body: str, content_type: str, timestamp: int | None = None, signature: str | None = None
    ) -> SlackReply:
        """Send `body` signed; pass a `signature` or an old `timestamp` to test rejection."""
        headers = {**sign(self.signing_secret, body, timestamp), "Content-Type": content_type}
        if signature is not None:
            headers["X-Slack-Signature"] = signature
        async with self.session.post(self.url, data=body.encode(), headers=headers) as response:
            text = await response.text()
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = None
        return SlackReply(response.status, text, parsed)

    def _defaults(self, fields: dict[str, Any], response_url: bool = False) -> dict[str, Any]:
        """This client's user (and response_url where Slack sends one) unless overridden."""
        defaults: dict[str, Any] = {"user_id": self.user_id}
        if response_url:
            defaults["response_url"] = self.response_url
        return {**defaults, **fields}


@contextlib.asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[str]:
    """`crm web` as production runs it (aiohttp + Bolt) on a free loopback port; yields its URL."""
    web_app = create_web_app(settings, build_app(settings))
    web_app[READY].set()
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        host, port = runner.addresses[0][:2]
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()
