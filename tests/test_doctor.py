"""`crm doctor` says, part by part, what is wrong with a set-up."""
from __future__ import annotations

from tests.conftest import SIGNING_SECRET
from tests.processes import Process, base_env, free_port


async def doctor(tmp_path, env) -> tuple[int, list[str]]:
    code, output = await (await Process("doctor", env, tmp_path).start()).stop(terminate=False)
    return code, [line for line in output.splitlines() if line.startswith(("ok", "FAIL"))]


async def test_doctor_reports_each_part_in_words(tmp_path, own_database, slack):
    env = {**base_env(tmp_path, own_database, free_port()), "SLACK_BOT_TOKEN": "xoxb-test",
           "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": slack.api_url}
    code, lines = await doctor(tmp_path, env)
    assert code == 1
    assert lines[0] == "ok   configuration: every variable is valid"
    assert lines[1] == "FAIL database: 14 migration(s) not applied; run `crm db upgrade`"
    assert lines[2].startswith("ok   slack: connected to")

    upgraded, output = await (await Process("db upgrade", env, tmp_path).start()).stop(terminate=False)
    assert upgraded == 0, output
    code, lines = await doctor(tmp_path, env)
    assert code == 0 and lines[1] == "ok   database: reachable and up to date"
    assert lines[2] == "ok   stored values: every email, phone, country and language passes today's checks"

    slack.fail_next("auth.test", error="invalid_auth")
    code, lines = await doctor(tmp_path, {**env, "SLACK_BOT_TOKEN": "xoxb-revoked"})
    assert code == 1 and lines[3] == "FAIL slack: auth.test refused the bot token (invalid_auth)"


async def test_doctor_names_missing_slack_credentials_and_an_unreachable_database(tmp_path):
    env = base_env(tmp_path, "postgres://crm:s3cret@127.0.0.1:5999/nowhere", free_port())
    code, lines = await doctor(tmp_path, env)
    assert code == 1
    assert lines[1].startswith("FAIL database: cannot use postgres://crm:***@127.0.0.1:5999/nowhere: ")
    assert "s3cret" not in "\n".join(lines)
    assert lines[2] == "FAIL slack: SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN for Socket Mode) not set"


async def test_doctor_tries_the_mail_servers(tmp_path, own_database):
    import trustme

    from tests.dovecot import Dovecot
    from tests.smtp_server import SmtpServer

    env = base_env(tmp_path, own_database, free_port())
    code, lines = await doctor(tmp_path, env)
    assert "ok   smtp: SMTP_URL not set; email is written to " in "\n".join(lines)
    assert "ok   imap: IMAP_URL not set; incoming email is not logged" in lines
    dovecot = Dovecot().start()
    try:
        with SmtpServer("plain", trustme.CA()) as smtp:
            env = {**env, "SMTP_URL": smtp.url(), "IMAP_URL": dovecot.url}
            _, lines = await doctor(tmp_path, env)
            assert f"ok   smtp: 127.0.0.1:{smtp.port} took the connection and the login" in lines
            assert "ok   imap: logged in, mailbox 'INBOX' found" in lines
            wrong = dovecot.url.replace(":s3cret@", ":wrong@")
            _, lines = await doctor(tmp_path, {**env, "IMAP_URL": wrong,
                                               "SMTP_URL": f"smtp://127.0.0.1:{free_port()}"})
            assert any(line.startswith("FAIL imap: imap://sales:***@") and "refused the login" in line
                       for line in lines), lines
            assert any(line.startswith("FAIL smtp: smtp://127.0.0.1:") and "cannot reach the mail server" in line
                       for line in lines), lines
    finally:
        dovecot.close()
