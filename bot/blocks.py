"""Block Kit building blocks: small pure functions, data in, dicts out."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

MAX_TEXT = 2900  # Slack allows 3,000 characters per text object; keep a margin
MAX_PLAIN = 150  # button texts, option texts and the like


def plain(text: str, limit: int = MAX_PLAIN) -> dict:
    return {"type": "plain_text", "text": clip(text, limit) or " ", "emoji": True}


def mrkdwn(text: str) -> dict:
    return {"type": "mrkdwn", "text": clip(text, MAX_TEXT) or " "}


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def escape(text: str) -> str:
    """User text inside mrkdwn: `&`, `<` and `>` must be escaped, or Slack reads them as markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def section(text: str, accessory: dict | None = None) -> dict:
    block = {"type": "section", "text": mrkdwn(text)}
    if accessory:
        block["accessory"] = accessory
    return block


def fields_sections(pairs: list[tuple[str, str]]) -> list[dict]:
    """"*label*\\nvalue" fields side by side, as many sections as Slack's 10 fields each need."""
    return [
        {"type": "section", "fields": [{"type": "mrkdwn", "text": clip(f"*{label}*\n{value}", 2000)}
                                       for label, value in pairs[start:start + 10]]}
        for start in range(0, len(pairs), 10)
    ]


def header(text: str) -> dict:
    return {"type": "header", "text": plain(text, 150)}


def context(text: str) -> dict:
    return {"type": "context", "elements": [mrkdwn(text)]}


def divider() -> dict:
    return {"type": "divider"}


def button(text: str, action_id: str, value: str = "", style: str | None = None) -> dict:
    element = {"type": "button", "text": plain(text, 75), "action_id": action_id, "value": value[:2000]}
    if style:
        element["style"] = style
    return element


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
    """A message payload: `text` is the notification and screen-reader fallback."""
    return {"text": clip(text, MAX_TEXT), "blocks": blocks}


def when(moment: datetime, tz: ZoneInfo | None) -> str:
    """A date for people: in their time zone when Slack told us, else the installation's."""
    local = moment.astimezone(tz) if tz else moment
    return local.strftime("%Y-%m-%d %H:%M")


def user_mention(user_id: str) -> str:
    return f"<@{user_id}>" if user_id and user_id != "system" else "system"
