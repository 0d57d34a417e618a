"""Phone numbers compared as numbers: `01 23 45 67 89` in France and `+33 1 23 45 67 89` are
one number, +33123456789 in E.164, read with the phonenumbers library (Google's libphonenumber
metadata) and the record's country as the region of numbers written without a country code."""
from __future__ import annotations

import functools

import phonenumbers


@functools.lru_cache(maxsize=4096)
def parse(phone: str, region: str = "") -> phonenumbers.PhoneNumber | None:
    """The number `phone` writes, read in the region's plan when it has no country code; None
    when it is no number that plan (or its country's) allows. Remembered: cleaning, keys and
    search text each read the same number (an import reads thousands); callers never change it."""
    try:
        number = phonenumbers.parse(phone, region.upper() or None)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def e164_of(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def e164(phone: str, country: str = "") -> str:
    """The number in E.164 (`+33123456789`), or "" when it cannot be one."""
    number = parse(phone, country) if phone.strip() else None
    return e164_of(number) if number else ""


def display(phone: str) -> str:
    """A stored number as people read it (`+33 1 23 45 67 89`); one kept as typed stays so."""
    number = parse(phone) if phone.startswith("+") else None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL) if number else phone


def searchable(phone: str) -> str:
    """A stored number as a search finds it: as stored, and as dialled in its own country
    (`01 23 45 67 89`), so either way of typing it matches."""
    number = parse(phone) if phone.startswith("+") else None
    if number is None:
        return phone
    return f"{phone} {phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)}"
