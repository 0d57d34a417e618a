"""`crm doctor`: each part of the set-up checked, and what is wrong said in words."""
from __future__ import annotations

import asyncio
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from crm import db, stored_values
from crm.inbound.server import ImapServer, Refused, close
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
    server = ImapServer.from_url(settings.imap_url)
    try:
        client, _ = await server.open(MAIL_TIMEOUT)
        await close(client)
    except Refused as refused:
        return "fail", f"imap: {refused}"
    except (asyncio.TimeoutError, OSError) as error:
        return "fail", f"imap: cannot reach {server.shown}: {error!r}"
    return "ok", f"imap: logged in, mailbox {server.mailbox!r} found"
