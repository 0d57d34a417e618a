"""An incoming email read into plain data (the first step of the inbound pipeline, as Zulip's
email gateway does it): who wrote it to whom, when, about what, its text, its attachments, the
messages it answers, and, for a delivery status notification (RFC 3464), what it reports.

The standard `email` package reads it with its default policy: names and subjects in RFC 2047
words, bodies in any charset (an unknown charset label is read as UTF-8, anything undecodable
replaced, never an error), nested multiparts, an HTML-only email turned into text. A message
the package cannot make sense of at all is `Unreadable`, with the reason.
"""
from __future__ import annotations

import email
import email.policy
import email.utils
import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.message import EmailMessage
from html.parser import HTMLParser

EXCERPT = 500  # characters of the text an event shows
MESSAGE_ID = re.compile(r"<[^<>\s]+>")
SURROGATES = re.compile(r"[\ud800-\udfff]")
BLOCK_TAGS = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table"}
SKIPPED_TAGS = {"script", "style", "head", "title"}


class Unreadable(Exception):
    """The message cannot be read; `str(error)` says why."""


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class Bounce:
    """What a delivery status notification reports of one recipient of a message we sent."""

    original_message_id: str  # the Message-ID of our message, "" when the report does not quote it
    recipient: str
    action: str  # failed, delayed, delivered, relayed, expanded
    status: str  # e.g. 5.1.1

    @property
    def permanent(self) -> bool:
        return self.action == "failed" and self.status.startswith("5")


@dataclass(frozen=True)
class Incoming:
    message_id: str  # its Message-ID, or a digest of its headers when it has none
    sender_name: str
    sender: str  # the From address, lower-cased
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    date: datetime | None
    text: str
    attachments: tuple[Attachment, ...] = ()
    answers: tuple[str, ...] = ()  # the Message-IDs of In-Reply-To and References, nearest first
    bounces: tuple[Bounce, ...] = ()
    too_large: tuple[str, ...] = field(default=())  # attachments left out for their size

    @property
    def excerpt(self) -> str:
        text = " ".join(self.text[:EXCERPT * 8].split())  # the start is enough, however long the text
        return text if len(text) <= EXCERPT else text[:EXCERPT - 1] + "…"


def named_address(name: str, address: str) -> str:
    """A sender as people read one: `Zoë Núñez <zoe@globex.example>`, or the address alone."""
    return f"{name} <{address}>" if name else address


def parse(raw: bytes, max_attachment_bytes: int) -> Incoming:
    """The message `raw` as plain data; attachments above `max_attachment_bytes` are named in
    `too_large`, not kept."""
    try:
        message = email.message_from_bytes(raw, policy=email.policy.default)
    except Exception as error:  # noqa: BLE001 - the parser is lenient; anything it still raises is unreadable
        raise Unreadable(f"the email package cannot read it: {error!r}") from None
    if not isinstance(message, EmailMessage) or not message.keys():
        raise Unreadable("it has no headers")
    name, sender = _address(message, "From")
    kept, too_large = _attachments(message, max_attachment_bytes)
    return Incoming(
        message_id=_message_id(message, raw),
        sender_name=name,
        sender=sender,
        to=_addresses(message, "To"),
        cc=_addresses(message, "Cc"),
        subject=_header(message, "Subject"),
        date=_date(message),
        text=_text(message),
        attachments=kept,
        answers=_answers(message),
        bounces=_bounces(message),
        too_large=too_large,
    )


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name)
    except Exception:  # noqa: BLE001 - a header the policy cannot parse counts as absent
        value = ""
    return _clean(str(value or "")).strip()


def _clean(text: str) -> str:
    """Text as stored: bytes that were not text (8-bit headers) replaced, line breaks as spaces."""
    return SURROGATES.sub("\ufffd", text).replace("\x00", "")


def _address(message: EmailMessage, name: str) -> tuple[str, str]:
    pairs = email.utils.getaddresses([_header(message, name)])
    found = next(((who, address) for who, address in pairs if "@" in address), ("", ""))
    return found[0], found[1].lower()


def _addresses(message: EmailMessage, name: str) -> tuple[str, ...]:
    values = [_header(message, name)]
    return tuple(dict.fromkeys(address.lower() for _, address in email.utils.getaddresses(values) if "@" in address))


def _message_id(message: EmailMessage, raw: bytes) -> str:
    found = MESSAGE_ID.search(_header(message, "Message-ID"))
    if found:
        return found.group()
    # no Message-ID: the same message read twice gets the same stand-in
    headers = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    return f"<sha256-{hashlib.sha256(headers).hexdigest()[:40]}@no-message-id>"


def _date(message: EmailMessage) -> datetime | None:
    try:
        moment = email.utils.parsedate_to_datetime(_header(message, "Date"))
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _answers(message: EmailMessage) -> tuple[str, ...]:
    ids = MESSAGE_ID.findall(_header(message, "In-Reply-To")) + MESSAGE_ID.findall(_header(message, "References"))[::-1]
    return tuple(dict.fromkeys(ids))


def _text(message: EmailMessage) -> str:
    """The plain text body, else the HTML one turned into text, else ""."""
    try:
        body = message.get_body(preferencelist=("plain", "html"))
    except Exception:  # noqa: BLE001 - a broken structure: no body rather than no message
        body = None
    if body is None:
        return ""
    content = _decoded(body)
    return _clean(html_text(content) if body.get_content_subtype() == "html" else content).strip()


def _decoded(part: EmailMessage) -> str:
    payload = part.get_payload(decode=True) or b""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:  # a charset label nobody knows
        return payload.decode("utf-8", errors="replace")


def _attachments(message: EmailMessage, limit: int) -> tuple[tuple[Attachment, ...], tuple[str, ...]]:
    kept, too_large = [], []
    for part in _attached(message):
        content = part.get_payload(decode=True)
        if content is None:  # an attached message: its bytes as they came
            content = part.as_bytes()
        filename = _clean(part.get_filename() or "") or f"attachment.{part.get_content_subtype()}"
        if len(content) > limit:
            too_large.append(filename)
        else:
            kept.append(Attachment(filename, part.get_content_type(), content))
    return tuple(kept), tuple(too_large)


def _attached(message: EmailMessage):
    """The attachments at any depth: the parts sent as attachments, and attached messages."""
    if not message.is_multipart():
        return
    for part in message.iter_parts():
        if part.get_content_type() in ("message/delivery-status", "text/rfc822-headers"):
            continue
        if part.get_content_type() == "message/rfc822" or (not part.is_multipart() and part.is_attachment()):
            yield part
        elif part.is_multipart():
            yield from _attached(part)


def _bounces(message: EmailMessage) -> tuple[Bounce, ...]:
    """The recipients a delivery status notification (multipart/report) reports on."""
    if message.get_content_type() != "multipart/report" or message.get_param("report-type") != "delivery-status":
        return ()
    parts = list(message.iter_parts())
    status = next((p for p in parts if p.get_content_type() == "message/delivery-status"), None)
    if status is None:
        return ()
    original = next((p for p in parts if p.get_content_type() in ("message/rfc822", "text/rfc822-headers")), None)
    original_id = _original_id(original) if original is not None else ""
    bounces = []
    for group in status.get_payload():  # the per-message fields, then one group per recipient
        recipient = str(group.get("Final-Recipient", "")).rpartition(";")[2].strip().lower()
        if recipient:
            bounces.append(Bounce(original_id, recipient, str(group.get("Action", "")).strip().lower(),
                                  str(group.get("Status", "")).strip()))
    return tuple(bounces)


def _original_id(part: EmailMessage) -> str:
    if part.get_content_type() == "message/rfc822":
        quoted = part.get_payload()[0] if part.is_multipart() else None
        text = str(quoted.get("Message-ID", "")) if quoted is not None else ""
    else:
        text = _decoded(part)
        text = next((line for line in text.splitlines() if line.lower().startswith("message-id:")), "")
    found = MESSAGE_ID.search(text)
    return found.group() if found else ""


class _TextOfHtml(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in SKIPPED_TAGS:
            self.skipping += 1
        elif tag in BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in SKIPPED_TAGS:
            self.skipping = max(0, self.skipping - 1)
        elif tag in BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def html_text(html: str) -> str:
    """What an HTML body says, as text: tags gone, paragraphs on their own lines, scripts and
    styles left out."""
    reader = _TextOfHtml()
    reader.feed(html)
    reader.close()
    lines = (" ".join(line.split()) for line in "".join(reader.parts).splitlines())
    return "\n".join(line for line in lines if line)
