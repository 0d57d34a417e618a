"""The IMAP mailbox of IMAP_URL: where it is, and a session opened on it (aioimaplib, over
plain IMAP or implicit TLS; aioimaplib has no STARTTLS)."""
from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import aioimaplib

from crm.settings import redacted

UIDVALIDITY = re.compile(rb"\[UIDVALIDITY (\d+)\]")


class Refused(Exception):
    """The server answered, and said no; `str(error)` says to what."""


@dataclass(frozen=True)
class ImapServer:
    host: str
    port: int
    tls: bool
    user: str
    password: str
    mailbox: str
    shown: str  # the URL with its password hidden, for messages and logs

    @classmethod
    def from_url(cls, url: str) -> ImapServer:
        parts = urlsplit(url)
        tls = parts.scheme == "imaps"
        return cls(host=parts.hostname or "", port=parts.port or (993 if tls else 143), tls=tls,
                   user=unquote(parts.username or ""), password=unquote(parts.password or ""),
                   mailbox=unquote(parts.path.lstrip("/")) or "INBOX", shown=redacted(url))

    @property
    def key(self) -> str:
        """The mailbox's name in the database (where the listener got to in it)."""
        return f"{self.user}@{self.host}:{self.port}/{self.mailbox}"[:255]

    def own_address(self) -> str:
        """The mailbox's own address when its user name is one (replies we get come *to* it)."""
        return self.user.lower() if "@" in self.user else ""

    async def open(self, timeout: float) -> tuple[aioimaplib.IMAP4, int]:
        """A session logged in with the mailbox selected, and the mailbox's UIDVALIDITY. Every
        step is bounded by `timeout`; a refusal is `Refused`."""
        client = (aioimaplib.IMAP4_SSL if self.tls else aioimaplib.IMAP4)(host=self.host, port=self.port,
                                                                           timeout=timeout)
        try:
            await asyncio.wait_for(client.wait_hello_from_server(), timeout)
            login = await asyncio.wait_for(client.login(self.user, self.password), timeout)
            if login.result != "OK":
                raise Refused(f"{self.shown} refused the login ({answer(login)})")
            selected = await asyncio.wait_for(client.select(self.mailbox), timeout)
            if selected.result != "OK":
                raise Refused(f"{self.shown} has no mailbox {self.mailbox!r} ({answer(selected)})")
        except BaseException:
            await close(client)
            raise
        found = next((UIDVALIDITY.search(bytes(line)) for line in selected.lines if b"UIDVALIDITY" in line), None)
        return client, int(found.group(1)) if found else 0


async def close(client: aioimaplib.IMAP4) -> None:
    """Log out if the server still answers, and let the connection go whatever happens."""
    try:
        if client.protocol is not None and client.protocol.state in ("AUTH", "SELECTED"):
            await asyncio.wait_for(client.logout(), 2)
    except Exception:  # noqa: BLE001 - the session is over either way
        pass
    finally:
        transport = getattr(client.protocol, "transport", None)
        if transport is not None:
            transport.close()


def answer(response) -> str:
    """A server's answer in words, short enough for a message."""
    return " ".join(bytes(line).decode(errors="replace") for line in response.lines)[:200]
