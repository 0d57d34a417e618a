"""Choosing a third party in a form, wherever one is chosen (assigning an email, logging a
message, a quote from the Home): a menu that finds them as `/crm search` does, by name or code,
as the person types (SLACK-UX: typeahead over typing codes)."""
from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.blocks import input_block, option, plain
from bot.payloads import record_id
from bot.surface import Interaction, Surface, options
from crm import search
from crm.errors import ValidationError
from crm.records import ThirdPartyRecord

BLOCK = "thirdparty"
ACTION_ID = "thirdparty_pick"
MAX_OPTIONS = 100  # Slack's limit for an external select's options


def field(label: str, *, hint: str | None = None) -> dict:
    """The form's input: the menu, searching from the first letter typed."""
    menu = {"type": "external_select", "action_id": ACTION_ID, "min_query_length": 1,
            "placeholder": plain("Type a name or a code")}
    return input_block(BLOCK, label, menu, optional=False, hint=hint)


def chosen(view: dict, missing: str) -> int:
    """The id of the third party chosen in the submitted `view`; when none was, `missing` is said
    next to the menu."""
    picked = (((view.get("state") or {}).get("values") or {}).get(BLOCK) or {}).get(ACTION_ID) or {}
    if not picked.get("selected_option"):
        raise ValidationError(BLOCK, missing)
    return record_id(picked["selected_option"].get("value"))


def option_list(found: list[ThirdPartyRecord]) -> list[dict]:
    """The third parties found, "CODE — Name" (option texts are clipped at Slack's 75 characters)."""
    return [option(f"{tp.code} — {tp.name}", str(tp.id)) for tp in found[:MAX_OPTIONS]]


def register(app: AsyncApp, surface: Surface) -> None:
    async def choices(it: Interaction) -> list[dict]:
        return option_list(await search.search(it.ctx, it.body.get("value") or "", MAX_OPTIONS))

    app.options(ACTION_ID)(options(surface, choices))
