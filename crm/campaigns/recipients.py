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
from models import Contact, OptOut

OPTED_OUT = "opted out"
LOOKUP_CHUNK = 5000  # addresses a query looks up at once (the drivers cap a query's parameters)
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
    """Write the recipients of `target` as the actor sees it, in the open transaction; returns how many."""
    async with ctx.transaction() as uow:
        chosen = await filters.thirdparties(ctx, target)
        owners = {row["id"]: row for row in await chosen.using_db(uow.connection).values(
            "id", "code", "email", "language")}
        people = await Contact.filter(thirdparty_id__in=Subquery(chosen.values("id"))).exclude(email="").using_db(
            uow.connection).values("id", "thirdparty_id", "email", "language")
        found = _by_address(owners, people)
        opted_out = await _opted_out(uow.connection, [r.address for r in found if r.status == "pending"])
        for recipient in found:
            if recipient.address in opted_out:
                recipient.status, recipient.reason = "skipped", OPTED_OUT
        await insert_rows(uow.connection, "crm_campaign_recipient", [
            {"campaign_id": campaign_id, "address": r.address, "thirdparty_id": r.thirdparty_id,
             "contact_id": r.contact_id, "language": r.language, "status": r.status, "reason": r.reason,
             "message_id": "", "attempts": 0, "claimed_by": ""} for r in found])
    return len(found)


async def _opted_out(connection, addresses: list[str]) -> set[str]:
    opted_out = set()
    for start in range(0, len(addresses), LOOKUP_CHUNK):
        opted_out.update(await OptOut.filter(address__in=addresses[start:start + LOOKUP_CHUNK]).using_db(
            connection).values_list("address", flat=True))
    return opted_out


def _by_address(owners: dict[int, dict], people: list[dict]) -> list[_Recipient]:
    found: dict[str, _Recipient] = {}
    reached: set[int] = set()
    for person in people:  # contacts first: they win over a third party's own address
        owner = owners[person["thirdparty_id"]]
        _add(found, person["email"], owner["id"], person["id"], person["language"] or owner["language"])
        reached.add(owner["id"])
    for owner in owners.values():
        if owner["email"]:
            _add(found, owner["email"], owner["id"], None, owner["language"])
        elif owner["id"] not in reached:
            key = f"({NO_ADDRESS}: {owner['code']})"  # one row each, so that the figures add up
            found[key] = _Recipient(key, owner["id"], None, owner["language"], "skipped", NO_ADDRESS)
    return list(found.values())


def _add(found: dict[str, _Recipient], email: str, thirdparty_id: int, contact_id: int | None, language: str) -> None:
    address = email.strip().lower()
    if address in found:
        return
    try:
        validators.email("email", "Email", address)
    except ValidationError as error:
        found[address] = _Recipient(address[:255], thirdparty_id, contact_id, language, "skipped",
                                    f"invalid address: {error.message}")
        return
    found[address] = _Recipient(address, thirdparty_id, contact_id, language)
