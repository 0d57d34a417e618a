"""Money on documents (SPEC "Money"): one rounding rule, in one place.

A line's total excluding tax is quantity × unit price × (1 − discount %), and its VAT is that
total × rate; each is rounded half-up to the currency's minor unit (2 decimals for EUR, 0 for
JPY, 3 for KWD: ISO 4217, from Babel's CLDR data). A document's totals are the sums of its
rounded line figures, with the VAT also summed per rate, so that the lines printed on a PDF
always add up to its totals. Everything is `Decimal`; a float is refused.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import get_currency_precision

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Line:
    """What a document line says about money."""

    quantity: Decimal
    unit_price: Decimal  # excluding tax
    discount_percent: Decimal
    vat_rate: Decimal  # percent


@dataclass(frozen=True)
class LineTotals:
    excl_tax: Decimal
    vat: Decimal


@dataclass(frozen=True)
class Totals:
    excl_tax: Decimal
    vat_by_rate: dict[Decimal, Decimal]  # rate (percent) -> VAT at that rate, rates in increasing order
    vat: Decimal
    incl_tax: Decimal


def minor_unit(currency: str) -> Decimal:
    """The smallest amount of `currency`: Decimal("0.01") for EUR, Decimal("1") for JPY."""
    return Decimal(1).scaleb(-get_currency_precision(currency))


def rounded(amount: Decimal, currency: str) -> Decimal:
    """`amount` rounded half-up to the currency's minor unit."""
    _require_decimal(amount)
    return amount.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


def line_totals(line: Line, currency: str) -> LineTotals:
    for value in (line.quantity, line.unit_price, line.discount_percent, line.vat_rate):
        _require_decimal(value)
    excl_tax = rounded(line.quantity * line.unit_price * (1 - line.discount_percent / HUNDRED), currency)
    return LineTotals(excl_tax, rounded(excl_tax * line.vat_rate / HUNDRED, currency))


def document_totals(lines: Iterable[Line], currency: str) -> Totals:
    zero = rounded(Decimal(0), currency)
    excl_tax, by_rate = zero, {}
    for line in lines:
        figures = line_totals(line, currency)
        excl_tax += figures.excl_tax
        rate = line.vat_rate.normalize()
        by_rate[rate] = by_rate.get(rate, zero) + figures.vat
    vat = sum(by_rate.values(), zero)
    return Totals(excl_tax, dict(sorted(by_rate.items())), vat, excl_tax + vat)


def _require_decimal(value) -> None:
    if not isinstance(value, Decimal):
        raise TypeError(f"money is Decimal, never {type(value).__name__} ({value!r})")
