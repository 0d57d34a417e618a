"""`crm doctor`: each part of the set-up checked, and what is wrong said in words."""
from __future__ import annotations

import asyncio
from urllib.parse import unquote, urlsplit

import aioimaplib

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from crm import db, stored_values
from crm.mail.transport import SendFailure, SmtpSession
from crm.settings import Settings, redacted

# (level, what was found): "ok", "warn" (worth fixing, the set-up works) or "fail"
Finding = tuple[str, str]
MAIL_TIMEOUT = 10.0  # seconds a mail server may take to answer
LISTED_VALUES = 20  # stored values refused by today's checks, listed by name; the rest counted


async def diagnose(settings: Settings) -> list[Finding]:
    findings: list[Finding] = [("ok", "configuration: every variable is valid")]
    findings += await _database(settings)
    findings.append(await _slack(settings))
    findings.append(await _smtp(settings))
    findings.append(await _imap(settings))
    return findings


async def _database(settings: Settings) -> list[Finding]:
    try:
        await db.connect(settings.database_url)
        try:
            await db.ping()
            pending = await db.pending_migrations()
            unchecked = None if pending else await stored_values.unchecked(db.connection(), LISTED_VALUES)
        finally:
            await db.close()
    except Exception as error:  # noqa: BLE001 - report whatever stops us reaching the database
        return [("fail", f"database: cannot use {redacted(settings.database_url)}: {error}")]
    if pending:
        return [("fail", f"database: {len(pending)} migration(s) not applied; run `crm db upgrade`")]
    return [("ok", "database: reachable and up to date"), _stored_values(*unchecked)]


def _stored_values(count: int, listed: list[stored_values.Unchecked]) -> Finding:
    if not count:
        return "ok", "stored values: every email, phone, country and language passes today's checks"
    more = f"\n  … and {count - len(listed)} more" if count > len(listed) else ""
    return "warn", (f"stored values: {count} kept as typed do not pass today's checks; fix them with "
                    f"/crm edit:\n" + "\n".join(f"  {value}" for value in listed) + more)


async def _slack(settings: Settings) -> Finding:
    if not settings.slack_configured:
        return "fail", f"slack: {' and '.join(settings.missing_slack_credentials())} not set"
    client = AsyncWebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url)
    try:
        identity = await client.auth_test()
    except SlackApiError as error:
        return "fail", f"slack: auth.test refused the bot token ({error.response.get('error')})"
    except Exception as error:  # noqa: BLE001 - network errors of any kind
        return "fail", f"slack: cannot reach {settings.slack_api_url}: {error}"
    return "ok", f"slack: connected to {identity.get('team')} as {identity.get('user')}"



async def _smtp(settings: Settings) -> Finding:
    if not settings.smtp_url:
        return "ok", f"smtp: SMTP_URL not set; email is written to {settings.data_dir / 'outbox'}/"
    try:
        server = await SmtpSession(settings.smtp_url, timeout=MAIL_TIMEOUT).check()
    except SendFailure as failure:
        return "fail", f"smtp: {redacted(settings.smtp_url)}: {failure.answer}"
    return "ok", f"smtp: {server} took the connection and the login"


async def _imap(settings: Settings) -> Finding:
    if not settings.imap_url:
        return "ok", "imap: IMAP_URL not set; incoming email is not logged"
    parts = urlsplit(settings.imap_url)
    imaps = parts.scheme == "imaps"
    client = (aioimaplib.IMAP4_SSL if imaps else aioimaplib.IMAP4)(
        host=parts.hostname, port=parts.port or (993 if imaps else 143), timeout=MAIL_TIMEOUT)
    try:
        await asyncio.wait_for(client.wait_hello_from_server(), MAIL_TIMEOUT)
        login = await asyncio.wait_for(client.login(unquote(parts.username or ""), unquote(parts.password or "")),
                                       MAIL_TIMEOUT)
        if login.result != "OK":
            return "fail", f"imap: {redacted(settings.imap_url)} refused the login ({_lines(login)})"
        mailbox = unquote(parts.path.lstrip("/")) or "INBOX"
        selected = await asyncio.wait_for(client.select(mailbox), MAIL_TIMEOUT)
        if selected.result != "OK":
            return "fail", f"imap: {redacted(settings.imap_url)} has no mailbox {mailbox!r} ({_lines(selected)})"
        await asyncio.wait_for(client.logout(), MAIL_TIMEOUT)
    except (asyncio.TimeoutError, OSError) as error:
        return "fail", f"imap: cannot reach {redacted(settings.imap_url)}: {error!r}"
    return "ok", f"imap: logged in, mailbox {mailbox!r} found"


def _lines(response) -> str:
    return " ".join(bytes(line).decode(errors="replace") for line in response.lines)[:200]
