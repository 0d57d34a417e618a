"""The IMAP server the inbound tests use (tests/dovecot.py): a real Dovecot that `make test`
installs, which takes deliveries by APPEND, gives a mailbox made again a new UIDVALIDITY, and
which aioimaplib, the listener's client, reads."""
from __future__ import annotations

import asyncio

import aioimaplib
import pytest

from tests.dovecot import PASSWORD, USER, Dovecot

pytestmark = pytest.mark.database_free
MESSAGE = b"From: Zoe <zoe@globex.example>\r\nSubject: Hello\r\nMessage-ID: <1@globex.example>\r\n\r\nHi there\r\n"


@pytest.fixture
def dovecot():
    server = Dovecot().start()
    yield server
    server.close()


async def test_a_delivered_message_is_read_by_uid_and_a_new_mailbox_has_a_new_uidvalidity(dovecot):
    dovecot.append(MESSAGE)
    client = aioimaplib.IMAP4(host="127.0.0.1", port=dovecot.port, timeout=5)
    await client.wait_hello_from_server()
    assert (await client.login(USER, PASSWORD)).result == "OK"
    selected = await client.select("INBOX")
    first_validity = next(line for line in selected.lines if b"UIDVALIDITY" in line)
    fetched = await client.uid("fetch", "1:*", "(RFC822)")
    assert fetched.result == "OK" and any(MESSAGE.rstrip() in bytes(line) for line in fetched.lines)
    await client.logout()

    await asyncio.to_thread(dovecot.recreate_inbox)
    with dovecot.session() as again:
        status = again.status("INBOX", "(UIDVALIDITY MESSAGES)")[1][0]
    assert b"MESSAGES 0" in status and first_validity.split(b"UIDVALIDITY ")[1].split(b"]")[0] not in status
