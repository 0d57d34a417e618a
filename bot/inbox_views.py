"""The unmatched emails in Slack (`/crm inbox`, admins), as pure views: the list, newest first,
each with an Assign… button, then the emails that failed or were rejected with the reason; the
form that assigns one to a third party.

Senders' names, subjects and excerpts come from email: in the list, where they sit beside our
own markup (dates), they are escaped; in the form they are plain text, which Slack never parses.
"""
from __future__ import annotations

import json

from bot import thirdparty_picker as picker
from bot.blocks import button, clip, context, divider, escape, header, message, modal, plain_section, section, when
from bot.cards import WARNING
from bot.payloads import Stale, record_id
from crm.inbound.inbox import Inbox, ReceivedEmail
from crm.inbound.intake import Logged
from crm.inbound.parsing import named_address
from crm.records import ThirdPartyRecord

ASSIGN = "inbox_assign"  # the button of an email in the list
ASSIGN_FORM = "inbox_assign_form"
# characters of email text shown per email in the list: escaped (`&` is 5), a section stays far below 3,000
NAME_SHOWN, ADDRESS_SHOWN, SUBJECT_SHOWN, EXCERPT_SHOWN, REASON_SHOWN = 80, 100, 150, 200, 200


def inbox_message(inbox: Inbox, done: str = "") -> dict:
    """`/crm inbox`: the unmatched emails with how many there are, then the failed ones; `done`
    says what was just assigned, when the list comes back after an assignment."""
    blocks = [plain_section(f"\u2705 {done}")] if done else []
    if inbox.unmatched:
        blocks.append(header(f"Unmatched emails ({inbox.unmatched_total:,})"))
        blocks += [section(_email_lines(email), accessory=button("Assign…", ASSIGN, str(email.id)))
                   for email in inbox.unmatched]
        more = inbox.unmatched_total - len(inbox.unmatched)
        if more > 0:
            blocks.append(context(f"{more:,} more, older: they are listed here as these are assigned."))
    else:
        blocks.append(plain_section("No unmatched emails: every email from an unknown sender has been assigned."))
    if inbox.failed:
        blocks += [divider(), header(f"Failed or rejected ({inbox.failed_total:,})")]
        blocks += [_failed_line(email) for email in inbox.failed]
        if inbox.failed_total > len(inbox.failed):
            blocks.append(context(f"{inbox.failed_total - len(inbox.failed):,} more, older."))
    return message(done or f"Unmatched emails: {inbox.unmatched_total:,}", blocks)


def _sender(email: ReceivedEmail) -> str:
    """Who sent it, as the email names them, escaped."""
    address = escape(clip(email.sender, ADDRESS_SHOWN)) or "(no sender)"
    return f"*{escape(clip(email.sender_name, NAME_SHOWN))}* &lt;{address}&gt;" if email.sender_name else address


def _subject(email: ReceivedEmail) -> str:
    return escape(clip(email.subject, SUBJECT_SHOWN)) or "(no subject)"


def _email_lines(email: ReceivedEmail) -> str:
    attached = f" · \U0001f4ce {_attachments(email)}" if email.attachments else ""
    lines = [f"{_sender(email)} · {when(email.written_at or email.received_at)}{attached}", _subject(email)]
    if email.excerpt:
        lines.append(escape(clip(email.excerpt, EXCERPT_SHOWN)))
    return "\n".join(lines)


def _attachments(email: ReceivedEmail) -> str:
    return f"{email.attachments} attachment{'s' if email.attachments != 1 else ''}"


def _failed_line(email: ReceivedEmail) -> dict:
    return context(f"{WARNING} {email.status.capitalize()} {when(email.received_at)} · {_sender(email)} · "
                   f"{_subject(email)}: {escape(clip(email.reason, REASON_SHOWN))}")


def assign_modal(email: ReceivedEmail, inbox_url: str | None) -> dict:
    """The form that logs `email` on the third party chosen; `inbox_url` is where the list it was
    opened from can be brought up to date afterwards."""
    sender = named_address(email.sender_name, email.sender)
    blocks = [plain_section(f"From: {sender or '(no sender)'}\nSubject: {email.subject or '(no subject)'}"),
              context(f"Written {when(email.written_at or email.received_at)}"
                      + (f" · {_attachments(email)}" if email.attachments else ""))]
    if email.excerpt:
        blocks.append(plain_section(email.excerpt))
    blocks.append(picker.field("Log it on the timeline of",
                               hint="The email goes on the third party's timeline as received, in your name."))
    metadata = json.dumps({"email": email.id, "inbox": inbox_url or ""})
    return modal("Assign email", blocks, callback_id=ASSIGN_FORM, submit="Assign", private_metadata=metadata)


def read_assign_form(view: dict) -> tuple[int, str, int]:
    """The submitted form: the email's id, where its list is (or ""), the third party chosen."""
    try:
        metadata = json.loads(view.get("private_metadata") or "")
        inbound_id, inbox_url = record_id(metadata["email"]), str(metadata["inbox"])
    except (ValueError, KeyError, TypeError):
        raise Stale("inbox form") from None
    return inbound_id, inbox_url, picker.chosen(view, "Choose the third party the email is about.")


def assigned_text(thirdparty: ThirdPartyRecord, logged: Logged) -> str:
    """What was just done, in words (plain text: user text is shown as typed)."""
    return (f"The email “{logged.subject or '(no subject)'}” from {logged.sender_name or logged.sender} is now on "
            f"the timeline of {thirdparty.name} ({thirdparty.code}).")
