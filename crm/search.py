"""`/crm search` (SPEC §3): best matches on name, alias, code, email, phone, town, contact
names and emails, in every script.

Each third party keeps a folded haystack of its own fields and its contacts' (`search_text`,
see crm.normalize); a search matches every folded word of the query in it, or in the code.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

from tortoise.expressions import Q

from crm import records, validators
from crm.context import Context, UnitOfWork
from crm.errors import ValidationError
from crm.normalize import fold, search_text
from crm.permissions import visible_thirdparties
from crm.records import ThirdPartyRecord
from models import Contact, ThirdParty

MAX_WORDS = 12  # more words narrow nothing further, and each costs the query a condition
CANDIDATES = 200  # matches read before ranking


OWN_FIELDS = ("name", "alias", "email", "phone", "town")
CONTACT_FIELDS = ("first_name", "last_name", "email", "phone")


def haystack(own: Mapping[str, str], contacts: Iterable[Mapping[str, str]]) -> str:
    """The search text of a third party's fields (missing ones blank) and its contacts'."""
    parts = [own.get(name, "") for name in OWN_FIELDS]
    for contact in contacts:
        parts += [contact[name] for name in CONTACT_FIELDS]
    return search_text(*parts)


async def refresh(uow: UnitOfWork, thirdparty_id: int) -> None:
    """Recompute and store the search text of a third party after it or one of its contacts changed."""
    connection = uow.connection
    own = await ThirdParty.filter(id=thirdparty_id).using_db(connection).first().values(*OWN_FIELDS)
    contacts = await Contact.filter(thirdparty_id=thirdparty_id).using_db(connection).values(*CONTACT_FIELDS)
    await ThirdParty.filter(id=thirdparty_id).using_db(connection).update(search_text=haystack(own, contacts))


def query_words(text: str) -> list[str]:
    """The folded words of a search; too many is an error naming the limit."""
    validators.storable("TEXT", "Search", text)
    words = fold(text).split()
    if len(words) > MAX_WORDS:
        raise ValidationError("TEXT", f"Search with at most {MAX_WORDS} words; yours has {len(words)}.")
    return words


async def search(ctx: Context, text: str, limit: int = 10) -> list[records.ThirdPartyRecord]:
    """The best matches the actor may see, best first: code, exact name, name prefix, name or alias, the rest."""
    words = query_words(text)
    if not words:
        return []
    query = visible_thirdparties(ctx.actor)
    for word in words:
        query = query.filter(Q(search_text__contains=word) | Q(code__icontains=word))
    columns = records.columns(ThirdPartyRecord)
    matches = await query.order_by("name").limit(CANDIDATES).values(*columns, "name_fold", "name_key")
    whole = " ".join(words)
    ranked = sorted(matches, key=lambda row: _rank(row, whole))[:limit]
    return [ThirdPartyRecord(**{column: row[column] for column in columns}) for row in ranked]


def _rank(row: dict, whole: str) -> tuple:
    name = row["name_fold"]
    if fold(row["code"]) == whole:
        return (0, name)
    if name == whole or row["name_key"] == whole:
        return (1, name)
    if name.startswith(whole):
        return (2, name)
    if whole in name or whole in fold(row["alias"]):
        return (3, name)
    return (4, name)
