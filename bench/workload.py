"""Third parties created by several OS processes at once, shared by the bench and the
concurrency test.

Each process opens its own connection, waits at a common start line, then stores its share
of the rows one at a time, either through the domain layer (`domain_creator`) or as bare
INSERTs of the same rows, one transaction per row (`bare_inserter`, PostgreSQL only).
The time quoted runs from the start line until the last process reports done.
"""
from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import queue
import threading
import time
import traceback
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from typing import AsyncIterator, Awaitable, Callable
from zoneinfo import ZoneInfo

import asyncpg

from crm import clock, db as crm_db, search, thirdparties
from crm.context import Context
from crm.masks import DEFAULT_MASKS, parse_mask
from crm.normalize import fold, name_key
from crm.permissions import Actor
from crm.settings import Settings
from models import Event, NumberingCounter, ThirdParty

ACTOR = Actor("U0BENCH")
UTC = ZoneInfo("UTC")
CODE_MASK = parse_mask(DEFAULT_MASKS["thirdparty"])
STARTUP_TIMEOUT = 120  # seconds for every process to import, connect and reach the start line
RUN_TIMEOUT = 1800  # seconds for a process to store its share once started

StoreOne = Callable[[int], Awaitable[None]]
Opener = Callable[[str], contextlib.AbstractAsyncContextManager[StoreOne]]

# Columns of a third party's row as the domain layer inserts it, in the bare INSERT's order.
BARE_COLUMNS = (
    "created_at", "updated_at", "created_by", "updated_by", "code", *thirdparties.FIELDS,
    "name_fold", "name_key", "email_key", "vat_key", "search_text",
)
BARE_INSERT = (
    f"INSERT INTO crm_thirdparty ({', '.join(BARE_COLUMNS)}) "
    f"VALUES ({', '.join(f'${i}' for i in range(1, len(BARE_COLUMNS) + 1))})"
)
BLANK_FIELDS = {**{name: "" for name in thirdparties.FIELDS}, "status": "active"}


class WorkersFailed(RuntimeError):
    """A process of the workload failed; the message holds its traceback."""


def thirdparty_values(number: int) -> dict:
    """The form values of the `number`th third party of a run (numbers start at 1)."""
    return {"name": f"Acme {number}", "type": "customer", "email": f"contact{number}@example.com", "town": "Lyon"}


def expected_codes(count: int, when: datetime) -> list[str]:
    """The codes `count` creations get with the default mask in the month of `when` (UTC)."""
    return [CODE_MASK.render(value, when, UTC) for value in range(1, count + 1)]


@contextlib.asynccontextmanager
async def domain_creator(database_url: str) -> AsyncIterator[StoreOne]:
    """Creates third parties as the product does: `crm.thirdparties.create`, one per call."""
    await crm_db.connect(database_url)
    ctx = Context(ACTOR, Settings(database_url=database_url, timezone=UTC), clock)
    try:
        await crm_db.ping()  # the pool's connection is opened before the start line

        async def create_one(number: int) -> None:
            await thirdparties.create(ctx, thirdparty_values(number))

        yield create_one
    finally:
        await crm_db.close()


@contextlib.asynccontextmanager
async def bare_inserter(database_url: str) -> AsyncIterator[StoreOne]:
    """The baseline: the same rows by one asyncpg INSERT each, in a transaction of its own."""
    connection = await asyncpg.connect(database_url)
    try:
        async def insert_one(number: int) -> None:
            async with connection.transaction():
                await connection.execute(BARE_INSERT, *bare_row(number))

        yield insert_one
    finally:
        await connection.close()


def bare_row(number: int) -> list:
    """The values the domain layer would store for the `number`th third party, code included."""
    values = {**BLANK_FIELDS, **thirdparty_values(number)}
    now = clock.now()
    code = CODE_MASK.render(number, now, UTC)
    row = {
        "created_at": now, "updated_at": now, "created_by": ACTOR.id, "updated_by": ACTOR.id, "code": code,
        **values,
        "name_fold": fold(values["name"]),
        "name_key": name_key(values["name"]),
        "email_key": values["email"].lower(),
        "vat_key": "",
        "search_text": search.haystack(values, []),
    }
    return [row[column] for column in BARE_COLUMNS]


async def run_in_processes(opener: Opener, database_url: str, processes: int, per_process: int) -> float:
    """Seconds `processes` processes, started together, take to store `per_process` rows each."""
    return await asyncio.to_thread(_run_in_processes, opener, database_url, processes, per_process)


def _run_in_processes(opener: Opener, database_url: str, processes: int, per_process: int) -> float:
    context = multiprocessing.get_context("spawn")
    start_line = context.Barrier(processes + 1)
    reports = context.Queue()
    children = [
        context.Process(
            target=_worker,
            args=(opener, database_url, range(child * per_process + 1, (child + 1) * per_process + 1),
                  start_line, reports),
        )
        for child in range(processes)
    ]
    for child in children:
        child.start()
    try:
        started = _wait_at(start_line)
        timeout = RUN_TIMEOUT if started is not None else STARTUP_TIMEOUT
        failures = [failure for failure in (_next_report(reports, timeout) for _ in children) if failure]
        elapsed = time.perf_counter() - started if started is not None else None
    finally:
        _stop(children)
    if failures or elapsed is None:
        raise WorkersFailed("\n".join(failures) or "a process never reached the start line")
    return elapsed


def _wait_at(start_line: Barrier) -> float | None:
    """When every process reached the start line, or None if one failed first."""
    try:
        start_line.wait(timeout=STARTUP_TIMEOUT)
    except threading.BrokenBarrierError:
        return None
    return time.perf_counter()


def _next_report(reports: Queue, timeout: float) -> str | None:
    try:
        return reports.get(timeout=timeout)
    except queue.Empty:
        return f"a process did not report within {timeout} s"


def _stop(children: list[multiprocessing.Process]) -> None:
    for child in children:
        child.join(timeout=30)
        if child.is_alive():
            child.kill()
            child.join()


def _worker(opener: Opener, database_url: str, numbers: range, start_line: Barrier, reports: Queue) -> None:
    """One process: reports None once its rows are stored, or the traceback of its failure."""
    try:
        asyncio.run(_store(opener, database_url, numbers, start_line))
    except BaseException:  # noqa: BLE001 - whatever it is, the parent must hear of it
        start_line.abort()  # the others (and the parent) stop waiting for this one
        reports.put(f"process for rows {numbers.start}-{numbers.stop - 1}:\n{traceback.format_exc()}")
    else:
        reports.put(None)


async def _store(opener: Opener, database_url: str, numbers: range, start_line: Barrier) -> None:
    async with opener(database_url) as store_one:
        start_line.wait(timeout=STARTUP_TIMEOUT)
        for number in numbers:
            await store_one(number)


@dataclass(frozen=True)
class CodesAudit:
    """What the connected database holds after third parties were created."""

    codes: list[str]  # sorted
    create_events: int
    counter: int | None

    def problems(self, expected: list[str]) -> list[str]:
        """Departures from `expected` codes, one COMPANY_CREATE each and a counter at their number."""
        found = []
        duplicates = len(self.codes) - len(set(self.codes))
        if duplicates:
            found.append(f"{duplicates} duplicate codes")
        missing = sorted(set(expected) - set(self.codes))
        if missing:
            found.append(f"{len(missing)} codes missing (gaps), first {missing[:3]}")
        unexpected = sorted(set(self.codes) - set(expected))
        if unexpected:
            found.append(f"{len(unexpected)} unexpected codes, first {unexpected[:3]}")
        if self.create_events != len(expected):
            found.append(f"{self.create_events} COMPANY_CREATE events for {len(expected)} creations")
        if self.counter != len(expected):
            found.append(f"the counter is at {self.counter}, not {len(expected)}")
        return found


async def audit_codes() -> CodesAudit:
    """Codes, creation events and the customer code counter, read through the connected ORM."""
    counter_key = CODE_MASK.counter_key(clock.now(), UTC, "customer")  # "": the default mask never resets
    counter = await NumberingCounter.get_or_none(object_type="thirdparty", counter_key=counter_key)
    return CodesAudit(
        codes=sorted(await ThirdParty.all().values_list("code", flat=True)),
        create_events=await Event.filter(code="COMPANY_CREATE").count(),
        counter=counter.value if counter else None,
    )
