"""The product catalogue: admins add and edit, everyone finds; prices are Decimal, checked by name."""
from decimal import Decimal

import pytest

from crm import products
from crm.errors import EditConflict, Forbidden, NotFound, ValidationError
from models import Product
from tests.conftest import ADMIN, ALICE, context

SUPPORT = {"ref": "SUPPORT-1Y", "label": "Support, one year", "unit_price": "1 200.50", "vat_rate": "20",
           "cost_price": "300", "unit": "year"}


async def test_an_admin_adds_a_product_with_exact_prices(db):
    product = await products.create(context(ADMIN), SUPPORT)
    stored = await Product.get(id=product.id)
    assert (stored.ref, stored.label, stored.unit, stored.active) == ("SUPPORT-1Y", "Support, one year", "year", True)
    assert (stored.unit_price, stored.vat_rate, stored.cost_price) == (Decimal("1200.5"), Decimal("20"), Decimal("300"))
    assert isinstance(product.unit_price, Decimal) and product.created_by == ADMIN.id


async def test_only_admins_add_or_edit_products(db):
    with pytest.raises(Forbidden):
        await products.create(context(ALICE), SUPPORT)
    product = await products.create(context(ADMIN), SUPPORT)
    with pytest.raises(Forbidden):
        await products.update(context(ALICE), product.id, {"unit_price": "1"})
    assert (await Product.get(id=product.id)).unit_price == Decimal("1200.5")


@pytest.mark.parametrize("values, field", [
    ({**SUPPORT, "ref": ""}, "ref"),
    ({**SUPPORT, "ref": "TWO WORDS"}, "ref"),
    ({**SUPPORT, "label": "  "}, "label"),
    ({**SUPPORT, "unit_price": "12,50"}, "unit_price"),
    ({**SUPPORT, "unit_price": 12.5}, "unit_price"),  # a float cannot hold a price exactly
    ({**SUPPORT, "unit_price": "-3"}, "unit_price"),
    ({**SUPPORT, "vat_rate": "120"}, "vat_rate"),
    ({**SUPPORT, "cost_price": "cheap"}, "cost_price"),
    ({**SUPPORT, "colour": "red"}, "colour"),
    ({key: value for key, value in SUPPORT.items() if key != "vat_rate"}, "vat_rate"),
])
async def test_a_bad_value_is_refused_by_name_and_nothing_is_saved(db, values, field):
    with pytest.raises(ValidationError) as error:
        await products.create(context(ADMIN), values)
    assert error.value.field == field
    assert await Product.all().count() == 0


async def test_refs_are_unique(db):
    await products.create(context(ADMIN), SUPPORT)
    with pytest.raises(ValidationError) as error:
        await products.create(context(ADMIN), {**SUPPORT, "label": "Other"})
    assert error.value.field == "ref" and await Product.all().count() == 1


async def test_an_edit_keeps_what_another_admin_changed(db):
    product = await products.create(context(ADMIN), SUPPORT)
    form = await products.edit_form(context(ADMIN), product.id)
    shown = {name: getattr(form.product, name) for name in products.FIELDS}
    await products.update(context(ADMIN), product.id, {"unit_price": "1300"})
    await products.update(context(ADMIN), product.id, {**shown, "label": "Support, 12 months"}, shown=form.versions)
    stored = await Product.get(id=product.id)
    assert (stored.label, stored.unit_price) == ("Support, 12 months", Decimal("1300"))
    with pytest.raises(EditConflict) as conflict:
        await products.update(context(ADMIN), product.id, {**shown, "unit_price": "1250"}, shown=form.versions)
    assert "“1300”" in conflict.value.fields["unit_price"]


async def test_find_searches_ref_and_label_in_any_case_and_hides_inactive_ones(db):
    await products.create(context(ADMIN), SUPPORT)
    await products.create(context(ADMIN), {**SUPPORT, "ref": "INSTALL", "label": "Installation sur site"})
    old = await products.create(context(ADMIN), {**SUPPORT, "ref": "OLD-SUPPORT", "label": "Support, legacy"})
    await products.update(context(ADMIN), old.id, {"active": False})
    assert [p.ref for p in await products.find(context(), "support")] == ["SUPPORT-1Y"]
    assert [p.ref for p in await products.find(context(), "SUPPORT", include_inactive=True)] == [
        "OLD-SUPPORT", "SUPPORT-1Y"]
    assert [p.ref for p in await products.find(context(), "installation site")] == ["INSTALL"]
    assert [p.ref for p in await products.find(context())] == ["INSTALL", "SUPPORT-1Y"]
    with pytest.raises(NotFound):
        await products.get(context(), 404)
