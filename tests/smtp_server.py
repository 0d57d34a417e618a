"""A real SMTP server on loopback (aiosmtpd) for the tests: plain, STARTTLS or implicit TLS,
with or without a login, recording each message as its bytes arrived and each session."""
from __future__ import annotations

import ssl
import time
from dataclasses import dataclass, field

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.processes import free_port

USER, PASSWORD = "crm", "s3cret"


@dataclass
class Received:
    envelope_from: str
    recipients: list[str]
    data: bytes
    session: int  # which connection carried it
    at: float  # when it arrived (time.monotonic)


@dataclass
class Recorder:
    """aiosmtpd's handler: keeps what arrives; answers may be set per recipient address."""

    messages: list[Received] = field(default_factory=list)
    sessions: list[int] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)  # address -> the answer to RCPT TO
    hang_up_on_data: bool = False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.hang_up_on_data:
            server.transport.close()  # the message arrived; its answer never does
            return "250 OK"
        if id(session) not in self.sessions:
            self.sessions.append(id(session))
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content,
                                      self.sessions.index(id(session)), time.monotonic()))
        return "250 2.0.0 OK: queued"


def _check_login(server, session, envelope, mechanism, auth_data):
    if isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            USER.encode(), PASSWORD.encode()):
        return AuthResult(success=True)
    return AuthResult(success=False, handled=False)


class SmtpServer:
    """`mode`: "plain", "starttls" (required, with a login) or "tls" (implicit, with a login)."""

    def __init__(self, mode: str, ca: trustme.CA):
        self.mode = mode
        self.recorder = Recorder()
        self.port = free_port()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        options = {"hostname": "127.0.0.1", "port": self.port}
        if mode == "starttls":
            options.update(tls_context=context, require_starttls=True, authenticator=_check_login,
                           auth_require_tls=True)
        elif mode == "tls":
            options.update(ssl_context=context, authenticator=_check_login, auth_require_tls=False)
        self.controller = Controller(self.recorder, **options)

    def url(self, password: str = PASSWORD) -> str:
        scheme = {"plain": "smtp", "starttls": "smtp+starttls", "tls": "smtps"}[self.mode]
        login = "" if self.mode == "plain" else f"{USER}:{password}@"
        return f"{scheme}://{login}127.0.0.1:{self.port}"

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()
