"""The IMAP listener (SPEC §1, issue 9): in `crm serve` and every `crm worker`, but listening in
one process at a time. A process listens while it holds the mailbox (crm.jobs.hold), renewed
every third of IMAP_LEASE_SECONDS; when it dies, another takes over once the hold runs out.

Listening: the messages after the last processed UID are fetched in UID order and each handed
to crm.inbound.intake (which records each Message-ID once), then the server is asked to say
when mail arrives (IDLE; polling when it cannot). Every IMAP call has a deadline, and a lost
connection ends the call at once: aioimaplib's IDLE waits forever on a dead connection.
Whatever goes wrong, the listener connects again after a pause that doubles up to a minute.
"""
from __future__ import annotations

import asyncio
import email.utils
import hashlib
import logging
import re
import secrets
from datetime import timedelta
from typing import AsyncIterator

from aioimaplib import STOP_WAIT_SERVER_PUSH, Response

from bot import inbound_notices as notices
from crm import clock, jobs
from crm.context import Context
from crm.filestore import MEGABYTE
from crm.inbound import intake, progress
from crm.inbound.intake import Logged, Position, Read
from crm.inbound.server import ImapServer, Refused, answer, close
from crm.permissions import SYSTEM
from crm.settings import Settings
from jobs.ticker import uninterrupted

log = logging.getLogger(__name__)
CALL_TIMEOUT = 30.0  # seconds an IMAP call may take
IDLE_ROUND = 60.0  # seconds an IDLE lasts before the listener looks again (failed emails due again)
POLL_EVERY = 10.0  # seconds between looks at a mailbox whose server cannot IDLE
FETCH_COUNT = 100  # messages per FETCH
SIZES_AT_ONCE = 100  # messages whose sizes one FETCH asks
FETCH_BYTES = 16 * 1024 * 1024  # bytes per FETCH; a larger message comes alone
FIRST_PAUSE, LONGEST_PAUSE = 1.0, 60.0  # seconds before connecting again after a failure
FETCHED = re.compile(rb"^\d+ FETCH \(")
UID = re.compile(rb"UID (\d+)")
SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


async def listen(settings: Settings) -> None:
    """Listen to IMAP_URL's mailbox for as long as this process holds it (the ticker runs this
    again in every process, so another takes over a mailbox whose listener died)."""
    if not settings.imap_url:
        return
    server = ImapServer.from_url(settings.imap_url)
    name = f"imap:{hashlib.sha256(server.key.encode()).hexdigest()[:32]}"
    holder = f"{jobs.process_name()}:{secrets.token_hex(3)}"
    lease = timedelta(seconds=settings.imap_lease_seconds)
    if not await jobs.hold(name, holder, clock.now(), lease):
        return  # another process listens
    listening = asyncio.create_task(Listener(settings, server).run())
    try:
        while not listening.done():
            await asyncio.wait({listening}, timeout=lease.total_seconds() / 3)
            if not listening.done() and not await jobs.hold(name, holder, clock.now(), lease):
                log.warning("imap: another process took over %s", server.shown)
                break
    finally:
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)
        await uninterrupted(jobs.release(name, holder))


class Session:
    """A session on the mailbox: its messages read in UID order, and a wait for new mail. Every
    call is bounded (CALL_TIMEOUT), and a lost connection ends the call at once.

    aioimaplib recurses once per line of what it reads at once (iroco-co/aioimaplib#118): a
    response of thousands of lines overflows the stack. So UIDs come from a SEARCH (one line),
    and sizes and messages are asked for a few at a time."""

    def __init__(self, client, uidvalidity: int):
        self.client = client
        self.uidvalidity = uidvalidity
        self.lost = asyncio.Event()
        client.protocol.conn_lost_cb = lambda _error: self.lost.set()

    @classmethod
    async def open(cls, server: ImapServer) -> Session:
        return cls(*await server.open(CALL_TIMEOUT))

    async def backlog(self, last: int) -> AsyncIterator[list[tuple[int, bytes]]]:
        """The messages after UID `last`, in UID order, as (UID, bytes), a FETCH at a time."""
        uids = await self._uids_after(last)
        for start in range(0, len(uids), SIZES_AT_ONCE):
            for batch in _batches(await self._sizes(uids[start:start + SIZES_AT_ONCE])):
                yield await self.fetch(batch)

    async def fetch(self, uids: list[int]) -> list[tuple[int, bytes]]:
        """The messages `uids` that are still there, in UID order."""
        response = await self._call(self.client.uid("fetch", ",".join(map(str, uids)), "(UID BODY.PEEK[])"))
        fetched, uid = [], None
        for line in response.lines:
            if isinstance(line, bytearray):  # the message, as a literal after its FETCH line
                if uid is not None:
                    fetched.append((uid, bytes(line)))
                    uid = None
            elif FETCHED.match(line):
                found = UID.search(line)
                uid = int(found.group(1)) if found else None
        return sorted(fetched)

    async def wait_for_mail(self) -> None:
        """Until the server says mail arrived (IDLE; at most IDLE_ROUND), or POLL_EVERY passed
        when it cannot IDLE."""
        if not self.client.has_capability("IDLE"):
            await asyncio.sleep(POLL_EVERY)
            await self._call(self.client.noop())
            return
        idle = await self._call(self.client.idle_start(timeout=IDLE_ROUND))
        while True:
            pushed = await self._call(self.client.wait_server_push(), IDLE_ROUND + CALL_TIMEOUT)
            if pushed == STOP_WAIT_SERVER_PUSH or any(bytes(line).endswith(b"EXISTS") for line in pushed):
                break
        self.client.idle_done()
        await self._call(idle)

    async def close(self) -> None:
        await close(self.client)

    async def _uids_after(self, last: int) -> list[int]:
        response = await self._call(self.client.uid_search("UID", f"{last + 1}:*", charset=None))
        # aioimaplib gives the untagged SEARCH line without its name: the UIDs alone
        found = [int(uid) for line in response.lines[:-1] for uid in bytes(line).split() if uid.isdigit()]
        return sorted(uid for uid in found if uid > last)  # "n:*" names the last message even below n

    async def _sizes(self, uids: list[int]) -> dict[int, int]:
        response = await self._call(self.client.uid("fetch", ",".join(map(str, uids)), "(UID RFC822.SIZE)"))
        sizes = {}
        for line in response.lines:
            uid, size = UID.search(bytes(line)), SIZE.search(bytes(line))
            if uid and size:
                sizes[int(uid.group(1))] = int(size.group(1))
        return dict(sorted(sizes.items()))

    async def _call(self, request, timeout: float = CALL_TIMEOUT):
        """An IMAP call's answer; raises when it takes longer than `timeout`, when the
        connection is lost meanwhile, or when the server says NO or BAD."""
        call = asyncio.ensure_future(request)
        lost = asyncio.ensure_future(self.lost.wait())
        try:
            done, _ = await asyncio.wait({call, lost}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
            if not call.done():
                call.cancel()
        if call not in done:
            raise ConnectionError("the server closed the connection" if lost in done
                                  else f"no answer within {timeout:.0f} s")
        response = call.result()
        if isinstance(response, Response) and response.result != "OK":
            raise Refused(answer(response))
        return response


class Listener:
    """What the listener does with a session: each message to the intake, in UID order, where it
    got to written down, reps told; reconnecting with a doubling pause whatever goes wrong."""

    def __init__(self, settings: Settings, server: ImapServer):
        self.ctx = Context(SYSTEM, settings, clock)
        self.server = server
        mail_from = email.utils.parseaddr(settings.mail_from)[1].lower()
        self.own_addresses = frozenset(filter(None, (mail_from, server.own_address())))
        self.pause = FIRST_PAUSE

    async def run(self) -> None:
        while True:
            session = None
            try:
                session = await Session.open(self.server)
                self.pause = FIRST_PAUSE
                log.info("imap: listening to %s", self.server.shown)
                await self._listen(session)
            except Exception as error:  # noqa: BLE001 - whatever it was, connect again after a pause
                log.warning("imap: %s: %s; connecting again in %.0f s", self.server.shown, _words(error), self.pause)
            finally:
                if session is not None:
                    await session.close()
            await asyncio.sleep(self.pause)
            self.pause = min(self.pause * 2, LONGEST_PAUSE)

    async def _listen(self, session: Session) -> None:
        last = await progress.resume_after(self.server.key, session.uidvalidity, clock.now())
        while True:
            last = await self._catch_up(session, last)
            await self._retry(session)
            await session.wait_for_mail()

    async def _catch_up(self, session: Session, last: int) -> int:
        """Process the messages after UID `last`; returns the last one processed. The next batch
        is fetched and parsed (in a thread: the loop mostly waits on the database meanwhile)
        while one is recorded."""
        logged: list[Logged] = []
        batches = session.backlog(last)
        upcoming = asyncio.ensure_future(self._read_next(batches))
        try:
            while (batch := await upcoming) is not None:
                upcoming = asyncio.ensure_future(self._read_next(batches))
                logged += await self._take(session, batch)
                last = batch[-1][0]
                await progress.advance(self.server.key, session.uidvalidity, last, clock.now())
        finally:
            upcoming.cancel()
            await asyncio.gather(upcoming, return_exceptions=True)
            await batches.aclose()
        await notices.tell_reps(self.ctx.settings, logged)
        return last

    async def _read_next(self, batches: AsyncIterator[list[tuple[int, bytes]]]) -> list[tuple[int, Read]] | None:
        """The next non-empty batch, read; None after the last."""
        async for fetched in batches:
            if fetched:
                return await self._read(fetched)
        return None

    async def _read(self, fetched: list[tuple[int, bytes]]) -> list[tuple[int, Read]]:
        """The messages parsed off the event loop (one may be megabytes)."""
        cap = self.ctx.settings.file_max_mb * MEGABYTE
        return await asyncio.to_thread(lambda: [(uid, intake.read(raw, cap)) for uid, raw in fetched])

    async def _retry(self, session: Session) -> None:
        """Try again the emails whose processing failed and is due again."""
        due = await intake.due_again(self.server.key, session.uidvalidity, clock.now())
        if due:
            fetched = await session.fetch(due)
            await notices.tell_reps(self.ctx.settings, await self._take(session, await self._read(fetched)))
            await intake.left_mailbox(self.server.key, session.uidvalidity, set(due) - {uid for uid, _ in fetched})

    async def _take(self, session: Session, batch: list[tuple[int, Read]]) -> list[Logged]:
        """Hand each message, in UID order, to the intake."""
        logged = []
        for uid, message in batch:
            position = Position(self.server.key, session.uidvalidity, uid)
            found = await intake.take(self.ctx, position, message, self.own_addresses)
            if found is not None:
                logged.append(found)
        return logged


def _batches(sizes: dict[int, int]):
    """The UIDs in order, in FETCHes of at most FETCH_COUNT messages and FETCH_BYTES bytes."""
    batch, total = [], 0
    for uid, size in sizes.items():
        if batch and (len(batch) == FETCH_COUNT or total + size > FETCH_BYTES):
            yield batch
            batch, total = [], 0
        batch.append(uid)
        total += size
    if batch:
        yield batch


def _words(error: Exception) -> str:
    return str(error) or type(error).__name__
