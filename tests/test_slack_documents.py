"""Commercial documents through Slack, by signed requests: from `/crm quote` to a paid
invoice, its PDF uploaded (files upload v2) to the asker's conversation with the app and
shared in a channel; the editor's lines and totals kept live with views.update."""
import asyncio
import io
import json
from decimal import Decimal

from pypdf import PdfReader

from crm import contacts, products, thirdparties
from models import Document, DocumentLine, ThirdParty
from tests.conftest import ADMIN, context
from tests.slack_forms import fill
from tests.slack_requests import modal

RICH = {"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": [
    {"type": "text", "text": "Includes "}, {"type": "text", "text": "on-site", "style": {"bold": True}},
    {"type": "text", "text": " set-up"}]}]}


def texts(payload: dict) -> str:
    return json.dumps(payload.get("blocks", []), ensure_ascii=False) + payload.get("text", "")


def buttons(message: dict) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for block in message["blocks"]:
        for element in block.get("elements", []) + ([block["accessory"]] if "accessory" in block else []):
            if element.get("type") == "button":
                found.setdefault(element["action_id"], []).append(element)
    return found


async def press(person, message: dict, action_id: str) -> dict:
    """Press the button `action_id` of `message` (it must be there)."""
    return await person.press(action_id, buttons(message)[action_id][0]["value"])


async def latest_view(slack, count: int) -> dict:
    calls = await slack.wait_for("views.open", count=1)
    updates = slack.calls_to("views.update")
    return (updates[-1] if len(updates) >= count else calls[-1]).args["view"]


async def in_editor(person, slack, view: dict, action_id: str, value: str, answers: dict | None = None,
                    clicks: int = 1) -> dict:
    """A click (or several at once) inside the open editor; returns the editor as the app then updated it."""
    before = len(slack.calls_to("views.update"))
    state = fill(view, answers)
    block_id = next(b.get("block_id", "") for b in view["blocks"] for e in b.get("elements", []) + [b.get("accessory", {})]
                    if e.get("action_id") == action_id and e.get("value") == value)
    replies = await asyncio.gather(*(person.action(
        action_id, value, block_id=block_id,
        view=modal(view["callback_id"], "VEDITOR", state, view["private_metadata"])) for _ in range(clicks)))
    assert {(reply.status, reply.text) for reply in replies} == {(200, "")}
    return (await slack.wait_for("views.update", count=before + clicks))[-1].args["view"]


async def direct_messages(slack, count: int) -> list[dict]:
    return [call.args for call in await slack.wait_for("chat.postMessage", count=count)]


async def test_from_a_quote_to_a_paid_invoice_with_its_pdf(alice, admin, slack):
    await products.create(context(ADMIN), {"ref": "SUPPORT-1Y", "label": "Support, one year",
                                                     "unit_price": "1200.50", "vat_rate": "20"})
    acme = await thirdparties.create(context(), {"name": "Acme Widgets", "type": "prospect", "language": "fr"})
    await contacts.create(context(), acme.id, {"first_name": "Jane", "last_name": "Doe",
                                                      "default_roles": ["billing", "customer"]})

    # /crm quote opens a new draft's editor
    await alice.command('quote "Acme Widgets"')
    editor = await latest_view(slack, 1)
    document = await Document.get(thirdparty_id=acme.id)
    assert editor["callback_id"] == "document_edit" and f"(PROV{document.id})" in texts(editor)
    suggestions = await alice.suggest("document_product", "supp", view=modal("document_edit", "VEDITOR"))
    assert [o["text"]["text"] for o in suggestions.json["options"]] == ["SUPPORT-1Y · Support, one year"]
    chosen = suggestions.json["options"][0]

    # lines are added and removed in place, totals kept live
    editor = await in_editor(alice, slack, editor, "document_line_add", str(document.id),
                             {"line_product.0": chosen, "line_quantity.0": "2"})
    assert "Total excl. tax €2,401.00 · VAT 20% €480.20 · Total incl. tax €2,881.20" in texts(editor)
    editor = await in_editor(alice, slack, editor, "document_line_add", str(document.id),
                             free_line(editor, "Set-up", "100", "120"))
    assert "VAT rate %: 120 is not between 0 and 100." in texts(editor)
    assert await DocumentLine.filter(document_id=document.id).count() == 1
    editor = await in_editor(alice, slack, editor, "document_line_add", str(document.id),
                             free_line(editor, "Set-up", "100", "5.5"), clicks=2)  # a double click adds it once
    assert await DocumentLine.filter(document_id=document.id, label="Set-up").count() == 1
    editor = await in_editor(alice, slack, editor, "document_line_add", str(document.id),
                             free_line(editor, "Oops", "1", "0"))
    oops = await DocumentLine.get(document_id=document.id, label="Oops")
    editor = await in_editor(alice, slack, editor, "document_line_remove", f"{document.id}:{oops.id}")
    assert "Oops" not in texts(editor)
    assert "Total incl. tax €2,986.70" in texts(editor)

    # saving the editor keeps its fields and posts the card in the person's conversation with the app
    saved = await alice.submit_form(editor, {"note_public": "Thank you!", "description": RICH})
    assert (saved.status, saved.text) == (200, "")
    card = (await direct_messages(slack, 1))[-1]
    assert f"Proposal (PROV{document.id})" in texts(card) and "Thank you!" in texts(card)
    stored = await Document.get(id=document.id)
    assert "<strong>on-site</strong>" in stored.description_html and stored.rep_id is None

    # validate and sign from the card: the prospect becomes a customer
    card = await alice.ask(f"doc (PROV{document.id})")
    slack.assert_nothing_refused()
    card = await press(alice, card, "document_move:validate")
    ref = (await Document.get(id=document.id)).ref
    assert ref and ref.startswith("PR"), texts(card)
    assert ref.startswith("PR") and f"Proposal {ref}" in texts(card)
    card = await press(alice, card, "document_move:sign")
    assert (await ThirdParty.get(id=acme.id)).type == "customer"

    # made into an invoice, validated: the proposal is billed
    invoice_card = await press(alice, card, "document_convert:invoice")
    invoice = await Document.get(origin_id=document.id)
    assert f"Invoice (PROV{invoice.id})" in texts(invoice_card)
    invoice_card = await press(alice, invoice_card, "document_move:validate")
    assert (await Document.get(id=document.id)).status == "billed"
    invoice_ref = (await Document.get(id=invoice.id)).ref

    # the PDF: said at once, then posted with files upload v2 in the conversation with the app
    said = await press(alice, invoice_card, "document_pdf")
    assert "Making the PDF of" in texts(said)
    ready = (await slack.wait_for("chat.update", count=1, timeout=60))[-1].args
    assert "is below" in texts(ready) and "document_share" in buttons(ready)
    [upload] = slack.calls_to("files.completeUploadExternal")
    assert upload.args["channel_id"] == f"D{alice.user_id}"
    uploaded = next(iter(slack.files.values()))
    assert uploaded.content.startswith(b"%PDF") and uploaded.filename == f"{invoice_ref}.pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(uploaded.content)).pages)
    assert invoice_ref in text and "Jane Doe" in text and "Facture" in text  # the third party reads French
    for figure in ("2 986,70", "2 501,00"):  # incl. and excl. tax, in French
        assert figure in text.replace("\u202f", " ").replace("\xa0", " ")

    # a payment of the whole total makes it paid
    await alice.action("document_pay", buttons(invoice_card)["document_pay"][0]["value"])
    payment_form = (await slack.wait_for("views.open", count=2))[-1].args["view"]
    paid = await alice.submit_form(payment_form, {"method": "transfer"})
    assert (paid.status, paid.text) == (200, "")
    stored_invoice = await Document.get(id=invoice.id)
    assert stored_invoice.status == "paid" and stored_invoice.total_incl_tax == Decimal("2986.70")

    # shared in a channel from the DM's button
    await alice.action("document_share", str(invoice.id))
    share_form = (await slack.wait_for("views.open", count=3))[-1].args["view"]
    shared = await alice.submit_form(share_form, {"channel": "C0SALES"})
    assert (shared.status, shared.text) == (200, "")
    uploads = await slack.wait_for("files.completeUploadExternal", count=2)
    assert uploads[-1].args["channel_id"] == "C0SALES" and f"<@{alice.user_id}>" in uploads[-1].args["initial_comment"]
    slack.assert_nothing_refused()


def free_line(view: dict, label: str, price: str, rate: str) -> dict:
    """Answers for the editor's line inputs, whose block ids change once a line is added (so they start empty)."""
    suffix = next(b["block_id"].split(".", 1)[1] for b in view["blocks"]
                  if b.get("block_id", "").startswith("line_label."))
    return {f"line_label.{suffix}": label, f"line_unit_price.{suffix}": price, f"line_vat_rate.{suffix}": rate}


async def test_a_validated_document_cannot_be_opened_in_the_editor(alice, slack):
    acme = await thirdparties.create(context(), {"name": "Acme", "type": "customer"})
    await alice.command("invoice Acme")
    editor = await latest_view(slack, 1)
    document = await Document.get(thirdparty_id=acme.id)
    await in_editor(alice, slack, editor, "document_line_add", str(document.id), free_line(editor, "Work", "10", "20"))
    card = await alice.ask(f"doc PROV{document.id}")
    card = await press(alice, card, "document_move:validate")
    assert "document_edit" not in buttons(card) and "document_delete" not in buttons(card)
    answer = await alice.press("document_edit", str(document.id))
    assert "Only a draft can be changed" in texts(answer)


async def test_an_unknown_docref_and_a_deleted_draft_are_said_in_words(alice, slack):
    answer = await alice.ask("doc PR9999-00001")
    assert "No document has the ref PR9999-00001." in texts(answer)
    acme = await thirdparties.create(context(), {"name": "Acme", "type": "customer"})
    await alice.command("quote Acme")
    await latest_view(slack, 1)
    document = await Document.get(thirdparty_id=acme.id)
    card = await alice.ask(f"doc PROV{document.id}")
    gone = await press(alice, card, "document_delete")
    assert "was deleted" in texts(gone) and not await Document.filter(id=document.id).exists()
    again = await alice.press("document_move:validate", str(document.id))
    assert "This document no longer exists" in texts(again)


async def test_the_record_card_lists_documents_and_offers_new_ones(alice, slack):
    acme = await thirdparties.create(context(), {"name": "Acme", "type": "customer"})
    await alice.command("order Acme")
    await latest_view(slack, 1)
    document = await Document.get(thirdparty_id=acme.id)
    card = await alice.ask("show Acme")
    assert f"Sales order (PROV{document.id}) · Draft · €0.00" in texts(card)
    menu = next(e for b in card["blocks"] for e in b.get("elements", []) if e.get("action_id") == "document_new")
    assert [o["value"] for o in menu["options"]] == [f"{acme.id}:{t}" for t in
                                                     ("proposal", "order", "intervention", "invoice")]
