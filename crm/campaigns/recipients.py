"""A campaign's recipients, written when sending starts (SPEC §7): the matching third parties'
own emails and their contacts' emails, one row per lower-cased address (a contact wins over a
bare third-party email, and its language picks the template's); an opted-out, missing or
invalid address is a `skipped` row with the reason, so the campaign's figures add up."""
from __future__ import annotations

from dataclasses import dataclass

from tortoise.expressions import Subquery

from crm import filters, validators
from crm.context import Context
from crm.db import insert_rows
from crm.errors import ValidationError
from models import CampaignRecipient, Contact, OptOut

OPTED_OUT = "opted out"
PAGE = 2000  # third parties or contacts read, and recipients written, at a time
NO_ADDRESS = "no email address"


@dataclass
class _Recipient:
    address: str
    thirdparty_id: int
    contact_id: int | None
    language: str
    status: str = "pending"
    reason: str = ""


async def write(ctx: Context, campaign_id: int, target: str) -> int:
    """Write the recipients of `target` as the actor sees it, in the open transaction, a page at a
    time (memory stays flat however many there are); returns how many."""
    async with ctx.transaction() as uow:
        chosen = await filters.thirdparties(ctx, target)
        people = Contact.filter(thirdparty_id__in=Subquery(chosen.values("id"))).exclude(email="")
        written = 0
        # contacts first: they win over their third party's own address
        async for page in _pages(people, uow.connection, "id", "thirdparty_id", "email", "language",
                                 "thirdparty__language"):
            written += await _write(uow.connection, campaign_id, [
                _recipient(person["email"], person["thirdparty_id"], person["id"],
                           person["language"] or person["thirdparty__language"]) for person in page])
        async for page in _pages(chosen, uow.connection, "id", "code", "email", "language"):
            unreached = await _without_contact_address(uow.connection, [o["id"] for o in page if not o["email"]])
            written += await _write(uow.connection, campaign_id, [
                _recipient(owner["email"], owner["id"], None, owner["language"]) if owner["email"] else
                _Recipient(f"({NO_ADDRESS}: {owner['code']})", owner["id"], None, owner["language"], "skipped",
                           NO_ADDRESS)  # one row each, so that the figures add up
                for owner in page if owner["email"] or owner["id"] in unreached])
    return written


async def _pages(query, connection, *columns: str):
    """The rows of `query`, PAGE at a time, in the order of their ids."""
    after = 0
    while page := await query.filter(id__gt=after).order_by("id").limit(PAGE).using_db(connection).values(*columns):
        yield page
        after = page[-1]["id"]


async def _without_contact_address(connection, thirdparty_ids: list[int]) -> set[int]:
    """Those of the third parties none of whose contacts has an address."""
    reached = await Contact.filter(thirdparty_id__in=thirdparty_ids).exclude(email="").using_db(
        connection).values_list("thirdparty_id", flat=True)
    return set(thirdparty_ids) - set(reached)


async def _write(connection, campaign_id: int, found: list[_Recipient]) -> int:
    """Write the page's recipients but those of an address already written (one email per
    address), opted-out ones skipped."""
    first_of: dict[str, _Recipient] = {}
    for recipient in found:
        first_of.setdefault(recipient.address, recipient)
    unique = list(first_of.values())
    addresses = [recipient.address for recipient in unique]
    taken = set(await CampaignRecipient.filter(campaign_id=campaign_id, address__in=addresses).using_db(
        connection).values_list("address", flat=True))
    opted_out = set(await OptOut.filter(address__in=addresses).using_db(connection).values_list("address", flat=True))
    fresh = [recipient for recipient in unique if recipient.address not in taken]
    for recipient in fresh:
        if recipient.address in opted_out and recipient.status == "pending":
            recipient.status, recipient.reason = "skipped", OPTED_OUT
    await insert_rows(connection, "crm_campaign_recipient", [
        {"campaign_id": campaign_id, "address": r.address, "thirdparty_id": r.thirdparty_id,
         "contact_id": r.contact_id, "language": r.language, "status": r.status, "reason": r.reason,
         "message_id": "", "attempts": 0, "claimed_by": ""} for r in fresh])
    return len(fresh)


def _recipient(email: str, thirdparty_id: int, contact_id: int | None, language: str) -> _Recipient:
    """The recipient of one address, lower-cased; skipped when it is not an address."""
    address = email.strip().lower()
    try:
        validators.email("email", "Email", address)
    except ValidationError as error:
        return _Recipient(address[:255], thirdparty_id, contact_id, language, "skipped",
                          f"invalid address: {error.message}")
    return _Recipient(address, thirdparty_id, contact_id, language)
