"""What a document's PDF is made from: plain, frozen data, picklable for the render processes.

The domain builds a `PrintableDocument` from the database; the renderer (crm.documents.pdf)
turns it into a PDF without reaching anything else.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from crm.money import Totals

DOCUMENT_TYPES = ("proposal", "order", "intervention", "invoice")


@dataclass(frozen=True)
class Party:
    """A sender or recipient block."""

    name: str
    address: str = ""  # may hold several lines
    zip: str = ""
    town: str = ""
    country: str = ""  # ISO 3166 alpha-2, "" when unknown
    vat_id: str = ""
    email: str = ""
    phone: str = ""
    attention: str = ""  # the contact the document is for ("Jane Doe"), "" for none


@dataclass(frozen=True)
class Company(Party):
    """Our own company, from the settings admins keep."""

    logo_path: str | None = None  # absolute path of the logo in the file store, None for none


@dataclass(frozen=True)
class PrintableLine:
    label: str  # "REF - Product label" for a product line, the text of a free-text line
    description: str  # plain text, may hold several lines
    quantity: Decimal
    unit: str
    unit_price: Decimal  # excluding tax
    discount_percent: Decimal
    vat_rate: Decimal  # percent
    excl_tax: Decimal  # the line's rounded figures (crm.money.line_totals)
    vat: Decimal


@dataclass(frozen=True)
class PrintableDocument:
    type: str  # one of DOCUMENT_TYPES
    ref: str  # "PR2611-00001" once validated, "(PROV12)" for a draft
    status: str
    language: str  # the third party's language ("fr", "en_GB"…); "" prints in English
    currency: str  # ISO 4217
    issued_on: date
    company: Company
    recipient: Party
    rep_name: str  # the sales rep, "" for none
    lines: tuple[PrintableLine, ...]
    totals: Totals
    valid_until: date | None = None  # proposals
    due_on: date | None = None  # invoices
    intervention_on: date | None = None  # interventions
    intervention_minutes: int | None = None
    paid: Decimal = Decimal(0)  # invoices: the payments so far
    note_public: str = ""  # plain text
    description_html: str = ""  # already sanitized (crm.documents.richtext)
    origin_ref: str = ""  # the proposal or order it was made from
