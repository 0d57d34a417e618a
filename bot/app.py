"""The Bolt app: one AsyncApp, its middleware, and the listener modules registered on it."""
from __future__ import annotations

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
        if user.is_guest:
            log.info("refused guest %s", user_id)
            refusal = {"response_type": "ephemeral", "text": GUEST_REFUSAL} if body.get("command") else ""
            return BoltResponse(status=200, body=refusal)
        context["actor"] = users.actor(user, settings.admins)
        context["tz"] = _zone(user.tz) or settings.timezone
        return await next()

    return middleware


async def _slack_profile(client: AsyncWebClient, user_id: str) -> users.Profile | None:
    try:
        response = await client.users_info(user=user_id)
    except SlackApiError as error:
        log.warning("users.info for %s failed: %s", user_id, error.response.get("error"))
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
