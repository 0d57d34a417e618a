"""The record card of a third party for the person asking: what every surface that shows a
third party after a change posts (commands, buttons, forms, merges)."""
from __future__ import annotations

from bot import cards
from bot.surface import Interaction
from crm import thirdparties
from crm.documents import service as document_service
from crm.records import ThirdPartyRecord


async def card_message(it: Interaction, thirdparty: int | ThirdPartyRecord, **options) -> dict:
    """The record card of a third party (by id, or just resolved), with its newest documents."""
    card = await thirdparties.card(it.ctx, thirdparty)
    recent = await document_service.of_thirdparty(it.ctx, card.thirdparty)
    return cards.record_card(card, can_write=it.ctx.actor.can_write, documents=recent, **options)
