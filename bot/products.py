"""`/crm products`: the catalogue, searched by anyone, kept by admins in a form."""
from __future__ import annotations

from babel.numbers import format_currency
from slack_bolt.async_app import AsyncApp

from bot.blocks import actions, button, context, input_block, message, modal, option, plain_section, text_input
from bot.forms import form_state, read_form_state
from bot.payloads import action, form_values, record_id
from bot.surface import Interaction, Surface, acked, submission
from crm import products
from crm.records import ProductRecord

PRODUCT_NEW = "product_new"
PRODUCT_EDIT = "product_edit"
ACTIVE = "active"


def catalogue_message(found: list[ProductRecord], text: str, currency: str, *, can_edit: bool) -> dict:
    """The products found, each with an Edit button for admins, and Add for them too."""
    if found:
        title = f"{len(found)} product{'s' if len(found) != 1 else ''}" + (f" matching “{text}”" if text else "")
    else:
        title = f"No product matches “{text}”." if text else "The catalogue is empty."
    blocks = [plain_section(title)]
    for product in found:
        line = (f"{product.ref} · {product.label} · {format_currency(product.unit_price, currency, locale='en')} "
                f"excl. tax{' per ' + product.unit if product.unit else ''} · VAT {product.vat_rate.normalize():f}%"
                + ("" if product.active else " · inactive"))
        blocks.append(plain_section(line, accessory=button("Edit", "product_edit", str(product.id)) if can_edit else None))
    if can_edit:
        blocks.append(actions(button("Add a product", "product_add", style="primary")))
    else:
        blocks.append(context("Admins add and edit products."))
    return message(title, blocks)


def product_modal(product: ProductRecord | None = None, versions: dict[str, str] | None = None) -> dict:
    def value(name: str) -> str:
        if product is None:
            return ""
        raw = getattr(product, name)
        return format(raw.normalize(), "f") if name in products.AMOUNTS or name == "vat_rate" else str(raw)

    def number(name: str) -> dict:
        element = {"type": "number_input", "is_decimal_allowed": True, "min_value": "0"}
        if value(name):
            element["initial_value"] = value(name)
        return element

    active = {"type": "checkboxes", "options": [option("Offered on new documents", ACTIVE)]}
    if product is None or product.active:
        active["initial_options"] = active["options"]
    blocks = [
        input_block("ref", "Ref", text_input(value("ref"), max_length=64, placeholder="SUPPORT-1Y"), optional=False),
        input_block("label", "Label", text_input(value("label"), max_length=255), optional=False),
        input_block("description", "Description", text_input(value("description"), multiline=True, max_length=3000)),
        input_block("unit_price", "Unit price excl. tax", number("unit_price"), optional=False),
        input_block("vat_rate", "VAT rate %", number("vat_rate"), optional=False),
        input_block("cost_price", "Cost price", number("cost_price"), hint="What it costs you: margins use it."),
        input_block("unit", "Unit", text_input(value("unit"), max_length=32, placeholder="hour, day, piece")),
        input_block("active", "Active", active),
    ]
    if product is None:
        return modal("New product", blocks, callback_id=PRODUCT_NEW, submit="Add")
    return modal("Edit product", blocks, callback_id=PRODUCT_EDIT,
                 private_metadata=form_state(versions or {}, record=product.id))


def read_product(state: dict) -> dict:
    """What the product form holds, as values for crm.products."""
    values = {name: (state.get(name) or {}).get("value", {}).get("value") or ""
              for name in products.FIELDS if name != ACTIVE}
    chosen = (state.get(ACTIVE) or {}).get("value", {}).get("selected_options") or []
    values[ACTIVE] = any(o.get("value") == ACTIVE for o in chosen)
    return values


async def show_catalogue(it: Interaction, text: str) -> None:
    found = await products.find(it.ctx, text, include_inactive=it.ctx.actor.is_admin)
    await it.answer(catalogue_message(found, text, it.settings.currency, can_edit=it.ctx.actor.is_admin))


def register(app: AsyncApp, surface: Surface) -> None:
    async def add(it: Interaction) -> None:
        async def build() -> dict:
            await products.new_form(it.ctx)
            return product_modal()
        await it.open_form(build)

    async def edit(it: Interaction) -> None:
        async def build() -> dict:
            form = await products.edit_form(it.ctx, record_id(action(it.body).get("value")))
            return product_modal(form.product, form.versions)
        await it.open_form(build)

    async def save_new(it: Interaction):
        await products.create(it.ctx, read_product(form_values(it.body)))
        return {}, None

    async def save_edit(it: Interaction):
        form = read_form_state(it.body["view"].get("private_metadata", ""))
        await products.update(it.ctx, form.record_id, read_product(form_values(it.body)), shown=form.shown)
        return {}, None

    app.action("product_add")(acked(surface, add))
    app.action("product_edit")(acked(surface, edit))
    app.view(PRODUCT_NEW)(submission(surface, save_new))
    app.view(PRODUCT_EDIT)(submission(surface, save_edit))

