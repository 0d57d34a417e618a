"""Commercial documents (proposals, sales orders, interventions, invoices): the use cases.

Each is one transaction on the document's row, locked, so that two people (or a double
click) cannot move it twice; each records its agenda event in that transaction. The rules
of what may happen in which status are in crm.documents.workflow.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from babel.numbers import is_currency
from tortoise.expressions import Subquery

from crm import agenda, contacts as contacts_domain, fieldtypes, money, numbering, products, records
from crm import thirdparties, validators, versions
from crm.context import Context, UnitOfWork
from crm.documents import lines as document_lines
from crm.documents import richtext, workflow
from crm.documents.workflow import EVENT_PREFIX, TYPE_LABELS, Move
from crm.errors import Ambiguous, Conflict, NotFound, ValidationError
from crm.fieldtypes import FieldSpec
from crm.permissions import require_writer, visible_thirdparties, visible_thirdparty
from crm.records import ContactRecord, DocumentRecord, LineRecord, PaymentRecord, ThirdPartyRecord, columns
from crm.users import ensure_users
from models import DOCUMENT_CONTACT_ROLES, Contact, Document, DocumentContact, DocumentLine, Payment, ThirdParty

GONE = "This document no longer exists; it may have been deleted."
DEFAULT_TERM = timedelta(days=30)  # a proposal's validity, an invoice's payment term
HEADER_FIELDS = {
    "issued_on": "Date",
    "valid_until": "Valid until",
    "due_on": "Due date",
    "intervention_on": "Intervention date",
    "intervention_minutes": "Duration (minutes)",
    "rep_id": "Sales rep",
    "currency": "Currency",
    "note_public": "Public note",
    "note_private": "Private note",
    "description": "Description",
}
# The dates each type has beside its own date.
TYPE_FIELDS = {"proposal": ("valid_until",), "invoice": ("due_on",),
               "intervention": ("intervention_on", "intervention_minutes")}
DATES = ("issued_on", "valid_until", "due_on", "intervention_on")
NOTE_LIMIT = 5000
ROLE_LABELS = {"billing": "Billing contact", "shipping": "Shipping contact", "customer": "Customer contact"}
PAYMENT_METHODS = {"transfer": "Bank transfer", "card": "Card", "cash": "Cash", "check": "Cheque",
                   "direct_debit": "Direct debit", "other": "Other"}
MAX_LISTED = 10


@dataclass(frozen=True)
class DocumentView:
    """Everything the document card, its editor and its PDF show."""

    document: DocumentRecord
    thirdparty: ThirdPartyRecord
    lines: list[LineRecord]
    payments: list[PaymentRecord]
    contacts: dict[str, list[ContactRecord]]  # role -> its contacts
    origin: DocumentRecord | None
    derived: list[DocumentRecord]
    totals: money.Totals
    versions: dict[str, str]  # fingerprints of the header fields, for the editor

    @property
    def paid(self) -> Decimal:
        return sum((payment.amount for payment in self.payments), Decimal(0))

    @property
    def remaining(self) -> Decimal:
        return self.totals.incl_tax - self.paid

    @property
    def moves(self) -> list[Move]:
        return workflow.moves_from(self.document.type, self.document.status)

    @property
    def conversions(self) -> tuple[str, ...]:
        return workflow.conversions_from(self.document.type, self.document.status)


# --- reading ---

async def view(ctx: Context, document_id: int) -> DocumentView:
    row, thirdparty = await _visible(ctx, document_id)
    document = records.document(row)
    line_records = await document_lines.of_document(row.id)
    payments = [PaymentRecord(**values) for values in await Payment.filter(document_id=row.id)
                .order_by("paid_on", "id").values(*columns(PaymentRecord))]
    origin = await Document.filter(id=row.origin_id).first() if row.origin_id else None
    derived = await Document.filter(origin_id=row.id).order_by("id")
    return DocumentView(
        document, records.thirdparty(thirdparty), line_records, payments, await _contacts(row.id),
        records.document(origin) if origin else None, [records.document(d) for d in derived],
        money.document_totals([document_lines.figures(line) for line in line_records], row.currency),
        versions.fingerprints(_snapshot(row)))


async def _contacts(document_id: int) -> dict[str, list[ContactRecord]]:
    links = await DocumentContact.filter(document_id=document_id).order_by("id").prefetch_related("contact")
    by_role: dict[str, list[ContactRecord]] = {role: [] for role in DOCUMENT_CONTACT_ROLES}
    for link in links:
        by_role[link.role].append(records.contact(link.contact))
    return by_role


async def resolve(ctx: Context, docref: str) -> DocumentRecord:
    """A DOCREF: a document's ref (any case), or a draft's `(PROV12)` / `PROV12`."""
    text = validators.storable("DOCREF", "The document reference", docref).strip().strip("()")
    if not text:
        raise ValidationError("DOCREF", "Say which document: its ref, such as PR2611-00001, or (PROV12) for a draft.")
    query = Document.filter(thirdparty_id__in=Subquery(visible_thirdparties(ctx.actor).values("id")))
    if text.upper().startswith("PROV") and text[4:].isdigit():
        row = await query.filter(id=int(text[4:])).first()
    else:
        found = await query.filter(ref__iexact=text).limit(2)
        if len(found) > 1:
            raise Ambiguous(f"Several documents have the ref {text}.", [records.document(d) for d in found])
        row = found[0] if found else None
    if row is None:
        raise NotFound(f"No document has the ref {text}.")
    return records.document(row)


async def of_thirdparty(ctx: Context, thirdparty: int | ThirdPartyRecord, limit: int = MAX_LISTED) -> list[DocumentRecord]:
    """A third party's newest documents: by id, or the record the caller has just been given
    (so already seen through the permissions) without reading it again."""
    if not isinstance(thirdparty, ThirdPartyRecord):
        thirdparty = records.thirdparty(await visible_thirdparty(ctx.actor, thirdparty))
    rows = await Document.filter(thirdparty_id=thirdparty.id).order_by("-id").limit(limit)
    return [records.document(row) for row in rows]


# --- creating and editing drafts ---

async def create(ctx: Context, doc_type: str, thirdparty_id: int) -> DocumentRecord:
    """A new draft for the third party: today's date, its first sales rep, its default contacts."""
    require_writer(ctx.actor, "create documents")
    if doc_type not in workflow.STATUSES:
        raise ValidationError("type", f"{doc_type!r} is not a document type (proposal, order, intervention, invoice).")
    async with ctx.transaction() as uow:
        thirdparty = await visible_thirdparty(ctx.actor, thirdparty_id, uow.connection, for_update=True)
        _, reps = await thirdparties.tags_and_reps(thirdparty.id, uow.connection)
        today = _today(ctx, uow)
        row = await Document.create(
            type=doc_type, status="draft", thirdparty_id=thirdparty.id, rep_id=reps[0] if reps else None,
            currency=ctx.settings.currency, issued_on=today,
            valid_until=today + DEFAULT_TERM if doc_type == "proposal" else None,
            due_on=today + DEFAULT_TERM if doc_type == "invoice" else None,
            intervention_on=today if doc_type == "intervention" else None,
            created_at=uow.now, updated_at=uow.now, created_by=ctx.actor.id, updated_by=ctx.actor.id,
            using_db=uow.connection)
        await _add_default_contacts(uow, row.id, thirdparty.id)
        document = records.document(row)
        await _record(uow, ctx, f"{EVENT_PREFIX[doc_type]}_CREATE", document, "created")
    return document


async def _add_default_contacts(uow: UnitOfWork, document_id: int, thirdparty_id: int) -> None:
    for contact in await Contact.filter(thirdparty_id=thirdparty_id).exclude(default_roles="").using_db(uow.connection):
        for role in contacts_domain.default_roles(contact.default_roles):
            await DocumentContact.create(document_id=document_id, contact_id=contact.id, role=role,
                                         using_db=uow.connection)


async def update(ctx: Context, document_id: int, values: dict, *, shown: dict[str, str] | None = None,
                 contacts: dict[str, list[int]] | None = None) -> DocumentRecord:
    """Change header fields of a draft (its notes at any time), and its contacts in the roles
    `contacts` names, all or nothing; with `shown` (DocumentView.versions) only the fields the
    editor's user changed, refusing one someone else changed meanwhile."""
    require_writer(ctx.actor, "edit documents")
    async with ctx.transaction() as uow:
        row = await _locked(ctx, uow, document_id)
        cleaned = _clean_header(row.type, values)
        if set(cleaned) - {"note_public", "note_private"} or contacts:
            workflow.check_editable(row.type, row.status)
        for role, contact_ids in (contacts or {}).items():
            await _set_contacts(uow, row, role, contact_ids)
        wanted = {name: _canonical(value) for name, value in cleaned.items()}
        apply = versions.to_apply(wanted, _snapshot(row), shown, versions.described_by(HEADER_FIELDS))
        if not apply:
            return records.document(row)
        for name in apply:
            if name == "description":
                row.description_rich = cleaned[name]
                row.description_html = richtext.to_html(cleaned[name])
            else:
                setattr(row, name, cleaned[name])
        _check_dates(row)
        if "rep_id" in apply and row.rep_id:
            await ensure_users(uow, [row.rep_id], ctx.settings.default_role)
        if "currency" in apply:
            await _refresh_totals(uow, row)
        await _touch(uow, ctx, row)
    return records.document(row)


def _clean_header(doc_type: str, values: dict) -> dict:
    allowed = {"issued_on", "rep_id", "currency", "note_public", "note_private", "description",
               *TYPE_FIELDS.get(doc_type, ())}
    cleaned = {}
    for name, raw in values.items():
        if name not in allowed:
            raise ValidationError(name, f"{HEADER_FIELDS.get(name, repr(name))} is not a field of "
                                        f"{workflow.describe_type(doc_type)}.")
        label = HEADER_FIELDS[name]
        if name in DATES:
            cleaned[name] = fieldtypes.parse(FieldSpec(name, label, "date", required=name == "issued_on"), raw)
        elif name == "intervention_minutes":
            minutes = fieldtypes.parse(FieldSpec(name, label, "integer"), raw)
            if minutes is not None and not 0 <= minutes <= 100_000:
                raise ValidationError(name, f"{label}: {minutes} is not between 0 and 100000.")
            cleaned[name] = minutes
        elif name == "currency":
            code = validators.storable(name, label, str(raw or "")).strip().upper()
            if not (len(code) == 3 and is_currency(code)):
                raise ValidationError(name, f"Currency: {code!r} is not an ISO 4217 currency code, e.g. EUR.")
            cleaned[name] = code
        elif name == "rep_id":
            cleaned[name] = _rep(raw)
        elif name == "description":
            cleaned[name] = raw or None
        else:
            cleaned[name] = validators.text(name, label, str(raw or ""), max_length=NOTE_LIMIT)
    return cleaned


def _rep(raw) -> str | None:
    if not raw:
        return None
    try:
        return thirdparties.clean_reps([raw])[0]
    except ValidationError as error:
        raise ValidationError("rep_id", error.message.replace("Sales reps", HEADER_FIELDS["rep_id"])) from None


def _check_dates(row: Document) -> None:
    """A validity end or due date is not before the document's own date."""
    for name in ("valid_until", "due_on"):
        value = getattr(row, name)
        if value is not None and value < row.issued_on:
            raise ValidationError(name, f"{HEADER_FIELDS[name]}: {value} is before the document's date {row.issued_on}.")


def _snapshot(row: Document) -> dict[str, str]:
    """The header as canonical text, for comparing edits."""
    snapshot = {name: _canonical(getattr(row, name)) for name in HEADER_FIELDS if name != "description"}
    snapshot["description"] = _canonical(row.description_rich)
    return snapshot


def _canonical(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return str(value)


async def add_line(ctx: Context, document_id: int, values: dict, *, product_id: int | None = None) -> DocumentRecord:
    """Add a line at the end of a draft: a product at its catalogue prices (unless `values`
    says otherwise), or free text."""
    require_writer(ctx.actor, "edit documents")
    product = await products.get(ctx, product_id) if product_id is not None else None
    cleaned = document_lines.clean(values, product)
    async with ctx.transaction() as uow:
        row = await _locked(ctx, uow, document_id)
        workflow.check_editable(row.type, row.status)
        count = await DocumentLine.filter(document_id=row.id).using_db(uow.connection).count()
        if count >= document_lines.MAX_LINES:
            raise ValidationError("lines", f"A document holds at most {document_lines.MAX_LINES} lines.")
        await _insert_line(uow, row, count, cleaned, product_id)
        await _refresh_totals(uow, row)
        await _touch(uow, ctx, row)
    return records.document(row)


async def _insert_line(uow: UnitOfWork, row: Document, position: int, line: dict, product_id: int | None) -> None:
    figures = money.line_totals(document_lines.figures(line), row.currency)
    await DocumentLine.create(document_id=row.id, position=position, product_id=product_id, **line,
                              total_excl_tax=figures.excl_tax, total_vat=figures.vat, using_db=uow.connection)


async def remove_line(ctx: Context, document_id: int, line_id: int) -> DocumentRecord:
    require_writer(ctx.actor, "edit documents")
    async with ctx.transaction() as uow:
        row = await _locked(ctx, uow, document_id)
        workflow.check_editable(row.type, row.status)
        removed = await DocumentLine.filter(id=line_id, document_id=row.id).using_db(uow.connection).delete()
        if not removed:
            raise NotFound("This line is no longer on the document; it may have been removed already.")
        await _refresh_totals(uow, row)
        await _touch(uow, ctx, row)
    return records.document(row)


async def _refresh_totals(uow: UnitOfWork, row: Document) -> None:
    """Each line's rounded figures in the document's currency, and their sums on the document."""
    line_rows = await DocumentLine.filter(document_id=row.id).using_db(uow.connection)
    for line in line_rows:
        figures = money.line_totals(document_lines.figures(line), row.currency)
        if (figures.excl_tax, figures.vat) != (line.total_excl_tax, line.total_vat):
            line.total_excl_tax, line.total_vat = figures.excl_tax, figures.vat
            await line.save(using_db=uow.connection, update_fields=["total_excl_tax", "total_vat"])
    totals = money.document_totals([document_lines.figures(line) for line in line_rows], row.currency)
    row.total_excl_tax, row.total_vat, row.total_incl_tax = totals.excl_tax, totals.vat, totals.incl_tax


async def set_contacts(ctx: Context, document_id: int, role: str, contact_ids: list[int]) -> DocumentRecord:
    """The document's contacts in `role`: contacts of its own third party."""
    require_writer(ctx.actor, "edit documents")
    async with ctx.transaction() as uow:
        row = await _locked(ctx, uow, document_id)
        workflow.check_editable(row.type, row.status)
        await _set_contacts(uow, row, role, contact_ids)
        await _touch(uow, ctx, row)
    return records.document(row)


async def _set_contacts(uow: UnitOfWork, row: Document, role: str, contact_ids: list[int]) -> None:
    if role not in DOCUMENT_CONTACT_ROLES:
        raise ValidationError("role", f"{role!r} is not a contact role (billing, shipping, customer).")
    wanted = list(dict.fromkeys(contact_ids))
    found = await Contact.filter(id__in=wanted, thirdparty_id=row.thirdparty_id).using_db(uow.connection).count()
    if found != len(wanted):
        raise ValidationError(role, f"{ROLE_LABELS[role]}: pick contacts of this document's third party.")
    await DocumentContact.filter(document_id=row.id, role=role).using_db(uow.connection).delete()
    for contact_id in wanted:
        await DocumentContact.create(document_id=row.id, contact_id=contact_id, role=role, using_db=uow.connection)


async def delete(ctx: Context, document_id: int) -> DocumentRecord:
    require_writer(ctx.actor, "delete documents")
    async with ctx.transaction() as uow:
        row = await _locked(ctx, uow, document_id)
        workflow.check_deletable(row.type, row.status)
        document = records.document(row)
        await row.delete(using_db=uow.connection)
    return document


# --- the workflow ---

async def apply_move(ctx: Context, document_id: int, move_name: str) -> DocumentRecord:
    """Validate, sign, refuse, deliver, classify billed or done, abandon, or put back to draft."""
    require_writer(ctx.actor, "change documents")
    move = workflow.MOVES.get(move_name)
    if move is None:
        raise ValidationError("move", f"{move_name!r} is not something a document can do.")
    async with ctx.transaction() as uow:
        row = await _locked(ctx, uow, document_id)
        workflow.check_move(move, row.type, row.status)
        if move.name == "reopen" and await Document.filter(origin_id=row.id).using_db(uow.connection).exists():
            raise Conflict(f"{TYPE_LABELS[row.type]} {_ref(row)} cannot go back to draft: "
                                    "documents were made from it.")
        if move.name == "validate":
            await _validate(ctx, uow, row)
        else:
            await _move(ctx, uow, row, move)
    return records.document(row)


async def _move(ctx: Context, uow: UnitOfWork, row: Document, move: Move, reason: str = "") -> None:
    row.status = move.target
    await _touch(uow, ctx, row)
    await _won(ctx, uow, row)
    event = move.events.get(row.type)
    if event:
        await _record(uow, ctx, event, records.document(row), workflow.STATUS_LABELS[move.target].lower()
                      + (f" ({reason})" if reason else ""))


async def _validate(ctx: Context, uow: UnitOfWork, row: Document) -> None:
    """Draft -> validated: the origin of an invoice classified billed, a prospect made a customer
    by an order or invoice, and last (the numbering lock is then held to the commit) its ref
    from the type's mask, unless it kept one from an earlier validation."""
    if not await DocumentLine.filter(document_id=row.id).using_db(uow.connection).exists():
        raise ValidationError("lines", f"Add at least one line before validating the {TYPE_LABELS[row.type].lower()}.")
    row.status, row.validated_at, row.validated_by = "validated", uow.now, ctx.actor.id
    await _touch(uow, ctx, row)
    if row.type == "invoice" and row.origin_id:
        await _bill_origin(ctx, uow, row)
    await _won(ctx, uow, row)
    if row.ref is None:
        # a mask's {t} is the type of the third party, as the validation leaves it
        thirdparty = await visible_thirdparty(ctx.actor, row.thirdparty_id, uow.connection)
        row.ref = await numbering.assign_code(uow, row.type, ctx.timezone,
                                              numbering.Target("crm_document", "ref", row.id), thirdparty.type)
    await _record(uow, ctx, workflow.MOVES["validate"].events[row.type], records.document(row), "validated")


async def _bill_origin(ctx: Context, uow: UnitOfWork, invoice: Document) -> None:
    origin = await Document.filter(id=invoice.origin_id).select_for_update().using_db(uow.connection).first()
    if origin is not None and origin.status in workflow.BILLABLE.get(origin.type, ()):
        await _move(ctx, uow, origin, workflow.MOVES["bill"], reason=f"invoice of {_ref(invoice)}")


async def _won(ctx: Context, uow: UnitOfWork, row: Document) -> None:
    """A signed proposal, a validated order or invoice makes a prospect a customer (a "both"
    stays both), in the same transaction."""
    if (row.type, row.status) not in workflow.WINS_A_CUSTOMER:
        return
    thirdparty = await visible_thirdparty(ctx.actor, row.thirdparty_id, uow.connection)
    if thirdparty.type == "prospect":
        action = "signed" if row.type == "proposal" else "validated"
        await thirdparties.update(ctx, row.thirdparty_id, {"type": "customer"},
                                  reason=f"{TYPE_LABELS[row.type].lower()} {_ref(row)} {action}")


async def convert(ctx: Context, document_id: int, to_type: str) -> DocumentRecord:
    """A new draft of `to_type` made from the document: its lines, contacts, notes and
    description copied, each linked to the other; DOC_CONVERT recorded."""
    require_writer(ctx.actor, "create documents")
    if to_type not in workflow.STATUSES:
        raise ValidationError("type", f"{to_type!r} is not a document type (proposal, order, intervention, invoice).")
    async with ctx.transaction() as uow:
        origin = await _locked(ctx, uow, document_id)
        workflow.check_conversion(origin.type, origin.status, to_type)
        today = _today(ctx, uow)
        row = await Document.create(
            type=to_type, status="draft", thirdparty_id=origin.thirdparty_id, rep_id=origin.rep_id,
            origin_id=origin.id, currency=origin.currency, issued_on=today,
            due_on=today + DEFAULT_TERM if to_type == "invoice" else None,
            intervention_on=today if to_type == "intervention" else None,
            note_public=origin.note_public, note_private=origin.note_private,
            description_rich=origin.description_rich, description_html=origin.description_html,
            total_excl_tax=origin.total_excl_tax, total_vat=origin.total_vat, total_incl_tax=origin.total_incl_tax,
            created_at=uow.now, updated_at=uow.now, created_by=ctx.actor.id, updated_by=ctx.actor.id,
            using_db=uow.connection)
        for line in await DocumentLine.filter(document_id=origin.id).order_by("position", "id").using_db(uow.connection):
            await DocumentLine.create(document_id=row.id, **{name: getattr(line, name) for name in _LINE_COPY},
                                      using_db=uow.connection)
        for link in await DocumentContact.filter(document_id=origin.id).using_db(uow.connection):
            await DocumentContact.create(document_id=row.id, contact_id=link.contact_id, role=link.role,
                                         using_db=uow.connection)
        document = records.document(row)
        await _record(uow, ctx, f"{EVENT_PREFIX[to_type]}_CREATE", document, f"created from {_ref(origin)}")
        await agenda.record(uow, "DOC_CONVERT", ctx.actor, row.thirdparty_id,
                            f"{TYPE_LABELS[origin.type]} {_ref(origin)} made into "
                            f"{TYPE_LABELS[to_type].lower()} {document.display_ref}",
                            document_id=row.id, details={"from": origin.id, "from_ref": _ref(origin),
                                                         "to": row.id, "to_type": to_type})
    return document


_LINE_COPY = [name for name in columns(LineRecord) if name != "id"]


async def add_payment(ctx: Context, document_id: int, values: dict) -> DocumentRecord:
    """A payment on a validated invoice (date, amount, method); the invoice is paid once they reach its total."""
    require_writer(ctx.actor, "record payments")
    async with ctx.transaction() as uow:
        row = await _locked(ctx, uow, document_id)
        workflow.check_move(workflow.PAID, row.type, row.status)
        amount = _payment_amount(values.get("amount"), row.currency)
        paid_on = fieldtypes.parse(FieldSpec("paid_on", "Payment date", "date"), values.get("paid_on")) or _today(ctx, uow)
        method = str(values.get("method") or "")
        if method not in PAYMENT_METHODS:
            raise ValidationError("method", f"Method: pick one of {', '.join(PAYMENT_METHODS.values())}.")
        paid = sum([p.amount for p in await Payment.filter(document_id=row.id).using_db(uow.connection)], Decimal(0))
        remaining = row.total_incl_tax - paid
        if amount > remaining:
            raise ValidationError("amount", f"Amount: {amount} is more than the {remaining:f} {row.currency} "
                                            "that remain to be paid.")
        await Payment.create(document_id=row.id, paid_on=paid_on, amount=amount, method=method,
                             created_at=uow.now, created_by=ctx.actor.id, using_db=uow.connection)
        if amount == remaining:
            await _move(ctx, uow, row, workflow.PAID)
        else:
            await _touch(uow, ctx, row)
    return records.document(row)


def _payment_amount(raw, currency: str) -> Decimal:
    amount = fieldtypes.parse(FieldSpec("amount", "Amount", "amount", required=True), raw)
    if amount <= 0:
        raise ValidationError("amount", f"Amount: {amount} is not more than 0.")
    if amount != money.rounded(amount, currency):
        raise ValidationError("amount", f"Amount: {amount} has more decimals than {currency} has.")
    return amount


# --- shared steps ---

async def _visible(ctx: Context, document_id: int, connection=None, *,
                   for_update: bool = False) -> tuple[Document, ThirdParty]:
    """The document and its third party, which the actor may see; NotFound in words otherwise."""
    query = Document.filter(id=document_id)
    if for_update:
        query = query.select_for_update()
    row = await query.using_db(connection).first()
    if row is None:
        raise NotFound(GONE)
    return row, await visible_thirdparty(ctx.actor, row.thirdparty_id, connection)


async def _locked(ctx: Context, uow: UnitOfWork, document_id: int) -> Document:
    row, _ = await _visible(ctx, document_id, uow.connection, for_update=True)
    return row


async def _touch(uow: UnitOfWork, ctx: Context, row: Document) -> None:
    row.updated_at, row.updated_by = uow.now, ctx.actor.id
    await row.save(using_db=uow.connection)


async def _record(uow: UnitOfWork, ctx: Context, code: str, document: DocumentRecord, what: str) -> None:
    await agenda.record(uow, code, ctx.actor, document.thirdparty_id,
                        f"{TYPE_LABELS[document.type]} {document.display_ref} {what}", document_id=document.id)


def _ref(row: Document) -> str:
    return records.document_ref(row.ref, row.id)


def _today(ctx: Context, uow: UnitOfWork) -> date:
    return uow.now.astimezone(ctx.timezone).date()
