"""Deleting a third party for good: what goes, what the books keep, and who may."""
import json

import pytest

from crm import clock, contacts, erasure, thirdparties
from crm.context import Context
from crm.documents import service as documents
from crm.errors import Forbidden
from crm.filestore import FileStore
from models import (
    Campaign, CampaignRecipient, Contact, CustomFieldValue, Document, DocumentContact, Event, InboundEmail, OptOut,
    SentEmail, ThirdParty, ThirdPartyFile,
)
from tests.conftest import ADMIN, ALICE, context


async def customer_with_history():
    tp = await thirdparties.create(context(), {"name": "Jane Doe Consulting", "type": "customer",
                                               "address": "1 rue Haute", "vat_id": "FR123"}, tags=["vip"])
    jane = await contacts.create(context(), tp.id, {"last_name": "Doe", "default_roles": ["billing"]})
    draft = await documents.create(context(), "proposal", tp.id)
    invoice = await documents.create(context(), "invoice", tp.id)
    await documents.add_line(context(), invoice.id, {"label": "Work", "unit_price": "100", "vat_rate": "20"})
    await documents.apply_move(context(), invoice.id, "validate")
    now = clock.now()
    campaign = await Campaign.create(name="News", template_name="campaign", created_at=now, updated_at=now)
    await CampaignRecipient.create(campaign=campaign, address="jane@doe.example", thirdparty_id=tp.id,
                                   contact_id=jane.id, status="skipped", reason="opted out")
    await OptOut.create(address="jane@doe.example", created_at=now)
    await SentEmail.create(message_id="<1@acme.example>", thirdparty_id=tp.id, contact_id=jane.id,
                           address="jane@doe.example", subject="Hello", sent_by=ALICE.id, sent_at=now)
    await InboundEmail.create(message_id="<2@doe.example>", mailbox="sales@imap/INBOX", uidvalidity=1, uid=1,
                              status="logged", thirdparty_id=tp.id, contact_id=jane.id, sender="jane@doe.example",
                              subject="Re: Hello", received_at=now)
    await ThirdPartyFile.create(thirdparty_id=tp.id, sha256="ab" * 32, name="contract.pdf", size=10, added_by=ALICE.id,
                                added_at=now)
    return tp, jane, draft, invoice


async def test_erasure_removes_the_person_and_keeps_the_books(db):
    tp, jane, draft, invoice = await customer_with_history()
    plan = await erasure.plan(context(ADMIN), tp.id)
    assert plan.going == {"contacts": 1, "documents": 1, "events": 5, "campaign recipients": 1, "sent emails": 1,
                          "received emails": 1, "files": 1}
    assert plan.kept_documents == 1
    await erasure.erase(context(ADMIN), tp.id)
    assert not await ThirdParty.filter(id=tp.id).exists()
    assert not await Contact.filter(id=jane.id).exists() and not await Document.filter(id=draft.id).exists()
    kept = await Document.get(id=invoice.id)
    assert kept.thirdparty_id is None and kept.status == "validated" and kept.total_incl_tax == 120
    assert kept.billed_to == {"code": tp.code, "name": "Jane Doe Consulting", "address": "1 rue Haute", "zip": "",
                              "town": "", "country": "", "vat_id": "FR123"}
    assert await DocumentContact.all().count() == 0 and await CustomFieldValue.all().count() == 0
    [event] = await Event.all()
    assert (event.code, event.user_id, event.thirdparty_id) == ("COMPANY_DELETE", ADMIN.id, None)
    assert "Jane" not in json.dumps([event.label, event.details])
    assert not await CampaignRecipient.exists() and not await SentEmail.exists() and not await InboundEmail.exists()
    assert not await ThirdPartyFile.exists()
    assert await OptOut.exists(address="jane@doe.example")  # an erased address stays opted out


async def test_only_admins_erase(db):
    tp, *_ = await customer_with_history()
    with pytest.raises(Forbidden):
        await erasure.erase(context(ALICE), tp.id)
    assert await ThirdParty.filter(id=tp.id).exists()


async def test_the_pdf_of_an_erased_draft_leaves_the_store(db, settings):
    tp = await thirdparties.create(context(), {"name": "Acme", "type": "customer"})
    draft = await documents.create(context(), "proposal", tp.id)
    store = FileStore.for_settings(settings)
    stored = store.put(b"%PDF-1.7 draft", "draft.pdf")
    await Document.filter(id=draft.id).update(pdf_sha256=stored.sha256, pdf_name=stored.name, pdf_made_at=clock.now())
    await erasure.erase(Context(ADMIN, settings, clock), tp.id)
    assert not store.path(stored.sha256).exists()


async def test_erased_files_and_email_attachments_leave_the_store_unless_another_record_holds_them(db, settings):
    jane, other = [await thirdparties.create(context(), {"name": name, "type": "customer"}) for name in ("Jane", "Bob")]
    store = FileStore.for_settings(settings)
    own, shared = store.put(b"Jane's CV", "cv.pdf"), store.put(b"the price list", "prices.pdf")
    for n, (thirdparty, attachments) in enumerate(((jane, [own, shared]), (other, [shared]))):
        await InboundEmail.create(message_id=f"<{n}@x.example>", mailbox="sales@imap/INBOX", uidvalidity=1, uid=n,
                                  status="logged", thirdparty_id=thirdparty.id, received_at=clock.now(),
                                  attachments=[{"sha256": kept.sha256, "name": kept.name, "size": kept.size}
                                               for kept in attachments])
    cv_copy = store.put(b"Jane's CV", "copy.pdf")  # the same content, also attached to Bob
    await ThirdPartyFile.create(thirdparty_id=other.id, sha256=cv_copy.sha256, name=cv_copy.name, size=cv_copy.size,
                                added_by=ADMIN.id, added_at=clock.now())
    photo = store.put(b"Jane's photo", "photo.jpg")
    await ThirdPartyFile.create(thirdparty_id=jane.id, sha256=photo.sha256, name=photo.name, size=photo.size,
                                added_by=ADMIN.id, added_at=clock.now())
    await erasure.erase(Context(ADMIN, settings, clock), jane.id)
    assert not store.path(photo.sha256).exists() and store.read(shared.sha256) == b"the price list"
    assert store.read(own.sha256) == b"Jane's CV"  # Bob's file holds it
