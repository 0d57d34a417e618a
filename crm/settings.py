"""Configuration (SPEC §2): read once at start from the environment and `.env`, validated.

A bad value raises `SettingsError`, whose message is one line naming the variable.
"""
from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from typing import Mapping
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
SLACK_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
ROLES = ("sales", "readonly")
UNKNOWN_SENDER_POLICIES = ("ignore", "log", "create")
SMTP_SCHEMES = ("smtp", "smtp+starttls", "smtps")
IMAP_SCHEMES = ("imap", "imaps")


class SettingsError(Exception):
    def __init__(self, variable: str, problem: str):
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite://data/crm.sqlite3"
    data_dir: Path = Path("data")
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    port: int = 3000
    public_url: str = "http://localhost:3000"
    smtp_url: str | None = None
    mail_from: str = "crm@localhost"
    imap_url: str | None = None
    admins: frozenset[str] = field(default_factory=frozenset)
    timezone: ZoneInfo = ZoneInfo("UTC")
    currency: str = "EUR"
    secret_key: str = ""
    default_role: str = "sales"
    notify_channel: str | None = None
    file_max_mb: int = 25
    campaign_rate: int = 20
    campaign_concurrency: int = 4
    imap_unknown_senders: str = "log"
    # how long a process's hold on the mailbox lasts unless renewed: another process takes over
    # a dead listener's mailbox within this (renewed every third of it while listening)
    imap_lease_seconds: int = 45

    @property
    def slack_configured(self) -> bool:
        """HTTP mode needs the bot token and the signing secret; Socket Mode the bot and app tokens."""
        if not self.slack_bot_token:
            return False
        return bool(self.slack_signing_secret or self.slack_app_token)

    def missing_slack_credentials(self) -> list[str]:
        missing = [] if self.slack_bot_token else ["SLACK_BOT_TOKEN"]
        if not (self.slack_signing_secret or self.slack_app_token):
            missing.append("SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN for Socket Mode)")
        return missing


def load_settings(environ: Mapping[str, str] | None = None, env_file: str | Path = ".env") -> Settings:
    """Settings from `environ` (default: the process environment) over the `.env` file."""
    raw: dict[str, str] = {}
    # an empty value counts as unset, so `VAR=` in the environment does not hide `.env`
    for source in (dotenv_values(env_file) if env_file and Path(env_file).is_file() else {},
                   os.environ if environ is None else environ):
        raw.update({k: v.strip() for k, v in source.items() if v is not None and v.strip()})

    port = _integer(raw, "PORT", 3000, minimum=1, maximum=65535)
    data_dir = Path(raw.get("DATA_DIR", "data"))
    return Settings(
        database_url=_database_url(raw.get("DATABASE_URL", "sqlite://data/crm.sqlite3")),
        data_dir=data_dir,
        slack_bot_token=_prefixed(raw, "SLACK_BOT_TOKEN", "xoxb-"),
        slack_signing_secret=raw.get("SLACK_SIGNING_SECRET"),
        slack_app_token=_prefixed(raw, "SLACK_APP_TOKEN", "xapp-"),
        slack_api_url=_http_url(raw, "SLACK_API_URL", "https://slack.com/api/", trailing_slash=True),
        port=port,
        public_url=_http_url(raw, "PUBLIC_URL", f"http://localhost:{port}").rstrip("/"),
        smtp_url=_mail_url(raw, "SMTP_URL", SMTP_SCHEMES),
        mail_from=_mail_from(raw.get("MAIL_FROM", "crm@localhost")),
        imap_url=_mail_url(raw, "IMAP_URL", IMAP_SCHEMES),
        admins=_slack_users(raw.get("CRM_ADMINS", "")),
        timezone=_timezone(raw.get("CRM_TIMEZONE", "UTC")),
        currency=_currency(raw.get("CRM_CURRENCY", "EUR")),
        secret_key=raw.get("CRM_SECRET_KEY") or _stored_secret_key(data_dir),
        default_role=_choice(raw, "CRM_DEFAULT_ROLE", "sales", ROLES),
        notify_channel=_channel(raw.get("CRM_NOTIFY_CHANNEL")),
        file_max_mb=_integer(raw, "CRM_FILE_MAX_MB", 25, minimum=1, maximum=1024),
        campaign_rate=_integer(raw, "CAMPAIGN_RATE", 20, minimum=1, maximum=10_000),
        campaign_concurrency=_integer(raw, "CAMPAIGN_CONCURRENCY", 4, minimum=1, maximum=100),
        imap_unknown_senders=_choice(raw, "IMAP_UNKNOWN_SENDERS", "log", UNKNOWN_SENDER_POLICIES),
        imap_lease_seconds=_integer(raw, "IMAP_LEASE_SECONDS", 45, minimum=3, maximum=3600),
    )


def _integer(raw: Mapping[str, str], name: str, default: int, *, minimum: int, maximum: int) -> int:
    text = raw.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise SettingsError(name, f"{text!r} is not a whole number") from None
    if not minimum <= value <= maximum:
        raise SettingsError(name, f"{value} is outside {minimum}..{maximum}")
    return value


def _choice(raw: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = raw.get(name, default)
    if value not in choices:
        raise SettingsError(name, f"{value!r} is not one of {', '.join(choices)}")
    return value


def _prefixed(raw: Mapping[str, str], name: str, prefix: str) -> str | None:
    value = raw.get(name)
    if value is not None and not value.startswith(prefix):
        raise SettingsError(name, f"a token starting with {prefix!r} is expected")
    return value


def redacted(url: str) -> str:
    """A URL fit for messages and logs: its password, if any, replaced by ***."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        password = None
    if password is None:
        # not parsed as a URL: hide whatever stands between "user:" and "@"
        return re.sub(r"(//[^/:@]*:)[^@/]*@", r"\1***@", url)
    netloc = parts.netloc.replace(f":{password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _database_url(value: str) -> str:
    scheme = value.split("://", 1)[0] if "://" in value else ""
    if scheme == "sqlite":
        if not value[len("sqlite://"):]:
            raise SettingsError("DATABASE_URL", "sqlite:// needs a file path, e.g. sqlite://data/crm.sqlite3")
        return value
    if scheme in ("postgres", "postgresql"):
        parts = urlsplit(value)
        try:
            _ = parts.port
        except ValueError:
            raise SettingsError("DATABASE_URL", f"{redacted(value)!r} has a bad port") from None
        if not parts.hostname or not parts.path.strip("/"):
            raise SettingsError("DATABASE_URL", "postgres:// needs a host and a database name")
        return "postgres://" + value.split("://", 1)[1]
    raise SettingsError("DATABASE_URL", f"{redacted(value)!r} is neither sqlite://PATH nor "
                                        f"postgres://user:pass@host:port/db")


def _http_url(raw: Mapping[str, str], name: str, default: str, *, trailing_slash: bool = False) -> str:
    value = raw.get(name, default)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(name, f"{value!r} is not an http(s) URL")
    if trailing_slash and not value.endswith("/"):
        value += "/"
    return value


def _mail_url(raw: Mapping[str, str], name: str, schemes: tuple[str, ...]) -> str | None:
    value = raw.get(name)
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in schemes:
        raise SettingsError(name, f"scheme {parts.scheme!r} is not one of {', '.join(schemes)}")
    if not parts.hostname:
        raise SettingsError(name, f"{redacted(value)!r} has no host")
    try:
        _ = parts.port  # urlsplit checks the port only when asked for it
    except ValueError:
        raise SettingsError(name, f"{redacted(value)!r} has a bad port") from None
    return value


def _mail_from(value: str) -> str:
    _, address = parseaddr(value)
    if "@" not in address:
        raise SettingsError("MAIL_FROM", f"{value!r} is not an address or 'Name <address>'")
    return value


def _slack_users(value: str) -> frozenset[str]:
    ids = [part.strip() for part in value.split(",") if part.strip()]
    for user_id in ids:
        if not SLACK_USER_ID.match(user_id):
            raise SettingsError("CRM_ADMINS", f"{user_id!r} is not a Slack user ID like U0123ABCD")
    return frozenset(ids)


def _timezone(value: str) -> ZoneInfo:
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError("CRM_TIMEZONE", f"{value!r} is not an IANA time zone such as Europe/Paris") from None


def _currency(value: str) -> str:
    if not re.fullmatch(r"[A-Z]{3}", value):
        raise SettingsError("CRM_CURRENCY", f"{value!r} is not an ISO 4217 code such as EUR")
    return value


def _channel(value: str | None) -> str | None:
    if value is not None and not SLACK_CHANNEL_ID.match(value):
        raise SettingsError("CRM_NOTIFY_CHANNEL", f"{value!r} is not a Slack channel ID like C0123ABCD")
    return value


def _stored_secret_key(data_dir: Path) -> str:
    """The key generated on first start, kept in DATA_DIR/secret_key so restarts keep it.

    Processes starting together agree on one key: each writes a candidate to a file of its
    own and links it into place; a link never replaces an existing file, so the first wins.
    """
    path = data_dir / "secret_key"
    try:
        if not path.is_file():
            data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            candidate = data_dir / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
            candidate.write_text(secrets.token_urlsafe(32) + "\n")
            candidate.chmod(0o600)
            try:
                os.link(candidate, path)
            except FileExistsError:
                pass
            finally:
                candidate.unlink()
        return path.read_text().strip()
    except OSError as error:
        raise SettingsError("DATA_DIR", f"{path} cannot be written ({error.strerror}), and CRM_SECRET_KEY is not set") from None
