"""The morning digest: at 9:00 in CRM_TIMEZONE, each rep with something to act on gets one direct
message (crm.digest), and CRM_NOTIFY_CHANNEL, when set, the team's. A job claimed in the
database (`once`): whichever worker wins sends it, the others do not, and its next run is the
next 9:00 of the zone, whatever the daylight-saving time."""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import digest_views as views
from crm import clock, digest, users
from crm.context import Context
from crm.permissions import SYSTEM
from crm.settings import Settings

log = logging.getLogger(__name__)
AT = time(9)


def next_morning(now: datetime, tz: ZoneInfo) -> datetime:
    """The first 9:00 in `tz` after `now` (a wall-clock time: 23 or 25 hours apart across a change)."""
    today = now.astimezone(tz).date()
    for day in (today, today + timedelta(days=1)):
        moment = datetime.combine(day, AT, tz)
        if moment > now:
            return moment.astimezone(timezone.utc)  # stored and compared as UTC
    raise AssertionError("unreachable: tomorrow's 9:00 is always after now")


async def send_digests(settings: Settings) -> None:
    if not settings.slack_bot_token:
        return
    day = clock.now().astimezone(settings.timezone).date()
    found = await digest.gather(Context(SYSTEM, settings, clock), day)
    client = AsyncWebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url)
    for rep_digest in found.reps:
        await _send(client, rep_digest.rep_id, views.rep_digest(rep_digest, day), direct=True)
    if settings.notify_channel and found.team:
        team = found.team
        names = await users.names(sorted({due.rep_id for due in [*team.expiring, *team.overdue] if due.rep_id}
                                         | {event.user_id for event in team.today}))
        await _send(client, settings.notify_channel, views.team_digest(team, day, names))


async def _send(client: AsyncWebClient, to: str, digest_message: dict, *, direct: bool = False) -> None:
    """One digest, to a person's conversation with the app (`direct`) or to a channel. One that
    Slack refuses or does not take is logged and the others still go: sent at most once a day."""
    try:
        channel = (await client.conversations_open(users=to))["channel"]["id"] if direct else to
        await client.chat_postMessage(channel=channel, **digest_message)
    except SlackApiError as refused:  # the person left, the app is not in the channel
        log.warning("digest for %s: Slack refused it (%s)", to, refused.response.get("error"))
    except (OSError, asyncio.TimeoutError) as error:
        log.warning("digest for %s: Slack did not answer (%r)", to, error)
