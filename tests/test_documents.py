"""Commercial documents through the domain: drafts, lines and totals, the whole workflow
matrix, conversions, payments, contacts in roles, and the prospect who becomes a customer."""
import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest

from crm import clock, contacts, numbering, products, thirdparties
from crm.documents import service as documents, workflow
from crm.errors import Conflict, EditConflict, Forbidden, NotFound, ValidationError
from crm.permissions import Actor
from models import Document, DocumentContact, DocumentLine, Event, Payment, ThirdParty
from tests.conftest import ADMIN, ALICE, context

D = Decimal
READONLY = Actor("U0READER", role="readonly")
SUPPORT = {"ref": "SUPPORT-1Y", "label": "Support, one year", "unit_price": "1200.50", "vat_rate": "20",
           "cost_price": "300", "unit": "year", "description": "Business hours"}


async def company(kind="prospect", name="Acme", **values):
    return await thirdparties.create(context(), {"name": name, "type": kind, **values})


async def draft(doc_type="proposal", kind="prospect", lines=1, **values):
    tp = await company(kind, **values)
    document = await documents.create(context(ALICE), doc_type, tp.id)
    for number in range(lines):
        await documents.add_line(context(ALICE), document.id, {"label": f"Work {number}", "unit_price": "100",
                                                               "vat_rate": "20"})
    return document


async def codes(**filters) -> list[str]:
    return [e.code for e in await Event.filter(**filters).order_by("id")]


async def status(document) -> str:
    return (await Document.get(id=document.id)).status


# --- drafts ---

async def test_a_draft_gets_the_first_rep_default_contacts_dates_and_its_event(db):
    tp = await thirdparties.create(context(), {"name": "Acme", "type": "prospect"}, sales_reps=["U0CAROL", "U0BOB"])
    jane = await contacts.create(context(), tp.id, {"last_name": "Jane", "default_roles": ["billing", "customer"]})
    await contacts.create(context(), tp.id, {"last_name": "Other"})
    document = await documents.create(context(ALICE), "proposal", tp.id)
    today = clock.now().date()
    assert (document.status, document.ref, document.display_ref) == ("draft", None, f"(PROV{document.id})")
    assert (document.rep_id, document.currency, document.issued_on) == ("U0CAROL", "EUR", today)
    assert document.valid_until == today + timedelta(days=30) and document.due_on is None
    links = {(link.contact_id, link.role) for link in await DocumentContact.filter(document_id=document.id)}
    assert links == {(jane.id, "billing"), (jane.id, "customer")}
    event = await Event.get(code="PROPAL_CREATE")
    assert (event.thirdparty_id, event.document_id, event.user_id) == (tp.id, document.id, ALICE.id)
    assert event.label == f"Proposal (PROV{document.id}) created"


async def test_an_invoice_is_due_in_thirty_days_and_an_intervention_is_dated_today(db):
    tp = await company()
    invoice = await documents.create(context(), "invoice", tp.id)
    intervention = await documents.create(context(), "intervention", tp.id)
    assert invoice.due_on == invoice.issued_on + timedelta(days=30) and invoice.valid_until is None
    assert intervention.intervention_on == intervention.issued_on


async def test_an_unknown_type_and_a_readonly_user_are_refused(db):
    tp = await company()
    with pytest.raises(ValidationError) as error:
        await documents.create(context(), "quote", tp.id)
    assert error.value.field == "type"
    with pytest.raises(Forbidden):
        await documents.create(context(READONLY), "proposal", tp.id)
    assert await Document.all().count() == 0


# --- lines and totals ---

async def test_a_product_line_takes_the_catalogue_prices_and_a_free_line_its_own(db):
    product = await products.create(context(ADMIN), SUPPORT)
    document = await draft(lines=0)
    await documents.add_line(context(), document.id, {"quantity": "2"}, product_id=product.id)
    await documents.add_line(context(), document.id, {"label": "Set-up", "quantity": "1.5", "unit_price": "33.33",
                                                      "discount_percent": "10", "vat_rate": "5.5"})
    first, second = await DocumentLine.filter(document_id=document.id).order_by("position")
    assert (first.label, first.description, first.unit, first.product_id) == (
        "SUPPORT-1Y - Support, one year", "Business hours", "year", product.id)
    assert (first.unit_price, first.vat_rate, first.cost_price) == (D("1200.5"), D("20"), D("300"))
    assert (first.total_excl_tax, first.total_vat) == (D("2401.00"), D("480.20"))
    assert (second.total_excl_tax, second.total_vat) == (D("45.00"), D("2.48"))  # 44.9955 -> 45.00
    view = await documents.view(context(), document.id)
    assert view.totals.vat_by_rate == {D("5.5"): D("2.48"), D("20"): D("480.20")}
    assert (view.totals.excl_tax, view.totals.vat, view.totals.incl_tax) == (D("2446.00"), D("482.68"), D("2928.68"))
    stored = await Document.get(id=document.id)
    assert (stored.total_excl_tax, stored.total_vat, stored.total_incl_tax) == (D("2446"), D("482.68"), D("2928.68"))


async def test_removing_a_line_updates_the_totals(db):
    document = await draft(lines=2)
    line = await DocumentLine.filter(document_id=document.id).first()
    await documents.remove_line(context(), document.id, line.id)
    assert (await Document.get(id=document.id)).total_incl_tax == D("120")
    with pytest.raises(NotFound):
        await documents.remove_line(context(), document.id, line.id)


@pytest.mark.parametrize("values, field", [
    ({"label": "x", "unit_price": "10"}, "vat_rate"),
    ({"unit_price": "10", "vat_rate": "20"}, "label"),
    ({"label": "x", "unit_price": "10", "vat_rate": "120"}, "vat_rate"),
    ({"label": "x", "unit_price": "10", "vat_rate": "20", "quantity": "0"}, "quantity"),
    ({"label": "x", "unit_price": "ten", "vat_rate": "20"}, "unit_price"),
    ({"label": "x", "unit_price": "10", "vat_rate": "20", "discount_percent": "-5"}, "discount_percent"),
    ({"label": "x", "unit_price": "1e20", "vat_rate": "20"}, "unit_price"),
    ({"label": "x", "unit_price": "10", "vat_rate": "20", "colour": "red"}, "colour"),
])
async def test_a_bad_line_is_refused_naming_the_field_and_nothing_changes(db, values, field):
    document = await draft(lines=1)
    with pytest.raises(ValidationError) as error:
        await documents.add_line(context(), document.id, values)
    assert error.value.field == field
    assert await DocumentLine.filter(document_id=document.id).count() == 1
    assert (await Document.get(id=document.id)).total_incl_tax == D("120")


async def test_header_fields_are_checked_and_an_edit_someone_else_made_is_refused(db):
    document = await draft("invoice")
    with pytest.raises(ValidationError) as error:
        await documents.update(context(), document.id, {"due_on": str(document.issued_on - timedelta(days=1))})
    assert error.value.field == "due_on"
    with pytest.raises(ValidationError) as error:
        await documents.update(context(), document.id, {"valid_until": "2026-12-01"})
    assert error.value.field == "valid_until"  # an invoice has no validity end
    with pytest.raises(ValidationError) as error:
        await documents.update(context(), document.id, {"currency": "EURO"})
    assert error.value.field == "currency"
    opened = await documents.view(context(), document.id)
    await documents.update(context(ADMIN), document.id, {"note_public": "Thanks!"})
    with pytest.raises(EditConflict) as conflict:
        await documents.update(context(), document.id, {"note_public": "Merci"}, shown=opened.versions)
    assert "note_public" in conflict.value.fields
    await documents.update(context(), document.id, {"currency": "JPY", "note_private": "mine"}, shown=opened.versions)
    stored = await Document.get(id=document.id)
    assert (stored.note_public, stored.note_private, stored.currency) == ("Thanks!", "mine", "JPY")


async def test_the_description_is_kept_as_slack_gave_it_and_as_sanitized_html(db):
    document = await draft()
    rich = {"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": [
        {"type": "text", "text": "Bold", "style": {"bold": True}}, {"type": "text", "text": " <script>x</script>"}]}]}
    await documents.update(context(), document.id, {"description": rich})
    stored = await Document.get(id=document.id)
    assert stored.description_rich == rich
    assert "<strong>Bold</strong>" in stored.description_html and "<script>" not in stored.description_html


# --- the workflow matrix ---

# How to bring a fresh draft of each type to each of its statuses.
PATHS = {
    ("proposal", "draft"): [], ("proposal", "validated"): ["validate"],
    ("proposal", "signed"): ["validate", "sign"], ("proposal", "refused"): ["validate", "refuse"],
    ("proposal", "billed"): ["validate", "sign", "bill"],
    ("order", "draft"): [], ("order", "validated"): ["validate"], ("order", "closed"): ["validate", "close"],
    ("order", "billed"): ["validate", "bill"],
    ("intervention", "draft"): [], ("intervention", "validated"): ["validate"],
    ("intervention", "done"): ["validate", "done"],
    ("invoice", "draft"): [], ("invoice", "validated"): ["validate"], ("invoice", "abandoned"): ["validate", "abandon"],
    ("invoice", "paid"): ["validate", "pay"],
}
LEGAL = {
    ("proposal", "draft"): {"validate"}, ("proposal", "validated"): {"reopen", "sign", "refuse"},
    ("proposal", "signed"): {"bill"},
    ("order", "draft"): {"validate"}, ("order", "validated"): {"reopen", "close", "bill"}, ("order", "closed"): {"bill"},
    ("intervention", "draft"): {"validate"}, ("intervention", "validated"): {"done"},
    ("invoice", "draft"): {"validate"}, ("invoice", "validated"): {"abandon"},
}
TARGETS = {"validate": "validated", "reopen": "draft", "sign": "signed", "refuse": "refused", "close": "closed",
           "bill": "billed", "done": "done", "abandon": "abandoned"}


async def bring(doc_type: str, to_status: str):
    document = await draft(doc_type, kind="customer")
    for step in PATHS[(doc_type, to_status)]:
        if step == "pay":
            await documents.add_payment(context(), document.id, {"amount": "120", "method": "transfer"})
        else:
            await documents.apply_move(context(), document.id, step)
    assert await status(document) == to_status
    return document


def test_the_matrix_covers_every_status_of_every_type():
    assert set(PATHS) == {(t, s) for t, statuses in workflow.STATUSES.items() for s in statuses}
    for (doc_type, doc_status), moves in LEGAL.items():
        assert {move.name for move in workflow.moves_from(doc_type, doc_status)} == moves


@pytest.mark.parametrize("doc_type, doc_status", sorted(PATHS))
async def test_every_legal_move_works_and_every_illegal_one_changes_nothing(db, doc_type, doc_status):
    for move in workflow.MOVES:
        document = await bring(doc_type, doc_status)
        before = await Document.get(id=document.id)
        events = await Event.all().count()
        if move in LEGAL.get((doc_type, doc_status), set()):
            moved = await documents.apply_move(context(), document.id, move)
            assert moved.status == TARGETS[move] == await status(document)
        else:
            with pytest.raises(Conflict) as refusal:
                await documents.apply_move(context(), document.id, move)
            assert workflow.describe(doc_type, doc_status).capitalize() in str(refusal.value)
            after = await Document.get(id=document.id)
            assert (after.status, after.ref, after.updated_at) == (before.status, before.ref, before.updated_at)
            assert await Event.all().count() == events
        await Document.filter(thirdparty_id=document.thirdparty_id).delete()


async def test_validation_gives_the_ref_and_going_back_to_draft_keeps_it(db):
    document = await draft()
    validated = await documents.apply_move(context(), document.id, "validate")
    yymm = clock.now().strftime("%y%m")
    assert validated.ref == f"PR{yymm}-00001" and validated.validated_at is not None
    await documents.apply_move(context(), document.id, "reopen")
    await documents.add_line(context(), document.id, {"label": "More", "unit_price": "1", "vat_rate": "0"})
    again = await documents.apply_move(context(), document.id, "validate")
    assert again.ref == f"PR{yymm}-00001"
    other = await draft("proposal", name="Other")
    assert (await documents.apply_move(context(), other.id, "validate")).ref == f"PR{yymm}-00002"
    assert await codes(code="PROPAL_VALIDATE") == ["PROPAL_VALIDATE"] * 3


async def test_an_empty_draft_cannot_be_validated(db):
    document = await draft(lines=0)
    with pytest.raises(ValidationError) as error:
        await documents.apply_move(context(), document.id, "validate")
    assert error.value.field == "lines"
    assert (await Document.get(id=document.id)).ref is None


async def test_only_a_draft_is_edited_or_deleted_and_a_validated_invoice_never_changes(db):
    invoice = await bring("invoice", "validated")
    for attempt in (documents.add_line(context(), invoice.id, {"label": "x", "unit_price": "1", "vat_rate": "0"}),
                    documents.update(context(), invoice.id, {"issued_on": "2026-01-01"}),
                    documents.delete(context(), invoice.id)):
        with pytest.raises(Conflict):
            await attempt
    assert await DocumentLine.filter(document_id=invoice.id).count() == 1
    proposal = await draft()
    await documents.delete(context(), proposal.id)
    assert not await Document.filter(id=proposal.id).exists()
    assert await Event.filter(code="PROPAL_CREATE").count() == 1  # the timeline keeps what happened


async def test_two_validations_at_once_give_one_ref(db):
    document = await draft()
    results = await asyncio.gather(*(documents.apply_move(context(), document.id, "validate") for _ in range(2)),
                                   return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "DocumentRecord"]
    assert await Event.filter(code="PROPAL_VALIDATE").count() == 1
    other = await draft(name="Other")
    assert (await documents.apply_move(context(), other.id, "validate")).ref.endswith("-00002")


# --- prospect -> customer ---

async def test_signing_a_prospects_proposal_makes_it_a_customer_with_the_reason(db):
    document = await draft()
    await documents.apply_move(context(), document.id, "validate")
    assert (await ThirdParty.get(id=document.thirdparty_id)).type == "prospect"
    await documents.apply_move(context(ALICE), document.id, "sign")
    assert (await ThirdParty.get(id=document.thirdparty_id)).type == "customer"
    modify = await Event.get(code="COMPANY_MODIFY")
    assert modify.details["changes"] == {"type": ["prospect", "customer"]}
    assert modify.details["reason"] == f"proposal PR{clock.now():%y%m}-00001 signed" and modify.user_id == ALICE.id
    assert await codes() == ["COMPANY_CREATE", "PROPAL_CREATE", "PROPAL_VALIDATE", "COMPANY_MODIFY",
                             "PROPAL_CLOSE_SIGNED"]


@pytest.mark.parametrize("doc_type", ["order", "invoice"])
async def test_validating_an_order_or_invoice_wins_the_customer_and_both_stays_both(db, doc_type):
    prospect = await draft(doc_type, kind="prospect")
    await documents.apply_move(context(), prospect.id, "validate")
    assert (await ThirdParty.get(id=prospect.thirdparty_id)).type == "customer"
    both = await draft(doc_type, kind="both", name="Both Ltd")
    await documents.apply_move(context(), both.id, "validate")
    assert (await ThirdParty.get(id=both.thirdparty_id)).type == "both"
    assert await Event.filter(code="COMPANY_MODIFY").count() == 1


async def test_a_refused_proposal_leaves_the_prospect_a_prospect(db):
    document = await draft()
    await documents.apply_move(context(), document.id, "validate")
    await documents.apply_move(context(), document.id, "refuse")
    assert (await ThirdParty.get(id=document.thirdparty_id)).type == "prospect"


# --- conversions ---

async def test_a_signed_proposal_becomes_an_order_with_its_lines_contacts_and_notes(db):
    tp = await company("customer")
    jane = await contacts.create(context(), tp.id, {"last_name": "Jane", "default_roles": ["customer"]})
    proposal = await documents.create(context(), "proposal", tp.id)
    await documents.add_line(context(), proposal.id, {"label": "Work", "quantity": "3", "unit_price": "19.99",
                                                      "vat_rate": "20"})
    await documents.update(context(), proposal.id, {"note_public": "Public", "note_private": "Private"})
    await documents.apply_move(context(), proposal.id, "validate")
    await documents.apply_move(context(), proposal.id, "sign")
    order = await documents.convert(context(ALICE), proposal.id, "order")
    assert (order.type, order.status, order.origin_id, order.ref) == ("order", "draft", proposal.id, None)
    assert (order.note_public, order.note_private, order.total_incl_tax) == ("Public", "Private", D("71.96"))
    line = await DocumentLine.get(document_id=order.id)
    assert (line.label, line.quantity, line.total_excl_tax, line.total_vat) == ("Work", D(3), D("59.97"), D("11.99"))
    assert [(c.contact_id, c.role) for c in await DocumentContact.filter(document_id=order.id)] == [(jane.id, "customer")]
    origin_view = await documents.view(context(), proposal.id)
    assert [d.id for d in origin_view.derived] == [order.id]
    assert (await documents.view(context(), order.id)).origin.id == proposal.id
    convert = await Event.get(code="DOC_CONVERT")
    assert (convert.document_id, convert.details["from"], convert.user_id) == (order.id, proposal.id, ALICE.id)


async def test_conversions_are_refused_from_the_wrong_status_or_to_the_wrong_type(db):
    proposal = await bring("proposal", "validated")
    with pytest.raises(Conflict) as refusal:
        await documents.convert(context(), proposal.id, "order")
    assert "Only a signed proposal" in str(refusal.value)
    invoice = await bring("invoice", "validated")
    with pytest.raises(Conflict):
        await documents.convert(context(), invoice.id, "order")
    order = await bring("order", "validated")
    with pytest.raises(Conflict):
        await documents.convert(context(), order.id, "proposal")
    assert await Document.filter(origin_id__isnull=False).count() == 0


async def test_an_order_with_something_made_from_it_cannot_go_back_to_draft(db):
    order = await bring("order", "validated")
    await documents.convert(context(), order.id, "intervention")
    with pytest.raises(Conflict) as refusal:
        await documents.apply_move(context(), order.id, "reopen")
    assert "documents were made from it" in str(refusal.value)
    assert await status(order) == "validated"


@pytest.mark.parametrize("origin_type, origin_status", [("proposal", "signed"), ("order", "validated"),
                                                        ("order", "closed")])
async def test_validating_an_invoice_made_from_a_proposal_or_order_marks_it_billed(db, origin_type, origin_status):
    origin = await bring(origin_type, origin_status)
    invoice = await documents.convert(context(), origin.id, "invoice")
    assert await status(origin) == origin_status  # a draft invoice bills nothing yet
    await documents.apply_move(context(), invoice.id, "validate")
    assert await status(origin) == "billed"
    billed = "PROPAL_CLASSIFY_BILLED" if origin_type == "proposal" else "ORDER_CLASSIFY_BILLED"
    assert (await Event.get(code=billed)).document_id == origin.id


# --- payments ---

async def test_payments_until_the_total_make_the_invoice_paid(db):
    invoice = await bring("invoice", "validated")  # 120.00 incl. tax
    await documents.add_payment(context(), invoice.id, {"amount": "20.50", "method": "card", "paid_on": "2026-11-02"})
    assert await status(invoice) == "validated"
    with pytest.raises(ValidationError) as error:
        await documents.add_payment(context(), invoice.id, {"amount": "100", "method": "card"})
    assert error.value.field == "amount" and "99.50" in error.value.message
    with pytest.raises(ValidationError) as error:
        await documents.add_payment(context(), invoice.id, {"amount": "1.005", "method": "card"})
    assert error.value.field == "amount"
    with pytest.raises(ValidationError) as error:
        await documents.add_payment(context(), invoice.id, {"amount": "1", "method": "barter"})
    assert error.value.field == "method"
    await documents.add_payment(context(), invoice.id, {"amount": "99.50", "method": "transfer"})
    assert await status(invoice) == "paid"
    assert [p.amount for p in await Payment.filter(document_id=invoice.id).order_by("id")] == [D("20.5"), D("99.5")]
    assert await Event.filter(code="BILL_PAYED", document_id=invoice.id).count() == 1
    with pytest.raises(Conflict):
        await documents.add_payment(context(), invoice.id, {"amount": "1", "method": "cash"})


async def test_a_draft_or_a_proposal_takes_no_payment(db):
    for document in (await draft("invoice"), await bring("proposal", "validated")):
        with pytest.raises(Conflict):
            await documents.add_payment(context(), document.id, {"amount": "1", "method": "cash"})
    assert await Payment.all().count() == 0


# --- contacts and references ---

async def test_contacts_on_a_document_come_from_its_own_third_party(db):
    document = await draft()
    own = await contacts.create(context(), document.thirdparty_id, {"last_name": "Own"})
    other = await company("customer", name="Elsewhere")
    stranger = await contacts.create(context(), other.id, {"last_name": "Stranger"})
    with pytest.raises(ValidationError) as error:
        await documents.set_contacts(context(), document.id, "billing", [own.id, stranger.id])
    assert error.value.field == "billing"
    await documents.set_contacts(context(), document.id, "billing", [own.id])
    view = await documents.view(context(), document.id)
    assert [c.id for c in view.contacts["billing"]] == [own.id] and view.contacts["shipping"] == []


async def test_the_editor_saves_its_fields_and_contacts_all_or_nothing(db):
    document = await draft()
    own = await contacts.create(context(), document.thirdparty_id, {"last_name": "Own"})
    stranger = await contacts.create(context(), (await company("customer", name="Elsewhere")).id, {"last_name": "X"})
    with pytest.raises(ValidationError) as error:
        await documents.update(context(), document.id, {"note_public": "Saved?"},
                               contacts={"billing": [own.id], "shipping": [stranger.id]})
    assert error.value.field == "shipping"
    assert (await Document.get(id=document.id)).note_public == ""
    assert await DocumentContact.filter(document_id=document.id).count() == 0
    await documents.update(context(), document.id, {"note_public": "Saved"}, contacts={"billing": [own.id]})
    assert [(c.contact_id, c.role) for c in await DocumentContact.filter(document_id=document.id)] == [
        (own.id, "billing")]


async def test_a_docref_is_a_ref_in_any_case_or_a_drafts_prov_number(db):
    document = await bring("proposal", "validated")
    ref = (await Document.get(id=document.id)).ref
    assert (await documents.resolve(context(), ref.lower())).id == document.id
    other = await draft(name="Other")
    for text in (f"(PROV{other.id})", f"PROV{other.id}", f"prov{other.id}"):
        assert (await documents.resolve(context(), text)).id == other.id
    with pytest.raises(NotFound):
        await documents.resolve(context(), "PR9999-99999")


async def test_a_deleted_document_is_said_gone(db):
    document = await draft()
    await documents.delete(context(), document.id)
    for attempt in (documents.view(context(), document.id), documents.apply_move(context(), document.id, "validate")):
        with pytest.raises(NotFound):
            await attempt


async def test_reps_keep_their_order_and_a_document_can_change_its_rep(db):
    document = await draft()
    await documents.update(context(), document.id, {"rep_id": "U0DAVE"})
    assert (await Document.get(id=document.id)).rep_id == "U0DAVE"
    with pytest.raises(ValidationError) as error:
        await documents.update(context(), document.id, {"rep_id": "dave"})
    assert error.value.field == "rep_id" and "'dave'" in error.value.message


async def test_a_mask_with_the_type_letter_numbers_by_the_third_partys_type(db):
    await numbering.set_masks(context(ADMIN), {"order": "SO{t}{yyyy}-{0000}"})
    order = await draft("order", kind="prospect")
    validated = await documents.apply_move(context(), order.id, "validate")
    assert validated.ref == f"SOC{clock.now():%Y}-0001"  # the order made the prospect a customer first
