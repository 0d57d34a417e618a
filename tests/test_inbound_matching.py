"""Whose timeline an incoming email belongs on: a reply to what we sent, else a contact's
address, else a third party's own; our own addresses never count."""
from __future__ import annotations

from crm import clock, contacts, thirdparties
from crm.inbound.matching import Match, match
from crm.inbound.parsing import parse
from models import Campaign, CampaignRecipient, SentEmail
from tests.conftest import ALICE, context
from tests.test_documents import draft

OURS = frozenset({"sales@acme.example", "news@acme.example"})


def email_from(sender: str, to: str = "sales@acme.example", cc: str = "", answers: str = "") -> bytes:
    headers = [f"From: {sender}", f"To: {to}", "Subject: Hello", "Message-ID: <in-1@elsewhere.example>"]
    headers += [f"Cc: {cc}"] if cc else []
    headers += [f"In-Reply-To: {answers}"] if answers else []
    return ("\r\n".join(headers) + "\r\n\r\nHi\r\n").encode()


async def test_a_reply_goes_with_what_it_answers(db):
    document = await draft("proposal", name="Globex", email="office@globex.example")
    zoe = await contacts.create(context(), document.thirdparty_id, {"first_name": "Zoë", "email": "zoe@globex.example"})
    await SentEmail.create(message_id="<mail-1@acme.example>", thirdparty_id=document.thirdparty_id,
                           contact_id=zoe.id, document_id=document.id, address="zoe@globex.example",
                           subject="Our proposal", sent_by=ALICE.id, sent_at=clock.now())
    # from someone we do not know, answering our email: it still belongs to Globex and its proposal
    reply = parse(email_from("Assistant <assistant@gmail.example>", answers="<mail-1@acme.example>"), 1024)
    assert await match(reply, OURS) == Match(document.thirdparty_id, zoe.id, document.id, how="reply")


async def test_a_reply_to_a_campaign_names_its_recipient(db):
    initech = await thirdparties.create(context(), {"name": "Initech", "type": "customer",
                                                    "email": "it@initech.example"})
    now = clock.now()
    campaign = await Campaign.create(name="News", template_name="campaign", created_at=now, updated_at=now)
    recipient = await CampaignRecipient.create(campaign=campaign, address="it@initech.example",
                                               thirdparty_id=initech.id, status="sent",
                                               message_id="<campaign-1-1@acme.example>")
    reply = parse(email_from("it@initech.example", answers="<campaign-1-1@acme.example>"), 1024)
    assert await match(reply, OURS) == Match(initech.id, campaign_recipient_id=recipient.id, how="reply")


async def test_a_contacts_address_in_any_case_then_a_third_partys_own(db):
    globex = await thirdparties.create(context(), {"name": "Globex", "type": "customer",
                                                   "email": "office@globex.example"})
    zoe = await contacts.create(context(), globex.id, {"first_name": "Zoë", "email": "Zoe.Nunez@globex.example"})
    umbrella = await thirdparties.create(context(), {"name": "Umbrella", "type": "customer",
                                                     "email": "info@umbrella.example"})
    assert await match(parse(email_from("ZOE.NUNEZ@GLOBEX.example"), 1024), OURS) == Match(globex.id, zoe.id,
                                                                                         how="contact")
    # forwarded by someone unknown, with the customer in copy
    forwarded = parse(email_from("stranger@else.example", cc="info@umbrella.example"), 1024)
    assert await match(forwarded, OURS) == Match(umbrella.id, how="third party")
    # a contact anywhere wins over a third party's own address
    both = parse(email_from("info@umbrella.example", cc="zoe.nunez@globex.example"), 1024)
    assert (await match(both, OURS)).thirdparty_id == globex.id


async def test_our_own_addresses_and_strangers_match_nothing(db):
    await thirdparties.create(context(), {"name": "Acme itself", "type": "customer", "email": "sales@acme.example"})
    assert await match(parse(email_from("stranger@else.example"), 1024), OURS) is None
