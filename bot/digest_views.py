"""Block Kit of the morning digest: a rep's, in their conversation with the app, and the team's,
in CRM_NOTIFY_CHANNEL. Pure functions: data in, message out.

Third-party names and titles are people's text: escaped wherever Slack reads mrkdwn. The team's
digest is seen by a channel, so it names reps without mentioning (notifying) them.
"""
from __future__ import annotations

from babel.numbers import format_currency

from bot.blocks import clip, context, escape, header, message, section, when
from crm.digest import Digest, DueDocument
from crm.timeline import KINDS, PlannedEvent

MAX_LINES = 12  # per list: a section's text stays under 3,000 characters


def rep_digest(digest: Digest, day) -> dict:
    return _digest(f"Your day, {day:%A %d %B}", digest, None)


def team_digest(digest: Digest, day, names: dict[str, str]) -> dict:
    return _digest(f"The team's day, {day:%A %d %B}", digest, names)


def _digest(title: str, digest: Digest, names: dict[str, str] | None) -> dict:
    """`names` given (the team's digest): each line says whose it is."""
    blocks = [header(title)]
    for heading, lines in (
        ("Proposals expiring within 3 days", [_expiring(due, names) for due in digest.expiring]),
        ("Invoices past due", [_overdue(due, names) for due in digest.overdue]),
        ("Calls, meetings and tasks today", [_planned(event, names) for event in digest.today]),
    ):
        if lines:
            shown = lines[:MAX_LINES] + ([f"…and {len(lines) - MAX_LINES} more"] if len(lines) > MAX_LINES else [])
            blocks.append(section(f"*{heading}* ({len(lines)})\n" + "\n".join(shown)))
    blocks.append(context("Sent each morning when there is something to act on. `/crm doc REF` opens a document."))
    counts = f"{len(digest.expiring)} expiring, {len(digest.overdue)} past due, {len(digest.today)} today"
    return message(f"{title}: {counts}", blocks)


def _whose(rep_id: str | None, names: dict[str, str] | None) -> str:
    if names is None:
        return ""
    return " · " + (escape(names.get(rep_id, rep_id)) if rep_id else "no rep")


def _document(due: DueDocument) -> str:
    document = due.document
    return (f"*{escape(document.display_ref)}* · {escape(clip(due.thirdparty_name, 60))} · "
            f"{format_currency(document.total_incl_tax, document.currency, locale='en')}")


def _expiring(due: DueDocument, names) -> str:
    return f"{_document(due)} · valid until {due.document.valid_until}{_whose(due.rep_id, names)}"


def _overdue(due: DueDocument, names) -> str:
    return f"{_document(due)} · due {due.document.due_on}{_whose(due.rep_id, names)}"


def _planned(event: PlannedEvent, names) -> str:
    return (f"{when(event.starts_at)} · {KINDS.get(event.kind, 'Task')}: {escape(clip(event.title, 80))} · "
            f"{escape(clip(event.thirdparty_name, 60))}{_whose(event.user_id, names)}")
