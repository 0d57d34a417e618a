"""The Slack side of the acknowledgement benchmark, in a process of its own: a load
generator posting signed `/crm` slash commands, and the SlackStub the app under test
calls (Web API, and the response_url of every request).

Both live in one process so that every timestamp is `time.perf_counter()` on one clock:
a request is sent at t0, its HTTP response (the ack) is read at t1, and its answer is
visible at t2 — in the ack's body when that carries `text` or `blocks`, else when the
first POST to the request's own response_url reaches the stub. The process also keeps
the load off the server's core: the parent starts the servers, this process loads them.

`LoadGenerator` is the parent's handle: it starts the process, learns the stub's URL
(for SLACK_API_URL), and hands it `Order`s, each answered by a `LoadRun`.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import math
import multiprocessing
import queue
import time
import traceback
from dataclasses import dataclass
from multiprocessing.queues import Queue
from typing import Any

import aiohttp
from aiohttp import web

from tests.slack_requests import sign, slash_command
from tests.slack_stub import SlackStub

USERS = tuple(f"U0BENCH{number}" for number in range(1, 6))  # the stub's users.info knows them
SLACK_ACK_DEADLINE = 3.0  # seconds: Slack shows the user an error when the ack is later
ANSWER_TIMEOUT = 30.0  # seconds after the last ack for the last answer to reach the stub
REQUEST_TIMEOUT = 30.0
STARTUP_TIMEOUT = 60.0
ORDER_TIMEOUT = 900.0


@dataclass(frozen=True)
class Job:
    """One `/crm` command and what its answer must name (case-insensitively)."""

    text: str
    expected: str
    user_id: str


@dataclass(frozen=True)
class Order:
    """Post `jobs` to `targets` (alternately), `concurrency` at a time; the first `warmup` are not measured."""

    targets: tuple[str, ...]
    jobs: tuple[Job, ...]
    warmup: int
    concurrency: int
    expect_answers: bool  # False for a server that only acks
    signing_secret: str


@dataclass(frozen=True)
class Sample:
    """One measured request, in seconds from its sending."""

    ack: float
    answer: float | None  # None when no answer was expected (or none came)


@dataclass
class LoadRun:
    samples: list[Sample]
    seconds: float  # the measured requests: first sent -> last completed (answered, or acked if no answer is due)
    cpu_seconds: float  # used by the load process meanwhile
    problems: list[str]

    @property
    def requests_per_second(self) -> float:
        return len(self.samples) / self.seconds

    def ack_percentile(self, percent: float) -> float:
        return percentile([sample.ack for sample in self.samples], percent)

    def answer_percentile(self, percent: float) -> float | None:
        answers = [sample.answer for sample in self.samples if sample.answer is not None]
        return percentile(answers, percent) if answers else None


def percentile(values: list[float], percent: float) -> float:
    """Nearest rank: the smallest value that `percent` % of the values do not exceed."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


class LoadGenerator:
    """The parent's handle on the load process: `async with LoadGenerator() as load: await load.run(order)`."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._orders: Queue = context.Queue()
        self._replies: Queue = context.Queue()
        self._process = context.Process(target=_main, args=(self._orders, self._replies), daemon=True)
        self.stub_url = ""

    @property
    def api_url(self) -> str:
        """SLACK_API_URL for the servers under test."""
        return self.stub_url + "api/"

    async def run(self, order: Order) -> LoadRun:
        self._orders.put(order)
        return await self._reply(ORDER_TIMEOUT)

    async def __aenter__(self) -> LoadGenerator:
        self._process.start()
        self.stub_url = await self._reply(STARTUP_TIMEOUT)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._orders.put(None)
        await asyncio.to_thread(self._process.join, 30)
        if self._process.is_alive():
            self._process.kill()

    async def _reply(self, timeout: float) -> Any:
        try:
            reply = await asyncio.to_thread(self._replies.get, True, timeout)
        except queue.Empty:
            raise RuntimeError(f"the load process did not answer within {timeout:.0f} s") from None
        if isinstance(reply, _Failure):
            raise RuntimeError(f"the load process failed:\n{reply.traceback}")
        return reply


@dataclass(frozen=True)
class _Failure:
    traceback: str


@dataclass(frozen=True)
class _Answer:
    at: float  # perf_counter when it was visible
    message: Any
    refused: str = ""  # why Slack would not show it, if it would not


class _AnswerStub(SlackStub):
    """The SlackStub, noting when the first POST to each response_url arrives and what it says."""

    def __init__(self) -> None:
        super().__init__()
        self._answers: dict[str, asyncio.Future[_Answer]] = {}

    def answer(self, name: str) -> asyncio.Future[_Answer]:
        """The first POST to `response_url(name)`."""
        return self._answers.setdefault(name, asyncio.get_running_loop().create_future())

    def forget(self) -> None:
        self.reset()
        self._answers.clear()

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        arrived = time.perf_counter()
        reply = await super()._handle_response_url(request)
        future = self.answer(request.match_info["name"])
        if not future.done():  # aiohttp keeps the body: it is read once
            refused = "" if reply.status == 200 else f"HTTP {reply.status} {reply.text}"
            future.set_result(_Answer(arrived, await request.json(), refused))
        return reply


def _main(orders: Queue, replies: Queue) -> None:
    try:
        asyncio.run(_serve(orders, replies))
    except BaseException:  # noqa: BLE001 - the parent must hear of it rather than wait
        replies.put(_Failure(traceback.format_exc()))


async def _serve(orders: Queue, replies: Queue) -> None:
    async with _AnswerStub() as stub:
        for user_id in USERS:
            stub.add_user(user_id)
        replies.put(stub.base_url)
        for serial in itertools.count(1):  # in response_url names: a late answer cannot pass for a new one
            if (order := await asyncio.to_thread(orders.get)) is None:
                return
            stub.forget()
            try:
                replies.put(await _load(stub, order, f"order{serial}"))
            except Exception:  # noqa: BLE001 - report it and stay up for the next order
                replies.put(_Failure(traceback.format_exc()))


async def _load(stub: _AnswerStub, order: Order, name: str) -> LoadRun:
    connector = aiohttp.TCPConnector(limit=0)  # the workers, not the pool, bound concurrency
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await _batch(stub, session, order, order.jobs[:order.warmup], f"{name}-warmup")
        cpu, started = time.process_time(), time.perf_counter()
        samples, finished, problems = await _batch(stub, session, order, order.jobs[order.warmup:], f"{name}-run")
        return LoadRun(samples, finished - started, time.process_time() - cpu, problems)


@dataclass
class _Sent:
    job: Job
    sent: float
    acked: float
    status: int
    body: str


async def _batch(
    stub: _AnswerStub, session: aiohttp.ClientSession, order: Order, jobs: tuple[Job, ...], batch: str
) -> tuple[list[Sample], float, list[str]]:
    """Samples, when the last request completed, and the problems: `order.concurrency` workers
    post `jobs` back to back (a worker does not wait for answers), then the answers are awaited."""
    posts: dict[int, _Sent] = {}
    queued = iter(enumerate(jobs))

    async def worker() -> None:
        for index, job in queued:
            target = order.targets[index % len(order.targets)]
            posts[index] = await _post(session, target, job, stub.response_url(f"{batch}-{index}"), order.signing_secret)

    await asyncio.gather(*(worker() for _ in range(order.concurrency)))
    sent = [posts[index] for index in range(len(jobs))]
    in_ack = [_answer_in_ack(request) for request in sent]
    posted = [stub.answer(f"{batch}-{index}") for index in range(len(jobs))]
    awaited = [future for answer, future in zip(in_ack, posted) if order.expect_answers and not answer]
    if awaited:
        await asyncio.wait(awaited, timeout=ANSWER_TIMEOUT)
    samples, problems, finished = [], [], 0.0
    for request, acked_answer, future in zip(sent, in_ack, posted):
        answers = [acked_answer, future.result() if future.done() else None]
        shown = [answer for answer in answers if answer and not answer.refused]
        answer = min(shown, key=lambda answer: answer.at, default=None)  # whichever came first
        samples.append(Sample(request.acked - request.sent, answer.at - request.sent if answer else None))
        refusals = [answer.refused for answer in answers if answer and answer.refused]
        problems += _problems(request, answer, refusals, order.expect_answers)
        finished = max(finished, request.acked, answer.at if answer else 0.0)
    return samples, finished, problems


async def _post(session: aiohttp.ClientSession, target: str, job: Job, response_url: str, secret: str) -> _Sent:
    body, content_type = slash_command(job.text, user_id=job.user_id, response_url=response_url)
    headers = {**sign(secret, body), "Content-Type": content_type}
    sent = time.perf_counter()
    try:
        async with session.post(target, data=body.encode(), headers=headers) as response:
            status, text = response.status, await response.text()
    except (aiohttp.ClientError, asyncio.TimeoutError) as error:
        status, text = 0, repr(error)
    return _Sent(job, sent, time.perf_counter(), status, text)


def _answer_in_ack(request: _Sent) -> _Answer | None:
    """The ack's body when it is itself the answer (has `text` or `blocks`)."""
    try:
        message = json.loads(request.body) if request.status == 200 and request.body else None
    except ValueError:
        return None
    if isinstance(message, dict) and (message.get("text") or message.get("blocks")):
        return _Answer(request.acked, message)
    return None


def _problems(request: _Sent, answer: _Answer | None, refusals: list[str], expect_answers: bool) -> list[str]:
    command = f"/crm {request.job.text}"
    if request.status != 200:
        return [f"{command}: HTTP {request.status} {request.body[:200]}"]
    found = []
    if request.acked - request.sent > SLACK_ACK_DEADLINE:
        found.append(f"{command}: acked after {request.acked - request.sent:.1f} s; Slack gives up at 3 s")
    if refusals:
        found.append(f"{command}: Slack refused its answer: {'; '.join(refusals)}")
    elif expect_answers and answer is None:
        found.append(f"{command}: no answer in the ack nor at its response_url")
    elif answer is not None and request.job.expected.lower() not in json.dumps(answer.message, ensure_ascii=False).lower():
        found.append(f"{command}: the answer does not name {request.job.expected!r}: {json.dumps(answer.message)[:200]}")
    return found
