"""Reminders (SPEC §10): a call, meeting or task with a time reminds its user in Slack 15
minutes before, once: each reminder is claimed in the database before it is sent, so two
workers never send the same one."""
from __future__ import annotations

from bot import timeline_views as views
from bot.notices import bot_client, notify
from crm import clock, timeline
from crm.settings import Settings


async def remind(settings: Settings) -> None:
    """A direct message to the user of each planned event starting within 15 minutes."""
    if not settings.slack_bot_token:
        return
    now = clock.now()
    client = bot_client(settings)
    for planned in await timeline.due_reminders(now):
        if await timeline.mark_reminded(planned.id, now):  # else another worker has it
            await notify(client, planned.user_id, views.reminder_message(planned), direct=True,
                         what=f"reminder {planned.id}")
