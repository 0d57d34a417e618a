"""Campaign jobs: starting the campaigns whose time has come and sending them, in every worker
(each piece of work is claimed in the database on its own: crm.campaigns)."""
from __future__ import annotations

import os
import socket

from crm import clock
from crm.campaigns import service
from crm.campaigns.sender import Sender
from crm.context import Context
from crm.permissions import SYSTEM
from crm.settings import Settings


async def send_campaigns(settings: Settings) -> None:
    """Start due campaigns, send what is left to send, and mark finished ones sent."""
    ctx = Context(SYSTEM, settings, clock)
    await service.start_due(ctx)
    sender = Sender(ctx, holder=f"{socket.gethostname()}:{os.getpid()}")
    try:
        await sender.run()
    finally:
        await sender.close()
    await service.finish_sent(ctx)
