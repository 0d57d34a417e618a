"""Checks for the values people type, shared by built-in and custom fields.

Each takes the field name and its label (for the message) and the raw text, and returns
the cleaned value or raises `ValidationError` naming the field.
"""
import re
from urllib.parse import urlsplit

from crm.countries import CODES as COUNTRY_CODES
from crm.errors import ValidationError

EMAIL = re.compile(r"^[^@\s<>(),;:\"\[\]]+@[^@\s<>(),;:\"\[\]]+\.[^@\s<>(),;:\"\[\]]+$")
PHONE = re.compile(r"^[0-9+\-().\s/]+$")
LANGUAGE = re.compile(r"^([a-z]{2,3})(?:[_-]([a-z]{2}))?$", re.IGNORECASE)
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
    value = storable(field, label, raw).strip()
    if not EMAIL.match(value) or len(value) > 255:
        raise ValidationError(field, f"{label}: {value!r} is not an email address, e.g. jane@example.com.")
    local, domain = value.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


def phone(field: str, label: str, raw: str) -> str:
    value = storable(field, label, raw).strip()
    if not PHONE.match(value) or sum(ch.isdigit() for ch in value) < 6 or len(value) > 64:
        raise ValidationError(field, f"{label}: {value!r} is not a phone number, e.g. +33 1 23 45 67 89.")
    return value


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
    if value not in COUNTRY_CODES:
        raise ValidationError(field, f"{label}: {raw.strip()!r} is not an ISO 3166-1 country code, e.g. FR, DE or US.")
    return value


def language(field: str, label: str, raw: str) -> str:
    match = LANGUAGE.match(raw.strip())
    if not match:
        raise ValidationError(field, f"{label}: {raw.strip()!r} is not a language code, e.g. en, fr or en_US.")
    base, region = match.groups()
    return base.lower() + (f"_{region.upper()}" if region else "")


# The checks shared by third parties and contacts, by field name.
ADDRESS_BOOK_CHECKS = {"email": email, "phone": phone, "country": country, "language": language}


def clean_fields(values: dict, labels: dict[str, str], limits: dict[str, int], checks: dict, what: str) -> dict:
    """Clean the given built-in fields of a `what` (third party, contact): trimmed text,
    special checks for emails, phones and the like, length limits. Empty stays empty."""
    unknown = sorted(set(values) - set(labels))
    if unknown:
        raise ValidationError(unknown[0], f"{unknown[0]!r} is not a {what} field.")
    cleaned = {}
    for name, label in labels.items():
        if name not in values:
            continue
        raw = "" if values[name] is None else str(values[name]).strip()
        if raw and name in checks:
            cleaned[name] = checks[name](name, label, raw)
        else:
            cleaned[name] = text(name, label, raw, max_length=limits.get(name, 255))
    return cleaned
