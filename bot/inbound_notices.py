"""Telling sales reps in Slack of the email logged on their customers' timelines (by the IMAP
listener, or by an admin assigning an unmatched one)."""
from __future__ import annotations

from collections import defaultdict

from bot import inbound_views as views
from bot.notices import bot_client, notify
from crm.inbound.intake import Logged
from crm.settings import Settings


async def tell_reps(settings: Settings, logged: list[Logged]) -> None:
    """Each rep hears of the emails logged for their customers: one message for one email, one
    summary for several (a backlog). Emails of customers without a rep go to CRM_NOTIFY_CHANNEL
    when it is set. Slack being away loses a notice, never an email (it is on the timeline)."""
    if not logged or not settings.slack_bot_token:
        return
    told: dict[str, list[Logged]] = defaultdict(list)
    for email_logged in logged:
        for rep in email_logged.rep_ids or ([settings.notify_channel] if settings.notify_channel else []):
            told[rep].append(email_logged)
    client = bot_client(settings)
    for rep, emails in told.items():
        notice = views.new_email_message(emails[0]) if len(emails) == 1 else views.emails_summary(emails)
        await notify(client, rep, notice, direct=rep != settings.notify_channel, what="email notice")
