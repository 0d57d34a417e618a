"""The Bolt app: one AsyncApp, its middleware, and the listener modules registered on it."""
from __future__ import annotations

import asyncio
import logging
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import admin, commands, interactions
from crm import users
from crm.settings import Settings

log = logging.getLogger(__name__)

GUEST_REFUSAL = "Sorry, Slack guests cannot use the CRM. Ask a full member of the workspace."
UNVERIFIED_REFUSAL = "I could not check your Slack account with Slack just now. Please try again in a moment."
PROFILE_TIMEOUT = 1.5  # seconds: users.info must leave time to answer Slack within 3 s


def build_app(settings: Settings) -> AsyncApp:
    client = AsyncWebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url)
    app = AsyncApp(
        client=client,
        # Socket Mode requests are not signed; HTTP mode always has a secret (see Settings)
        signing_secret=settings.slack_signing_secret or "unused-in-socket-mode",
    )
    app.middleware(_known_user(settings))
    commands.register(app, settings)
    interactions.register(app, settings)
    admin.register(app, settings)
    return app


def _known_user(settings: Settings):
    """Every request: who is acting (role, admin), their time zone; guests are refused."""

    async def middleware(context, body, client, next):
        user_id = context.get("user_id")
        if not user_id:
            return await next()
        user = await users.get_or_create(user_id, settings.default_role)
        if users.needs_refresh(user):
            profile = await _slack_profile(client, user_id)
            if profile:
                user = await users.store_profile(user, profile)
            elif user.refreshed_at is None:
                # never seen by Slack's users.info: we cannot tell a guest from a member
                return _refusal(body, UNVERIFIED_REFUSAL)
        if user.is_guest:
            log.info("refused guest %s", user_id)
            return _refusal(body, GUEST_REFUSAL)
        context["actor"] = users.actor(user, settings.admins)
        context["tz"] = _zone(user.tz) or settings.timezone
        return await next()

    return middleware


def _refusal(body: dict, text: str) -> BoltResponse:
    """Ends the request: the text for a slash command, a bare 200 for anything else."""
    return BoltResponse(status=200, body={"response_type": "ephemeral", "text": text} if body.get("command") else "")


async def _slack_profile(client: AsyncWebClient, user_id: str) -> users.Profile | None:
    """The user's profile, or None when Slack does not answer in time (the ack cannot wait)."""
    try:
        response = await asyncio.wait_for(client.users_info(user=user_id), PROFILE_TIMEOUT)
    except SlackApiError as error:
        log.warning("users.info for %s failed: %s", user_id, error.response.get("error"))
        return None
    except (asyncio.TimeoutError, OSError) as error:
        log.warning("users.info for %s did not answer: %r", user_id, error)
        return None
    user = response["user"]
    profile = user.get("profile", {})
    return users.Profile(
        name=profile.get("display_name") or user.get("real_name") or user.get("name", ""),
        email=profile.get("email"),
        tz=user.get("tz"),
        is_guest=bool(user.get("is_restricted") or user.get("is_ultra_restricted")),
    )


def _zone(name: str | None) -> ZoneInfo | None:
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None
