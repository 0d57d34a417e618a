"""Checks for the values people type, shared by built-in and custom fields.

Each takes the field name and its label (for the message) and the raw text, and returns
the cleaned value or raises `ValidationError` naming the field.
"""
import re
from urllib.parse import urlsplit

import email_validator

from crm import countries, phones
from crm.errors import ValidationError

# What no database column should hold: NUL (PostgreSQL refuses it), the other control
# characters but tab and line breaks, and halves of surrogate pairs (not text at all).
UNSTORABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def storable(field: str, label: str, raw: str) -> str:
    """`raw` itself, unless it holds a character no record may store."""
    found = UNSTORABLE.search(raw)
    if found:
        raise ValidationError(field, f"{label} contains an invisible control character "
                                     f"(U+{ord(found.group()):04X}) that cannot be stored; remove it.")
    return raw


def text(field: str, label: str, raw: str, *, max_length: int) -> str:
    value = storable(field, label, raw).strip()
    if len(value) > max_length:
        raise ValidationError(field, f"{label} is {len(value)} characters long; at most {max_length} fit.")
    return value


def email(field: str, label: str, raw: str) -> str:
    """The address as email-validator normalises it (domain lower-cased, internationalised
    domains and local parts in Unicode NFC); its syntax only: no DNS look-up."""
    value = storable(field, label, raw).strip()
    try:
        checked = email_validator.validate_email(value, check_deliverability=False)
    except email_validator.EmailNotValidError as error:
        raise ValidationError(field, f"{label}: {value!r} is not an email address, e.g. jane@example.com. "
                                     f"{error}") from None
    if len(checked.normalized) > 255:
        raise ValidationError(field, f"{label} is longer than 255 characters.")
    return checked.normalized


def phone(field: str, label: str, raw: str, region: str = "", *, country_label: str = "") -> str:
    """The number in E.164 (`+33123456789`), read with the region's numbering plan when written
    without a country code; a number no plan allows (a digit missing or too many) is refused.
    `country_label`: the record's country field, which a number without its code needs."""
    value = storable(field, label, raw).strip()
    number = phones.parse(value, region)
    if number is None and not region and not value.startswith("+"):
        raise ValidationError(field, f"{label}: {value!r} is not a phone number with its country code, "
                                     f"e.g. +33 1 23 45 67 89"
                                     + (f"; or choose the {country_label} first." if country_label else "."))
    if number is None:
        raise ValidationError(field, f"{label}: {value!r} is not a phone number"
                                     f"{' in ' + countries.country_name(region) if region else ''}, "
                                     f"e.g. +33 1 23 45 67 89.")
    return phones.e164_of(number)


def url(field: str, label: str, raw: str) -> str:
    value = storable(field, label, raw).strip()
    if "://" not in value:
        value = "https://" + value
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or "." not in parts.hostname or " " in value:
        raise ValidationError(field, f"{label}: {raw.strip()!r} is not a web address, e.g. https://example.com.")
    if len(value) > 255:
        raise ValidationError(field, f"{label} is longer than 255 characters.")
    return value


def country(field: str, label: str, raw: str) -> str:
    value = raw.strip().upper()
    if value not in countries.CODES:
        raise ValidationError(field, f"{label}: {raw.strip()!r} is not an ISO 3166-1 country code, e.g. FR, DE or US.")
    return value


def language(field: str, label: str, raw: str) -> str:
    code = countries.language_code(raw)
    if code is None:
        raise ValidationError(field, f"{label}: {raw.strip()!r} is not a language code, e.g. en, fr or fr_CA.")
    return code


# The checks shared by third parties and contacts, by field name.
ADDRESS_BOOK_CHECKS = {"email": email, "phone": phone, "country": country, "language": language}


def changed_only(values: dict, stored) -> dict:
    """`values` but those `stored` already holds as they are: a value kept as it was typed before
    today's checks (`crm doctor` lists them) is not refused when another field is edited."""
    return {name: value for name, value in values.items()
            if not (isinstance(value, str) and value.strip() == getattr(stored, name, None))}


def clean_fields(values: dict, labels: dict[str, str], limits: dict[str, int], checks: dict, what: str,
                 *, region: str = "") -> dict:
    """Clean the given built-in fields of a `what` (third party, contact): trimmed text,
    special checks for emails, phones and the like, length limits. Empty stays empty.

    A phone number written without its country code is read as one of the country given with
    it, else of `region` (the country the record already has)."""
    unknown = sorted(set(values) - set(labels))
    if unknown:
        raise ValidationError(unknown[0], f"{unknown[0]!r} is not a {what} field.")
    given = {name: "" if value is None else str(value).strip() for name, value in values.items()}
    if given.get("country") and "country" in checks:
        region = checks["country"]("country", labels["country"], given["country"])
    cleaned = {}
    for name, label in labels.items():
        if name not in given:
            continue
        raw = given[name]
        check = checks.get(name) if raw else None
        if check is phone:
            cleaned[name] = phone(name, label, raw, region, country_label=labels.get("country", ""))
        elif check:
            cleaned[name] = check(name, label, raw)
        else:
            cleaned[name] = text(name, label, raw, max_length=limits.get(name, 255))
    return cleaned
