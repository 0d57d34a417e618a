"""Reminders (SPEC §10): a call, meeting or task with a time reminds its user in Slack 15
minutes before, once: each reminder is claimed in the database before it is sent, so two
workers never send the same one."""
from __future__ import annotations

import asyncio
import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import timeline_views as views
from crm import clock, timeline
from crm.settings import Settings

log = logging.getLogger(__name__)


async def remind(settings: Settings) -> None:
    """A direct message to the user of each planned event starting within 15 minutes."""
    if not settings.slack_bot_token:
        return
    now = clock.now()
    client = AsyncWebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url)
    for planned in await timeline.due_reminders(now):
        if not await timeline.mark_reminded(planned.id, now):
            continue  # another worker has it
        try:
            channel = (await client.conversations_open(users=planned.user_id))["channel"]["id"]
            await client.chat_postMessage(channel=channel, **views.reminder_message(planned))
        except SlackApiError as refused:  # the user left, the app was removed: nothing to retry
            log.warning("reminder %s: Slack refused it (%s)", planned.id, refused.response.get("error"))
        except (OSError, asyncio.TimeoutError) as error:  # at most once: a lost reminder is not sent twice
            log.warning("reminder %s: Slack did not answer (%r)", planned.id, error)
