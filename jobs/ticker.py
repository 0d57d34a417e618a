"""The in-process ticker: APScheduler's AsyncIOScheduler fires every TICK; each tick starts the
jobs that are due and not already running here.

A job `once` is claimed in the database first (crm.jobs): whichever process wins runs it, its
hold renewed while it runs, and schedules its next run when done. Any other job runs in every
process (the campaign sender: there, each piece of work is a row claimed on its own)."""
from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Awaitable, Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from crm import clock, jobs
from crm.settings import Settings

log = logging.getLogger(__name__)
TICK = 1.0  # seconds between ticks
# APScheduler says at INFO each time it runs the tick: every second, a line that tells nothing
logging.getLogger("apscheduler").setLevel(logging.WARNING)


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    run: Callable[[Settings], Awaitable[None]]
    once: bool = True  # claimed by one process per run; else every process runs it
    hold: timedelta = timedelta(minutes=2)  # renewed while it runs; a dead process lets go after it
    at: Callable[[datetime], datetime] | None = None  # a job at set times: its next run after a moment

    def first_due(self, now: datetime) -> datetime:
        return self.at(now) if self.at else now

    def next_due(self, now: datetime) -> datetime:
        return self.at(now) if self.at else now + self.every


class Ticker:
    def __init__(self, settings: Settings, schedule: list[Job], tick: float = TICK):
        self.settings = settings
        self.schedule = schedule
        self.tick = tick
        self.holder = f"{jobs.process_name()}:{secrets.token_hex(3)}"  # two tickers of a process differ
        self.running: dict[str, asyncio.Task] = {}
        self.due_here: dict[str, datetime] = {}  # next runs of the jobs every process runs
        self.scheduler = AsyncIOScheduler()
        self.ticking = asyncio.Lock()  # a tick that is claiming finishes before the ticker stops
        self.stopped = False

    async def start(self) -> None:
        now = clock.now()
        for job in self.schedule:
            if job.once:
                await jobs.register(job.name, job.first_due(now))
        self.scheduler.add_job(self._tick, "interval", seconds=self.tick, max_instances=1, coalesce=True,
                               misfire_grace_time=None)
        self.scheduler.start()
        log.info("worker ready: %s", ", ".join(job.name for job in self.schedule) or "no jobs")

    async def stop(self) -> None:
        self.scheduler.shutdown(wait=False)
        async with self.ticking:
            self.stopped = True
        for task in self.running.values():
            task.cancel()
        await asyncio.gather(*self.running.values(), return_exceptions=True)

    async def _tick(self) -> None:
        async with self.ticking:
            if not self.stopped:
                await self._start_due()

    async def _start_due(self) -> None:
        now = clock.now()
        for job in self.schedule:
            due_here = self.due_here.get(job.name)
            if job.name not in self.running and (due_here is None or due_here <= now):
                self.running[job.name] = asyncio.create_task(self._claim_and_run(job))

    async def _claim_and_run(self, job: Job) -> None:
        try:
            if not job.once or await self._claim(job):
                await self._run(job)
        except Exception:  # noqa: BLE001 - the database may be away: the next tick tries again
            log.exception("could not claim %s", job.name)
        finally:
            self.running.pop(job.name, None)

    async def _claim(self, job: Job) -> bool:
        claiming = asyncio.ensure_future(jobs.claim_due(job.name, self.holder, clock.now(), job.hold))
        try:
            return await asyncio.shield(claiming)
        except asyncio.CancelledError:  # stopping: a claim that went through is let go at once
            if await claiming:
                await jobs.release(job.name, self.holder)
            raise

    async def _run(self, job: Job) -> None:
        keeping = asyncio.create_task(self._keep_hold(job)) if job.once else None
        try:
            await job.run(self.settings)
        except asyncio.CancelledError:
            if job.once:  # stopped before the end: still due, for whichever process claims it next
                await uninterrupted(jobs.release(job.name, self.holder))
            raise
        except Exception as failure:  # noqa: BLE001 - one job failing must not stop the others
            log.exception("job %s failed", job.name)
            await uninterrupted(self._done(job, repr(failure)))
        else:
            await uninterrupted(self._done(job, ""))
        finally:
            if keeping:
                keeping.cancel()

    async def _done(self, job: Job, error: str) -> None:
        now = clock.now()
        if job.once:
            await jobs.finish(job.name, self.holder, now, job.next_due(now), error)
        else:
            self.due_here[job.name] = job.next_due(now)

    async def _keep_hold(self, job: Job) -> None:
        while True:
            await asyncio.sleep(job.hold.total_seconds() / 3)
            if not await jobs.hold(job.name, self.holder, clock.now(), job.hold):
                log.warning("job %s was taken over by another process", job.name)


async def uninterrupted(bookkeeping) -> None:
    """Write down how a run ended even when the process is stopping meanwhile."""
    task = asyncio.ensure_future(bookkeeping)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        await task
        raise
