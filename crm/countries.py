"""Countries and languages as the menus offer them: ISO 3166-1 countries from pycountry (a
maintained copy of the standard), languages as Unicode CLDR knows them (babel), each named in
the reader's language."""
from __future__ import annotations

import functools
import re

import pycountry
from babel import Locale, UnknownLocaleError
from babel.localedata import locale_identifiers

from crm.normalize import fold

CODES = frozenset(country.alpha_2 for country in pycountry.countries)
ENGLISH = "en"
# A language as records store it: `fr`, or `fr_CA` for French as spoken in Canada.
LANGUAGE = re.compile(r"^([a-z]{2,3})(?:[_-]([a-z]{2}))?$", re.IGNORECASE)


def reader_locale(slack_locale: str | None) -> Locale:
    """The locale whose words name things for a reader (Slack's `fr-FR`), English when unknown."""
    try:
        return Locale.parse(slack_locale or ENGLISH, sep="-" if "-" in (slack_locale or "") else "_")
    except (UnknownLocaleError, ValueError, TypeError):
        return Locale(ENGLISH)


def country_name(code: str, reader: Locale | None = None) -> str:
    """The country's name in the reader's language (English by default); an unknown code as it is."""
    reader = reader or Locale(ENGLISH)
    return reader.territories.get(code) or Locale(ENGLISH).territories.get(code) or code


def language_code(raw: str) -> str | None:
    """`raw` as a stored language (`fr`, `fr_CA`), or None when CLDR knows no such language or
    the region is no country."""
    match = LANGUAGE.match(raw.strip())
    if not match:
        return None
    base, region = match.group(1).lower(), (match.group(2) or "").upper()
    if region and region not in CODES:
        return None
    try:
        Locale(base)
    except UnknownLocaleError:
        return None
    return f"{base}_{region}" if region else base


def language_name(code: str, reader: Locale | None = None) -> str:
    """The language's name in the reader's language, e.g. `fr_CA` → "French (Canada)"."""
    reader = reader or Locale(ENGLISH)
    try:
        name = Locale.parse(code).get_display_name(reader)
    except (UnknownLocaleError, ValueError):
        base, _, region = code.partition("_")
        name = reader.languages.get(base, base) + (f" ({country_name(region, reader)})" if region else "")
    return name[:1].upper() + name[1:] if name else code


@functools.lru_cache(maxsize=32)
def country_choices(reader: Locale) -> tuple[tuple[str, str, str], ...]:
    """Every country as (code, name, folded name and code), by name in the reader's language."""
    named = [(code, country_name(code, reader)) for code in CODES]
    return tuple(sorted(((code, name, fold(f"{name} {code}")) for code, name in named),
                        key=lambda choice: choice[2]))


@functools.lru_cache(maxsize=32)
def language_choices(reader: Locale) -> tuple[tuple[str, str, str], ...]:
    """The languages CLDR has data for, with their regional variants, named and sorted as above."""
    codes = {code for code in (language_code(identifier) for identifier in locale_identifiers()
                               if LANGUAGE.match(identifier)) if code}
    named = [(code, language_name(code, reader)) for code in codes]
    return tuple(sorted(((code, name, fold(f"{name} {code}")) for code, name in named),
                        key=lambda choice: choice[2]))


def matching(choices: tuple[tuple[str, str, str], ...], typed: str, limit: int) -> list[tuple[str, str]]:
    """The (code, name) of the choices holding every folded word typed, names starting with them
    first, an exact code before all."""
    words = fold(typed).split()
    found = [(code, name, folded) for code, name, folded in choices if all(w in folded for w in words)]
    typed_text = " ".join(words)
    found.sort(key=lambda c: (fold(c[0]) != typed_text, not c[2].startswith(typed_text)))
    return [(code, name) for code, name, _ in found[:limit]]
