"""Well-formed outgoing messages, as the bytes an SMTP server receives.

A message has a `Message-ID` from our own domain (MAIL_FROM's), `Date`,
names and subjects in any script encoded as RFC 2047 words, a text body with an HTML
alternative, attachments. A header value holding a line break would let its author add
headers of their own (or a second message): it is refused before anything is built.

The bytes are written here, with SMTP's line ends and a line length of 998, the limit SMTP
sets: aiosmtplib's `send_message` would fold headers at 78 columns again, turning a long
`List-Unsubscribe` into an encoded word that mail clients ignore.
"""
from __future__ import annotations

import email.policy
import email.utils
import functools
from dataclasses import dataclass, field
from datetime import datetime
from email.header import Header
from email.message import Message
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import email_validator

from crm import clock
from crm.errors import ValidationError

# The compat32 policy of email's MIME classes, with SMTP's line ends: the headers are written
# as we encode them (its default policy parses each one again, which costs more than all the
# rest of a message). RFC 5322 caps a line at 998 characters; folding happens only past it.
# Bodies go base64, so no server needs 8BITMIME.
WIRE_POLICY = email.policy.compat32.clone(linesep="\r\n", max_line_length=998)
ENCODED_LINE = 76  # an encoded word's line (RFC 2047 keeps each word within 75 characters)
LINE_BREAKS = ("\r", "\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    content_type: str = "application/octet-stream"


@dataclass(frozen=True)
class Mailbox:
    """Someone's address, and their name as it shows (any script)."""

    address: str
    name: str = ""

    @classmethod
    def parse(cls, text: str) -> Mailbox:
        """`Name <addr>` or `addr` (MAIL_FROM's forms)."""
        name, address = email.utils.parseaddr(text)
        return cls(address, name)

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]


@dataclass(frozen=True)
class Draft:
    """What an email says, before it is a message."""

    sender: Mailbox
    to: Mailbox
    subject: str
    text: str
    html: str | None = None
    reply_to: Mailbox | None = None
    attachments: tuple[Attachment, ...] = ()
    headers: dict[str, str] = field(default_factory=dict)  # e.g. List-Unsubscribe


@dataclass(frozen=True)
class Outgoing:
    """A message ready for the wire: its id, its envelope and its bytes."""

    message_id: str
    envelope_from: str
    recipient: str
    data: bytes


def compose(draft: Draft, *, envelope_from: str, message_id: str | None = None,
            date: datetime | None = None) -> Outgoing:
    """The message `draft` describes; `message_id` (`<…@domain>`) when a retry must carry the
    same one, else a new one from the sender's domain. Raises ValidationError naming a header
    whose value holds a line break."""
    message_id = message_id or email.utils.make_msgid(domain=Mailbox.parse(envelope_from).domain)
    headers = {
        "From": _address(draft.sender, "From"),
        "To": _address(draft.to, "To"),
        **({"Reply-To": _address(draft.reply_to, "Reply-To")} if draft.reply_to else {}),
        "Subject": _words(_single_line("Subject", draft.subject)),
        "Date": email.utils.format_datetime(date or clock.now()),
        "Message-ID": _single_line("Message-ID", message_id),
        **{_single_line("header name", name): _words(_single_line(name, value)) for name, value in draft.headers.items()},
    }
    message = _body(draft)
    for name, value in headers.items():
        message[name] = value
    return Outgoing(message_id, ascii_address(Mailbox.parse(envelope_from).address, "MAIL_FROM"),
                    ascii_address(draft.to.address), message.as_bytes(policy=WIRE_POLICY))


def _body(draft: Draft) -> Message:
    """The text, its HTML alternative, then the attachments, as MIME parts."""
    body = MIMEText(draft.text, "plain", "utf-8", policy=WIRE_POLICY)
    if draft.html is not None:
        body = MIMEMultipart("alternative", _subparts=[body, MIMEText(draft.html, "html", "utf-8", policy=WIRE_POLICY)],
                             policy=WIRE_POLICY)
    if not draft.attachments:
        return body
    mixed = MIMEMultipart("mixed", _subparts=[body], policy=WIRE_POLICY)
    for attachment in draft.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        part = MIMEApplication(attachment.content, subtype or "octet-stream", policy=WIRE_POLICY)
        part.replace_header("Content-Type", f"{maintype}/{subtype or 'octet-stream'}")
        part.add_header("Content-Disposition", "attachment",
                        filename=("utf-8", "", _single_line("attachment name", attachment.filename)))
        mixed.attach(part)
    return mixed


def _address(mailbox: Mailbox, header: str) -> str:
    """`Name <address>`, the name encoded (RFC 2047) when it is not ASCII."""
    return email.utils.formataddr((_single_line(header, mailbox.name), ascii_address(mailbox.address, header)),
                                  charset="utf-8")


def _words(value: str) -> str:
    """A header's text, encoded (RFC 2047) when it is not ASCII."""
    return value if value.isascii() else Header(value, "utf-8", maxlinelen=ENCODED_LINE).encode()


@functools.lru_cache(maxsize=1024)  # the sender's address is in every message, thrice
def ascii_address(address: str, header: str = "To") -> str:
    """The address as SMTP without extensions carries it: an internationalised domain in its
    IDNA form (`bücher.example` → `xn--bcher-kva.example`); a local part in another script
    would need SMTPUTF8, which is refused."""
    try:
        checked = email_validator.validate_email(_single_line(header, address), check_deliverability=False)
    except email_validator.EmailNotValidError as error:
        raise ValidationError(header, f"{header}: {address!r} is not an email address. {error}") from None
    if checked.ascii_email is None:
        raise ValidationError(header, f"{header}: {address!r} has a name in a script mail servers do not all "
                                      f"take (it needs SMTPUTF8); use an address in Latin letters.")
    return checked.ascii_email


def _single_line(header: str, value: str) -> str:
    if any(mark in value for mark in LINE_BREAKS):
        raise ValidationError(header, f"{header} cannot hold a line break: {value[:60]!r}")
    return value
