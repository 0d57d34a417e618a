"""Merging two third parties: the plan shown field by field, everything that hangs off the
removed record moving to the kept one, all or nothing; and the likely duplicate pairs."""
import pytest

from crm import clock, contacts, customfields, duplicates, merge, thirdparties
from crm.documents import service as documents
from crm.errors import Conflict, ValidationError
from models import (
    Campaign, CampaignRecipient, Contact, CustomFieldValue, Document, DocumentContact, Event, InboundEmail, SentEmail,
    ThirdParty, ThirdPartyAlias, ThirdPartyFile,
)
from tests import faults
from tests.conftest import ADMIN, ALICE, context


async def pair():
    """A kept customer and a removed prospect that each own one of every linked kind."""
    await customfields.define(context(ADMIN), "thirdparty", "size", "Size", "integer")
    await customfields.define(context(ADMIN), "thirdparty", "segment", "Segment", "string")
    kept = await thirdparties.create(context(), {"name": "Acme", "type": "customer", "email": "sales@acme.example",
                                                 "note_public": "Kept note"},
                                     tags=["vip"], sales_reps=["U0BOB"], custom={"size": 10})
    removed = await thirdparties.create(context(), {"name": "ACME Ltd", "type": "prospect", "town": "Lyon",
                                                    "email": "info@acme.example", "note_public": "Other note"},
                                        tags=["lyon", "vip"], sales_reps=["U0CAROL", "U0BOB"],
                                        custom={"size": 99, "segment": "retail"})
    jane_kept = await contacts.create(context(), kept.id, {"last_name": "Jane", "email": "jane@acme.example"})
    jane_removed = await contacts.create(context(), removed.id, {"last_name": "Jane", "email": "JANE@acme.example",
                                                                 "phone": "+33 6 00 00 00 00"})
    await contacts.create(context(), removed.id, {"last_name": "Max"})
    for doc_type in ("proposal", "order", "intervention", "invoice"):
        document = await documents.create(context(), doc_type, removed.id)
        await documents.set_contacts(context(), document.id, "billing", [jane_removed.id])
    # what email leaves: a campaign's recipient and a one-off email, both to the removed Jane
    now = clock.now()
    campaign = await Campaign.create(name="News", template_name="campaign", created_at=now, updated_at=now)
    await CampaignRecipient.create(campaign=campaign, address="jane@acme.example", thirdparty_id=removed.id,
                                   contact_id=jane_removed.id, status="sent")
    await SentEmail.create(message_id="<1@acme.example>", thirdparty_id=removed.id, contact_id=jane_removed.id,
                           address="jane@acme.example", subject="Hello", sent_by=ALICE.id, sent_at=now)
    # what email came in: Jane's reply, and an unmatched email an admin assigned to the removed record
    for message_id, contact_id, assigned_by in (("<2@jane.example>", jane_removed.id, ""),
                                                ("<3@stranger.example>", None, ADMIN.id)):
        await InboundEmail.create(message_id=message_id, mailbox="sales@imap/INBOX", uidvalidity=1, uid=1,
                                  status="logged", thirdparty_id=removed.id, contact_id=contact_id,
                                  assigned_by=assigned_by, received_at=now)
    await ThirdPartyFile.create(thirdparty_id=removed.id, sha256="ab" * 32, name="plan.pdf", size=10, added_by=ALICE.id,
                                added_at=now)
    return kept, removed, jane_kept


async def test_the_plan_says_field_by_field_what_the_kept_record_becomes(db):
    kept, removed, _ = await pair()
    plan = await merge.plan(context(), removed.id, kept.id)
    outcomes = {o.label: o for o in plan.fields}
    assert outcomes["Type"].result == "Prospect and customer"
    assert outcomes["Town"].result == "Lyon"  # filled from the other
    assert outcomes["Email"].result == "sales@acme.example" and outcomes["Email"].other_dropped
    assert outcomes["Public note"].result == "Kept note\n\nOther note"
    assert outcomes["Tags"].result == "lyon, vip" and outcomes["Sales reps"].result == "U0BOB, U0CAROL"
    assert outcomes["Size"].result == "10" and outcomes["Size"].other_dropped
    assert outcomes["Segment"].result == "retail"
    assert plan.moving == {"contacts": 2, "documents": 4, "events": 7, "campaign recipients": 1, "sent emails": 1,
                           "received emails": 2, "files": 1}
    assert plan.same_email_contacts == 1


async def test_a_merge_moves_everything_and_keeps_the_removed_code(db):
    kept, removed, jane_kept = await pair()
    events = await Event.filter(thirdparty_id__in=[kept.id, removed.id]).count()
    plan = await merge.plan(context(), removed.id, kept.id)
    result = await merge.merge(context(ALICE), removed.id, kept.id, confirmed=plan.fingerprint)
    assert not await ThirdParty.filter(id=removed.id).exists()
    stored = await ThirdParty.get(id=kept.id)
    assert (stored.type, stored.town, stored.email) == ("both", "Lyon", "sales@acme.example")
    assert result.type == "both"
    tags, reps = await thirdparties.tags_and_reps(kept.id)
    assert (tags, reps) == (["lyon", "vip"], ["U0BOB", "U0CAROL"])
    values = (await customfields.values_by_owner("thirdparty", [kept.id]))[kept.id]
    assert values == {"size": 10, "segment": "retail"}
    # every document, event and contact now belongs to the kept record; same-email contacts are one
    assert await Document.filter(thirdparty_id=kept.id).count() == 4
    assert await Contact.filter(thirdparty_id=kept.id).count() == 2  # Jane (one) and Max
    assert (await Contact.get(id=jane_kept.id)).phone == "+33600000000"  # filled from the other Jane
    links = await DocumentContact.all()
    assert len(links) == 4 and {link.contact_id for link in links} == {jane_kept.id}
    assert await Event.filter(thirdparty_id=removed.id).count() == 0
    for emailed in (await CampaignRecipient.all(), await SentEmail.all()):
        assert [(row.thirdparty_id, row.contact_id) for row in emailed] == [(kept.id, jane_kept.id)]
    received = await InboundEmail.all().order_by("id")
    assert [(row.thirdparty_id, row.contact_id) for row in received] == [(kept.id, jane_kept.id), (kept.id, None)]
    assert (await ThirdPartyFile.get()).thirdparty_id == kept.id
    events_after = await Event.filter(thirdparty_id=kept.id).exclude(code__in=["COMPANY_MODIFY", "COMPANY_MERGE"]).count()
    assert events_after == events
    merged = await Event.get(code="COMPANY_MERGE")
    assert merged.details["removed"]["code"] == removed.code and merged.details["removed"]["custom"]["size"] == "99"
    assert merged.details["kept_over"]["Email"] == "info@acme.example" and merged.user_id == ALICE.id
    # the removed code leads to the kept record
    assert (await ThirdPartyAlias.get(code=removed.code)).thirdparty_id == kept.id
    assert (await thirdparties.resolve(context(), removed.code)).id == kept.id
    assert await CustomFieldValue.filter(thirdparty_id=removed.id).count() == 0


async def test_a_merge_that_fails_halfway_leaves_both_records_as_they_were(db):
    kept, removed, _ = await pair()
    before = await state()
    async with faults.failing_inserts("crm_event"):  # the last step, COMPANY_MERGE, fails
        with pytest.raises(Exception):
            await merge.merge(context(), removed.id, kept.id)
    assert await state() == before


async def state():
    return (
        sorted((t.id, t.type, t.town, t.email, t.note_public) for t in await ThirdParty.all()),
        sorted((c.id, c.thirdparty_id, c.phone) for c in await Contact.all()),
        sorted((d.id, d.thirdparty_id) for d in await Document.all()),
        sorted((link.document_id, link.contact_id) for link in await DocumentContact.all()),
        sorted((e.id, e.thirdparty_id) for e in await Event.all()),
        sorted((v.thirdparty_id, v.field_id, v.value) for v in await CustomFieldValue.all()),
        await ThirdPartyAlias.all().count(),
    )


async def test_a_merge_confirmed_on_an_older_view_is_refused(db):
    kept, removed, _ = await pair()
    plan = await merge.plan(context(), removed.id, kept.id)
    await thirdparties.update(context(), removed.id, {"town": "Nice"})
    with pytest.raises(Conflict):
        await merge.merge(context(), removed.id, kept.id, confirmed=plan.fingerprint)
    assert await ThirdParty.filter(id=removed.id).exists()


async def test_a_record_cannot_be_merged_into_itself(db):
    kept, _, _ = await pair()
    with pytest.raises(ValidationError):
        await merge.plan(context(), kept.id, kept.id)


async def test_likely_duplicates_are_paired_with_their_reasons(db):
    a = await thirdparties.create(context(), {"name": "Société Générale SA", "type": "customer", "email": "x@sg.example"})
    b = await thirdparties.create(context(), {"name": "societe generale", "type": "prospect", "email": "X@SG.example"})
    c = await thirdparties.create(context(), {"name": "Store 12", "type": "customer"})
    d = await thirdparties.create(context(), {"name": "Store 13", "type": "customer", "vat_id": "FR 123"})
    e = await thirdparties.create(context(), {"name": "Elsewhere", "type": "customer", "vat_id": "fr123"})
    pairs = {(p.first.id, p.second.id): p for p in await duplicates.likely_pairs(context())}
    assert set(pairs) == {(a.id, b.id), (d.id, e.id)}
    assert pairs[(a.id, b.id)].reasons == ("same email", "same name") and pairs[(a.id, b.id)].score == 0.99
    assert pairs[(d.id, e.id)].reasons == ("same VAT id",)
    assert c.id not in {i for key in pairs for i in key}  # Store 12 and Store 13 differ in their numbers


async def test_phones_are_compared_as_numbers(db):
    paris = await thirdparties.create(context(), {"name": "Alpha", "type": "customer", "phone": "01 23 45 67 89",
                                                  "country": "FR"})
    same = await thirdparties.create(context(), {"name": "Beta", "type": "customer", "phone": "+33 1 23 45 67 89"})
    await thirdparties.create(context(), {"name": "Gamma", "type": "customer", "phone": "01 23 45 67 89",
                                          "country": "IT"})  # another number in Italy
    pairs = await duplicates.likely_pairs(context())
    assert [(p.first.id, p.second.id, p.reasons) for p in pairs] == [(paris.id, same.id, ("same phone",))]


async def test_similar_names_are_paired_but_not_different_numbers(db):
    a = await thirdparties.create(context(), {"name": "Boulangerie Martin", "type": "customer"})
    b = await thirdparties.create(context(), {"name": "Boulangrie Martin SARL", "type": "prospect"})
    await thirdparties.create(context(), {"name": "Boulangerie Dupont", "type": "customer"})
    await thirdparties.create(context(), {"name": "Store 12", "type": "customer"})
    await thirdparties.create(context(), {"name": "Store 13", "type": "customer"})
    pairs = await duplicates.likely_pairs(context())
    assert [(p.first.id, p.second.id, p.reasons) for p in pairs] == [(a.id, b.id, ("similar name",))]
    assert 0.6 < pairs[0].score < 0.85  # below an exact key


async def test_a_typo_is_found_however_many_names_share_its_start(db):
    for number in range(60):  # a common start: once too many to compare every pair
        await thirdparties.create(context(), {"name": f"Boulangerie {chr(65 + number // 26)}{chr(65 + number % 26)}"
                                                      f"x{number * 7919 % 1000:03}", "type": "customer"})
    dupont = await thirdparties.create(context(), {"name": "Boulangerie Dupontel", "type": "customer"})
    typo = await thirdparties.create(context(), {"name": "Boulangerie Duponteel", "type": "prospect"})
    pairs = await duplicates.likely_pairs(context())
    assert [(p.first.id, p.second.id, p.reasons) for p in pairs] == [(dupont.id, typo.id, ("similar name",))]
