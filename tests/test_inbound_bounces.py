"""Delivery status notifications about campaign emails: the recipient bounced, a permanent
failure opted out, a CAMPAIGN_BOUNCE on the timeline; anything else left alone."""
from __future__ import annotations

from crm import clock, thirdparties
from crm.inbound import bounces
from crm.inbound.parsing import Bounce
from models import Campaign, CampaignRecipient, Event, OptOut
from tests.conftest import context


async def sent_campaign_email():
    initech = await thirdparties.create(context(), {"name": "Initech", "type": "customer",
                                                    "email": "it@initech.example"})
    now = clock.now()
    campaign = await Campaign.create(name="News", template_name="campaign", created_at=now, updated_at=now)
    return initech, await CampaignRecipient.create(campaign=campaign, address="it@initech.example",
                                                   thirdparty_id=initech.id, status="sent",
                                                   message_id="<campaign-1-1@acme.example>")


async def test_a_permanent_failure_bounces_and_opts_out(db):
    initech, recipient = await sent_campaign_email()
    report = Bounce("<campaign-1-1@acme.example>", "it@initech.example", "failed", "5.1.1")
    assert await bounces.record(context(), report)
    stored = await CampaignRecipient.get(id=recipient.id)
    assert stored.status == "bounced" and "5.1.1" in stored.reason
    assert "5.1.1" in (await OptOut.get(address="it@initech.example")).reason
    [event] = await Event.filter(code="CAMPAIGN_BOUNCE")
    assert (event.thirdparty_id, event.user_id, event.details["permanent"]) == (initech.id, "system", True)


async def test_a_delay_is_noted_and_the_address_kept(db):
    _, recipient = await sent_campaign_email()
    assert await bounces.record(context(), Bounce("<campaign-1-1@acme.example>", "it@initech.example",
                                                  "delayed", "4.4.1"))
    assert (await CampaignRecipient.get(id=recipient.id)).status == "sent"
    assert not await OptOut.exists() and await Event.filter(code="CAMPAIGN_BOUNCE").count() == 1


async def test_reports_about_other_mail_change_nothing(db):
    await sent_campaign_email()
    assert not await bounces.record(context(), Bounce("<someone-else@x.example>", "a@x.example", "failed", "5.1.1"))
    assert not await bounces.record(context(), Bounce("<campaign-1-1@acme.example>", "it@initech.example",
                                                      "delivered", "2.0.0"))
    assert not await OptOut.exists() and not await Event.filter(code="CAMPAIGN_BOUNCE").exists()
