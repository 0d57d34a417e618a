"""How fast `crm web` acknowledges Slack, beside a bare Bolt app measured in the same run.

Slack waits 3 s for the HTTP answer to a slash command (the ack) and shows the user an
error after that; what the user then waits for is the answer itself. So this measures,
per signed request, the ack latency (sent -> HTTP response read) and the answer latency
(sent -> the answer is visible: in the ack's body when it carries `text` or `blocks`,
else at the first POST to the request's response_url), whichever way the product answers.

The load: 1,000 signed `/crm search WORDS` and `/crm show CODE` (half each, after 50
unmeasured warm-up requests), 50 at a time, on a database of 10,000 third parties
created through `crm.thirdparties.create`. It comes from a process of its own that also
runs the SlackStub (users.info, response_url): see bench/slack_load.py.

Sides, run `--repeats` times each, alternately, medians of the per-run figures quoted:

- ours: one `crm web` process;
- baseline: a bare Bolt AsyncApp on aiohttp, one process, whose `/crm` handler only acks,
  served the way service/web.py serves ours (this module run as `python -m bench.ack`);
- ours, twice: two `crm web` processes on the same database, requests alternating.

Targets: our p99 ack latency at most 1.5x the baseline's; two processes serve at least
1.6x the requests per second of one (a request counts once answered).
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import multiprocessing
import os
import random
import signal
import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import AsyncIterator
from zoneinfo import ZoneInfo

import aiohttp
import asyncpg

from bench.slack_load import USERS, Job, LoadGenerator, LoadRun, Order
from crm import clock, db as crm_db, thirdparties
from crm.context import Context
from crm.permissions import Actor
from crm.settings import Settings
from tests.processes import CRM, base_env, free_port

ROOT = Path(__file__).resolve().parent.parent
SIGNING_SECRET = "bench-signing-secret"
BOT_TOKEN = "xoxb-bench"
THIRDPARTIES = 10_000
REQUESTS = 1_000
WARMUP = 50
CONCURRENCY = 50
TARGET_P99_RATIO = 1.5  # our p99 ack latency at most this many times the baseline's
TARGET_SCALING = 1.6  # two processes' requests/s at least this many times one's
START_TIMEOUT = 60  # seconds for a server to answer /readyz
PROBLEMS_SHOWN = 10

# Names "<First> <Second> <n>": each pair names 10 of the 10,000 records, so searching a
# pair finds a handful. No word is part of another word, a town or an e-mail address.
FIRST_WORDS = (
    "Alpine", "Amber", "Arctic", "Bright", "Cedar", "Coastal", "Crimson", "Eastern", "Golden", "Granite",
    "Hidden", "Iron", "Jade", "Lunar", "Maple", "Noble", "Pacific", "Quiet", "Royal", "Silver",
    "Solar", "Summit", "Velvet", "Wild", "Zenith",
)
SECOND_WORDS = (
    "Analytics", "Bakery", "Brewing", "Builders", "Capital", "Cargo", "Clinics", "Consulting", "Dairy", "Designs",
    "Dynamics", "Energy", "Engines", "Farms", "Foods", "Foundry", "Freight", "Furniture", "Glass", "Health",
    "Holdings", "Imaging", "Labs", "Lighting", "Logistics", "Machines", "Media", "Metals", "Mining", "Motors",
    "Optics", "Paper", "Partners", "Pharma", "Plastics", "Robotics", "Shipping", "Software", "Studios", "Textiles",
)
TOWNS = ("Lyon", "Paris", "Nantes", "Lille", "Bordeaux", "Rennes", "Toulouse", "Marseille")
SEED_ACTOR = Actor("U0BENCH")
UTC = ZoneInfo("UTC")


@dataclass(frozen=True)
class Side:
    name: str
    command: tuple[str, ...]  # one server process: a `crm web` or the bare baseline
    processes: int
    expect_answers: bool  # the bare baseline only acks


OURS = Side("crm web, 1 process", (CRM, "web"), 1, True)
BASELINE = Side("bare Bolt, 1 process", (sys.executable, "-m", "bench.ack"), 1, False)
OURS_TWICE = Side("crm web, 2 processes", (CRM, "web"), 2, True)
SIDES = (OURS, BASELINE, OURS_TWICE)


# -- the database ----------------------------------------------------------


async def seed_thirdparties(database_url: str, count: int) -> None:
    """`count` third parties with varied names, created as the product creates them."""
    await crm_db.connect(database_url)
    ctx = Context(SEED_ACTOR, Settings(database_url=database_url, timezone=UTC), clock)
    try:
        for number in range(1, count + 1):
            await thirdparties.create(ctx, seed_values(number))
    finally:
        await crm_db.close()


async def seed_in_a_process(database_url: str, count: int) -> None:
    """`seed_thirdparties` in a process of its own: this one keeps its own ORM connection."""
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        await asyncio.get_running_loop().run_in_executor(pool, _seed, database_url, count)


def _seed(database_url: str, count: int) -> None:
    asyncio.run(seed_thirdparties(database_url, count))


def seed_values(number: int) -> dict:
    first, second = FIRST_WORDS[number % len(FIRST_WORDS)], SECOND_WORDS[number // len(FIRST_WORDS) % len(SECOND_WORDS)]
    return {"name": f"{first} {second} {number}", "type": "customer", "email": f"contact{number}@example.com",
            "town": TOWNS[number % len(TOWNS)]}


async def stored_codes(database_url: str) -> list[str]:
    connection = await asyncpg.connect(database_url)
    try:
        return [row["code"] for row in await connection.fetch("SELECT code FROM crm_thirdparty ORDER BY id")]
    finally:
        await connection.close()


def jobs(codes: list[str], count: int, seed: int) -> tuple[Job, ...]:
    """`count` commands, searches and shows alternately, from users U0BENCH1..5 in turn."""
    rng = random.Random(seed)
    made = []
    for index in range(count):
        user_id = USERS[index % len(USERS)]
        if index % 2:
            code = rng.choice(codes)
            made.append(Job(f"show {code}", code, user_id))
        else:
            words = f"{rng.choice(FIRST_WORDS)} {rng.choice(SECOND_WORDS)}".lower()
            made.append(Job(f"search {words}", words, user_id))  # the answer names what it found
    return tuple(made)


# -- the servers -----------------------------------------------------------


@contextlib.asynccontextmanager
async def servers(side: Side, database_url: str, api_url: str, folder: Path) -> AsyncIterator[tuple[str, ...]]:
    """`side.processes` ready server processes; yields their /slack/events URLs."""
    async with contextlib.AsyncExitStack() as stack:
        ports = [free_port() for _ in range(side.processes)]
        for port in ports:
            env = {**base_env(folder, database_url, port), "SLACK_BOT_TOKEN": BOT_TOKEN,
                   "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": api_url, "PYTHONPATH": str(ROOT)}
            await stack.enter_async_context(_server(side.command, env, folder / f"server-{port}.log"))
        yield tuple(f"http://127.0.0.1:{port}/slack/events" for port in ports)


@contextlib.asynccontextmanager
async def _server(command: tuple[str, ...], env: dict[str, str], log: Path) -> AsyncIterator[None]:
    """A server process, its output in `log`, ready on env["PORT"]; stopped with SIGTERM."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CRM_", "DATABASE_"))}
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            *command, env={**environment, **env}, cwd=log.parent, stdout=output, stderr=output)
    try:
        await _wait_ready(process, int(env["PORT"]), log)
        yield
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 30)
        except asyncio.TimeoutError:
            process.kill()
            await process.wait()


async def _wait_ready(process: asyncio.subprocess.Process, port: int, log: Path) -> None:
    deadline = asyncio.get_running_loop().time() + START_TIMEOUT
    async with aiohttp.ClientSession() as http:
        while asyncio.get_running_loop().time() < deadline:
            if process.returncode is not None:
                raise RuntimeError(f"server on port {port} exited:\n{log.read_text()[-3000:]}")
            with contextlib.suppress(OSError):
                async with http.get(f"http://127.0.0.1:{port}/readyz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"server on port {port} not ready after {START_TIMEOUT} s:\n{log.read_text()[-3000:]}")


def serve_bare_bolt() -> None:
    """The baseline server: Bolt's AsyncApp, configured and served as service/web.py serves ours
    (same environment variables, same aiohttp adapter), with a `/crm` handler that only acks."""
    from aiohttp import web
    from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    client = AsyncWebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"])
    slack = AsyncApp(client=client, signing_secret=os.environ["SLACK_SIGNING_SECRET"])

    @slack.command("/crm")
    async def crm_command(ack) -> None:
        await ack()

    async def slack_events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await slack.async_dispatch(await to_bolt_request(request)))

    async def readyz(request: web.Request) -> web.Response:
        return web.Response(text="ready")

    app = web.Application()
    app.router.add_post("/slack/events", slack_events)
    app.router.add_get("/readyz", readyz)
    web.run_app(app, host="0.0.0.0", port=int(os.environ["PORT"]), access_log=None, print=None)


# -- the measure -----------------------------------------------------------


def run_figures(run: LoadRun) -> dict[str, float | None]:
    """One run's figures: latencies in seconds (answers: None when none was due)."""
    return {
        **{f"ack_p{percent}": run.ack_percentile(percent) for percent in (50, 95, 99)},
        "ack_max": run.ack_percentile(100),
        **{f"answer_p{percent}": run.answer_percentile(percent) for percent in (50, 99)},
        "requests_per_second": run.requests_per_second,
        "load_cpu_share": run.cpu_seconds / run.seconds,  # of one core, by the load process
        "failures": len(run.problems),
    }


@dataclass
class AckResult:
    repeats: int
    runs: dict[str, list[LoadRun]] = field(default_factory=lambda: {side.name: [] for side in SIDES})

    def figures(self, side: Side) -> dict[str, float | None]:
        """The median over `side`'s runs of each of `run_figures`."""
        runs = [run_figures(run) for run in self.runs[side.name]]
        return {key: _median([figures[key] for figures in runs]) for key in runs[0]}

    @property
    def ratio(self) -> float:
        return self.figures(OURS)["ack_p99"] / self.figures(BASELINE)["ack_p99"]

    @property
    def scaling(self) -> float:
        return self.figures(OURS_TWICE)["requests_per_second"] / self.figures(OURS)["requests_per_second"]

    @property
    def problems(self) -> list[str]:
        return [f"{side.name}, run {number}: {problem}" for side in SIDES
                for number, run in enumerate(self.runs[side.name], 1) for problem in run.problems]

    @property
    def targets_met(self) -> tuple[bool, bool]:
        """(ack p99 ratio met, scaling met); a run with failures meets neither."""
        clean = not self.problems
        return clean and self.ratio <= TARGET_P99_RATIO, clean and self.scaling >= TARGET_SCALING

    def summary_rows(self) -> list[tuple[str, ...]]:
        """Rows of the bench's table: measure, ours, baseline, ratio, target, met."""
        ours, baseline, twice = self.figures(OURS), self.figures(BASELINE), self.figures(OURS_TWICE)
        ratio_met, scaling_met = self.targets_met
        return [
            (f"Slack ack p99, {REQUESTS:,} x {CONCURRENCY} concurrent", _ms(ours["ack_p99"]),
             f"{_ms(baseline['ack_p99'])} (bare Bolt)", f"{self.ratio:.2f}x", f"<= {TARGET_P99_RATIO:g}x",
             _yes(ratio_met)),
            ("requests/s, 2 web processes vs 1", f"{twice['requests_per_second']:,.0f}/s",
             f"{ours['requests_per_second']:,.0f}/s (1 process)", f"{self.scaling:.2f}x", f">= {TARGET_SCALING:g}x",
             _yes(scaling_met)),
        ]

    def detail_rows(self) -> list[tuple[str, ...]]:
        header = ("side (medians)", "ack p50", "p95", "p99", "max", "answer p50", "answer p99", "requests/s",
                  "load CPU", "failures")
        return [header] + [self._detail_row(side) for side in SIDES]

    def _detail_row(self, side: Side) -> tuple[str, ...]:
        figures = self.figures(side)
        latencies = ("ack_p50", "ack_p95", "ack_p99", "ack_max", "answer_p50", "answer_p99")
        return (side.name, *(_ms(figures[key]) for key in latencies), f"{figures['requests_per_second']:,.0f}",
                f"{figures['load_cpu_share']:.0%}", str(sum(len(run.problems) for run in self.runs[side.name])))

    def as_json(self) -> dict:
        ratio_met, scaling_met = self.targets_met
        return {
            "measure": "Slack acknowledgement latency, signed /crm search and /crm show",
            "thirdparties": THIRDPARTIES, "requests": REQUESTS, "warmup": WARMUP, "concurrency": CONCURRENCY,
            "repeats": self.repeats, "cpus": os.cpu_count(),
            "sides": {side.name: {"median": self.figures(side), "runs": list(map(run_figures, self.runs[side.name]))}
                      for side in SIDES},
            "p99_ratio": self.ratio, "target_p99_ratio": TARGET_P99_RATIO, "p99_ratio_met": ratio_met,
            "scaling": self.scaling, "target_scaling": TARGET_SCALING, "scaling_met": scaling_met,
            "problems": self.problems,
        }


def _median(values: list[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return statistics.median(present) if present else None


def _yes(met: bool) -> str:
    return "yes" if met else "NO"


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f} ms"


async def measure(database_url: str, repeats: int) -> AckResult:
    """Seeds the (fresh, migrated) database at `database_url`, then runs every side `repeats` times."""
    print(f"Slack acks: each side runs {repeats} times, alternately, on one database, {os.cpu_count()} CPUs; "
          "medians quoted.")
    print(f"  seeding {THIRDPARTIES:,} third parties...", flush=True)
    await seed_in_a_process(database_url, THIRDPARTIES)
    codes = await stored_codes(database_url)
    result = AckResult(repeats)
    with tempfile.TemporaryDirectory(prefix="crm_bench_ack_") as folder:
        async with LoadGenerator() as load:
            for repeat in range(1, repeats + 1):
                for side in SIDES:
                    work = jobs(codes, WARMUP + REQUESTS, seed=repeat)
                    run = await measure_side(side, load, database_url, Path(folder), work)
                    result.runs[side.name].append(run)
                    print(f"  ack, {side.name}, run {repeat}/{repeats}: {_run_line(run)}", flush=True)
    for problem in result.problems[:PROBLEMS_SHOWN]:
        print(f"  FAILED {problem}")
    if len(result.problems) > PROBLEMS_SHOWN:
        print(f"  ... and {len(result.problems) - PROBLEMS_SHOWN} more failures")
    return result


async def measure_side(side: Side, load: LoadGenerator, database_url: str, folder: Path, work: tuple[Job, ...]) -> LoadRun:
    """One run of `side`: its servers started afresh, warmed up, then measured."""
    async with servers(side, database_url, load.api_url, folder) as targets:
        return await load.run(Order(targets, work, WARMUP, CONCURRENCY, side.expect_answers, SIGNING_SECRET))


def _run_line(run: LoadRun) -> str:
    figures = run_figures(run)
    return (f"ack p99 {_ms(figures['ack_p99'])}, answer p99 {_ms(figures['answer_p99'])}, "
            f"{figures['requests_per_second']:,.0f} requests/s, load process {figures['load_cpu_share']:.0%} of a core, "
            f"{figures['failures']} failures")


if __name__ == "__main__":  # the baseline server, as `python -m bench.ack`
    serve_bare_bolt()
