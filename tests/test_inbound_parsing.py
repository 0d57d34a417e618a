"""Incoming emails read into plain data: a corpus of awkward messages made here, each read or
refused with a reason, never an exception of another kind."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from crm.inbound.parsing import Unreadable, html_text, parse

pytestmark = pytest.mark.database_free

MB = 1024 * 1024


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode("utf-8")


PLAIN = crlf("""\
From: =?utf-8?q?Zo=C3=AB_N=C3=BA=C3=B1ez?= <Zoe@Globex.example>
To: Sales <sales@acme.example>, other@acme.example
Cc: boss@globex.example
Subject: =?utf-8?b?RGV2aXMgbsKwIDEyIOKAlCDDp2EgbWFyY2hlIOKckw==?=
Date: Sat, 28 Nov 2026 09:15:00 +0100
Message-ID: <abc123@globex.example>
In-Reply-To: <campaign-4-17@acme.example>
References: <first@acme.example> <campaign-4-17@acme.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Bonjour, ça marche ✓
""")


def test_names_subjects_dates_and_the_messages_it_answers():
    incoming = parse(PLAIN, 25 * MB)
    assert (incoming.sender_name, incoming.sender) == ("Zoë Núñez", "zoe@globex.example")
    assert incoming.to == ("sales@acme.example", "other@acme.example") and incoming.cc == ("boss@globex.example",)
    assert incoming.subject == "Devis n° 12 — ça marche ✓"
    assert incoming.date == datetime(2026, 11, 28, 8, 15, tzinfo=timezone.utc)
    assert incoming.message_id == "<abc123@globex.example>"
    assert incoming.answers == ("<campaign-4-17@acme.example>", "<first@acme.example>")  # nearest first
    assert incoming.text == "Bonjour, ça marche ✓" and incoming.bounces == ()


def test_a_charset_label_nobody_knows_and_latin_1():
    unknown = PLAIN.replace(b"charset=utf-8", b"charset=x-no-such-charset")
    assert parse(unknown, MB).text == "Bonjour, ça marche ✓"
    latin = crlf("From: a@b.example\nContent-Type: text/plain; charset=iso-8859-1\n\n")
    latin += "Crème brûlée".encode("latin-1")
    assert parse(latin, MB).text == "Crème brûlée"


def test_eight_bit_headers_are_read_not_fatal():
    raw = b"From: J\xfcrgen <j@b.example>\r\nSubject: Gr\xfc\xdfe\r\nMessage-ID: <x@b.example>\r\n\r\nHallo\r\n"
    incoming = parse(raw, MB)
    assert incoming.sender == "j@b.example" and incoming.subject.startswith("Gr") and incoming.text == "Hallo"
    assert "\udcfc" not in incoming.subject  # no half characters stored


def test_an_html_only_email_is_turned_into_text():
    raw = crlf("From: a@b.example\nContent-Type: text/html; charset=utf-8\n\n"
               "<html><head><style>p{color:red}</style></head><body><p>Hello &amp; <b>welcome</b></p>"
               "<script>alert(1)</script><div>Second line</div></body></html>")
    assert parse(raw, MB).text == "Hello & welcome\nSecond line"
    assert html_text("<p>a</p><br><p>b</p>") == "a\nb"


def nested(depth: int) -> bytes:
    """multipart/mixed inside multipart/mixed `depth` times, a text at the bottom and a PDF at the top."""
    body = "Content-Type: text/plain; charset=utf-8\n\nDeep text\n"
    for level in range(depth):
        body = (f"Content-Type: multipart/mixed; boundary=b{level}\n\n--b{level}\n{body}--b{level}--\n")
    top = ("From: a@b.example\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=top\n\n--top\n"
           f"{body}--top\nContent-Type: application/pdf\nContent-Disposition: attachment; "
           "filename*=utf-8''devis%20%C3%A9t%C3%A9.pdf\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQ=\n--top--\n")
    return crlf(top)


def test_deep_nesting_finds_the_text_and_the_attachment():
    incoming = parse(nested(30), MB)
    assert incoming.text == "Deep text"
    [attached] = incoming.attachments
    assert (attached.filename, attached.content_type, attached.content) == ("devis été.pdf", "application/pdf",
                                                                             b"%PDF-1.4")


def test_an_attachment_over_the_cap_is_named_not_kept():
    big = "QUFB" * (7 * MB)  # 21 MB once decoded
    raw = crlf("From: a@b.example\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=x\n\n--x\n"
               "Content-Type: text/plain\n\nSee attached\n--x\nContent-Type: application/octet-stream\n"
               "Content-Disposition: attachment; filename=big.bin\nContent-Transfer-Encoding: base64\n\n"
               f"{big}\n--x--\n")
    incoming = parse(raw, 20 * MB)
    assert incoming.attachments == () and incoming.too_large == ("big.bin",)
    assert incoming.text == "See attached"


def test_no_message_id_gets_the_same_stand_in_each_time_and_an_empty_body_is_empty():
    raw = crlf("From: a@b.example\nSubject: Hi\nDate: Sat, 28 Nov 2026 09:15:00 +0000\n\n")
    first, again = parse(raw, MB), parse(raw, MB)
    assert first.message_id == again.message_id and first.message_id.endswith("@no-message-id>")
    assert first.text == "" and first.excerpt == ""
    other = parse(raw.replace(b"Subject: Hi", b"Subject: Ho"), MB)
    assert other.message_id != first.message_id


def test_a_truncated_mime_part_still_reads_what_is_there():
    raw = crlf("From: a@b.example\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=x\n\n--x\n"
               "Content-Type: text/plain\n\nThe first part\n--x\nContent-Type: application/pdf\n"
               "Content-Disposition: attachment; filename=cut.pdf\nContent-Transfer-Encoding: base64\n\nJVBER")
    incoming = parse(raw, MB)
    assert incoming.text == "The first part"


def test_what_cannot_be_read_is_unreadable_with_a_reason():
    with pytest.raises(Unreadable, match="no headers"):
        parse(b"", MB)


def delivery_report(recipient: str, original_id: str, status: str = "5.1.1") -> bytes:
    """A mail server's report (RFC 3464) that our email `original_id` to `recipient` failed."""
    return crlf(f"""\
From: Mail Delivery System <MAILER-DAEMON@mx.example>
To: news@acme.example
Subject: Undelivered Mail Returned to Sender
Message-ID: <bounce-1@mx.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary=r

--r
Content-Type: text/plain

Your message could not be delivered.
--r
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example

Final-Recipient: rfc822; {recipient}
Action: failed
Status: {status}

--r
Content-Type: message/rfc822

From: Acme <news@acme.example>
To: {recipient.lower()}
Subject: November news
Message-ID: {original_id}

Hello
--r--
""")


def test_a_delivery_status_notification_reports_its_recipient_and_our_message():
    raw = delivery_report("Nobody@Globex.example", "<campaign-4-17@acme.example>")
    incoming = parse(raw, MB)
    [bounce] = incoming.bounces
    assert (bounce.original_message_id, bounce.recipient, bounce.action, bounce.status) == (
        "<campaign-4-17@acme.example>", "nobody@globex.example", "failed", "5.1.1")
    assert bounce.permanent
    assert incoming.text == "Your message could not be delivered."
