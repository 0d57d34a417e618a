"""Scheduled work runs once whichever process claims it (crm.jobs), and the ticker that runs it
(jobs.ticker)."""
from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from crm import clock, jobs
from crm.settings import Settings
from jobs.ticker import Job, Ticker
from models import ScheduledJob

HOLD = timedelta(minutes=1)
DEADLINE = 15.0  # seconds for something to happen at all, on a busy machine


async def until(condition) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.02)
    await asyncio.wait_for(poll(), DEADLINE)


@pytest.fixture
async def fresh(db):
    await ScheduledJob.all().delete()


async def test_one_claimer_wins_among_many_at_once(fresh):
    now = clock.now()
    await jobs.register("digest", now)
    won = await asyncio.gather(*(jobs.claim_due("digest", f"process-{n}", now, HOLD) for n in range(8)))
    assert won.count(True) == 1
    row = await ScheduledJob.get(name="digest")
    assert row.holder == f"process-{won.index(True)}" and row.held_until == now + HOLD


async def test_a_finished_job_waits_for_its_next_due_time(fresh):
    now = clock.now()
    await jobs.register("digest", now)
    assert await jobs.claim_due("digest", "a", now, HOLD)
    await jobs.finish("digest", "a", now, now + timedelta(hours=1), error="ValueError('x')")
    assert not await jobs.claim_due("digest", "b", now + timedelta(minutes=59), HOLD)
    assert await jobs.claim_due("digest", "b", now + timedelta(hours=1), HOLD)
    row = await ScheduledJob.get(name="digest")
    assert (row.last_error, row.last_finished_at) == ("ValueError('x')", now)


async def test_a_hold_that_runs_out_is_taken_over_and_its_old_holder_told(fresh):
    now = clock.now()
    assert await jobs.hold("mailbox", "a", now, HOLD)
    assert await jobs.hold("mailbox", "a", now + timedelta(seconds=30), HOLD)  # renewed
    assert not await jobs.hold("mailbox", "b", now + timedelta(seconds=60), HOLD)  # still a's
    assert await jobs.hold("mailbox", "b", now + timedelta(seconds=91), HOLD)  # a went quiet
    assert not await jobs.hold("mailbox", "a", now + timedelta(seconds=92), HOLD)
    await jobs.release("mailbox", "b")
    assert await jobs.hold("mailbox", "a", now + timedelta(seconds=93), HOLD)


async def test_tickers_in_two_processes_run_a_job_once_per_due_time(fresh):
    runs: list[tuple[str, float, float]] = []

    async def record(settings) -> None:
        start = asyncio.get_running_loop().time()
        await asyncio.sleep(0.05)
        runs.append((asyncio.current_task().get_name(), start, asyncio.get_running_loop().time()))

    schedule = [Job("record", timedelta(seconds=0.3), record)]
    tickers = [Ticker(Settings(), schedule, tick=0.05) for _ in range(2)]
    for ticker in tickers:
        await ticker.start()
    await until(lambda: len(runs) >= 4)
    for ticker in tickers:
        await ticker.stop()
    for (_, _, ended), (_, started, _) in zip(runs, runs[1:]):
        assert started >= ended  # never two at once
    assert (await ScheduledJob.get(name="record")).holder == ""


async def test_a_failing_job_is_recorded_and_runs_again_when_due(fresh):
    attempts = []

    async def fail(settings) -> None:
        attempts.append(1)
        raise RuntimeError("SMTP down")

    ticker = Ticker(Settings(), [Job("fail", timedelta(seconds=0.2), fail)], tick=0.05)
    await ticker.start()
    await until(lambda: len(attempts) >= 2)
    await ticker.stop()
    assert "SMTP down" in (await ScheduledJob.get(name="fail")).last_error


async def test_a_job_held_by_a_process_that_died_runs_elsewhere_after_its_hold(fresh):
    ran = asyncio.Event()

    async def work(settings) -> None:
        ran.set()

    now = clock.now()
    await jobs.register("work", now)
    assert await jobs.claim_due("work", "dead-process", now, timedelta(seconds=1))  # then it died
    ticker = Ticker(Settings(), [Job("work", timedelta(hours=1), work)], tick=0.05)
    await ticker.start()
    try:
        await asyncio.sleep(0.5)
        assert not ran.is_set()  # still held
        await asyncio.wait_for(ran.wait(), DEADLINE)
    finally:
        await ticker.stop()


async def test_a_job_of_every_process_runs_in_each(fresh):
    seen = []

    async def sweep(settings) -> None:
        seen.append(asyncio.current_task().get_name())

    tickers = [Ticker(Settings(), [Job("sweep", timedelta(seconds=10), sweep, once=False)], tick=0.05)
               for _ in range(2)]
    for ticker in tickers:
        await ticker.start()
    await until(lambda: len(seen) >= 2)
    await asyncio.sleep(0.3)
    for ticker in tickers:
        await ticker.stop()
    assert len(seen) == 2 and len(set(seen)) == 2  # once in each, the next run not due yet
    assert not await ScheduledJob.exists(name="sweep")
