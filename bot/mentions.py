"""The app mentioned in a channel, and links to PUBLIC_URL/t/CODE (SPEC §3).

- A mention naming codes or document refs is answered in thread with their public stubs (name,
  code, type / ref, type, status, total) and a button that shows whoever clicks the full card,
  privately. Words that look like refs but name nothing are said so.
- A mention with files attaches them to the third party the message names by code or ref, else
  to the one whose card heads the thread, and says in thread what was attached or why not.
- `link_shared` unfurls each link to a known code into its public stub; others are left alone.
"""
from __future__ import annotations

import logging
from urllib.parse import unquote, urlsplit

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from bot import cards, documents, files
from bot import files_views
from bot import mention_views as views
from bot.parser import message_words
from bot.payloads import Stale, action, record_id
from bot.record_card import card_message
from bot.surface import Interaction, Surface, acked, explained, words_for
from crm import mentions, pending, thirdparties
from crm.errors import ValidationError
from crm.records import ThirdPartyRecord

log = logging.getLogger(__name__)

LINK_PATH = "/t/"


def register(app: AsyncApp, surface: Surface) -> None:
    @app.event("app_mention")
    async def mentioned(ack, body, client):
        await ack()
        event = body.get("event") or {}
        if event.get("user") and not event.get("bot_id"):
            surface.spawn(_answer(surface, body, client, answer_mention, in_thread=True))

    @app.event("link_shared")
    async def link_shared(ack, body, client):
        await ack()
        if (body.get("event") or {}).get("user"):
            surface.spawn(_answer(surface, body, client, unfurl_links, in_thread=False))

    app.action(views.FULL_CARD)(acked(surface, full_card))


async def _answer(surface: Surface, body: dict, client, work, *, in_thread: bool) -> None:
    """Run `work(it, event)` for the event's author; post what it returns (or what went wrong,
    in words) in the thread of the message, when `in_thread`."""
    event = body["event"]
    it = Interaction({**body, "user_id": event["user"]}, client, surface)
    async with surface.slots:
        try:
            await it.identify()
            reply = await work(it, event)
        except Exception as error:  # noqa: BLE001 - every mention gets an answer
            if explained(error):
                log.info("answering an event: %s", error)
            else:
                log.error("answering an event failed", exc_info=error)
            reply = cards.error_message(words_for(error)) if in_thread else None
        if reply is None:
            return
        try:
            await client.chat_postMessage(channel=event["channel"], thread_ts=event.get("thread_ts") or event["ts"],
                                          **reply)
        except SlackApiError:
            log.exception("could not answer in thread")


def _text(event: dict) -> str:
    """The message's words: Slack's markup unwrapped, mentions left out."""
    return message_words(event.get("text") or "").strip()


async def answer_mention(it: Interaction, event: dict) -> dict | None:
    if event.get("files"):
        tp = await _named_thirdparty(it, event)
        attached = await files.attach_once(it, f"mention:{event['channel']}:{event['ts']}", tp.id,
                                           [f["id"] for f in event["files"]])
        return cards.notice(files_views.attached_text(tp, attached)) if attached else None
    if (await pending.once(it.ctx, f"mention-answer:{event['channel']}:{event['ts']}", "mention.answer",
                           _nothing_made)).repeated:
        return None  # Slack delivered the event again (its retry): answered already
    found = await mentions.find(it.ctx, _text(event))
    return views.stubs_message([f.thirdparty for f in found if f.thirdparty],
                               [f.document for f in found if f.document],
                               [f.word for f in found if not (f.thirdparty or f.document)])


async def _nothing_made() -> int:
    return 0


async def _named_thirdparty(it: Interaction, event: dict) -> ThirdPartyRecord:
    """The third party files shared with a mention go to: a code or document ref in the message,
    else the card heading the thread, else the message's words as a REF."""
    text = _text(event)
    for found in await mentions.find(it.ctx, text):
        if found.thirdparty:
            return found.thirdparty
        if found.document and found.document.thirdparty_id:
            return await thirdparties.get(it.ctx, found.document.thirdparty_id)
    root = await _thread_card(it, event)
    if root is not None:
        return await thirdparties.get(it.ctx, root)
    if text:
        return await thirdparties.resolve(it.ctx, text)
    raise ValidationError("REF", "Say which third party these files are for: mention me with its code, or share "
                                 "them in the thread of its card.")


async def _thread_card(it: Interaction, event: dict) -> int | None:
    """The third party whose card is the first message of the thread, if it is one."""
    if not event.get("thread_ts"):
        return None
    try:
        replies = await it.client.conversations_replies(channel=event["channel"], ts=event["thread_ts"], limit=1)
    except SlackApiError as error:
        log.info("could not read the thread's first message: %s", error.response.get("error"))
        return None
    for message in (replies.get("messages") or [])[:1]:
        for block in message.get("blocks") or []:
            kind, _, number = str(block.get("block_id", "")).partition(":")
            if kind == "card" and number.isdigit():
                return int(number)
    return None


async def unfurl_links(it: Interaction, event: dict) -> None:
    """Each link to PUBLIC_URL/t/CODE of a known code unfurls into the public stub."""
    base = urlsplit(it.settings.public_url)
    unfurls = {}
    for link in event.get("links") or []:
        url = str(link.get("url", ""))
        target = urlsplit(url)
        path = target.path.removeprefix(base.path.rstrip("/"))
        if (target.scheme, target.netloc) != (base.scheme, base.netloc) or not path.startswith(LINK_PATH):
            continue
        tp = await mentions.by_code(it.ctx, unquote(path[len(LINK_PATH):]).strip("/"))
        if tp is not None:
            unfurls[url] = views.unfurl(tp)
    if not unfurls:
        return None
    if event.get("source") == "composer":  # a link typed in the message box, not yet posted
        await it.client.chat_unfurl(unfurl_id=event["unfurl_id"], source="composer", unfurls=unfurls)
    else:
        await it.client.chat_unfurl(channel=event["channel"], ts=event["message_ts"], unfurls=unfurls)
    return None


async def full_card(it: Interaction) -> None:
    """"Show me the full card" under a stub: the card, for the clicker's eyes only."""
    kind, _, number = str(action(it.body).get("value", "")).partition(":")
    if kind == "thirdparty":
        await it.answer(await card_message(it, record_id(number)))
    elif kind == "document":
        await it.answer(await documents.card(it, record_id(number)))
    else:
        raise Stale(kind)
