"""`/crm campaign` through Slack, by signed requests: the form counting its recipients, the
campaign's message in its creator's conversation with the app, its buttons, and the workers'
jobs sending it to a real SMTP server and keeping that message up to date."""
import dataclasses
import json

import pytest
import trustme

from crm import clock, thirdparties
from crm.mail import templates
from jobs.campaigns import send_campaigns, show_progress
from models import Campaign, CampaignRecipient, User
from tests.conftest import ALICE, context, slack_user
from tests.slack_forms import fill
from tests.slack_requests import modal
from tests.smtp_server import SmtpServer


@pytest.fixture
def smtp():
    with SmtpServer("plain", trustme.CA()) as server:
        yield server


@pytest.fixture
def settings(settings, smtp):
    return dataclasses.replace(settings, smtp_url=smtp.url(), mail_from="Acme <news@acme.example>",
                               campaign_rate=1000, secret_key="test-secret")


@pytest.fixture(autouse=True)
async def default_templates(db):
    await templates.ensure_defaults()


def texts(payload: dict) -> str:
    return json.dumps(payload.get("blocks", []), ensure_ascii=False) + payload.get("text", "")


async def three_customers_in_paris():
    for name in ("Acme", "Globex", "Initech"):
        await thirdparties.create(context(), {"name": name, "type": "customer", "town": "Paris",
                                              "email": f"office@{name.lower()}.example"})
    await thirdparties.create(context(), {"name": "Umbrella", "type": "prospect", "town": "Lyon",
                                          "email": "office@umbrella.example"})


async def test_a_campaign_from_the_form_to_its_last_email(alice, slack, smtp, server):
    await three_customers_in_paris()
    await alice.command("campaign new")
    form = (await slack.wait_for("views.open"))[-1].args["view"]
    assert form["callback_id"] == "campaign_new"
    # Enter in the filter: the form comes back with how many third parties it finds
    await alice.action("campaign_target", block_id="target", view={**modal("campaign_new", "VCAMP"), **form},
                       action_type="plain_text_input", action_fields={"value": "type:customer town:paris"})
    counted = (await slack.wait_for("views.update"))[-1].args["view"]
    assert "3 third parties match." in texts(counted)
    refused = await alice.submit_form(form, {"name": "November news", "target": "colour:red"})
    assert "colour" in refused.json["errors"]["target"]
    created = await alice.submit_form(form, {"name": "November news", "target": "type:customer town:paris"})
    assert (created.status, created.text) == (200, "")
    posted = (await slack.wait_for("chat.postMessage"))[-1].args
    assert "November news" in texts(posted) and "Draft" in texts(posted) and "campaign_send" in texts(posted)
    campaign = await Campaign.get(name="November news")
    assert (campaign.status, campaign.progress_channel, campaign.created_by) == ("draft", posted["channel"], ALICE.id)

    await User.filter(id=ALICE.id).update(email="alice@acme.example")  # her Slack profile's
    tried = await alice.press("campaign_test", str(campaign.id))
    assert "The test went to alice@acme.example" in texts(tried)
    [test] = smtp.recorder.messages
    assert test.recipients == ["alice@acme.example"] and b"Subject: [Test] " in test.data
    smtp.recorder.messages.clear()
    assert not await CampaignRecipient.exists()  # a test is nobody's email

    sent_now = await alice.press("campaign_send", str(campaign.id))
    assert "Scheduled" in texts(sent_now) and "campaign_pause" in texts(sent_now)
    await send_campaigns(server.settings)  # what a worker's job does
    assert sorted(m.recipients[0] for m in smtp.recorder.messages) == [
        "office@acme.example", "office@globex.example", "office@initech.example"]
    await show_progress(server.settings)  # and the progress job after it
    updated = slack.calls_to("chat.update")[-1].args
    assert (updated["channel"], updated["ts"]) == (campaign.progress_channel, campaign.progress_ts)
    assert "3 sent of 3" in texts(updated) and "Sent" in texts(updated)
    assert "campaign_pause" not in texts(updated)  # nothing left to do with it
    summary = slack.calls_to("chat.postMessage")[-1].args
    assert "is sent: 3 sent, 0 failed, 0 skipped" in summary["text"]
    calls = len(slack.calls_to("chat.update"))
    await show_progress(server.settings)
    assert len(slack.calls_to("chat.update")) == calls  # nothing changed since: nothing posted


async def test_pause_resume_cancel_and_who_may(alice, admin, slack, http, server):
    await three_customers_in_paris()
    await alice.command("campaign new")
    form = (await slack.wait_for("views.open"))[-1].args["view"]
    await alice.submit_form(form, {"name": "<!channel> news", "target": "type:customer"})
    campaign = await Campaign.get(name="<!channel> news")
    paused = await alice.press("campaign_pause", str(campaign.id))
    assert "cannot be paused" in texts(paused)  # a draft: nothing to pause
    await alice.press("campaign_send", str(campaign.id))
    assert "Paused" in texts(await alice.press("campaign_pause", str(campaign.id)))
    await send_campaigns(server.settings)
    assert not await CampaignRecipient.filter(status="sent").exists()  # paused before it started
    bob = slack_user(http, server, slack, "U0BOB")
    slack.add_user("U0BOB", name="bob")
    assert "creator or an admin" in texts(await bob.press("campaign_resume", str(campaign.id)))
    shown = await bob.ask(f"campaign show {campaign.id}")
    assert "campaign_resume" not in texts(shown)  # not his to change: no buttons
    assert "Cancelled" in texts(await admin.press("campaign_cancel", str(campaign.id)))
    listed = await alice.ask("campaign list")
    assert "&lt;!channel&gt; news · Cancelled" in texts(listed)  # shown as typed, never a broadcast


async def test_a_readonly_user_gets_no_form(http, server, slack):
    slack.add_user("U0READER", name="reader")
    await User.create(id="U0READER", role="readonly", created_at=clock.now())
    reply = await slack_user(http, server, slack, "U0READER").ask("campaign new")
    assert "read-only" in texts(reply)
    assert not slack.calls_to("views.open")


async def test_a_progress_message_slack_refuses_does_not_stop_the_others(alice, slack, server):
    await three_customers_in_paris()
    for name in ("First", "Second"):
        await alice.command("campaign new")
        form = (await slack.wait_for("views.open", count=1 if name == "First" else 2))[-1].args["view"]
        await alice.submit_form(form, {"name": name, "target": "type:customer"})
    await slack.wait_for("chat.postMessage", count=2)
    slack.fail_next("chat.update", error="message_not_found")  # someone deleted the first one
    await show_progress(server.settings)
    updated = [call.args["ts"] for call in slack.calls_to("chat.update")]
    second = await Campaign.get(name="Second")
    assert second.progress_ts in updated  # the second was still brought up to date
    assert not await Campaign.filter(progress_at__isnull=True).exists()  # and the first is not retried forever
