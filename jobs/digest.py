"""The morning digest: at 9:00 in CRM_TIMEZONE, each rep with something to act on gets one direct
message (crm.digest), and CRM_NOTIFY_CHANNEL, when set, the team's. A job claimed in the
database (`once`): whichever worker wins sends it, the others do not, and its next run is the
next 9:00 of the zone, whatever the daylight-saving time."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from bot import digest_views as views
from bot.notices import bot_client, notify
from crm import clock, digest, users
from crm.context import Context
from crm.permissions import SYSTEM
from crm.settings import Settings

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
    client = bot_client(settings)
    for rep_digest in found.reps:
        await notify(client, rep_digest.rep_id, views.rep_digest(rep_digest, day), direct=True, what="digest")
    if settings.notify_channel and found.team:
        team = found.team
        names = await users.names(sorted({due.rep_id for due in [*team.expiring, *team.overdue] if due.rep_id}
                                         | {event.user_id for event in team.today}))
        await notify(client, settings.notify_channel, views.team_digest(team, day, names), direct=False,
                     what="team digest")
