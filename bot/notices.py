"""Messages the app sends of its own accord (reminders, digests, emails logged): to a person's
conversation with the app or to a channel, at most once. Slack refusing one, or not answering,
is logged and the others still go: a lost notice is never sent twice."""
from __future__ import annotations

import asyncio
import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from crm.settings import Settings

log = logging.getLogger(__name__)


def bot_client(settings: Settings) -> AsyncWebClient:
    return AsyncWebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url)


async def notify(client: AsyncWebClient, to: str, message: dict, *, direct: bool, what: str) -> None:
    """Post `message` to user `to`'s conversation with the app (`direct`), or to channel `to`;
    `what` names it in the log."""
    try:
        channel = (await client.conversations_open(users=to))["channel"]["id"] if direct else to
        await client.chat_postMessage(channel=channel, **message)
    except SlackApiError as refused:  # the person left, the app is not in the channel
        log.warning("%s for %s: Slack refused it (%s)", what, to, refused.response.get("error"))
    except (OSError, asyncio.TimeoutError) as error:
        log.warning("%s for %s: Slack did not answer (%r)", what, to, error)
