"""The language of a document's PDF: its labels, from the gettext catalogs under
templates/documents/locale, and how its amounts, numbers and dates are written (Babel, CLDR).

The third party's language picks both: "fr", "fr_BE" and "fr-CA" print French labels, with
Belgian or Canadian numbers where they differ. A language without a catalog prints in
English, the language of the templates themselves, so a document never mixes two.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from io import BytesIO
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.lists import format_list
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, format_percent
from babel.support import NullTranslations, Translations
from babel.units import format_unit

TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "templates" / "documents"
LOCALE_DIR = TEMPLATE_DIR / "locale"
CATALOG_DOMAIN = "documents"
TEMPLATE_LANGUAGE = "en"
HUNDRED = Decimal(100)


@cache
def languages() -> frozenset[str]:
    """The languages a document can be printed in: English and each one with a catalog."""
    catalogs = {path.parent.parent.name for path in LOCALE_DIR.glob(f"*/LC_MESSAGES/{CATALOG_DOMAIN}.po")}
    return frozenset(catalogs | {TEMPLATE_LANGUAGE})


def document_locale(language: str) -> Locale:
    """The locale a document in `language` ("fr", "fr_BE", "fr-CA", "") is printed in."""
    try:
        locale = Locale.parse(language.replace("-", "_"))
    except (AttributeError, ValueError, UnknownLocaleError):
        return Locale.parse(TEMPLATE_LANGUAGE)
    return locale if locale.language in languages() else Locale.parse(TEMPLATE_LANGUAGE)


@cache
def translations(language: str) -> NullTranslations:
    """The labels of `language` (one of `languages()`), compiled from its .po file at first use."""
    if language == TEMPLATE_LANGUAGE:
        return NullTranslations()
    with open(LOCALE_DIR / language / "LC_MESSAGES" / f"{CATALOG_DOMAIN}.po", "rb") as source:
        catalog = read_po(source, locale=language, domain=CATALOG_DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=CATALOG_DOMAIN)


@dataclass(frozen=True)
class Formats:
    """How a document's figures are written: Decimal in, text out (never through float)."""

    locale: Locale
    currency: str

    def money(self, amount: Decimal) -> str:
        """An amount rounded to the currency's minor unit, as totals are: "€1,234.50", "1 234,50 €"."""
        return format_currency(amount, self.currency, locale=self.locale)

    def price(self, amount: Decimal) -> str:
        """A unit price with every decimal it was given ("€0.125"), at least the currency's."""
        return format_currency(amount, self.currency, locale=self.locale, decimal_quantization=False)

    def number(self, value: Decimal) -> str:
        return format_decimal(value, locale=self.locale, decimal_quantization=False)

    def percent(self, rate: Decimal) -> str:
        """A rate given in percent (Decimal("5.5")): "5.5%", "5,5 %"."""
        return format_percent(rate / HUNDRED, locale=self.locale, decimal_quantization=False)

    def country(self, code: str) -> str:
        """The name of an ISO 3166 country ("FR": "France", "Allemagne" for "DE" in French)."""
        return self.locale.territories.get(code.upper(), code)

    def date(self, value: datetime.date) -> str:
        return format_date(value, "long", locale=self.locale)

    def duration(self, minutes: int) -> str:
        """ "1 hr, 30 min", "1 h et 30 min", "45 min"."""
        hours, minutes = divmod(minutes, 60)
        parts = [format_unit(hours, "duration-hour", length="short", locale=self.locale)] if hours else []
        if minutes or not hours:
            parts.append(format_unit(minutes, "duration-minute", length="short", locale=self.locale))
        return format_list(parts, style="unit-short", locale=self.locale)
