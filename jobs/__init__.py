"""Scheduled work (SPEC §1): run by `crm worker`, and by `crm serve` beside the web app.
APScheduler is only the in-process ticker; what must happen once is claimed in our database
(crm.jobs), so any number of processes run each job once."""

from datetime import timedelta

from crm.settings import Settings
from jobs.campaigns import send_campaigns, show_progress
from jobs.digest import next_morning, send_digests
from jobs.inbound import listen
from jobs.reminders import remind
from jobs.ticker import Job

PROGRESS_EVERY = timedelta(seconds=3)  # a campaign's message is brought up to date at most this often
LISTEN_EVERY = timedelta(seconds=2)  # how often a process that does not listen to the mailbox asks to
REMIND_EVERY = timedelta(minutes=1)  # planned events are reminded of 15 minutes before, to the minute


def schedule(settings: Settings) -> list[Job]:
    """The jobs a worker process runs."""
    return [Job("campaign-sender", timedelta(seconds=1), send_campaigns, once=False),
            Job("campaign-progress", PROGRESS_EVERY, show_progress),
            Job("reminders", REMIND_EVERY, remind),
            Job("morning-digest", timedelta(days=1), send_digests,
                at=lambda now: next_morning(now, settings.timezone)),
            *([Job("imap-listener", LISTEN_EVERY, listen, once=False)] if settings.imap_url else [])]
