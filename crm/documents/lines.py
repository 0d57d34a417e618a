"""Document lines: what a line may hold, and the document totals kept from them (crm.money)."""
from __future__ import annotations

from decimal import Decimal

from crm import fieldtypes, money, validators
from crm.errors import ValidationError
from crm.fieldtypes import FieldSpec
from crm.records import LineRecord, ProductRecord, columns
from models import DocumentLine

# A modal shows one block per line within Slack's 100 blocks, beside the document's fields.
MAX_LINES = 60
FIELDS = {
    "label": "Label",
    "description": "Description",
    "quantity": "Quantity",
    "unit": "Unit",
    "unit_price": "Unit price excl. tax",
    "discount_percent": "Discount %",
    "vat_rate": "VAT rate %",
    "cost_price": "Cost price",
}
TEXT_LIMITS = {"label": 255, "description": 2000, "unit": 32}
NUMBERS = ("quantity", "unit_price", "discount_percent", "vat_rate", "cost_price")
HUNDRED = Decimal(100)
# The columns hold 6 decimals and 18 integer digits; a line total must fit them too.
MAX_AMOUNT = Decimal(10) ** 12


def clean(values: dict, product: ProductRecord | None) -> dict:
    """A line's values, validated: a product line starts from the product's label and prices,
    which `values` may override; a free-text line needs a label, a price and a VAT rate."""
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise ValidationError(unknown[0], f"{unknown[0]!r} is not a field of a document line.")
    given = {name: raw for name, raw in values.items() if raw is not None and str(raw).strip() != ""}
    line = {"description": "", "unit": "", "quantity": Decimal(1), "discount_percent": Decimal(0),
            "cost_price": Decimal(0)}
    if product is not None:
        line.update(label=f"{product.ref} - {product.label}", description=product.description, unit=product.unit,
                    unit_price=product.unit_price, vat_rate=product.vat_rate, cost_price=product.cost_price)
    for name, raw in given.items():
        if name in NUMBERS:
            line[name] = _number(name, raw)
        else:
            line[name] = validators.text(name, FIELDS[name], str(raw), max_length=TEXT_LIMITS[name])
    for name in ("label", "unit_price", "vat_rate"):
        if line.get(name) in (None, ""):
            raise ValidationError(name, f"{FIELDS[name]} is required for a line without a product.")
    _check_ranges(line)
    return line


def _number(name: str, raw) -> Decimal:
    try:
        return fieldtypes.parse(FieldSpec(name, FIELDS[name], "amount", required=True), raw)
    except ValidationError as error:
        raise ValidationError(name, error.message) from None


def _check_ranges(line: dict) -> None:
    if line["quantity"] <= 0:
        raise ValidationError("quantity", f"Quantity: {line['quantity']} is not more than 0.")
    for name in ("discount_percent", "vat_rate"):
        if not Decimal(0) <= line[name] <= HUNDRED:
            raise ValidationError(name, f"{FIELDS[name]}: {line[name]} is not between 0 and 100.")
    if line["cost_price"] < 0:
        raise ValidationError("cost_price", f"Cost price: {line['cost_price']} is negative.")
    for name in ("quantity", "unit_price", "cost_price"):
        if abs(line[name]) >= MAX_AMOUNT or abs(line["quantity"] * line["unit_price"]) >= MAX_AMOUNT:
            raise ValidationError(name, f"{FIELDS[name]}: {line[name]} is too large for a document line.")


def figures(line: dict | LineRecord) -> money.Line:
    get = line.get if isinstance(line, dict) else lambda name: getattr(line, name)
    return money.Line(get("quantity"), get("unit_price"), get("discount_percent"), get("vat_rate"))


async def of_document(document_id: int, connection=None) -> list[LineRecord]:
    rows = await (DocumentLine.filter(document_id=document_id).order_by("position", "id").using_db(connection)
                  .values(*columns(LineRecord)))
    return [LineRecord(**row) for row in rows]
