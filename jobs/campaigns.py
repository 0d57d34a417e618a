"""Campaign jobs: starting the campaigns whose time has come and sending them, in every worker
(each piece of work is claimed in the database on its own: crm.campaigns)."""
from __future__ import annotations

import asyncio
import logging

from slack_sdk.errors import SlackApiError

from bot import campaign_views as views
from bot.notices import bot_client
from crm import clock, jobs
from crm.campaigns import service
from crm.campaigns.sender import Sender
from crm.context import Context
from crm.permissions import SYSTEM
from crm.settings import Settings

log = logging.getLogger(__name__)


async def send_campaigns(settings: Settings) -> None:
    """Start due campaigns, send what is left to send, and mark finished ones sent."""
    ctx = Context(SYSTEM, settings, clock)
    await service.start_due(ctx)
    sender = Sender(ctx, holder=jobs.process_name())
    try:
        await sender.run()
    finally:
        await sender.close()
    await service.finish_sent(ctx)


async def show_progress(settings: Settings) -> None:
    """Bring each campaign's message in its creator's conversation with the app up to date while
    it sends (this job runs every few seconds), and post a summary when it is done."""
    if not settings.slack_bot_token:
        return
    client = bot_client(settings)
    for campaign, tally in await service.progress_to_show():
        shown = clock.now()
        try:
            await client.chat_update(channel=campaign.progress_channel, ts=campaign.progress_ts,
                                     **views.campaign_message(campaign, tally, can_change=True))
            if campaign.status == "sent":
                await client.chat_postMessage(channel=campaign.progress_channel,
                                              **views.summary_message(campaign, tally))
        except SlackApiError as refused:  # the message was deleted, the app removed: nothing to retry
            log.warning("campaign %s: Slack refused its progress (%s)", campaign.id, refused.response.get("error"))
        except (OSError, asyncio.TimeoutError) as error:  # Slack unreachable: the next run tries again
            log.warning("campaign %s: Slack did not answer (%r)", campaign.id, error)
            continue
        await service.progress_shown(campaign.id, shown)
