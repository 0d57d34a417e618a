"""Work that must happen once whichever process does it (`crm worker`, `crm serve`, several of
each): a named row that a conditional update lets exactly one process claim.

- A scheduled job runs when it is due. The process whose claim succeeds holds it until it
  finishes, renewing its hold while it runs; a process that dies holding it lets it go when
  the hold runs out, and another runs it again (jobs are written so that a second run of
  the same work is harmless).
- A hold without a due time keeps work that only one process may do at a time (listening to
  a mailbox): renewed while the work goes on, taken over by another once it runs out.
- A pace that all processes share: turns reserved ahead, a fixed spacing apart (a rate).
"""
from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from models import ScheduledJob


def process_name() -> str:
    """This process, as holds and claims name it: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _free(now: datetime) -> Q:
    return Q(held_until__isnull=True) | Q(held_until__lt=now)


async def register(name: str, first_due: datetime) -> None:
    """The job's row, made the first time a process knows of it (its schedule then lives there)."""
    if not await ScheduledJob.exists(name=name):
        try:
            await ScheduledJob.create(name=name, due_at=first_due)
        except IntegrityError:
            pass  # another process made it meanwhile


async def claim_due(name: str, holder: str, now: datetime, hold: timedelta) -> bool:
    """Whether `holder` won the job: it was due, and nobody held it."""
    won = await ScheduledJob.filter(Q(name=name), Q(due_at__lte=now), _free(now)).update(
        holder=holder, held_until=now + hold, last_started_at=now)
    return won == 1


async def hold(name: str, holder: str, now: datetime, length: timedelta) -> bool:
    """Take or keep the hold on `name` for `length`; False when another process holds it."""
    await register(name, now)
    kept = await ScheduledJob.filter(Q(name=name), Q(holder=holder) | _free(now)).update(
        holder=holder, held_until=now + length)
    return kept == 1


async def finish(name: str, holder: str, now: datetime, next_due: datetime, error: str = "") -> None:
    """The run is over: due again at `next_due`, free for whoever claims it then."""
    await ScheduledJob.filter(name=name, holder=holder).update(
        holder="", held_until=None, due_at=next_due, last_finished_at=now, last_error=error[:5000])


async def release(name: str, holder: str) -> None:
    """Let another process take the hold at once (a clean stop)."""
    await ScheduledJob.filter(name=name, holder=holder).update(holder="", held_until=None)


async def reserve(name: str, count: int, spacing: timedelta, now: datetime) -> datetime:
    """Reserve `count` turns, `spacing` apart, on a pace every process shares (the campaign
    rate: a per-process limit would multiply by the number of workers). Returns when the first
    turn is; the others follow it. The reservation is a conditional update, retried when another
    process reserved meanwhile."""
    await register(name, now)
    while True:
        booked_until = (await ScheduledJob.get(name=name)).due_at
        start = max(booked_until, now)
        if await ScheduledJob.filter(name=name, due_at=booked_until).update(due_at=start + spacing * count):
            return start
