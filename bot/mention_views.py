"""The public stubs: what a channel sees of a record when someone mentions its code or links to
it (SPEC §3). A third party shows its name, code and type; a document its ref, type, status and
total. Nothing private: the full card is offered to whoever asks, privately."""
from __future__ import annotations

from babel.numbers import format_currency

from bot.blocks import actions, button, message, plain_section
from crm.documents.workflow import STATUS_LABELS
from crm.records import DocumentRecord, ThirdPartyRecord
from crm.thirdparties import TYPE_LABELS

FULL_CARD = "mention_full_card"
CARD_BLOCK = "card:{}"  # the block naming a third party's card, as the record card's buttons do
HELP = ("Mention me with a customer code or a document ref (CU2611-00001, PR2611-00001), or share a file "
        "in a card's thread to attach it.")


def thirdparty_stub_blocks(tp: ThirdPartyRecord, *, offer_card: bool = True) -> list[dict]:
    line = plain_section(f"{tp.name}\n{tp.code} · {TYPE_LABELS[tp.type]}")
    if not offer_card:
        return [{**line, "block_id": CARD_BLOCK.format(tp.id)}]
    return [line, actions(button("Show me the full card", FULL_CARD, f"thirdparty:{tp.id}"),
                          block_id=CARD_BLOCK.format(tp.id))]


def document_stub_blocks(document: DocumentRecord) -> list[dict]:
    total = format_currency(document.total_incl_tax, document.currency, locale="en")
    return [plain_section(f"{document.title}\n{STATUS_LABELS[document.status]} · {total}"),
            actions(button("Show me the full card", FULL_CARD, f"document:{document.id}"))]


def stubs_message(thirdparties: list[ThirdPartyRecord], documents: list[DocumentRecord], unknown: list[str]) -> dict:
    """The answer in thread to a mention: a stub per record named, and the words no record has."""
    blocks = [block for tp in thirdparties for block in thirdparty_stub_blocks(tp)]
    blocks += [block for document in documents for block in document_stub_blocks(document)]
    if unknown:
        blocks.append(plain_section("I know no third party or document " + ", ".join(unknown) + "."))
    if not blocks:
        blocks.append(plain_section(HELP))
    names = [f"{tp.name} ({tp.code})" for tp in thirdparties] + [d.title for d in documents]
    return message(", ".join(names) or blocks[-1]["text"]["text"], blocks)


def unfurl(tp: ThirdPartyRecord) -> dict:
    """What a link to PUBLIC_URL/t/CODE unfolds into in Slack."""
    return {"blocks": thirdparty_stub_blocks(tp, offer_card=False)}

