"""`/crm products` through Slack: everyone searches the catalogue, admins add and edit in a form."""
import json
from decimal import Decimal

from models import Product


def texts(message: dict) -> str:
    return json.dumps(message.get("blocks", []), ensure_ascii=False) + message.get("text", "")


def buttons(message: dict) -> dict[str, dict]:
    found = {}
    for block in message["blocks"]:
        for element in block.get("elements", []) + ([block["accessory"]] if "accessory" in block else []):
            if element.get("type") == "button":
                found.setdefault(element["action_id"], element)
    return found


async def test_an_admin_adds_and_edits_a_product_that_everyone_then_finds(admin, alice, slack):
    empty = await admin.ask("products")
    assert "The catalogue is empty." in texts(empty) and "product_add" in buttons(empty)
    await admin.action("product_add")
    form = (await slack.wait_for("views.open"))[-1].args["view"]
    refused = await admin.submit_form(form, {"ref": "SUPPORT-1Y", "label": "Support", "unit_price": "12,50",
                                             "vat_rate": "20"})
    assert list(refused.json["errors"]) == ["unit_price"] and await Product.all().count() == 0
    saved = await admin.submit_form(form, {"ref": "SUPPORT-1Y", "label": "Support, one year",
                                           "unit_price": "1200.50", "vat_rate": "20", "unit": "year"})
    assert (saved.status, saved.text) == (200, "")
    stored = await Product.get(ref="SUPPORT-1Y")
    assert (stored.unit_price, stored.vat_rate, stored.active) == (Decimal("1200.5"), Decimal("20"), True)

    listed = await admin.ask("products support")
    assert "SUPPORT-1Y · Support, one year · €1,200.50 excl. tax per year · VAT 20%" in texts(listed)
    await admin.action("product_edit", buttons(listed)["product_edit"]["value"])
    edit = (await slack.wait_for("views.open", count=2))[-1].args["view"]
    assert next(b for b in edit["blocks"] if b["block_id"] == "unit_price")["element"]["initial_value"] == "1200.5"
    await admin.submit_form(edit, {"unit_price": "1300"})
    assert (await Product.get(id=stored.id)).unit_price == Decimal("1300")

    seen = await alice.ask("products SUPPORT")
    assert "€1,300.00" in texts(seen) and buttons(seen) == {}  # no Edit, no Add for a sales rep


async def test_a_sales_rep_cannot_open_the_product_form(alice, slack):
    answer = await alice.press("product_add")
    assert "Only admins can add products" in texts(answer)
    assert slack.calls_to("views.open") == []
