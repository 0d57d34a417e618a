"""What leaves the domain: plain, frozen data. Views, templates and jobs get these, never ORM
rows, so nothing outside `crm` can reach the database through what it was given."""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal

from crm.documents.workflow import TYPE_LABELS as DOCUMENT_TYPE_LABELS


@dataclass(frozen=True)
class ThirdPartyRecord:
    id: int
    code: str
    name: str
    alias: str
    type: str
    status: str
    email: str
    phone: str
    website: str
    address: str
    zip: str
    town: str
    country: str
    language: str
    vat_id: str
    note_public: str
    note_private: str
    created_at: datetime
    updated_at: datetime
    created_by: str
    updated_by: str


@dataclass(frozen=True)
class ContactRecord:
    id: int
    thirdparty_id: int
    first_name: str
    last_name: str
    job_title: str
    email: str
    phone: str
    address: str
    zip: str
    town: str
    country: str
    language: str
    note: str
    default_roles: str  # comma-separated roles (crm.contacts.default_roles)
    created_at: datetime
    updated_at: datetime
    created_by: str
    updated_by: str

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part) or self.email or "(no name)"


@dataclass(frozen=True)
class ProductRecord:
    id: int
    ref: str
    label: str
    description: str
    unit_price: Decimal
    vat_rate: Decimal
    cost_price: Decimal
    unit: str
    active: bool
    created_at: datetime
    updated_at: datetime
    created_by: str
    updated_by: str


def record(kind: type, row) -> object:
    """The plain `kind` (one of the dataclasses above) of an ORM row or any object with its fields."""
    return kind(**{f.name: getattr(row, f.name) for f in fields(kind)})


def columns(kind: type) -> list[str]:
    """What to read from the database to make a `kind` (ORM `.values(*columns(kind))`)."""
    return [f.name for f in fields(kind)]


def thirdparty(row) -> ThirdPartyRecord:
    return record(ThirdPartyRecord, row)


def contact(row) -> ContactRecord:
    return record(ContactRecord, row)


def product(row) -> ProductRecord:
    return record(ProductRecord, row)


@dataclass(frozen=True)
class DocumentRecord:
    id: int
    type: str
    ref: str | None  # None until validated
    status: str
    thirdparty_id: int | None  # None once the third party was erased (the document stays for the books)
    rep_id: str | None
    origin_id: int | None
    currency: str
    issued_on: date
    valid_until: date | None
    due_on: date | None
    intervention_on: date | None
    intervention_minutes: int | None
    note_public: str
    note_private: str
    description_rich: dict | None
    description_html: str
    total_excl_tax: Decimal
    total_vat: Decimal
    total_incl_tax: Decimal
    validated_at: datetime | None
    pdf_sha256: str | None
    pdf_name: str | None
    created_at: datetime
    updated_at: datetime
    created_by: str
    updated_by: str

    @property
    def display_ref(self) -> str:
        return document_ref(self.ref, self.id)

    @property
    def title(self) -> str:
        """How people name it: `Proposal PR2611-0001`."""
        return f"{DOCUMENT_TYPE_LABELS[self.type]} {self.display_ref}"


@dataclass(frozen=True)
class LineRecord:
    id: int
    position: int
    product_id: int | None
    label: str
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    discount_percent: Decimal
    vat_rate: Decimal
    cost_price: Decimal
    total_excl_tax: Decimal
    total_vat: Decimal


@dataclass(frozen=True)
class PaymentRecord:
    id: int
    paid_on: date
    amount: Decimal
    method: str
    created_at: datetime
    created_by: str


def document_ref(ref: str | None, document_id: int) -> str:
    """A document's ref, or `(PROV<id>)` while it is a draft that never had one."""
    return ref or f"(PROV{document_id})"


def document(row) -> DocumentRecord:
    return record(DocumentRecord, row)
