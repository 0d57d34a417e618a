"""Phone numbers compared as numbers: `01 23 45 67 89` in France and `+33 1 23 45 67 89` are
one number, +33123456789 in E.164, read with the phonenumbers library (Google's libphonenumber
metadata) and the record's country as the region of numbers written without a country code."""
from __future__ import annotations

import phonenumbers


def e164(phone: str, country: str = "") -> str:
    """The number in E.164 (`+33123456789`), or "" when it cannot be one."""
    if not phone.strip():
        return ""
    try:
        number = phonenumbers.parse(phone, country.upper() or None)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_possible_number(number):
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
