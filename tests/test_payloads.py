"""Example payloads of what people see, kept as JSON beside the tests so a reviewer can
paste them into Slack's Block Kit Builder. The views are pure functions: data in, dict out.

`UPDATE_PAYLOADS=1 make test-sqlite` rewrites the files after an intended change.
"""
from __future__ import annotations

import json
import os
import dataclasses
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from bot import cards, forms, home_views, inbox_views, mail_views, timeline_views
from crm.agenda import EventRecord
from crm.customfields import FieldDefinition
from crm.inbound.inbox import Inbox, ReceivedEmail
from crm.fieldtypes import FieldSpec
from crm.home import Due, Home, Month, OpenDocuments, Portfolio
from crm.mail import templates
from crm.mail.oneoff import MailForm, Recipient
from crm.records import ContactRecord, ThirdPartyRecord
from crm.stats import RepFigures
from crm.thirdparties import Card
from crm.timeline import PlannedEvent, TimelineEvent, TimelinePage

PAYLOADS = Path(__file__).parent / "payloads"
CREATED = datetime(2026, 11, 3, 9, 30, tzinfo=timezone.utc)


def sample_card() -> Card:
    tp = ThirdPartyRecord(
        id=7, code="CU2611-00007", name="Acme Widgets", alias="", type="customer", status="active",
        email="sales@acme.example", phone="+33 1 23 45 67 89", website="https://acme.example", address="",
        zip="75002", town="Paris", country="FR", language="", vat_id="FR12345678901", note_public="",
        note_private="Prefers calls.", created_at=CREATED, updated_at=CREATED, created_by="U0ALICE",
        updated_by="U0ALICE",
    )
    contact = ContactRecord(
        id=3, thirdparty_id=7, first_name="Jane", last_name="Doe", job_title="Buyer", email="jane@acme.example",
        phone="", address="", zip="", town="", country="", language="", note="", default_roles="", created_at=CREATED,
        updated_at=CREATED, created_by="U0ALICE", updated_by="U0ALICE",
    )
    event = EventRecord(id=1, code="COMPANY_CREATE", occurred_at=CREATED, user_id="U0ALICE", thirdparty_id=7,
                        contact_id=None, label="Customer Acme Widgets created", details={})
    segment = FieldDefinition(id=1, applies_to="thirdparty", key="segment", label="Segment", field_type="select",
                              options=[{"key": "smb", "label": "Small business"}])
    return Card(thirdparty=tp, contacts=[contact], tags=["vip"], sales_reps=["U0ALICE"],
                custom=[(segment, "smb")], events=[event])


def sample_fields() -> list[FieldSpec]:
    return [FieldSpec(key="segment", label="Segment", field_type="select",
                      options=[{"key": "smb", "label": "Small business"}, {"key": "ent", "label": "Enterprise"}]),
            FieldSpec(key="employees", label="Employees", field_type="integer", required=True)]


def sample_mail_modal() -> dict:
    """The /crm mail form to Jane, with the proposal attached and its preview."""
    card = sample_card()
    jane, document = card.contacts[0], templates.SAMPLE_DOCUMENT
    recipients = [Recipient(f"contact:{jane.id}", jane.full_name, jane.email, jane),
                  Recipient("thirdparty", card.thirdparty.name, card.thirdparty.email, None)]
    form = MailForm(card.thirdparty, recipients, ["proposal", "thirdparty"], [document])
    preview = templates.render(templates.TemplateRecord(0, **templates.default_values("proposal")), templates.variables(
        thirdparty=card.thirdparty, contact=jane, document=document, user_name="alice",
        company=templates.SAMPLE_COMPANY, unsubscribe_url=""))
    return mail_views.mail_modal(form, mail_views.MailChoice(recipients[0].key, "proposal", document.id), preview)


def sample_inbox() -> dict:
    """/crm inbox: two emails from unknown senders (one of 3 not shown) and one that could not be read."""
    unmatched = [
        ReceivedEmail(12, "unmatched", "Jane Roe", "jane@newco.example", "Quote for 40 chairs?",
                      "Hello, we are opening an office in Lyon and need 40 chairs by March…", CREATED, CREATED, "", 1),
        ReceivedEmail(9, "unmatched", "", "buyer@other.example", "Re: your catalogue", "Do you ship to Belgium?",
                      None, CREATED, "", 0)]
    failed = [ReceivedEmail(7, "rejected", "", "", "", "", None, CREATED, "unreadable: no headers", 0)]
    return inbox_views.inbox_message(Inbox(unmatched, 3, failed, 1))


def sample_timeline() -> dict:
    """/crm timeline: a note of the reader's (Edit) logged from a Slack message, a planned meeting
    with Jane (Done), and the creation, with an Older button."""
    common = {"thirdparty_id": 7, "document_id": None, "document_title": "", "edited_at": None, "done_at": None}
    events = [
        TimelineEvent(id=30, code="NOTE_ADD", occurred_at=CREATED, user_id="U0ALICE", label="Jane says yes",
                      details={"text": "Jane says yes <!channel>", "source": {
                          "author": "U0BOB", "permalink": "https://acme.slack.com/archives/C0SALES/p1767225600000200"}},
                      contact_id=None, contact_name="", starts_at=None, duration_minutes=None, **common),
        TimelineEvent(id=29, code="MANUAL", occurred_at=CREATED, user_id="U0ALICE", label="Meeting: Demo",
                      details={"kind": "meeting", "title": "Demo", "note": "Bring the samples"}, contact_id=3,
                      contact_name="Jane Doe", starts_at=CREATED, duration_minutes=45, **common),
        TimelineEvent(id=1, code="COMPANY_CREATE", occurred_at=CREATED, user_id="U0ALICE",
                      label="Customer Acme Widgets created", details={}, contact_id=None, contact_name="",
                      starts_at=None, duration_minutes=None, **common),
    ]
    return timeline_views.timeline_message(sample_card().thirdparty, TimelinePage(7, events, older=1, newer=None),
                                           timeline_views.EVERYTHING, user_id="U0ALICE", can_write=True)


def sample_home() -> dict:
    """The App Home of a rep: two prospects of 12, a customer, an open proposal and an unpaid
    invoice, a meeting to come, and this month's figures."""
    acme = sample_card().thirdparty
    globex = dataclasses.replace(acme, id=8, code="CU2611-00008", name="Globex", type="prospect")
    proposal = templates.SAMPLE_DOCUMENT
    invoice = dataclasses.replace(proposal, id=2, type="invoice", ref="IN2611-00002", due_on=date(2026, 11, 30),
                                  total_excl_tax=Decimal("450.00"))
    meeting = PlannedEvent(29, "U0ALICE", "meeting", "Demo", CREATED, 45, 7, acme.code, acme.name)
    figures = RepFigures("U0ALICE", prospects=12, customers=1, proposals=3, proposals_amount=Decimal("2500.00"),
                         signed=1, signed_amount=Decimal("1000.00"), refused=1, invoices_amount=Decimal("450.00"),
                         margin=Decimal("180.00"), events=9)
    data = Home(prospects=Portfolio(12, [globex]), customers=Portfolio(1, [acme]),
                proposals=OpenDocuments(1, {"EUR": Decimal("1000.00")}, [Due(proposal, "Acme Widgets",
                                                                         Decimal("1000.00"), proposal.valid_until)]),
                invoices=OpenDocuments(1, {"EUR": Decimal("450.00")}, [Due(invoice, "Acme Widgets", Decimal("450.00"),
                                                                        invoice.due_on)]),
                upcoming=[meeting], month=Month("2026-11", "EUR", figures))
    return home_views.home_view(data, CREATED, can_write=True)


EXAMPLES = {
    "record_card": lambda: cards.record_card(sample_card(), can_write=True),
    "shared_card": lambda: cards.record_card(sample_card(), private=False, names={"U0ALICE": "alice"},
                                             shared_by="U0ALICE"),
    "create_modal": lambda: forms.new_thirdparty_modal(sample_fields()),
    "help": cards.help_message,
    "mail_modal": sample_mail_modal,
    "inbox": sample_inbox,
    "timeline": sample_timeline,
    "home": sample_home,
    "welcome_home": lambda: home_views.welcome_view(can_write=True),
}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_payload(name, migrated):
    rendered = json.loads(json.dumps(EXAMPLES[name](), ensure_ascii=False))
    path = PAYLOADS / f"{name}.json"
    if os.environ.get("UPDATE_PAYLOADS"):
        path.write_text(json.dumps(rendered, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    assert rendered == json.loads(path.read_text(encoding="utf-8")), f"{path.name} changed; see the docstring"
    blocks = rendered.get("blocks", [])
    assert len(blocks) <= 100 and all(len(json.dumps(b)) < 3000 * 2 for b in blocks)
