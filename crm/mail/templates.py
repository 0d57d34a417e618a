"""Email templates (SPEC §7): Jinja2 in a sandbox, a subject, a text body and an HTML body.

Templates are written by admins, so they run in Jinja2's immutable sandbox: no attribute
starting with `_`, nothing that changes a value. They see plain data only (dicts of strings,
built here from the domain's records), never ORM rows whose methods could reach the
database. The HTML body is autoescaped; the subject and the text body are not (they are not
HTML). An unknown variable or field is an error (`StrictUndefined`), so a template is
checked when it is saved, by rendering it against sample data with and without a contact
and a document, and refused then with the error, not when an email is sent.

A template has a name and variants by language; the variant without one ("") is the
fallback. Each type has a default template named after it, kept as files under
templates/emails/ and inserted when missing (`ensure_defaults`, at start-up).
"""
from __future__ import annotations

import functools

from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment
from tortoise.exceptions import IntegrityError

from crm import clock, records, validators
from crm.context import Context
from crm.documents.printable import Company
from crm.errors import NotFound, ValidationError
from crm.mail.compose import LINE_BREAKS
from crm.permissions import require_admin
from crm.records import ContactRecord, DocumentRecord, ThirdPartyRecord
from models import EMAIL_TEMPLATE_TYPES, EmailTemplate

DEFAULTS_DIR = Path(__file__).resolve().parents[2] / "templates" / "emails"
PARTS = {"subject": "Subject", "text": "Text body", "html": "HTML body"}
NAME_MAX_LENGTH = 64
BODY_MAX_LENGTH = 100_000
TYPE_LABELS = {"thirdparty": "Third party", "contact": "Contact", "proposal": "Proposal", "order": "Sales order",
               "invoice": "Invoice", "intervention": "Intervention", "campaign": "Campaign"}
GONE = "This email template no longer exists; it may have been deleted."

# What templates see of each record: absent, every field is "" (a missing name still errs).
THIRDPARTY_FIELDS = ("code", "name", "alias", "type", "email", "phone", "website", "address", "zip", "town",
                     "country", "language", "vat_id")
CONTACT_FIELDS = ("first_name", "last_name", "full_name", "job_title", "email", "phone", "language")
DOCUMENT_FIELDS = ("ref", "title", "type", "status", "currency", "issued_on", "valid_until", "due_on",
                   "total_excl_tax", "total_vat", "total_incl_tax")
COMPANY_FIELDS = ("name", "address", "zip", "town", "country", "vat_id", "email", "phone")

_TEXT = ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False,
                                      keep_trailing_newline=True)
_HTML = ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=True,
                                      keep_trailing_newline=True)


@dataclass(frozen=True)
class TemplateRecord:
    id: int
    name: str
    language: str
    type: str
    subject: str
    html: str
    text: str


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str
    text: str


# --- rendering ---

def variables(*, thirdparty: ThirdPartyRecord, contact: ContactRecord | None, document: DocumentRecord | None,
              user_name: str, company: Company, unsubscribe_url: str) -> dict:
    """The plain data a template sees; `contact` and `document` are always there, empty when absent."""
    return {
        "thirdparty": _fields(thirdparty, THIRDPARTY_FIELDS),
        "contact": _fields(contact, CONTACT_FIELDS),
        "document": _fields(document, DOCUMENT_FIELDS),
        "user": {"name": user_name},
        "company": _fields(company, COMPANY_FIELDS),
        "unsubscribe_url": unsubscribe_url,
    }


def _fields(source, names: tuple[str, ...]) -> dict[str, str]:
    return {name: _plain(getattr(source, name)) if source is not None else "" for name in names}


def _plain(value) -> str:
    """A value as templates show it: dates in ISO form, amounts as their digits, nothing as ""."""
    if value is None:
        return ""
    if isinstance(value, (date, Decimal)):
        return str(value)
    return value


def render(template: TemplateRecord, variables: dict) -> Rendered:
    """The template filled with `variables`; ValidationError naming the part at fault otherwise."""
    rendered = {part: _render_part(template, part, variables) for part in PARTS}
    if any(mark in rendered["subject"] for mark in LINE_BREAKS):
        raise ValidationError("subject", "Subject: it must stay on one line, and with these values it does not.")
    return Rendered(**rendered)


def _render_part(template: TemplateRecord, part: str, variables: dict) -> str:
    try:
        return _compiled(part == "html", getattr(template, part)).render(variables)
    except jinja2.TemplateSyntaxError as error:
        raise ValidationError(part, f"{PARTS[part]}, line {error.lineno}: {error.message}") from None
    except jinja2.TemplateError as error:  # an unknown variable or field, an unsafe attribute
        raise ValidationError(part, f"{PARTS[part]}{_line_of(error)}: {error}") from None
    except Exception as error:  # noqa: BLE001 - a template's own mistake (a division by zero, a bad call)
        raise ValidationError(part, f"{PARTS[part]}{_line_of(error)}: {type(error).__name__}: {error}") from None


@functools.lru_cache(maxsize=256)
def _compiled(html: bool, source: str) -> jinja2.Template:
    """A template's part compiled once (a campaign renders it for every recipient)."""
    return (_HTML if html else _TEXT).from_string(source)


def _line_of(error: BaseException) -> str:
    """", line N" of the template line that failed: Jinja2 shows it as a frame of "<template>"."""
    line = None
    traceback = error.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == "<template>":
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return f", line {line}" if line else ""


def check(template: TemplateRecord) -> None:
    """Render `template` against sample data with and without a contact and a document: a
    template that fails any of them is refused now, not when an email is sent."""
    for contact in (SAMPLE_CONTACT, None):
        for document in (SAMPLE_DOCUMENT, None):
            render(template, variables(thirdparty=SAMPLE_THIRDPARTY, contact=contact, document=document,
                                       user_name="Alice Martin", company=SAMPLE_COMPANY,
                                       unsubscribe_url="https://crm.example/u/sample"))


# --- choosing ---

async def pick(name: str, languages: list[str]) -> TemplateRecord:
    """The variant of template `name` in the first of `languages` it has (`fr_CA` also takes a
    `fr` variant), else its variant without a language, else its first."""
    variants = {row.language.lower(): row for row in await EmailTemplate.filter(name=name).order_by("id")}
    if not variants:
        raise NotFound(f"There is no email template named {name!r}.")
    for language in (language.lower() for language in languages if language):
        for candidate in (language, language.replace("-", "_").partition("_")[0]):
            if candidate in variants:
                return _record(variants[candidate])
    return _record(variants.get("", next(iter(variants.values()))))


async def names() -> list[str]:
    """Every template's name, once, in order: what people choose from."""
    return sorted(set(await EmailTemplate.all().values_list("name", flat=True)), key=str.casefold)


# --- admins keep them ---

async def all_templates(ctx: Context) -> list[TemplateRecord]:
    rows = await EmailTemplate.all().order_by("name", "language", "id")
    return [_record(row) for row in rows]


async def get(ctx: Context, template_id: int) -> TemplateRecord:
    row = await EmailTemplate.get_or_none(id=template_id)
    if row is None:
        raise NotFound(GONE)
    return _record(row)


async def create(ctx: Context, values: dict) -> TemplateRecord:
    require_admin(ctx.actor, "change email templates")
    cleaned = _clean(values)
    async with ctx.transaction() as uow:
        await _require_free(uow, cleaned, None)
        row = await EmailTemplate.create(**cleaned, created_at=uow.now, updated_at=uow.now, created_by=ctx.actor.id,
                                         updated_by=ctx.actor.id, using_db=uow.connection)
    return _record(row)


async def update(ctx: Context, template_id: int, values: dict) -> TemplateRecord:
    require_admin(ctx.actor, "change email templates")
    cleaned = _clean(values)
    async with ctx.transaction() as uow:
        row = await EmailTemplate.filter(id=template_id).select_for_update().using_db(uow.connection).first()
        if row is None:
            raise NotFound(GONE)
        await _require_free(uow, cleaned, template_id)
        for name, value in cleaned.items():
            setattr(row, name, value)
        row.updated_at, row.updated_by = uow.now, ctx.actor.id
        await row.save(using_db=uow.connection)
    return _record(row)


async def delete(ctx: Context, template_id: int) -> TemplateRecord:
    require_admin(ctx.actor, "delete email templates")
    async with ctx.transaction() as uow:
        row = await EmailTemplate.filter(id=template_id).using_db(uow.connection).first()
        if row is None:
            raise NotFound(GONE)
        await row.delete(using_db=uow.connection)
    return _record(row)


def _clean(values: dict) -> dict:
    """The template's fields checked, and the template rendered against sample data."""
    name = validators.text("name", "Name", str(values.get("name") or ""), max_length=NAME_MAX_LENGTH)
    if not name:
        raise ValidationError("name", "Name: give the template a name, e.g. proposal.")
    template_type = str(values.get("type") or "")
    if template_type not in EMAIL_TEMPLATE_TYPES:
        raise ValidationError("type", "Type: choose one of " + ", ".join(EMAIL_TEMPLATE_TYPES) + ".")
    raw_language = str(values.get("language") or "").strip()
    language = validators.language("language", "Language", raw_language) if raw_language else ""
    parts = {part: validators.text(part, label, str(values.get(part) or ""), max_length=BODY_MAX_LENGTH)
             for part, label in PARTS.items()}
    if any(mark in parts["subject"] for mark in LINE_BREAKS):
        raise ValidationError("subject", "Subject: it must be one line.")
    for part in ("subject", "text"):
        if not parts[part].strip():
            raise ValidationError(part, f"{PARTS[part]}: it cannot be empty.")
    cleaned = {"name": name, "type": template_type, "language": language, **parts}
    check(TemplateRecord(id=0, **cleaned))
    return cleaned


async def _require_free(uow, cleaned: dict, template_id: int | None) -> None:
    taken = EmailTemplate.filter(name=cleaned["name"], language=cleaned["language"]).using_db(uow.connection)
    if template_id is not None:
        taken = taken.exclude(id=template_id)
    if await taken.exists():
        which = f"in {cleaned['language']}" if cleaned["language"] else "without a language"
        raise ValidationError("language", f"Language: {cleaned['name']} already has a variant {which}.")


def _record(row: EmailTemplate) -> TemplateRecord:
    return records.record(TemplateRecord, row)


# --- defaults ---

def default_values(template_type: str) -> dict:
    """The default template of a type, as kept under templates/emails/."""
    parts = {part: (DEFAULTS_DIR / f"{template_type}.{part}").read_text(encoding="utf-8") for part in PARTS}
    parts["subject"] = parts["subject"].strip()  # a file ends with a line break; a subject cannot hold one
    return {"name": template_type, "type": template_type, "language": "", **parts}


async def ensure_defaults() -> list[str]:
    """Insert each type's default template that is missing (a fresh installation, or one an
    admin deleted); returns the names inserted. Processes starting together may race: the
    unique (name, language) keeps one."""
    present = set(await EmailTemplate.filter(name__in=EMAIL_TEMPLATE_TYPES, language="")
                  .values_list("name", flat=True))
    inserted = []
    now = clock.now()
    for template_type in EMAIL_TEMPLATE_TYPES:
        if template_type in present:
            continue
        try:
            await EmailTemplate.create(**default_values(template_type), created_at=now, updated_at=now)
        except IntegrityError:
            continue  # another process inserted it first
        inserted.append(template_type)
    return inserted


# --- the sample data templates are checked against ---

_SAMPLE_TIME = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
SAMPLE_THIRDPARTY = ThirdPartyRecord(
    id=1, code="CU2601-00001", name="Acme Widgets", alias="Acme", type="customer", status="active",
    email="contact@acme.example", phone="+33123456789", website="https://acme.example", address="1 rue de la Paix",
    zip="75002", town="Paris", country="FR", language="fr", vat_id="FR12345678901", note_public="", note_private="",
    created_at=_SAMPLE_TIME, updated_at=_SAMPLE_TIME, created_by="U0SAMPLE", updated_by="U0SAMPLE")
SAMPLE_CONTACT = ContactRecord(
    id=1, thirdparty_id=1, first_name="Jane", last_name="Doe", job_title="Buyer", email="jane@acme.example",
    phone="", address="", zip="", town="", country="", language="en", note="", default_roles="",
    created_at=_SAMPLE_TIME, updated_at=_SAMPLE_TIME, created_by="U0SAMPLE", updated_by="U0SAMPLE")
SAMPLE_DOCUMENT = DocumentRecord(
    id=1, type="proposal", ref="PR2601-00001", status="validated", thirdparty_id=1, rep_id=None, origin_id=None,
    currency="EUR", issued_on=date(2026, 1, 5), valid_until=date(2026, 2, 4), due_on=None, intervention_on=None,
    intervention_minutes=None, note_public="", note_private="", description_rich=None, description_html="",
    total_excl_tax=Decimal("1000.00"), total_vat=Decimal("200.00"), total_incl_tax=Decimal("1200.00"),
    validated_at=_SAMPLE_TIME, pdf_sha256=None, pdf_name=None, created_at=_SAMPLE_TIME, updated_at=_SAMPLE_TIME,
    created_by="U0SAMPLE", updated_by="U0SAMPLE")
SAMPLE_COMPANY = Company(name="Widgets SARL", address="2 avenue de l'Opéra", zip="75001", town="Paris", country="FR",
                         vat_id="FR98765432109", email="hello@widgets.example", phone="+33100000000")
