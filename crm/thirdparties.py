"""Third parties (prospects and customers): create, edit, find, show."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from difflib import SequenceMatcher
from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from crm import agenda, clock, customfields, numbering, validators
from crm.agenda import Changes
from crm.db import sql
from crm.errors import Ambiguous, NotFound, ValidationError
from crm.normalize import fold, name_key, search_text, vat_key
from crm.permissions import Actor, require_writer
from crm.settings import SLACK_USER_ID
from crm.users import ensure_users
from models import STATUSES, THIRDPARTY_TYPES, Contact, Event, Tag, ThirdParty, User

TYPE_LABELS = {"prospect": "Prospect", "customer": "Customer", "both": "Prospect and customer"}

# field -> label; the order is the order of forms and of change lists
FIELDS = {
    "name": "Name",
    "alias": "Alias",
    "type": "Type",
    "status": "Status",
    "email": "Email",
    "phone": "Phone",
    "website": "Website",
    "address": "Address",
    "zip": "Zip code",
    "town": "Town",
    "country": "Country",
    "language": "Language",
    "vat_id": "VAT id",
    "note_public": "Public note",
    "note_private": "Private note",
}
TEXT_LIMITS = {"name": 255, "alias": 255, "address": 1000, "zip": 32, "town": 128, "vat_id": 32,
               "note_public": 5000, "note_private": 5000}
SPECIAL_CHECKS = {**validators.ADDRESS_BOOK_CHECKS, "website": validators.url}
MAX_TAG_LENGTH = 64
SIMILAR_NAME_RATIO = 0.88
# A new record's code until the last step of its creation gives it the real one.
PROVISIONAL_CODE = "(PROV{})"
CLAIM_CODE = ("UPDATE crm_thirdparty SET code = ?, search_text = ? "
              "WHERE id = ? AND NOT EXISTS (SELECT 1 FROM crm_thirdparty WHERE code = ?)")


def clean(values: dict, *, creating: bool) -> dict:
    """Validate and normalise built-in fields; raises ValidationError naming the first bad one."""
    cleaned = validators.clean_fields(values, FIELDS, TEXT_LIMITS, SPECIAL_CHECKS, "third-party")
    if "name" in cleaned and not cleaned["name"]:
        raise ValidationError("name", "Name is required, e.g. Acme Widgets.")
    if "type" in cleaned and cleaned["type"] not in THIRDPARTY_TYPES:
        raise ValidationError("type", f"Type must be prospect, customer or both, not {cleaned['type']!r}.")
    if "status" in cleaned and cleaned["status"] not in STATUSES:
        raise ValidationError("status", f"Status must be active or closed, not {cleaned['status']!r}.")
    if creating:
        for required in ("name", "type"):
            if required not in cleaned:
                raise ValidationError(required, f"{FIELDS[required]} is required to create a third party.")
    return cleaned


def clean_tags(tags) -> list[str]:
    names = []
    for tag in tags:
        name = " ".join(str(tag).split()).lower()
        if len(name) > MAX_TAG_LENGTH:
            raise ValidationError("tags", f"Tag {name[:20]!r}… is longer than {MAX_TAG_LENGTH} characters.")
        if name and name not in names:
            names.append(name)
    return names


def clean_reps(user_ids) -> list[str]:
    """Sales reps are Slack user IDs (U… or W…), each once, in the order given."""
    reps = list(dict.fromkeys(str(user_id).strip() for user_id in user_ids))
    for user_id in reps:
        if not SLACK_USER_ID.match(user_id):
            raise ValidationError("sales_reps", f"Sales reps: {user_id!r} is not a Slack user ID like U0123ABCD.")
    return reps


async def validate_new(values: dict, tags=(), custom: dict | None = None, sales_reps=()) -> None:
    """Check a would-be third party without storing it (the create form checks before warning of duplicates)."""
    clean(values, creating=True)
    clean_tags(tags)
    clean_reps(sales_reps)
    await customfields.validate_all("thirdparty", custom or {}, connection=None, creating=True)


async def likely_duplicates(values: dict, *, exclude_id: int | None = None, limit: int = 3) -> list[ThirdParty]:
    """Existing third parties that look like `values`: same email, same VAT id, or a very similar name."""
    found: dict[int, ThirdParty] = {}
    email = (values.get("email") or "").strip().lower()
    if email:
        for tp in await ThirdParty.filter(email_key=email).limit(limit):
            found[tp.id] = tp
    vat = vat_key(values.get("vat_id") or "")
    if vat:
        for tp in await ThirdParty.filter(vat_key=vat).limit(limit):
            found[tp.id] = tp
    key = name_key(values.get("name") or "")
    if key:
        # candidates share the first letters of the normalised name; the ratio then decides
        for tp in await ThirdParty.filter(name_key__startswith=key[:3]).limit(200):
            if tp.name_key == key or SequenceMatcher(None, tp.name_key, key).ratio() >= SIMILAR_NAME_RATIO:
                found.setdefault(tp.id, tp)
    found.pop(exclude_id, None)
    return list(found.values())[:limit]


async def create(
    actor: Actor,
    values: dict,
    *,
    tz: ZoneInfo,
    tags=(),
    sales_reps=(),
    custom: dict | None = None,
    default_role: str = "sales",
) -> ThirdParty:
    """Create a third party with its code, tags, reps and custom fields, and its COMPANY_CREATE event."""
    require_writer(actor, "create third parties")
    cleaned = clean(values, creating=True)
    tag_names = clean_tags(tags)
    reps = clean_reps(sales_reps)
    async with in_transaction() as connection:
        custom_values = await customfields.validate_all(
            "thirdparty", custom or {}, connection=connection, creating=True, tz=tz)
        thirdparty = await ThirdParty.create(
            code=PROVISIONAL_CODE.format(uuid.uuid4().hex),
            name_key=name_key(cleaned["name"]),
            email_key=cleaned.get("email", "").lower(),
            vat_key=vat_key(cleaned.get("vat_id", "")),
            created_by=actor.id,
            updated_by=actor.id,
            using_db=connection,
            **cleaned,
        )
        if tag_names:
            await _set_tags(connection, thirdparty, tag_names)
        if reps:
            await _set_reps(connection, thirdparty, reps, default_role)
        await customfields.store(connection, custom_values, thirdparty=thirdparty)
        await agenda.record(
            connection, "COMPANY_CREATE", actor, thirdparty, f"{TYPE_LABELS[thirdparty.type]} {thirdparty.name} created",
        )

        # the search text of everything but the code, ready before the counter is locked
        searchable = search_text(*_own_searchable(thirdparty))

        async def claim(code: str) -> bool:
            thirdparty.code, thirdparty.search_text = code, search_text(code) + searchable
            claimed, _ = await connection.execute_query(
                sql(connection, CLAIM_CODE), [code, thirdparty.search_text, thirdparty.id, code])
            return claimed == 1

        await numbering.assign_code(connection, "thirdparty", clock.now(), tz, claim, cleaned["type"])
    return thirdparty


async def update(
    actor: Actor,
    thirdparty_id: int,
    values: dict,
    *,
    tags=None,
    sales_reps=None,
    custom: dict | None = None,
    default_role: str = "sales",
    tz: ZoneInfo | None = None,
) -> tuple[ThirdParty, Changes]:
    """Apply the given fields (others untouched); records COMPANY_MODIFY with what changed.

    `tz` reads custom date-times typed without an offset (CRM_TIMEZONE).
    """
    require_writer(actor, "edit third parties")
    cleaned = clean(values, creating=False)
    async with in_transaction() as connection:
        thirdparty = await ThirdParty.select_for_update().using_db(connection).get_or_none(id=thirdparty_id)
        if thirdparty is None:
            raise NotFound(f"Third party #{thirdparty_id} no longer exists.")
        changes = Changes()
        changes.assign(thirdparty, cleaned)
        tag_names, rep_ids = await tags_and_reps(thirdparty, connection)
        if tags is not None:
            before, after = tag_names, sorted(clean_tags(tags))
            if before != after:
                changes.fields["tags"] = (before, after)
                await _set_tags(connection, thirdparty, after)
        if sales_reps is not None:
            before, after = rep_ids, clean_reps(sales_reps)
            if sorted(before) != sorted(after):
                changes.fields["sales_reps"] = (before, after)
                await _set_reps(connection, thirdparty, after, default_role)
        if custom is not None:
            changes.fields.update(await customfields.change(connection, "thirdparty", thirdparty, custom, tz=tz))
        if not changes:
            return thirdparty, changes
        thirdparty.name_key = name_key(thirdparty.name)
        thirdparty.email_key = thirdparty.email.lower()
        thirdparty.vat_key = vat_key(thirdparty.vat_id)
        thirdparty.updated_by = actor.id
        await thirdparty.save(using_db=connection)
        await refresh_search_text(connection, thirdparty)
        await agenda.record(
            connection, "COMPANY_MODIFY", actor, thirdparty,
            f"{thirdparty.name} modified: {', '.join(_change_labels(changes))}",
            details=changes.details(),
        )
    return thirdparty, changes


async def set_status(actor: Actor, ref: str, status: str) -> tuple[ThirdParty, Changes]:
    thirdparty = await resolve(ref)
    return await update(actor, thirdparty.id, {"status": status})


async def get(thirdparty_id: int) -> ThirdParty:
    thirdparty = await ThirdParty.get_or_none(id=thirdparty_id)
    if thirdparty is None:
        raise NotFound(f"Third party #{thirdparty_id} does not exist.")
    return thirdparty


async def resolve(ref: str) -> ThirdParty:
    """A REF: a code, an exact name, or a unique name prefix (SPEC §3)."""
    ref = ref.strip()
    if not ref:
        raise ValidationError("REF", "Say which third party: its code, its name or the start of its name.")
    by_code = await ThirdParty.get_or_none(code__iexact=ref)
    if by_code:
        return by_code
    exact = await ThirdParty.filter(name__iexact=ref).limit(10)
    if len(exact) == 1:
        return exact[0]
    candidates = exact or await ThirdParty.filter(name__istartswith=ref).order_by("name").limit(10)
    if not candidates:
        key = name_key(ref)
        candidates = await ThirdParty.filter(name_key__startswith=key).order_by("name").limit(10) if key else []
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise NotFound(f"No third party has the code or a name starting with {ref!r}. Try /crm search {ref}.")
    raise Ambiguous(f"{ref!r} matches several third parties; use the code.", candidates)


async def search(text: str, limit: int = 10) -> list[ThirdParty]:
    """Best matches on name, alias, code, email, phone, town, contact names and emails."""
    words = fold(text).split()
    if not words:
        return []
    query = ThirdParty.all()
    for word in words:
        query = query.filter(search_text__contains=word)
    matches = await query.order_by("name").limit(200)
    whole = " ".join(words)
    return sorted(matches, key=lambda tp: _rank(tp, whole))[:limit]


def _rank(thirdparty: ThirdParty, whole: str) -> tuple:
    if fold(thirdparty.code) == whole:
        return (0, thirdparty.name_key)
    if thirdparty.name_key == whole or fold(thirdparty.name) == whole:
        return (1, thirdparty.name_key)
    if fold(thirdparty.name).startswith(whole):
        return (2, thirdparty.name_key)
    if whole in fold(thirdparty.name) or whole in fold(thirdparty.alias):
        return (3, thirdparty.name_key)
    return (4, thirdparty.name_key)


@dataclass
class Card:
    """Everything the record card shows, as plain data."""

    thirdparty: ThirdParty
    contacts: list[Contact]
    tags: list[str]
    sales_reps: list[str]
    custom: list[tuple[str, str]]
    events: list[Event]


async def tags_and_reps(thirdparty: ThirdParty, connection=None) -> tuple[list[str], list[str]]:
    """Its tag names (sorted) and its sales reps' Slack IDs (sorted)."""
    tags = await thirdparty.tags.all().using_db(connection).order_by("name").values_list("name", flat=True)
    reps = await thirdparty.sales_reps.all().using_db(connection).order_by("id").values_list("id", flat=True)
    return list(tags), list(reps)


async def card(thirdparty_id: int, tz: ZoneInfo | None = None) -> Card:
    thirdparty = await get(thirdparty_id)
    tags, reps = await tags_and_reps(thirdparty)
    return Card(
        thirdparty=thirdparty,
        contacts=await thirdparty.contacts.all().order_by("last_name", "first_name", "id"),
        tags=tags,
        sales_reps=reps,
        custom=await customfields.displayed("thirdparty", thirdparty=thirdparty, tz=tz),
        events=await agenda.latest(thirdparty.id),
    )


async def _set_tags(connection, thirdparty: ThirdParty, names: list[str]) -> None:
    await thirdparty.tags.clear(using_db=connection)
    tags = []
    for name in names:
        try:
            async with in_transaction() as nested:  # a savepoint: a concurrent creator may win the race
                tag, _ = await Tag.get_or_create(name=name, using_db=nested)
        except IntegrityError:
            tag = await Tag.get(name=name, using_db=connection)
        tags.append(tag)
    if tags:
        await thirdparty.tags.add(*tags, using_db=connection)


async def _set_reps(connection, thirdparty: ThirdParty, user_ids, default_role: str) -> None:
    await thirdparty.sales_reps.clear(using_db=connection)
    users: list[User] = await ensure_users(user_ids, default_role, connection)
    if users:
        await thirdparty.sales_reps.add(*users, using_db=connection)


async def refresh_search_text(connection, thirdparty: ThirdParty) -> None:
    contacts = await Contact.filter(thirdparty_id=thirdparty.id).using_db(connection)
    thirdparty.search_text = _search_text(thirdparty, contacts)
    await ThirdParty.filter(id=thirdparty.id).using_db(connection).update(search_text=thirdparty.search_text)


def _own_searchable(thirdparty: ThirdParty) -> list[str]:
    return [thirdparty.name, thirdparty.alias, thirdparty.email, thirdparty.phone, thirdparty.town]


def _search_text(thirdparty: ThirdParty, contacts: list[Contact]) -> str:
    parts = [thirdparty.code, *_own_searchable(thirdparty)]
    for contact in contacts:
        parts += [contact.first_name, contact.last_name, contact.email, contact.phone]
    return search_text(*parts)


def _change_labels(changes: Changes) -> list[str]:
    labels = {**FIELDS, "tags": "Tags", "sales_reps": "Sales reps"}
    return [labels.get(name, name) for name in changes.fields]

