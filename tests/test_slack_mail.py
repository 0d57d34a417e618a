"""`/crm mail` through Slack, by signed requests, to a real SMTP server on loopback: the form
and its preview following the choices, the email as the server received it (From the rep's
name, Reply-To MAIL_FROM, the document's PDF attached), EMAIL_SENT on the timeline; a refusal
said with the server's answer and nothing recorded; the outbox without SMTP_URL. Admins keep
the templates from /crm settings."""
import dataclasses
import email
import email.policy
import json

import pytest
import trustme

from crm import clock, contacts, thirdparties
from crm.mail import templates
from models import EmailTemplate, Event, SentEmail, User
from tests.conftest import ADMIN, context, slack_user
from tests.slack_forms import fill, suggested
from tests.slack_requests import modal
from tests.smtp_server import SmtpServer
from tests.test_documents import draft

MAIL_FROM = "Acme CRM <crm@acme.example>"


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


@pytest.fixture
def smtp(ca):
    with SmtpServer("plain", ca) as server:
        yield server


@pytest.fixture
def smtp_url(smtp) -> str | None:
    return smtp.url()


@pytest.fixture
def settings(settings, smtp_url):
    """The app sends through the test's SMTP server (none: the outbox)."""
    return dataclasses.replace(settings, smtp_url=smtp_url, mail_from=MAIL_FROM)


@pytest.fixture(autouse=True)
async def default_templates(db):
    await templates.ensure_defaults()


def texts(payload: dict) -> str:
    return json.dumps(payload.get("blocks", []), ensure_ascii=False) + payload.get("text", "")


async def acme_with_a_proposal():
    """Acme (English) with its own address, Jane (French) and a proposal."""
    document = await draft("proposal", name="Acme", email="office@acme.example")
    jane = await contacts.create(context(), document.thirdparty_id, {
        "first_name": "Jane", "last_name": "Doe", "email": "jane@acme.example", "language": "fr"})
    await templates.create(context(ADMIN), {
        "name": "proposal", "type": "proposal", "language": "fr", "subject": "Notre proposition {{ document.ref }}",
        "text": "Bonjour {{ contact.first_name }},\nci-joint {{ document.title }}.", "html": "<p>Bonjour</p>"})
    return document, jane


async def choose(person, slack, view: dict, block_id: str, value: str) -> dict:
    """A change of one of the form's menus; returns the form as the app then updated it."""
    before = len(slack.calls_to("views.update"))
    state = fill(view, {block_id: value})
    reply = await person.action("mail_preview", block_id=block_id, action_type="static_select",
                                selected_option=value,
                                view=modal(view["callback_id"], "VMAIL", state, view["private_metadata"]))
    assert (reply.status, reply.text) == (200, "")
    return (await slack.wait_for("views.update", count=before + 1))[-1].args["view"]


def offered(view: dict, block_id: str) -> dict[str, str]:
    element = next(b["element"] for b in view["blocks"] if b.get("block_id") == block_id)
    return {o["value"]: o["text"]["text"] for o in element["options"]}


async def test_a_rep_emails_a_contact_with_the_proposal_attached(alice, slack, smtp):
    document, jane = await acme_with_a_proposal()
    await alice.command("mail Acme proposal")
    view = (await slack.wait_for("views.open"))[-1].args["view"]
    assert offered(view, "to") == {f"contact:{jane.id}": "Jane Doe <jane@acme.example>",
                                   "thirdparty": "Acme <office@acme.example>"}
    assert f"(PROV{document.id})" in offered(view, "document")[str(document.id)]
    assert "Subject: Notre proposition" in texts(view) and "Bonjour Jane" in texts(view)  # Jane reads French

    view = await choose(alice, slack, view, "to", "thirdparty")  # the third party's own address: English
    assert "Subject: Our proposal" in texts(view) and "Hello," in texts(view)
    view = await choose(alice, slack, view, "template", "thirdparty")
    assert "Subject: News from" in texts(view)
    view = await choose(alice, slack, view, "template", "proposal")
    view = await choose(alice, slack, view, "to", f"contact:{jane.id}")
    view = await choose(alice, slack, view, "document", str(document.id))
    assert f"ci-joint Proposal (PROV{document.id})." in texts(view)

    for _ in range(2):  # submitted twice, sent once
        sent = await alice.submit_form(view, view_id="VMAIL")
        assert (sent.status, sent.text) == (200, "")  # the form closes
    said = (await slack.wait_for("chat.postMessage"))[-1].args
    assert said["channel"] == f"D{alice.user_id}" and "Sending “Notre proposition" in texts(said)
    done = (await slack.wait_for("chat.update", timeout=60))[-1].args
    assert "Sent “Notre proposition" in texts(done) and "250" in texts(done), texts(done)
    assert len(slack.calls_to("chat.postMessage")) == 1

    [received] = smtp.recorder.messages
    assert received.recipients == ["jane@acme.example"] and received.envelope_from == "crm@acme.example"
    parsed = email.message_from_bytes(received.data, policy=email.policy.default)
    assert parsed["From"] == "alice <crm@acme.example>" and parsed["Reply-To"] == MAIL_FROM
    assert parsed["To"] == "Jane Doe <jane@acme.example>" and parsed["Subject"].startswith("Notre proposition")
    [attached] = list(parsed.iter_attachments())
    assert attached.get_content_type() == "application/pdf" and attached.get_content().startswith(b"%PDF")
    assert "Bonjour Jane" in parsed.get_body(("plain",)).get_content()

    [event] = await Event.filter(code="EMAIL_SENT")
    details = json.loads(event.details) if isinstance(event.details, str) else event.details
    assert (event.thirdparty_id, event.contact_id, event.document_id, event.user_id) == (
        document.thirdparty_id, jane.id, document.id, alice.user_id)
    assert details["message_id"] == parsed["Message-ID"] and details["subject"] == parsed["Subject"]
    [row] = await SentEmail.all()
    assert (row.message_id, row.address, row.contact_id, row.sent_by) == (
        parsed["Message-ID"], "jane@acme.example", jane.id, alice.user_id)
    slack.assert_nothing_refused()


async def test_a_refusal_is_said_with_the_servers_answer_and_nothing_is_recorded(alice, slack, smtp):
    document, _ = await acme_with_a_proposal()
    smtp.recorder.refuse["jane@acme.example"] = "550 5.1.1 No such user here"
    card = await alice.ask("show Acme")
    assert '"action_id": "mail_open"' in texts(card)
    await alice.action("mail_open", str(document.thirdparty_id))  # the card's button: the third party's template
    view = (await slack.wait_for("views.open"))[-1].args["view"]
    assert "Subject: News from" in texts(view)
    await alice.submit_form(view)
    done = (await slack.wait_for("chat.update"))[-1].args
    assert "The mail server refused the email: 550 5.1.1 No such user here. Nothing was sent." in texts(done)
    assert smtp.recorder.messages == []
    assert not await Event.filter(code="EMAIL_SENT").exists() and not await SentEmail.exists()


@pytest.mark.parametrize("smtp_url", [None])
async def test_without_smtp_url_the_email_is_written_to_the_outbox(alice, slack, server, smtp_url):
    await acme_with_a_proposal()
    await alice.command('mail "Acme" thirdparty')
    view = (await slack.wait_for("views.open"))[-1].args["view"]
    await alice.submit_form(view, {"to": "thirdparty"})
    done = (await slack.wait_for("chat.update"))[-1].args
    assert "Sent “News from" in texts(done), texts(done)
    [written] = list((server.settings.data_dir / "outbox").glob("*.eml"))
    parsed = email.message_from_bytes(written.read_bytes(), policy=email.policy.default)
    assert parsed["To"] == "Acme <office@acme.example>" and parsed["Reply-To"] == MAIL_FROM
    assert await SentEmail.filter(address="office@acme.example", contact_id=None).exists()


async def test_an_unknown_template_a_record_without_address_and_a_readonly_user_are_answered(
        alice, http, server, slack):
    await thirdparties.create(context(), {"name": "Mute", "type": "customer"})
    answer = await alice.ask("mail Mute")
    assert "Neither Mute nor its contacts have an email address" in texts(answer)
    await acme_with_a_proposal()
    answer = await alice.ask("mail Acme farewell")
    assert "There is no email template named 'farewell'" in texts(answer)
    slack.add_user("U0READER", name="reader")
    await User.create(id="U0READER", role="readonly", created_at=clock.now())
    answer = await slack_user(http, server, slack, "U0READER").ask("mail Acme")
    assert "read-only" in texts(answer)
    assert not slack.calls_to("views.open")


async def test_admins_keep_the_templates_from_the_settings(admin, slack):
    await admin.command("settings")
    settings_form = (await slack.wait_for("views.open"))[-1].args["view"]
    assert "proposal · any language · Proposal" in texts(settings_form)
    await admin.action("template_add", "", view={"id": "VSETTINGS", **settings_form})
    form = (await slack.wait_for("views.push"))[-1].args["view"]
    answers = {"name": "follow-up", "type": "contact", "language": await suggested(admin, form, "language", "fr"),
               "subject": "Suite", "text": "Bonjour {{ contact.prenom }}", "html": "<p>Bonjour</p>"}
    refused = await admin.submit_form(form, answers, previous_view_id="VSETTINGS")
    assert refused.json == {"response_action": "errors",
                            "errors": {"text": "Text body, line 1: 'dict object' has no attribute 'prenom'"}}
    saved = await admin.submit_form(form, {**answers, "text": "Bonjour {{ contact.first_name }}"},
                                    previous_view_id="VSETTINGS")
    assert (saved.status, saved.text) == (200, "")
    created = await EmailTemplate.get(name="follow-up")
    assert (created.language, created.type) == ("fr", "contact")
    refreshed = (await slack.wait_for("views.update"))[-1].args["view"]
    assert "follow-up · fr · Contact" in texts(refreshed)

    await admin.action("template_menu", block_id="x", action_type="overflow", selected_option=f"delete:{created.id}",
                       view={"id": "VSETTINGS", **refreshed})
    confirm = (await slack.wait_for("views.push", count=2))[-1].args["view"]
    assert "will be deleted" in texts(confirm)
    deleted = await admin.submit_form(confirm, previous_view_id="VSETTINGS")
    assert (deleted.status, deleted.text) == (200, "")
    assert not await EmailTemplate.filter(name="follow-up").exists()


async def test_the_document_card_emails_its_pdf_from_its_types_template(alice, slack):
    document, jane = await acme_with_a_proposal()
    card = await alice.ask(f"doc (PROV{document.id})")
    assert '"mail_document"' in texts(card)
    reply = await alice.action("mail_document", str(document.id))
    assert reply.status == 200
    view = (await slack.wait_for("views.open"))[-1].args["view"]
    chosen = {b["block_id"]: b["element"].get("initial_option", {}).get("value") for b in view["blocks"]
              if b.get("type") == "input"}
    assert (chosen["template"], chosen["document"]) == ("proposal", str(document.id))
    assert "Subject: Notre proposition" in texts(view)  # Jane, the first address, reads French


async def test_attaching_a_document_to_a_default_email_takes_its_types_template(alice, slack):
    document, _ = await acme_with_a_proposal()
    await alice.command("mail Acme")
    view = (await slack.wait_for("views.open"))[-1].args["view"]
    view = await choose(alice, slack, view, "document", str(document.id))
    template = next(b["element"] for b in view["blocks"] if b.get("block_id") == "template")["initial_option"]
    assert template["value"] == "proposal" and "Subject: Notre proposition" in texts(view)
