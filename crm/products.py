"""The product catalogue: what document lines pick, with its prices (admins keep it)."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from tortoise.exceptions import IntegrityError

from crm import fieldtypes, records, validators, versions
from crm.context import Context
from crm.errors import NotFound, ValidationError
from crm.fieldtypes import FieldSpec
from crm.normalize import fold, search_text
from crm.permissions import require_admin
from crm.records import ProductRecord
from models import Product

FIELDS = {
    "ref": "Ref",
    "label": "Label",
    "description": "Description",
    "unit_price": "Unit price excl. tax",
    "vat_rate": "VAT rate %",
    "cost_price": "Cost price",
    "unit": "Unit",
    "active": "Active",
}
AMOUNTS = ("unit_price", "cost_price")
TEXT_LIMITS = {"ref": 64, "label": 255, "description": 5000, "unit": 32}
MAX_VAT_RATE = Decimal(100)
MAX_LISTED = 20
GONE = "This product no longer exists."


def clean(values: dict, *, creating: bool) -> dict:
    """Validated, normalised product fields; a ValidationError names the first bad one."""
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise ValidationError(unknown[0], f"{unknown[0]!r} is not a product field.")
    cleaned = {}
    for name, raw in values.items():
        label = FIELDS[name]
        if name in AMOUNTS or name == "vat_rate":
            cleaned[name] = _amount(name, label, raw, required=name != "cost_price")
        elif name == "active":
            cleaned[name] = bool(fieldtypes.parse(FieldSpec(name, label, "boolean"), raw))
        else:
            cleaned[name] = validators.text(name, label, "" if raw is None else str(raw), max_length=TEXT_LIMITS[name])
    if cleaned.get("cost_price") is None and "cost_price" in cleaned:
        cleaned["cost_price"] = Decimal(0)
    if "vat_rate" in cleaned and not Decimal(0) <= cleaned["vat_rate"] <= MAX_VAT_RATE:
        raise ValidationError("vat_rate", f"VAT rate %: {cleaned['vat_rate']} is not between 0 and 100, e.g. 20.")
    for name in ("ref", "label"):
        if name in cleaned and not cleaned[name]:
            raise ValidationError(name, f"{FIELDS[name]} is required.")
    if "ref" in cleaned and any(char.isspace() for char in cleaned["ref"]):
        raise ValidationError("ref", "Ref: a product ref is one word, e.g. SUPPORT-1Y.")
    if creating:
        for name in ("ref", "label", "unit_price", "vat_rate"):
            if name not in cleaned:
                raise ValidationError(name, f"{FIELDS[name]} is required.")
    return cleaned


def _amount(name: str, label: str, raw, *, required: bool) -> Decimal | None:
    """A price or rate, read as custom amounts are (point for decimals, spaces for thousands)."""
    try:
        value = fieldtypes.parse(FieldSpec(name, label, "amount", required=required), raw)
    except ValidationError as error:
        raise ValidationError(name, error.message) from None
    if value is not None and value < 0:
        raise ValidationError(name, f"{label}: {value} is negative.")
    return value


def _search_text(ref: str, label: str) -> str:
    return search_text(ref, label)[:400]


async def new_form(ctx: Context) -> None:
    """The form of a new product is for admins only: anyone else is told so before it opens."""
    require_admin(ctx.actor, "add products")


async def create(ctx: Context, values: dict) -> ProductRecord:
    require_admin(ctx.actor, "add products")
    cleaned = {"description": "", "cost_price": Decimal(0), "unit": "", "active": True,
               **clean(values, creating=True)}
    async with ctx.transaction() as uow:
        try:
            row = await Product.create(
                **cleaned, search_text=_search_text(cleaned["ref"], cleaned["label"]), created_at=uow.now,
                updated_at=uow.now, created_by=ctx.actor.id, updated_by=ctx.actor.id, using_db=uow.connection)
        except IntegrityError:
            raise ValidationError("ref", f"Ref: another product is already {cleaned['ref']}.") from None
    return records.product(row)


@dataclass(frozen=True)
class EditForm:
    product: ProductRecord
    versions: dict[str, str]


def _snapshot(product) -> dict[str, str]:
    """A product's editable values as canonical text, for comparing edits."""
    return {name: _canonical(getattr(product, name)) for name in FIELDS}


def _canonical(value) -> str:
    """12.500000 from the database and 12.5 typed are the same price."""
    return format(value.normalize(), "f") if isinstance(value, Decimal) else str(value)


async def edit_form(ctx: Context, product_id: int) -> EditForm:
    require_admin(ctx.actor, "edit products")
    product = await get(ctx, product_id)
    return EditForm(product, versions.fingerprints(_snapshot(product)))


async def update(ctx: Context, product_id: int, values: dict, *,
                 shown: dict[str, str] | None = None) -> ProductRecord:
    """Change the given fields; with `shown` (EditForm.versions) only what the form's user changed."""
    require_admin(ctx.actor, "edit products")
    cleaned = clean(values, creating=False)
    async with ctx.transaction() as uow:
        row = await Product.filter(id=product_id).select_for_update().using_db(uow.connection).first()
        if row is None:
            raise NotFound(GONE)
        wanted = {name: _canonical(value) for name, value in cleaned.items()}
        apply = versions.to_apply(wanted, _snapshot(row), shown, versions.described_by(FIELDS))
        if not apply:
            return records.product(row)
        for name in apply:
            setattr(row, name, cleaned[name])
        row.search_text = _search_text(row.ref, row.label)
        row.updated_at, row.updated_by = uow.now, ctx.actor.id
        try:
            await row.save(using_db=uow.connection)
        except IntegrityError:
            raise ValidationError("ref", f"Ref: another product is already {row.ref}.") from None
    return records.product(row)


async def get(ctx: Context, product_id: int) -> ProductRecord:
    row = await Product.get_or_none(id=product_id)
    if row is None:
        raise NotFound(GONE)
    return records.product(row)


async def find(ctx: Context, text: str = "", *, include_inactive: bool = False,
               limit: int = MAX_LISTED) -> list[ProductRecord]:
    """Products whose ref or label holds every folded word of `text` (all of them for none),
    by ref; inactive ones only when asked (the catalogue of admins)."""
    words = fold(validators.storable("TEXT", "Search", text)).split()
    query = Product.all() if include_inactive else Product.filter(active=True)
    for word in words:
        query = query.filter(search_text__contains=word)
    return [records.product(row) for row in await query.order_by("ref").limit(limit)]
