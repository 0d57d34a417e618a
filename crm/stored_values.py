"""Stored emails, phones, countries and languages measured against today's checks (crm.validators).

Records typed before those checks may hold values they refuse (a number without its country
code and no country, an address with two @). Migration 0008 rewrites each value that parses in
its checked form (E.164, a normalised address, an upper-case country code); one that does not is
kept as it was typed, never dropped, and `crm doctor` lists it so that someone fixes it.
"""
from __future__ import annotations

from dataclasses import dataclass

from crm import validators
from crm.db import sql
from crm.errors import ValidationError

CHECKED = ("email", "phone", "country", "language")
BATCH = 1000
# Each table's rows with the country their phone numbers are read in (a contact's own, else its
# third party's) and the code of the third party they belong to, for the doctor's list.
SOURCES = {
    "crm_thirdparty": ("SELECT t.id, t.id AS owner, t.code, t.email, t.phone, t.country, t.language, t.country AS region "
                       "FROM crm_thirdparty t WHERE t.id > ? ORDER BY t.id LIMIT ?"),
    "crm_contact": ("SELECT c.id, t.id AS owner, t.code, c.email, c.phone, c.country, c.language, "
                    "CASE WHEN c.country <> '' THEN c.country ELSE t.country END AS region "
                    "FROM crm_contact c JOIN crm_thirdparty t ON t.id = c.thirdparty_id "
                    "WHERE c.id > ? ORDER BY c.id LIMIT ?"),
}
WHAT = {"crm_thirdparty": "third party", "crm_contact": "contact of"}
CHECKS = {"email": validators.email, "country": validators.country, "language": validators.language}


@dataclass(frozen=True)
class Unchecked:
    """A stored value today's checks refuse, and why."""

    table: str
    row_id: int
    code: str  # the third party's code
    field: str
    value: str
    reason: str

    def __str__(self) -> str:
        return f"{WHAT[self.table]} {self.code}: {self.field} {self.value!r}: {self.reason}"


def checked(field: str, value: str, region: str) -> str:
    """`value` as today's checks would store it; raises ValidationError when they refuse it."""
    if field == "phone":
        return validators.phone(field, field, value, region.upper(), country_label="country")
    return CHECKS[field](field, field, value)


async def rows(connection, table: str):
    """Every row of `table` with the values checked here, a batch at a time."""
    last_id = 0
    while batch := await connection.execute_query_dict(sql(connection, SOURCES[table]), [last_id, BATCH]):
        yield batch
        last_id = batch[-1]["id"]


def review(table: str, row: dict) -> tuple[dict[str, str], list[Unchecked]]:
    """The values of `row` that change when checked, and those that do not pass."""
    changed, refused = {}, []
    for field in CHECKED:
        value = row[field] or ""
        if not value.strip():
            continue
        try:
            normal = checked(field, value, row["region"] or "")
        except ValidationError as error:
            refused.append(Unchecked(table, row["id"], row["code"], field, value,
                                     error.message.split(": ", 1)[-1]))
            continue
        if normal != value:
            changed[field] = normal
    return changed, refused


async def unchecked(connection, limit: int) -> tuple[int, list[Unchecked]]:
    """How many stored values today's checks refuse, and the first `limit` of them."""
    count, first = 0, []
    for table in SOURCES:
        async for batch in rows(connection, table):
            for row in batch:
                _, refused = review(table, row)
                count += len(refused)
                first += refused[:max(0, limit - len(first))]
    return count, first
