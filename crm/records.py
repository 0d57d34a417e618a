"""What leaves the domain: plain, frozen data. Views, templates and jobs get these, never ORM
rows, so nothing outside `crm` can reach the database through what it was given."""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal


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
