"""The long-running processes: `crm serve` (everything), `crm web`, `crm worker`."""
from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal

from aiohttp import web
from slack_bolt.async_app import AsyncApp

from bot.app import build_app
from crm import db
from crm.mail import templates
from crm.settings import Settings
from jobs import schedule
from jobs.ticker import Ticker
from service.web import READY, create_web_app

log = logging.getLogger(__name__)


async def run(settings: Settings, *, http: bool, jobs: bool) -> None:
    """Connect, migrate, serve until SIGTERM or SIGINT, then stop cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    await db.connect(settings.database_url)
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(db.close)
        slack = build_app(settings) if http and settings.slack_configured else None
        web_app = await _start_http(settings, slack, stack) if http else None
        applied = await db.upgrade(settings.database_url)
        if applied:
            log.info("applied migrations: %s", ", ".join(applied))
        await templates.ensure_defaults()
        # What start-up made lives as long as the process: out of the collector's way, so that
        # its full collections stay short and never stall an acknowledgement.
        gc.freeze()
        if web_app is not None:
            web_app[READY].set()
        if slack is not None and settings.slack_app_token:
            # only now: Slack delivers envelopes as soon as the socket opens, with no READY gate
            _start_socket_mode(slack, settings.slack_app_token, stack)
        if jobs:
            ticker = Ticker(settings, schedule(settings))
            await ticker.start()
            stack.push_async_callback(ticker.stop)
        await stop.wait()
        log.info("stopping")


async def _start_http(settings: Settings, slack: AsyncApp | None, stack: contextlib.AsyncExitStack) -> web.Application:
    if slack is None:
        log.warning("Slack is not connected: %s not set. Open %s/ for the set-up page.",
                    " and ".join(settings.missing_slack_credentials()), settings.public_url)
    web_app = create_web_app(settings, slack)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    stack.push_async_callback(runner.cleanup)
    await web.TCPSite(runner, host="0.0.0.0", port=settings.port).start()
    log.info("listening on port %s", settings.port)
    return web_app


def _start_socket_mode(slack: AsyncApp, app_token: str, stack: contextlib.AsyncExitStack) -> None:
    """Connect in the background: slack_sdk retries a refused or unreachable Slack forever,
    and that must not keep SIGTERM from stopping the process."""
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    handler = AsyncSocketModeHandler(slack, app_token)

    async def connect() -> None:
        await handler.connect_async()
        log.info("connected to Slack in Socket Mode")

    stack.push_async_callback(handler.close_async)
    stack.callback(asyncio.create_task(connect()).cancel)
