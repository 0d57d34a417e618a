"""`/crm search` answered a page at a time: the title states how many records match in all,
and Previous and Next buttons show the pages around. A button carries the offset of the page
it shows and the search text (crm.search keeps the text short enough for a button's value).
"""
from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot import cards
from bot.blocks import actions, button
from bot.payloads import Stale, action
from bot.surface import Interaction, Surface, acked
from crm import search
from crm.search import SearchPage

PAGE_ACTIONS = {"Previous": "search_previous", "Next": "search_next"}  # action ids are unique in a block


def register(app: AsyncApp, surface: Surface) -> None:
    async def show_page(it: Interaction) -> None:
        offset, text = page_wanted(action(it.body).get("value"))
        await it.answer(results_message(await search.find(it.ctx, text, offset)), replace=True)

    for action_id in PAGE_ACTIONS.values():
        app.action(action_id)(acked(surface, show_page))


def results_message(page: SearchPage) -> dict:
    """The page of results, titled with the true total and the rank of its first and last lines."""
    if not page.total:
        return cards.thirdparty_list(f"Nothing matches “{page.text}”.", [])
    matches = "match" if page.total == 1 else "matches"
    shown = f"{page.offset + 1}–{page.offset + len(page.records)}" if page.records else "none on this page"
    buttons = [button(label, PAGE_ACTIONS[label], f"{offset} {page.text}")
               for label, offset in (("Previous", page.previous_offset), ("Next", page.next_offset))
               if offset is not None]
    return cards.thirdparty_list(f"{page.total} {matches} for “{page.text}”, {shown}", page.records,
                                 pager=actions(*buttons) if buttons else None)


def page_wanted(value) -> tuple[int, str]:
    """The offset and search text a Previous or Next button carries ("10 acme paris")."""
    offset, _, text = str(value or "").partition(" ")
    if not (offset.isascii() and offset.isdigit()) or not text:
        raise Stale(str(value)[:40])
    return int(offset), text
