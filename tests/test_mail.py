"""Messages as the SMTP server receives them, over plain SMTP, STARTTLS and implicit TLS, and
the outbox of an installation without a server."""
from __future__ import annotations

import email
import email.policy
from datetime import datetime, timezone

import pytest
import trustme

from crm.errors import ValidationError
from crm.mail.compose import Attachment, Draft, Mailbox, compose
from crm.mail.transport import OutcomeUnknown, PermanentFailure, TemporaryFailure, open_transport
from tests.smtp_server import SmtpServer

pytestmark = pytest.mark.database_free

SENDER = "Acme CRM <crm@acme.example>"
UNSUBSCRIBE = "<https://crm.acme.example/u/" + "t0k3n" * 30 + ">"


def draft(to: str = "jane@example.com", **changes) -> Draft:
    values = dict(sender=Mailbox("crm@acme.example", "Zoë Núñez"), to=Mailbox(to, "Jürgen Müller"),
                  subject="Devis n° 12 — ça marche ✓", text="Bonjour,\nvoici le devis.\n",
                  html="<p>Bonjour <b>Jürgen</b></p>", reply_to=Mailbox("crm@acme.example"),
                  attachments=(Attachment("devis été.pdf", b"%PDF-1.4 fake", "application/pdf"),),
                  headers={"List-Unsubscribe": UNSUBSCRIBE, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"})
    values.update(changes)
    return Draft(**values)


def outgoing(to: str = "jane@example.com", **changes):
    return compose(draft(to, **changes), envelope_from=SENDER, date=datetime(2026, 11, 28, 9, tzinfo=timezone.utc))


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    return trustme.CA()


@pytest.fixture
def trusted(ca, tmp_path, monkeypatch):
    """The client trusts the test CA, as it would a public one."""
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))


@pytest.mark.parametrize("mode", ["plain", "starttls", "tls"])
async def test_one_session_carries_many_messages_and_headers_arrive_intact(mode, ca, trusted, tmp_path):
    with SmtpServer(mode, ca) as server:
        transport = open_transport(server.url(), tmp_path)
        try:
            answers = [await transport.send(outgoing(f"reader{n}@example.com")) for n in range(3)]
        finally:
            await transport.close()
    assert all(answer.answer.startswith("250") for answer in answers)
    received = server.recorder.messages
    assert [m.recipients for m in received] == [[f"reader{n}@example.com"] for n in range(3)]
    assert {m.session for m in received} == {0}  # one session for all three
    assert received[0].envelope_from == "crm@acme.example"
    raw = received[0].data
    # written as sent: the long List-Unsubscribe on one line, not folded into an encoded word
    assert f"List-Unsubscribe: {UNSUBSCRIBE}\r\n".encode() in raw
    assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in raw
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    assert raw.isascii()  # names and subjects encoded, bodies quoted-printable or base64
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert str(message["Subject"]) == "Devis n° 12 — ça marche ✓"
    assert message["From"].addresses[0].display_name == "Zoë Núñez"
    assert message["Reply-To"].addresses[0].addr_spec == "crm@acme.example"
    assert message["Message-ID"].endswith("@acme.example>")
    assert message["Date"].datetime == datetime(2026, 11, 28, 9, tzinfo=timezone.utc)
    assert message.get_body(("plain",)).get_content().replace("\r\n", "\n") == "Bonjour,\nvoici le devis.\n"
    assert "<b>Jürgen</b>" in message.get_body(("html",)).get_content()
    [attached] = list(message.iter_attachments())
    assert (attached.get_filename(), attached.get_content()) == ("devis été.pdf", b"%PDF-1.4 fake")


async def test_an_internationalised_domain_goes_in_its_idna_form(ca, tmp_path):
    with SmtpServer("plain", ca) as server:
        transport = open_transport(server.url(), tmp_path)
        await transport.send(outgoing("jane@bücher.example"))
        await transport.close()
    assert server.recorder.messages[0].recipients == ["jane@xn--bcher-kva.example"]


@pytest.mark.parametrize("changes, field", [
    ({"subject": "Hello\r\nBcc: everyone@example.com"}, "Subject"),
    ({"subject": "Hello\nthere"}, "Subject"),
    ({"reply_to": Mailbox("crm@acme.example", "CRM\r\nBcc: x@example.com")}, "Reply-To"),
    ({"headers": {"List-Unsubscribe": "<https://x.example/u/1>\r\nX-Evil: 1"}}, "List-Unsubscribe"),
    ({"attachments": (Attachment("a\r\nb.pdf", b""),)}, "attachment name"),
])
def test_a_line_break_in_a_header_is_refused_before_anything_is_sent(changes, field):
    with pytest.raises(ValidationError) as refused:
        outgoing(**changes)
    assert refused.value.field == field and "line break" in refused.value.message


def test_an_address_that_needs_smtputf8_is_refused_in_words():
    with pytest.raises(ValidationError, match="SMTPUTF8"):
        outgoing("jürgen@example.com")


async def test_refusals_are_told_apart_and_the_session_goes_on(ca, tmp_path):
    with SmtpServer("plain", ca) as server:
        server.recorder.refuse = {"full@example.com": "452 4.2.2 Mailbox full",
                                  "nobody@example.com": "550 5.1.1 No such user"}
        transport = open_transport(server.url(), tmp_path)
        with pytest.raises(TemporaryFailure) as later:
            await transport.send(outgoing("full@example.com"))
        with pytest.raises(PermanentFailure) as never:
            await transport.send(outgoing("nobody@example.com"))
        await transport.send(outgoing("jane@example.com"))
        await transport.close()
    assert (later.value.code, later.value.answer) == (452, "452 4.2.2 Mailbox full")
    assert (never.value.code, never.value.answer) == (550, "550 5.1.1 No such user")
    assert [(m.recipients, m.session) for m in server.recorder.messages] == [(["jane@example.com"], 0)]


async def test_a_connection_lost_while_sending_is_an_unknown_outcome_and_the_next_message_reconnects(ca, tmp_path):
    with SmtpServer("plain", ca) as server:
        transport = open_transport(server.url(), tmp_path)
        server.recorder.hang_up_on_data = True
        with pytest.raises(OutcomeUnknown):
            await transport.send(outgoing())
        server.recorder.hang_up_on_data = False
        await transport.send(outgoing())
        await transport.close()
    assert len(server.recorder.messages) == 1


async def test_a_wrong_password_and_an_unreachable_server_say_so(ca, trusted, tmp_path):
    with SmtpServer("starttls", ca) as server:
        transport = open_transport(server.url(password="wrong"), tmp_path)
        with pytest.raises(PermanentFailure, match="refused the login of SMTP_URL"):
            await transport.send(outgoing())
    transport = open_transport(server.url(), tmp_path)  # stopped now
    with pytest.raises(TemporaryFailure, match="cannot reach the mail server"):
        await transport.send(outgoing())


async def test_without_a_server_mail_is_written_to_the_outbox(tmp_path):
    transport = open_transport(None, tmp_path)
    message = outgoing()
    await transport.send(message)
    await transport.send(message)  # a retry of the same message is the same file
    [written] = list((tmp_path / "outbox").iterdir())
    assert written.suffix == ".eml" and written.read_bytes() == message.data
