"""Unsubscribe links (`PUBLIC_URL/u/TOKEN`): the token names the address and is signed with
CRM_SECRET_KEY, so nobody can unsubscribe an address they only guess, and no database row is
needed per link. The opt-out list itself is global (SPEC §7): an address on it gets no later
campaign; one-off emails from a rep still reach it."""
from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime

from tortoise.exceptions import IntegrityError

from crm.errors import NotFound
from models import CampaignRecipient, OptOut

SIGNATURE_BYTES = 16


def token(secret_key: str, address: str) -> str:
    """The token of `address` (lower-cased, as the opt-out list keeps addresses)."""
    payload = address.strip().lower().encode("utf-8")
    return f"{_encode(payload)}.{_encode(_signature(secret_key, payload))}"


def address_of(secret_key: str, given: str) -> str:
    """The address a token names; NotFound when it was not made with our key."""
    encoded, _, signature = given.partition(".")
    try:
        payload = _decode(encoded)
        valid = hmac.compare_digest(_decode(signature), _signature(secret_key, payload))
        address = payload.decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        valid = False
    if not valid:
        raise NotFound("This unsubscribe link is not valid; use the link of the latest email.")
    return address


def url(public_url: str, secret_key: str, address: str) -> str:
    return f"{public_url.rstrip('/')}/u/{token(secret_key, address)}"


async def opt_out(address: str, reason: str, now: datetime) -> None:
    """Put `address` on the opt-out list (asking twice changes nothing); the campaigns still
    sending skip it too."""
    address = address.strip().lower()
    if not await OptOut.exists(address=address):
        try:
            await OptOut.create(address=address, reason=reason, created_at=now)
        except IntegrityError:
            pass  # asked twice at once
    await CampaignRecipient.filter(address=address, status="pending").update(status="skipped", reason="opted out")


def _signature(secret_key: str, payload: bytes) -> bytes:
    return hmac.new(secret_key.encode("utf-8"), b"unsubscribe:" + payload, hashlib.sha256).digest()[:SIGNATURE_BYTES]


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
