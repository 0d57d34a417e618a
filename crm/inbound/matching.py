"""Whose timeline an incoming email belongs on (issue 9): a reply to an email we sent goes with
it (its third party, contact and document, or its campaign recipient); else the first address
of the email (From, then To, then Cc; our own left out) that is a contact's, with its third
party; else one that is a third party's own address."""
from __future__ import annotations

from dataclasses import dataclass

from crm.inbound.parsing import Incoming
from models import CampaignRecipient, Contact, SentEmail, ThirdParty


@dataclass(frozen=True)
class Match:
    thirdparty_id: int
    contact_id: int | None = None
    document_id: int | None = None
    campaign_recipient_id: int | None = None  # a reply to a campaign's email
    how: str = ""  # "reply", "contact" or "third party": why it belongs there


async def match(incoming: Incoming, own_addresses: frozenset[str]) -> Match | None:
    """The third party `incoming` belongs to, or None (an unknown sender)."""
    return await _reply(incoming) or await _by_address(incoming, own_addresses)


async def _reply(incoming: Incoming) -> Match | None:
    for message_id in incoming.answers:
        sent = await SentEmail.filter(message_id=message_id).first()
        if sent is not None:
            return Match(sent.thirdparty_id, sent.contact_id, sent.document_id, how="reply")
        recipient = await CampaignRecipient.filter(message_id=message_id).exclude(thirdparty_id=None).first()
        if recipient is not None:
            return Match(recipient.thirdparty_id, recipient.contact_id, campaign_recipient_id=recipient.id,
                         how="reply")
    return None


async def _by_address(incoming: Incoming, own_addresses: frozenset[str]) -> Match | None:
    addresses = [a for a in dict.fromkeys((incoming.sender, *incoming.to, *incoming.cc)) if a and a not in own_addresses]
    for address in addresses:
        contact = await Contact.filter(email__iexact=address).order_by("id").first()
        if contact is not None:
            return Match(contact.thirdparty_id, contact.id, how="contact")
    for address in addresses:
        thirdparty = await ThirdParty.filter(email_key=address).order_by("id").first()
        if thirdparty is not None:
            return Match(thirdparty.id, how="third party")
    return None
