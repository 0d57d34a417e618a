"""Configuration (SPEC §2): defaults, every variable, `.env`, one-line errors, the generated secret key."""
import os
import stat
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from crm.settings import Settings, SettingsError, load_settings, redacted

CRM = Path(sys.executable).with_name("crm")
VARIABLES = """DATABASE_URL DATA_DIR SLACK_BOT_TOKEN SLACK_SIGNING_SECRET SLACK_APP_TOKEN SLACK_API_URL PORT
PUBLIC_URL SMTP_URL MAIL_FROM IMAP_URL CRM_ADMINS CRM_TIMEZONE CRM_CURRENCY CRM_SECRET_KEY CRM_DEFAULT_ROLE
CRM_NOTIFY_CHANNEL CRM_FILE_MAX_MB CAMPAIGN_RATE CAMPAIGN_CONCURRENCY IMAP_UNKNOWN_SENDERS""".split()


def load(environ: dict, tmp_path: Path, **kwargs) -> Settings:
    """Settings from `environ` alone, with DATA_DIR in the test's folder unless given."""
    return load_settings({"DATA_DIR": str(tmp_path / "data"), **environ}, env_file=kwargs.get("env_file"))


def test_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings({}, env_file=None)
    key = (tmp_path / "data" / "secret_key").read_text().strip()
    assert settings == Settings(secret_key=key)
    assert (settings.database_url, settings.data_dir, settings.port, settings.public_url) == (
        "sqlite://data/crm.sqlite3", Path("data"), 3000, "http://localhost:3000")
    assert (settings.slack_api_url, settings.mail_from, settings.timezone, settings.currency) == (
        "https://slack.com/api/", "crm@localhost", ZoneInfo("UTC"), "EUR")
    assert (settings.default_role, settings.file_max_mb, settings.campaign_rate, settings.campaign_concurrency,
            settings.imap_unknown_senders) == ("sales", 25, 20, 4, "log")
    assert settings.smtp_url is settings.imap_url is settings.notify_channel is settings.slack_bot_token is None
    assert settings.admins == frozenset() and not settings.slack_configured


def test_every_variable_is_read(tmp_path):
    environ = {
        "DATABASE_URL": "postgresql://crm:p%40ss@db.example:5433/crm",
        "DATA_DIR": str(tmp_path / "files"),
        "SLACK_BOT_TOKEN": "xoxb-123",
        "SLACK_SIGNING_SECRET": "signing",
        "SLACK_APP_TOKEN": "xapp-1-A",
        "SLACK_API_URL": "http://127.0.0.1:9999/api",
        "PORT": " 8080 ",
        "PUBLIC_URL": "https://crm.example.com/",
        "SMTP_URL": "smtp+starttls://user:pass@mail.example:587",
        "MAIL_FROM": "Acme CRM <crm@acme.example>",
        "IMAP_URL": "imaps://user:pass@mail.example:993/INBOX",
        "CRM_ADMINS": "U0ADMIN, W0OTHER,,",
        "CRM_TIMEZONE": "Europe/Paris",
        "CRM_CURRENCY": "CHF",
        "CRM_SECRET_KEY": "configured-secret",
        "CRM_DEFAULT_ROLE": "readonly",
        "CRM_NOTIFY_CHANNEL": "C0123ABCD",
        "CRM_FILE_MAX_MB": "10",
        "CAMPAIGN_RATE": "5",
        "CAMPAIGN_CONCURRENCY": "2",
        "IMAP_UNKNOWN_SENDERS": "create",
    }
    assert load_settings(environ, env_file=None) == Settings(
        database_url="postgres://crm:p%40ss@db.example:5433/crm",
        data_dir=tmp_path / "files",
        slack_bot_token="xoxb-123",
        slack_signing_secret="signing",
        slack_app_token="xapp-1-A",
        slack_api_url="http://127.0.0.1:9999/api/",
        port=8080,
        public_url="https://crm.example.com",
        smtp_url="smtp+starttls://user:pass@mail.example:587",
        mail_from="Acme CRM <crm@acme.example>",
        imap_url="imaps://user:pass@mail.example:993/INBOX",
        admins=frozenset({"U0ADMIN", "W0OTHER"}),
        timezone=ZoneInfo("Europe/Paris"),
        currency="CHF",
        secret_key="configured-secret",
        default_role="readonly",
        notify_channel="C0123ABCD",
        file_max_mb=10,
        campaign_rate=5,
        campaign_concurrency=2,
        imap_unknown_senders="create",
    )
    assert not (tmp_path / "files" / "secret_key").exists()  # a configured key is never written


@pytest.mark.parametrize("environ, attribute, expected", [
    ({"PORT": "8080"}, "public_url", "http://localhost:8080"),
    ({"DATABASE_URL": "sqlite:///var/lib/crm/crm.sqlite3"}, "database_url", "sqlite:///var/lib/crm/crm.sqlite3"),
    ({"SMTP_URL": "smtp://relay"}, "smtp_url", "smtp://relay"),
    ({"SMTP_URL": "smtps://u:p@mail.example:465"}, "smtp_url", "smtps://u:p@mail.example:465"),
    ({"IMAP_URL": "imap://u:p@mail.example:143/INBOX"}, "imap_url", "imap://u:p@mail.example:143/INBOX"),
    ({"MAIL_FROM": "crm@acme.example"}, "mail_from", "crm@acme.example"),
    ({"SLACK_API_URL": "https://slack.example/api/"}, "slack_api_url", "https://slack.example/api/"),
    ({"CRM_ADMINS": "  "}, "admins", frozenset()),
    ({"PORT": ""}, "port", 3000),  # an empty variable counts as unset
])
def test_variable_forms(tmp_path, environ, attribute, expected):
    assert getattr(load(environ, tmp_path), attribute) == expected


def test_slack_modes(tmp_path):
    http = load({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}, tmp_path)
    socket = load({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}, tmp_path)
    half = load({"SLACK_SIGNING_SECRET": "s"}, tmp_path)
    assert http.slack_configured and socket.slack_configured and not half.slack_configured
    assert half.missing_slack_credentials() == ["SLACK_BOT_TOKEN"]


def test_the_env_file_is_read_and_the_environment_wins(tmp_path, monkeypatch):
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# local settings\n"
        "PORT=4000\n"
        "CRM_CURRENCY=USD\n"
        'MAIL_FROM="Acme CRM <crm@acme.example>"\n'
        "export CRM_TIMEZONE=Europe/Berlin\n",
        encoding="utf-8",
    )
    settings = load({"PORT": "5000"}, tmp_path, env_file=env_file)
    assert (settings.port, settings.currency, settings.mail_from, settings.timezone) == (
        5000, "USD", "Acme CRM <crm@acme.example>", ZoneInfo("Europe/Berlin"))
    # the default file is .env in the working directory
    monkeypatch.chdir(tmp_path)
    assert load_settings({"DATA_DIR": str(tmp_path / "data")}).port == 4000
    assert load({}, tmp_path, env_file=tmp_path / "missing.env").port == 3000


def test_a_bad_value_in_the_env_file_is_named_too(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("CAMPAIGN_RATE=fast\n", encoding="utf-8")
    with pytest.raises(SettingsError) as error:
        load({}, tmp_path, env_file=env_file)
    assert error.value.variable == "CAMPAIGN_RATE"


def test_the_process_environment_is_the_default(tmp_path, monkeypatch):
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CRM_CURRENCY", "usd")
    with pytest.raises(SettingsError) as error:
        load_settings(env_file=None)
    assert error.value.variable == "CRM_CURRENCY"


@pytest.mark.parametrize("variable, value", [
    ("DATABASE_URL", "mysql://db/crm"),
    ("DATABASE_URL", "sqlite://"),
    ("DATABASE_URL", "postgres://db.example"),
    ("DATABASE_URL", "crm.sqlite3"),
    ("SLACK_BOT_TOKEN", "xapp-123"),
    ("SLACK_APP_TOKEN", "xoxb-123"),
    ("SLACK_API_URL", "ftp://slack.com/api/"),
    ("PORT", "http"),
    ("PORT", "0"),
    ("PORT", "65536"),
    ("PUBLIC_URL", "crm.example.com"),
    ("SMTP_URL", "http://mail.example"),
    ("SMTP_URL", "smtp://"),
    ("SMTP_URL", "smtp://mail.example:port"),
    ("MAIL_FROM", "nobody"),
    ("IMAP_URL", "pop3://mail.example"),
    ("IMAP_URL", "imaps://:993/INBOX"),
    ("CRM_ADMINS", "U0ADMIN,alice"),
    ("CRM_TIMEZONE", "Mars/Olympus"),
    ("CRM_TIMEZONE", "../etc/passwd"),
    ("CRM_CURRENCY", "euro"),
    ("CRM_CURRENCY", "eur"),
    ("CRM_DEFAULT_ROLE", "admin"),
    ("CRM_NOTIFY_CHANNEL", "#general"),
    ("CRM_FILE_MAX_MB", "0"),
    ("CRM_FILE_MAX_MB", "2.5"),
    ("CAMPAIGN_RATE", "-1"),
    ("CAMPAIGN_CONCURRENCY", "many"),
    ("IMAP_UNKNOWN_SENDERS", "drop"),
    ("CRM_CURRENCY", "E\nUR"),
])
def test_a_bad_value_is_one_line_naming_the_variable(tmp_path, variable, value):
    with pytest.raises(SettingsError) as error:
        load({variable: value}, tmp_path)
    message = str(error.value)
    assert error.value.variable == variable
    assert message.startswith(f"{variable}: ") and len(message) > len(variable) + 2
    assert "\n" not in message


def test_the_secret_key_is_generated_once_and_reused(tmp_path):
    first = load({}, tmp_path).secret_key
    path = tmp_path / "data" / "secret_key"
    assert len(first) >= 32 and path.read_text().strip() == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load({}, tmp_path).secret_key == first
    assert load({"DATA_DIR": str(tmp_path / "other")}, tmp_path).secret_key != first
    assert load({"CRM_SECRET_KEY": "explicit"}, tmp_path).secret_key == "explicit"
    assert path.read_text().strip() == first


def test_a_secret_key_that_cannot_be_stored_is_a_settings_error(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with pytest.raises(SettingsError) as error:
        load({"DATA_DIR": str(blocker)}, tmp_path)
    assert error.value.variable == "DATA_DIR" and "CRM_SECRET_KEY" in str(error.value) and str(blocker) in str(error.value)
    assert "\n" not in str(error.value)


def test_crm_serve_stops_on_a_bad_value_with_one_line(tmp_path):
    environ = {key: value for key, value in os.environ.items() if key not in VARIABLES}
    environ.update(CRM_CURRENCY="euro", DATA_DIR=str(tmp_path / "data"),
                   DATABASE_URL=f"sqlite://{tmp_path / 'crm.sqlite3'}")
    result = subprocess.run([str(CRM), "serve"], cwd=tmp_path, env=environ, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "CRM_CURRENCY" in lines[0], result.stderr
    assert result.stdout == ""
    assert not (tmp_path / "crm.sqlite3").exists()  # it stopped before touching the database


def test_an_empty_variable_in_the_environment_does_not_hide_the_env_file(tmp_path):
    (tmp_path / ".env").write_text("CRM_CURRENCY=USD\n")
    assert load({"CRM_CURRENCY": ""}, tmp_path, env_file=tmp_path / ".env").currency == "USD"


@pytest.mark.parametrize("variable, value", [
    ("DATABASE_URL", "postgres://crm:S3cr3t-pw@db.example:54x2/crm"),
    ("DATABASE_URL", "mysql://crm:S3cr3t-pw@db.example/crm"),
    ("SMTP_URL", "smtp://mailer:S3cr3t-pw@:25"),
    ("SMTP_URL", "smtps://mailer:S3cr3t-pw@mail.example:4x65"),
    ("IMAP_URL", "imaps://mailer:S3cr3t-pw@:993/INBOX"),
    ("IMAP_URL", "imap://mailer:S3cr3t-pw@mail.example:1x43/INBOX"),
])
def test_a_configuration_error_never_prints_a_password(tmp_path, variable, value):
    with pytest.raises(SettingsError) as error:
        load({variable: value}, tmp_path)
    assert "S3cr3t-pw" not in str(error.value) and "***" in str(error.value)
    assert error.value.variable == variable


def test_redacted_hides_only_a_real_password():
    assert redacted("postgres://crm:pw@db:5432/crm") == "postgres://crm:***@db:5432/crm"
    assert redacted("postgres://crm@db/crm") == "postgres://crm@db/crm"
    assert redacted("smtp://user:p%40ss@mail.example:587") == "smtp://user:***@mail.example:587"
    assert redacted("imap://u:pw@host:bad/INBOX") == "imap://u:***@host:bad/INBOX"


def test_the_data_folder_and_the_embedded_database_are_private(tmp_path):
    data = tmp_path / "data"
    environ = {key: value for key, value in os.environ.items() if key not in VARIABLES}
    environ.update(DATA_DIR=str(data), DATABASE_URL=f"sqlite://{data / 'crm.sqlite3'}")
    data.mkdir(mode=0o755)  # an existing folder is tightened too
    result = subprocess.run([str(CRM), "db", "upgrade"], cwd=tmp_path, env=environ, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for name in ("crm.sqlite3", "secret_key"):
        assert stat.S_IMODE((data / name).stat().st_mode) == 0o600, name
