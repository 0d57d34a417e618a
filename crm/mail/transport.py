"""The ways a message leaves: an SMTP server (`SMTP_URL`), or, on an installation without
one, `.eml` files in `DATA_DIR/outbox/` (the embedded default: nothing is sent, nothing lost).

One SMTP session carries many messages (it is opened on the first and kept); every command
is under a timeout. What the server answered decides what happens next:

- `Accepted`: the server took the message (its answer is kept);
- `TemporaryFailure`: a 4xx answer, or the connection failed before the message was sent:
  trying again later is safe;
- `PermanentFailure`: a 5xx answer: trying again will not help;
- `OutcomeUnknown`: the connection was lost while the message itself was being sent: the
  server may have taken it. A retry carries the same Message-ID, so a copy is detectable.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import aiosmtplib

from crm.mail.compose import Outgoing

TIMEOUT = 30.0  # seconds a command may take
SCHEMES = {"smtp": {"start_tls": False}, "smtp+starttls": {"start_tls": True}, "smtps": {"use_tls": True}}
DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}
# The connection is gone: the session cannot say what became of the message in flight.
LOST = (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError)


@dataclass(frozen=True)
class Accepted:
    answer: str


class SendFailure(Exception):
    """The message was not (or may not have been) taken; `answer` is the server's, or what failed."""

    def __init__(self, answer: str, code: int | None = None):
        super().__init__(answer)
        self.answer = answer
        self.code = code


class TemporaryFailure(SendFailure):
    pass


class PermanentFailure(SendFailure):
    pass


class OutcomeUnknown(SendFailure):
    pass


class Outbox:
    """Messages written as files, one per Message-ID (a retry writes the same file again)."""

    def __init__(self, folder: Path):
        self.folder = folder

    async def send(self, outgoing: Outgoing) -> Accepted:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{hashlib.sha256(outgoing.message_id.encode()).hexdigest()[:32]}.eml"
        partial = path.with_suffix(f".{os.getpid()}.partial")
        partial.write_bytes(outgoing.data)
        partial.replace(path)  # whole or not at all: a reader never sees half a message
        return Accepted(f"written to {path}")

    async def close(self) -> None:
        return None


class SmtpSession:
    """One SMTP session, opened when the first message goes and reopened after a failure."""

    def __init__(self, url: str, timeout: float = TIMEOUT):
        parts = urlsplit(url)
        self.options = {
            "hostname": parts.hostname, "port": parts.port or DEFAULT_PORTS[parts.scheme], "timeout": timeout,
            "username": unquote(parts.username) if parts.username else None,
            "password": unquote(parts.password) if parts.password else None,
            **SCHEMES[parts.scheme],
        }
        self.client: aiosmtplib.SMTP | None = None

    async def send(self, outgoing: Outgoing) -> Accepted:
        client = await self._connected()
        try:
            await client.mail(outgoing.envelope_from)
            await client.rcpt(outgoing.recipient)
        except aiosmtplib.SMTPResponseException as refused:
            await self._reset()
            raise _failure(refused) from None
        except LOST as error:
            await self._drop()
            raise TemporaryFailure(f"the connection to the mail server failed: {_words(error)}") from None
        try:
            response = await client.data(outgoing.data)
        except aiosmtplib.SMTPResponseException as refused:
            await self._reset()
            raise _failure(refused) from None
        except LOST as error:
            await self._drop()
            raise OutcomeUnknown(f"the connection was lost while the message was sent: {_words(error)}") from None
        return Accepted(f"{response.code} {response.message}")

    async def check(self) -> str:
        """Open a session (greeting, TLS, login) and close it: what is wrong, as a SendFailure."""
        await self._connected()
        await self.close()
        return f"{self.options['hostname']}:{self.options['port']}"

    async def close(self) -> None:
        if self.client and self.client.is_connected:
            try:
                await self.client.quit()
            except (aiosmtplib.SMTPException, OSError):
                self.client.close()
        self.client = None

    async def _connected(self) -> aiosmtplib.SMTP:
        if self.client and self.client.is_connected:
            return self.client
        client = aiosmtplib.SMTP(**self.options)
        try:
            await client.connect()
        except aiosmtplib.SMTPAuthenticationError as refused:
            client.close()
            raise PermanentFailure(f"the mail server refused the login of SMTP_URL: {refused.code} "
                                   f"{refused.message}", refused.code) from None
        except aiosmtplib.SMTPResponseException as refused:
            client.close()
            raise _failure(refused) from None
        except (aiosmtplib.SMTPException, OSError) as error:
            client.close()
            raise TemporaryFailure(f"cannot reach the mail server: {_words(error)}") from None
        self.client = client
        return client

    async def _reset(self) -> None:
        """After a refusal the session goes on: RSET clears the refused transaction."""
        try:
            await self.client.rset()
        except (aiosmtplib.SMTPException, OSError):
            await self._drop()

    async def _drop(self) -> None:
        if self.client:
            self.client.close()
        self.client = None


def _failure(refused: aiosmtplib.SMTPResponseException) -> SendFailure:
    kind = TemporaryFailure if 400 <= refused.code < 500 else PermanentFailure
    return kind(f"{refused.code} {refused.message}", refused.code)


def _words(error: BaseException) -> str:
    return str(error) or type(error).__name__


def open_transport(smtp_url: str | None, data_dir: Path, timeout: float = TIMEOUT) -> Outbox | SmtpSession:
    """Where this installation's mail goes: its SMTP server, else its outbox folder."""
    return SmtpSession(smtp_url, timeout) if smtp_url else Outbox(data_dir / "outbox")
