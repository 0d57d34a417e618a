"""Block Kit building blocks: small pure functions, data in, dicts out."""
from __future__ import annotations

import re
from datetime import datetime, timezone

SLACK_USER = re.compile(r"[UW][A-Z0-9]{2,}")

MAX_TEXT = 2900  # Slack allows 3,000 characters per text object; keep a margin
MAX_PLAIN = 150  # button texts, option texts and the like


def plain(text: str, limit: int = MAX_PLAIN) -> dict:
    # emoji off: a name's ":smile:" stays as typed
    return {"type": "plain_text", "text": clip(text, limit) or " ", "emoji": False}


def mrkdwn(text: str) -> dict:
    return {"type": "mrkdwn", "text": clip(text, MAX_TEXT) or " "}


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# Slack's mrkdwn has no escape for its formatting characters, so in text taken from records
# each is shown as a character that looks the same and formats nothing. `&`, `<` and `>`
# become entities, so `<!channel>` typed in a name is shown, never broadcast.
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;",
                          "*": "\u2217", "_": "\u02cd", "~": "\u223c", "`": "\u02cb"})


def escape(text: str) -> str:
    """User text made safe for mrkdwn: shown as typed, never markup, a mention or a broadcast.

    Blocks that show user text mostly use plain_text, which Slack never parses; this is for
    the places Slack reads as mrkdwn (a message's top-level `text`, lines mixing our markup).
    """
    return text.translate(_ESCAPES)


def section(text: str, accessory: dict | None = None) -> dict:
    block = {"type": "section", "text": mrkdwn(text)}
    if accessory:
        block["accessory"] = accessory
    return block


def fields_sections(fields: list[dict]) -> list[dict]:
    """Fields side by side, as many sections as Slack's 10 fields each need."""
    return [{"type": "section", "fields": fields[start:start + 10]} for start in range(0, len(fields), 10)]


def plain_field(label: str, value: str) -> dict:
    """A field showing user text exactly as typed (plain_text is never parsed)."""
    return plain(f"{label}\n{value}", 2000)


def markup_field(label: str, markup: str) -> dict:
    """A field of our own markup (mentions, dates), with a bold label."""
    return mrkdwn(f"*{label}*\n{markup}")


def plain_section(text: str, accessory: dict | None = None) -> dict:
    block = {"type": "section", "text": plain(text, MAX_TEXT)}
    if accessory:
        block["accessory"] = accessory
    return block


def header(text: str) -> dict:
    return {"type": "header", "text": plain(text, 150)}


def context(text: str) -> dict:
    return {"type": "context", "elements": [mrkdwn(text)]}


def divider() -> dict:
    return {"type": "divider"}


def button(text: str, action_id: str, value: str = "", style: str | None = None, confirm: dict | None = None) -> dict:
    if len(value) > 2000:
        raise ValueError(f"a button value holds 2,000 characters; {action_id} got {len(value)}")
    element = {"type": "button", "text": plain(text, 75), "action_id": action_id, "value": value}
    if style:
        element["style"] = style
    if confirm:
        element["confirm"] = confirm
    return element


def confirmation(title: str, text: str, confirm: str, deny: str = "Cancel") -> dict:
    """The dialog Slack shows before a button acts."""
    return {"title": plain(title, 100), "text": plain(text, 300), "confirm": plain(confirm, 30),
            "deny": plain(deny, 30)}


def actions(*elements: dict, block_id: str | None = None) -> dict:
    block = {"type": "actions", "elements": list(elements)}
    if block_id:
        block["block_id"] = block_id
    return block


def option(text: str, value: str) -> dict:
    return {"text": plain(text, 75), "value": value}


def input_block(block_id: str, label: str, element: dict, *, optional: bool = True, hint: str | None = None) -> dict:
    block = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label, 2000),
        "element": {"action_id": "value", **element},
        "optional": optional,
    }
    if hint:
        block["hint"] = plain(hint, 2000)
    return block


def text_input(initial: str = "", *, multiline: bool = False, max_length: int = 255, placeholder: str = "") -> dict:
    element = {"type": "plain_text_input", "multiline": multiline, "max_length": max_length}
    if initial:
        element["initial_value"] = initial
    if placeholder:
        element["placeholder"] = plain(placeholder)
    return element


def modal(title: str, blocks: list[dict], *, callback_id: str, submit: str | None = "Save",
          private_metadata: str = "", close: str = "Cancel") -> dict:
    view = {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(title, 24),  # Slack's limit for modal titles
        "close": plain(close, 24),
        "blocks": blocks,
        "private_metadata": private_metadata,
    }
    if submit:
        view["submit"] = plain(submit, 24)
    return view


def message(text: str, blocks: list[dict]) -> dict:
    """A message payload. `text`, the notification and screen-reader fallback, may hold user
    text: Slack reads it as mrkdwn, so it is escaped here."""
    return {"text": clip(escape(text), MAX_TEXT), "blocks": blocks}


def when(moment: datetime) -> str:
    """A moment each reader sees in their own time zone (Slack's date formatting), with a UTC fallback."""
    fallback = moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def user_mention(user_id: str) -> str:
    """A Slack user by mention, for messages only that person's own eyes see."""
    return f"<@{user_id}>" if SLACK_USER.fullmatch(user_id or "") else "system"
