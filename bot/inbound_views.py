"""What a sales rep is told of email logged on their customers' timelines: one message per
email, or one summary when the listener found several at once (a backlog at start-up)."""
from __future__ import annotations

from bot.blocks import actions, button, context, escape, message, plain_section, section
from bot.timeline_views import SHOW as SHOW_TIMELINE
from crm.inbound.intake import Logged
from crm.inbound.parsing import named_address

SUMMARY_CUSTOMERS = 20  # customers a summary shows, each a section with a button; the rest counted
LINES_EACH = 5  # emails listed per customer; the rest counted


def new_email_message(logged: Logged) -> dict:
    """A rep's message about one email: who wrote, to which customer, about what, and a button
    to the customer's record."""
    attachments = f" · {logged.attachments} attachment{'s' if logged.attachments != 1 else ''}" \
        if logged.attachments else ""
    return message(f"Email from {_sender(logged)} for {logged.thirdparty_name}: {logged.subject}", [
        section(f"*Email from {escape(_sender(logged))}* for *{escape(logged.thirdparty_name)}*{attachments}"),
        plain_section(logged.subject or "(no subject)"),
        *([context(escape(logged.excerpt))] if logged.excerpt else []),
        actions(_open(logged)),
    ])


def emails_summary(emails: list[Logged]) -> dict:
    """A rep's one message about several emails at once: a section per customer, with its emails
    and a button to its record."""
    by_customer: dict[int, list[Logged]] = {}
    for logged in emails:
        by_customer.setdefault(logged.thirdparty_id, []).append(logged)
    blocks = [section(f"*{len(emails):,} new emails for your customers*")]
    for group in list(by_customer.values())[:SUMMARY_CUSTOMERS]:
        lines = [f"• {escape(_sender(e))}: {escape(e.subject or '(no subject)')}" for e in group[:LINES_EACH]]
        if len(group) > LINES_EACH:
            lines.append(f"…and {len(group) - LINES_EACH:,} more")
        blocks.append(section(f"*{escape(group[0].thirdparty_name)}*\n" + "\n".join(lines), _open(group[0], "Open")))
    if len(by_customer) > SUMMARY_CUSTOMERS:
        blocks.append(context(f"…and {len(by_customer) - SUMMARY_CUSTOMERS:,} more customers"))
    return message(f"{len(emails):,} new emails for your customers", blocks)


def _sender(logged: Logged) -> str:
    return named_address(logged.sender_name, logged.sender)


def _open(logged: Logged, text: str = "Open timeline") -> dict:
    return button(text, SHOW_TIMELINE, str(logged.thirdparty_id))
