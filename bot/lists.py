"""`/crm list FILTER` and `/crm export FILTER [csv|xlsx]` (SPEC §3, §5, §6).

A list shows pages of 20 matches with the total and Previous/Next buttons; each button
carries the filter and the offset of its page, or, for a filter too long for a button,
the token it is kept under server-side. An export is said at once, then made into a
temporary file in DATA_DIR and posted to the asker's conversation with the app.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

from slack_bolt.async_app import AsyncApp

from bot import cards
from bot.blocks import actions, button, context, message, plain_section
from bot.parser import Command
from bot.payloads import Stale, action
from bot.surface import Interaction, Surface, acked
from crm import exports, files, filters


PAGE_ACTIONS = ("list_previous", "list_next")
MAX_BUTTON_VALUE = 2000  # Slack's limit
LARGEST_OFFSET = 10 ** 9  # the widest offset a button may carry, to size it


def title(page: filters.Page) -> str:
    """"134 third parties match type:customer town:Paris — 1–20"."""
    noun = "third party" if page.total == 1 else "third parties"
    if not page.total:
        return f"No third party matches {page.filter}." if page.filter else "There are no third parties yet."
    matching = (" matches " if page.total == 1 else " match ") + page.filter if page.filter else ""
    shown = f"{page.offset + 1}–{page.offset + len(page.thirdparties)}"
    return f"{page.total:,} {noun}{matching} — {shown}"


def page_value(text: str | None, offset: int, token: str | None = None) -> str:
    """What a page button carries: its offset and the filter, or the token a long filter is kept under."""
    return json.dumps({"offset": offset, "token": token} if token else {"offset": offset, "filter": text},
                      ensure_ascii=False)


def fits_a_button(text: str) -> bool:
    return len(page_value(text, LARGEST_OFFSET)) <= MAX_BUTTON_VALUE


def list_message(page: filters.Page, token: str | None = None) -> dict:
    """A page of matches, a Show button on each, Previous/Next where there is more."""
    heading = title(page)
    blocks = [plain_section(heading)]
    for tp in page.thirdparties:
        blocks.append(plain_section(cards.record_line(tp), accessory=button("Show", "thirdparty_show", str(tp.id))))
    pager = []
    if page.offset > 0:
        previous = max(page.offset - filters.PAGE_SIZE, 0)
        pager.append(button("Previous", "list_previous", page_value(page.filter, previous, token)))
    following = page.offset + len(page.thirdparties)
    if following < page.total:
        pager.append(button("Next", "list_next", page_value(page.filter, following, token)))
    if pager:
        blocks.append(actions(*pager))
    if page.total:
        blocks.append(context("Take them to a spreadsheet: `/crm export` with the same filter, then `csv` or `xlsx`."))
    return message(heading, blocks)


async def show_list(it: Interaction, command: Command) -> None:
    """`/crm list FILTER`: the first page."""
    text = command.rest
    page = await filters.page(it.ctx, text)
    token = None if fits_a_button(text) else await filters.keep(it.ctx, text)
    await it.answer(list_message(page, token))


async def _turn_page(it: Interaction) -> None:
    try:
        pressed = json.loads(action(it.body).get("value") or "")
        offset = int(pressed["offset"])
        token = pressed.get("token")
        text = await filters.kept(it.ctx, str(token)) if token else str(pressed["filter"])
    except (ValueError, KeyError, TypeError):
        raise Stale("list page") from None
    await it.answer(list_message(await filters.page(it.ctx, text, offset), token), replace=True)


async def export(it: Interaction, command: Command) -> None:
    """`/crm export FILTER [csv|xlsx]`: said at once, then posted in the asker's conversation with the app."""
    text, fmt = command.rest, command.format or "csv"
    chosen = await filters.thirdparties(it.ctx, text)  # a bad filter is answered here, in the command's reply
    described = f"third parties matching {text}" if text else "all third parties"

    async def make(channel: str) -> dict:
        with tempfile.TemporaryDirectory(dir=files.private_dir(it.settings.data_dir)) as folder:
            path = Path(folder) / f"thirdparties-{it.ctx.now().astimezone(it.ctx.timezone):%Y-%m-%d}.{fmt}"
            if fmt == "csv":
                with path.open("w", encoding="utf-8", newline="") as stream:
                    count = await exports.export_thirdparties(it.ctx, stream, "csv", chosen=chosen)
            else:
                count = await exports.export_thirdparties(it.ctx, str(path), "xlsx", chosen=chosen)
            await it.client.files_upload_v2(channel=channel, file=str(path), filename=path.name,
                                            title=f"Export of {described}")
        noun = "third party" if count == 1 else "third parties"
        return cards.notice(f"Your export of {described} is below: {count:,} {noun}.")

    await it.deliver(promised=f"Making the {fmt.upper()} export of {described}: it will arrive in your "
                              "conversation with the app.",
                     progress=cards.notice(f"Making the export of {described}…"), make=make,
                     failed=lambda reason: cards.notice(f"The export of {described} failed: {reason}"))


def register(app: AsyncApp, surface: Surface) -> None:
    for action_id in PAGE_ACTIONS:
        app.action(action_id)(acked(surface, _turn_page))
