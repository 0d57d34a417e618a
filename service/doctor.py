"""`crm doctor`: each part of the set-up checked, and what is wrong said in words."""
from __future__ import annotations

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from crm import db
from crm.settings import Settings, redacted

Finding = tuple[bool, str]


async def diagnose(settings: Settings) -> list[Finding]:
    findings: list[Finding] = [(True, "configuration: every variable is valid")]
    findings.append(await _database(settings))
    findings.append(await _slack(settings))
    return findings


async def _database(settings: Settings) -> Finding:
    try:
        await db.connect(settings.database_url)
        try:
            await db.ping()
            pending = await db.pending_migrations()
        finally:
            await db.close()
    except Exception as error:  # noqa: BLE001 - report whatever stops us reaching the database
        return False, f"database: cannot use {redacted(settings.database_url)}: {error}"
    if pending:
        return False, f"database: {len(pending)} migration(s) not applied; run `crm db upgrade`"
    return True, "database: reachable and up to date"


async def _slack(settings: Settings) -> Finding:
    if not settings.slack_configured:
        return False, f"slack: {' and '.join(settings.missing_slack_credentials())} not set"
    client = AsyncWebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url)
    try:
        identity = await client.auth_test()
    except SlackApiError as error:
        return False, f"slack: auth.test refused the bot token ({error.response.get('error')})"
    except Exception as error:  # noqa: BLE001 - network errors of any kind
        return False, f"slack: cannot reach {settings.slack_api_url}: {error}"
    return True, f"slack: connected to {identity.get('team')} as {identity.get('user')}"

