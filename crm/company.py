"""Our own company as documents print it (name, address, VAT id, logo), kept by admins."""
from __future__ import annotations

from crm import validators
from crm.context import Context
from crm.documents.printable import Company
from crm.errors import ValidationError
from crm.filestore import FileStore
from crm.permissions import require_admin
from models import CompanyProfile

FIELDS = {
    "name": "Company name",
    "address": "Address",
    "zip": "Zip code",
    "town": "Town",
    "country": "Country",
    "vat_id": "VAT id",
    "email": "Email",
    "phone": "Phone",
}
TEXT_LIMITS = {"name": 255, "address": 1000, "zip": 32, "town": 128, "vat_id": 32}
LOGO_TYPES = {b"\x89PNG\r\n\x1a\n": "png", b"\xff\xd8\xff": "jpeg"}
PROFILE_ID = 1


async def details(ctx: Context) -> Company:
    """The company block of documents; its logo as a path in the file store, when there is one."""
    row = await CompanyProfile.get_or_none(id=PROFILE_ID)
    if row is None:
        return Company(name="")
    store = FileStore.for_settings(ctx.settings)
    logo = str(store.path(row.logo_sha256)) if row.logo_sha256 and store.path(row.logo_sha256).is_file() else None
    return Company(**{name: getattr(row, name) for name in FIELDS}, logo_path=logo)


async def update(ctx: Context, values: dict, *, logo: bytes | None = None) -> Company:
    """Admins set the company's details, and its logo (PNG or JPEG) when given."""
    require_admin(ctx.actor, "change the company details")
    cleaned = validators.clean_fields(values, FIELDS, TEXT_LIMITS, validators.ADDRESS_BOOK_CHECKS, "company")
    logo_sha256 = None
    if logo is not None:
        if not any(logo.startswith(magic) for magic in LOGO_TYPES):
            raise ValidationError("logo", "Logo: the file is not a PNG or JPEG image.")
        logo_sha256 = FileStore.for_settings(ctx.settings).put(logo, "logo").sha256
    async with ctx.transaction() as uow:
        row = await CompanyProfile.filter(id=PROFILE_ID).select_for_update().using_db(uow.connection).first()
        if row is None:
            row = CompanyProfile(id=PROFILE_ID)
        for name, value in cleaned.items():
            setattr(row, name, value)
        if logo_sha256:
            row.logo_sha256 = logo_sha256
        row.updated_at, row.updated_by = uow.now, ctx.actor.id
        await row.save(using_db=uow.connection)
    return await details(ctx)
