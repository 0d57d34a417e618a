"""Third parties (prospects and customers): create, edit, find, show."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from rapidfuzz.distance import Indel
from tortoise import connections
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from crm import agenda, contacts, customfields, numbering, phones, records, search, validators, versions
from crm.agenda import Changes, EventRecord
from crm.context import Context, UnitOfWork
from crm.customfields import FieldDefinition
from crm.db import insert_rows, sql
from crm.errors import Ambiguous, NotFound, OutcomeUnknown, ValidationError
from crm.fieldtypes import to_storage
from crm.normalize import fold, name_key, numbers_differ, vat_key
from crm.permissions import require_writer, visible_thirdparties, visible_thirdparty
from crm.records import ContactRecord, ThirdPartyRecord
from crm.settings import SLACK_USER_ID
from crm.users import ensure_users
from models import STATUSES, THIRDPARTY_TYPES, Tag, ThirdParty

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
LIST_LABELS = {"tags": "Tags", "sales_reps": "Sales reps"}
TEXT_LIMITS = {"name": 255, "alias": 255, "address": 1000, "zip": 32, "town": 128, "vat_id": 32,
               "note_public": 5000, "note_private": 5000}
SPECIAL_CHECKS = {**validators.ADDRESS_BOOK_CHECKS, "website": validators.url}
MAX_TAG_LENGTH = 64
# Every tag of a record fits one 3,000-character text box: 40 × (64 + ", ").
MAX_TAGS = 40
SIMILAR_NAME_RATIO = 0.88
DUPLICATE_CANDIDATES = 200
MAX_REF_MATCHES = 10
# A new record's code until the last step of its creation gives it the real one.
PROVISIONAL_CODE = "(PROV{})"
CODE_MAX_LENGTH = 64
CODES_TAKEN = ("SELECT code FROM crm_thirdparty WHERE code IN ({marks}) UNION ALL "
               "SELECT code FROM crm_thirdparty_alias WHERE code IN ({marks})")
# What a new third party holds where nothing was given.
NEW_VALUES = {**dict.fromkeys(FIELDS, ""), "status": "active"}
# Above every character: a prefix's range ends here.
PREFIX_END = "\U0010ffff"
# Tags by name; sales reps in the order they were given (a document's default rep is the first).
TAGS_AND_REPS = ("SELECT 'tag' AS kind, t.name AS value, 0 AS position FROM crm_tag t "
                 "JOIN crm_thirdparty_tag x ON x.tag_id = t.id WHERE x.crm_thirdparty_id = ? "
                 "UNION ALL SELECT 'rep', user_id, position FROM crm_thirdparty_rep WHERE crm_thirdparty_id = ? "
                 "ORDER BY kind, position, value")


def clean(values: dict, *, creating: bool, region: str = "") -> dict:
    """Validate and normalise built-in fields; raises ValidationError naming the first bad one.
    `region`: the country the record has, in which a phone number without its code is read."""
    cleaned = validators.clean_fields(values, FIELDS, TEXT_LIMITS, SPECIAL_CHECKS, "third-party", region=region)
    if "name" in cleaned and not fold(cleaned["name"]):
        raise ValidationError("name", "Name needs at least one letter or digit, e.g. Acme Widgets.")
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
    """Tag names, lower-cased, each once, sorted; at most MAX_TAGS of MAX_TAG_LENGTH characters."""
    names = set()
    for tag in tags:
        name = " ".join(validators.storable("tags", "Tags", str(tag)).split()).lower()
        if len(name) > MAX_TAG_LENGTH:
            raise ValidationError("tags", f"Tag {name[:20]!r}… is longer than {MAX_TAG_LENGTH} characters.")
        if name:
            names.add(name)
    if len(names) > MAX_TAGS:
        raise ValidationError("tags", f"A third party has at most {MAX_TAGS} tags; these are {len(names)}.")
    return sorted(names)


def clean_reps(user_ids) -> list[str]:
    """Sales reps are Slack user IDs (U… or W…), each once, in the order given (the first is the
    default rep of new documents)."""
    reps = list(dict.fromkeys(str(user_id).strip() for user_id in user_ids))
    for user_id in reps:
        if not SLACK_USER_ID.match(user_id):
            raise ValidationError("sales_reps", f"Sales reps: {user_id!r} is not a Slack user ID like U0123ABCD.")
    return reps


def _keys(name: str, email: str, vat_id: str, phone: str, country: str) -> dict[str, str]:
    """The normal forms stored beside what people typed, for lookups and duplicate checks."""
    return {"name_fold": fold(name), "name_key": name_key(name), "email_key": email.lower(),
            "vat_key": vat_key(vat_id), "phone_key": phones.e164(phone, country)}


async def new_form(ctx: Context) -> list[FieldDefinition]:
    """What the create form asks besides the built-in fields: the custom fields (writers only)."""
    require_writer(ctx.actor, "create third parties")
    return await customfields.definitions("thirdparty")


async def validate_new(ctx: Context, values: dict, tags=(), custom: dict | None = None, sales_reps=()) -> None:
    """Check a would-be third party without storing it (the create form checks before warning of duplicates)."""
    require_writer(ctx.actor, "create third parties")
    clean_new(values, tags=tags, sales_reps=sales_reps)
    fields = await customfields.definitions("thirdparty")
    parsed = customfields.parse_new(fields, custom or {}, ctx.timezone)
    for definition in fields:
        await customfields.check_unique(definition, parsed[definition.key], None)


async def likely_duplicates(ctx: Context, values: dict, *, exclude_id: int | None = None,
                            limit: int = 3) -> list[ThirdPartyRecord]:
    """Existing third parties that look like `values`: same email, same VAT id, or a very
    similar name in any script (legal forms aside; names that differ in their numbers, like
    Store 12 and Store 13, are different businesses)."""
    scope = visible_thirdparties(ctx.actor)
    found: dict[int, ThirdParty] = {}
    email = (values.get("email") or "").strip().lower()
    if email:
        for tp in await scope.filter(email_key=email).limit(limit):
            found[tp.id] = tp
    vat = vat_key(values.get("vat_id") or "")
    if vat:
        for tp in await scope.filter(vat_key=vat).limit(limit):
            found[tp.id] = tp
    name = values.get("name") or ""
    key = name_key(name)
    if key:
        # candidates share the first letters of the normalised name; the ratio then decides
        for tp in await _by_prefix(scope, "name_key", key[:3], limit=DUPLICATE_CANDIDATES):
            if numbers_differ(tp.name, name):
                continue
            if tp.name_key == key or Indel.normalized_similarity(tp.name_key, key) >= SIMILAR_NAME_RATIO:
                found.setdefault(tp.id, tp)
    found.pop(exclude_id, None)
    return [records.thirdparty(tp) for tp in list(found.values())[:limit]]


@dataclass(frozen=True)
class NewThirdParty:
    """A would-be third party, checked: what `create` and bulk imports store."""

    values: dict  # built-in fields, cleaned
    tags: list[str]
    reps: list[str]
    code: str | None  # a code it already had elsewhere (an import keeps it); None: the mask's next


def clean_new(values: dict, *, tags=(), sales_reps=(), code: str | None = None) -> NewThirdParty:
    """Check and normalise a new third party but its custom fields (their definitions are read
    in the transaction); raises ValidationError naming the first bad field."""
    return NewThirdParty(clean(values, creating=True), clean_tags(tags), clean_reps(sales_reps),
                         validators.text("code", "Customer code", code or "", max_length=CODE_MAX_LENGTH) or None)


def new_values(actor, now, cleaned: dict) -> dict:
    """A new third party's fields: those given, defaults for the others, who created it and when."""
    return {**NEW_VALUES, **cleaned, "created_at": now, "updated_at": now,
            "created_by": actor.id, "updated_by": actor.id}


def derived_columns(values: dict) -> dict:
    """The normal forms and the search text stored beside a new third party's values."""
    return {**_keys(values["name"], values["email"], values["vat_id"], values["phone"], values["country"]),
            "search_text": search.haystack(values, [])}


def creation_label(values: dict) -> str:
    """The label of a new third party's COMPANY_CREATE event."""
    return f"{TYPE_LABELS[values['type']]} {values['name']} created"


async def create(ctx: Context, values: dict, *, tags=(), sales_reps=(), custom: dict | None = None,
                 code: str | None = None) -> ThirdPartyRecord:
    """Create a third party with its code, tags, reps and custom fields, and its COMPANY_CREATE event.

    `code`: a code it already had elsewhere (an import keeps it) instead of the next one of the
    mask; refused when another record has or had it.
    """
    require_writer(ctx.actor, "create third parties")
    new = clean_new(values, tags=tags, sales_reps=sales_reps, code=code)
    try:
        async with ctx.transaction() as uow:
            return await _store_new(ctx, uow, new, custom or {})
    except OutcomeUnknown:
        raise OutcomeUnknown(f"Search for “{new.values['name']}” in a minute to see whether it is there "
                             f"before creating it again.") from None


async def _store_new(ctx: Context, uow: UnitOfWork, new: NewThirdParty, custom: dict) -> ThirdPartyRecord:
    """A new third party's rows and event, its code claimed last (the counter's lock is then
    held only until the commit), unless it comes with its own."""
    fields = await customfields.definitions("thirdparty", uow.connection)
    custom_values = customfields.parse_new(fields, custom, ctx.timezone)
    for definition in fields:
        await customfields.check_unique(definition, custom_values[definition.key], None, uow.connection)
    if new.code and await taken_codes(uow.connection, [new.code]):
        raise code_taken(new.code)
    values = new_values(ctx.actor, uow.now, new.values)
    thirdparty_id = await _insert(uow, {
        **values, "code": new.code or PROVISIONAL_CODE.format(uuid.uuid4().hex), **derived_columns(values)})
    if new.tags:
        await _set_tags(uow, thirdparty_id, new.tags)
    if new.reps:
        await _set_reps(uow, thirdparty_id, new.reps, ctx.settings.default_role)
    await customfields.store(uow, "thirdparty", thirdparty_id, fields,
                             {key: value for key, value in custom_values.items() if value is not None})
    await agenda.record(uow, "COMPANY_CREATE", ctx.actor, thirdparty_id, creation_label(values))
    code = new.code or await numbering.assign_code(
        uow, "thirdparty", ctx.timezone, numbering.Target("crm_thirdparty", "code", thirdparty_id), values["type"])
    return ThirdPartyRecord(id=thirdparty_id, code=code, **values)


async def taken_codes(connection, codes: list[str]) -> set[str]:
    """Those of `codes` that a record has, or had before it was merged into another (such a code
    resolves to the kept record): no new record may take them."""
    marks = ", ".join("?" for _ in codes)
    rows = await connection.execute_query_dict(sql(connection, CODES_TAKEN.format(marks=marks)), [*codes, *codes])
    return {row["code"] for row in rows}


def code_taken(code: str) -> ValidationError:
    return ValidationError("code", f"Customer code {code!r} is already taken by another third party.")


async def _insert(uow: UnitOfWork, row: dict) -> int:
    """A new third party's row, by plain SQL (every creation runs it, and the ORM's model
    building costs more than the INSERT); returns its id."""
    [inserted] = await insert_rows(uow.connection, "crm_thirdparty", [row], returning="id")
    return inserted["id"]


@dataclass(frozen=True)
class EditForm:
    """What the edit form shows of a third party, and the fingerprints it keeps of it."""

    thirdparty: ThirdPartyRecord
    tags: list[str]
    sales_reps: list[str]
    fields: list[FieldDefinition]
    custom: dict[str, object]
    versions: dict[str, str]


async def edit_form(ctx: Context, thirdparty_id: int) -> EditForm:
    require_writer(ctx.actor, "edit third parties")
    async with ctx.transaction() as uow:
        row = await _visible(ctx, thirdparty_id, uow)
        tags, reps = await tags_and_reps(row.id, uow.connection)
        fields = await customfields.definitions("thirdparty", uow.connection)
        custom = await customfields.current(uow, "thirdparty", row.id, fields)
    snapshot = _snapshot(row, tags, reps, fields, custom)
    return EditForm(records.thirdparty(row), tags, reps, fields, custom, versions.fingerprints(snapshot))


def _snapshot(row, tags: list[str], reps: list[str], fields: list[FieldDefinition], custom: dict) -> dict:
    """Every editable value of a third party in canonical form, named as forms name them."""
    return {
        **{name: getattr(row, name) for name in FIELDS},
        "tags": tags,
        "sales_reps": reps,
        **{customfields.name(f): to_storage(f, custom[f.key]) for f in fields},
    }


async def update(
    ctx: Context,
    thirdparty_id: int,
    values: dict,
    *,
    tags=None,
    sales_reps=None,
    custom: dict | None = None,
    shown: dict[str, str] | None = None,
    reason: str = "",
) -> tuple[ThirdPartyRecord, Changes]:
    """Apply the given fields (others untouched); records COMPANY_MODIFY with what changed
    (and `reason`, when a change follows from another, such as a signed proposal).

    `shown`: the fingerprints the edit form kept (EditForm.versions). Then only what its user
    changed is applied, and a field someone else changed meanwhile is refused (EditConflict).
    """
    require_writer(ctx.actor, "edit third parties")
    extra: dict[str, object] = {}
    if tags is not None:
        extra["tags"] = clean_tags(tags)
    if sales_reps is not None:
        extra["sales_reps"] = clean_reps(sales_reps)
    async with ctx.transaction() as uow:
        row = await _visible(ctx, thirdparty_id, uow, for_update=True)
        wanted = {**clean(validators.changed_only(values, row), creating=False, region=row.country), **extra}
        fields = await customfields.definitions("thirdparty", uow.connection)
        given = customfields.parse_given(fields, custom or {}, ctx.timezone)
        by_key = customfields.by_key(fields)
        wanted.update({customfields.name(by_key[k]): to_storage(by_key[k], v) for k, v in given.items()})
        tag_names, rep_ids = await tags_and_reps(row.id, uow.connection)
        current = _snapshot(row, tag_names, rep_ids, fields, await customfields.current(uow, "thirdparty", row.id, fields))
        apply = versions.to_apply(wanted, current, shown, versions.described_by(_labels(fields)))
        changes = Changes()
        changes.assign(row, {name: value for name, value in apply.items() if name in FIELDS})
        if "tags" in apply:
            changes.fields["tags"] = (tag_names, apply["tags"])
            await _set_tags(uow, row.id, apply["tags"])
        if "sales_reps" in apply:
            changes.fields["sales_reps"] = (rep_ids, apply["sales_reps"])
            await _set_reps(uow, row.id, apply["sales_reps"], ctx.settings.default_role)
        custom_changes = {key: given[key] for key in given if customfields.name(by_key[key]) in apply}
        for key, value in custom_changes.items():
            customfields.require_set(by_key[key], value)
            await customfields.check_unique(by_key[key], value, row.id, uow.connection)
        changes.fields.update(await customfields.store(uow, "thirdparty", row.id, fields, custom_changes))
        if not changes:
            return records.thirdparty(row), changes
        for name, value in _keys(row.name, row.email, row.vat_id, row.phone, row.country).items():
            setattr(row, name, value)
        row.updated_by, row.updated_at = ctx.actor.id, uow.now
        await row.save(using_db=uow.connection)
        await search.refresh(uow, row.id)
        await agenda.record(uow, "COMPANY_MODIFY", ctx.actor, row.id,
                            f"{row.name} modified: {', '.join(_change_labels(changes, fields))}"
                            + (f" ({reason})" if reason else ""),
                            details={**changes.details(), **({"reason": reason} if reason else {})})
    return records.thirdparty(row), changes


def _labels(fields: list[FieldDefinition]) -> dict[str, str]:
    return {**FIELDS, **LIST_LABELS, **{customfields.name(f): f.label for f in fields}}


def _change_labels(changes: Changes, fields: list[FieldDefinition]) -> list[str]:
    labels = _labels(fields)
    return [labels.get(name, name) for name in changes.fields]


async def set_status(ctx: Context, ref: str, status: str) -> tuple[ThirdPartyRecord, Changes]:
    thirdparty = await resolve(ctx, ref)
    return await update(ctx, thirdparty.id, {"status": status})


async def get(ctx: Context, thirdparty_id: int) -> ThirdPartyRecord:
    return records.thirdparty(await _visible(ctx, thirdparty_id))


async def _visible(ctx: Context, thirdparty_id: int, uow: UnitOfWork | None = None, *,
                   for_update: bool = False) -> ThirdParty:
    return await visible_thirdparty(ctx.actor, thirdparty_id, uow.connection if uow else None, for_update=for_update)


async def resolve(ctx: Context, ref: str) -> ThirdPartyRecord:
    """A REF: a code, an exact name, or a unique name prefix (SPEC §3), each found through an index."""
    ref = validators.storable("REF", "The reference", ref).strip()
    if not ref:
        raise ValidationError("REF", "Say which third party: its code, its name or the start of its name.")
    scope = visible_thirdparties(ctx.actor)
    by_code = await scope.filter(code__iexact=ref).first()
    if by_code:
        return records.thirdparty(by_code)
    merged = await scope.filter(aliases__code__iexact=ref).first()  # the code of a record merged into it
    if merged:
        return records.thirdparty(merged)
    folded = fold(ref)
    exact = await scope.filter(name_fold=folded).order_by("name").limit(MAX_REF_MATCHES) if folded else []
    if len(exact) == 1:
        return records.thirdparty(exact[0])
    column, prefix = "name_fold", folded
    candidates = exact or await _by_prefix(scope, column, prefix)
    if not candidates:  # "Dupont" finds "SARL Dupont": legal forms aside
        column, prefix = "name_key", name_key(ref)
        candidates = await _by_prefix(scope, column, prefix)
    if len(candidates) == 1:
        return records.thirdparty(candidates[0])
    if not candidates:
        raise NotFound(f"No third party has the code or a name starting with “{ref[:80]}”. Try /crm search {ref[:80]}.")
    more = ""
    if len(candidates) == MAX_REF_MATCHES:  # a full list: there may be more, counted through the same index
        matching = scope.filter(name_fold=folded) if exact else scope.filter(
            **{f"{column}__gte": prefix, f"{column}__lt": prefix + PREFIX_END})
        total = await matching.count()
        if total > len(candidates):
            more = f" {total - len(candidates)} more are not listed; /crm search {ref[:80]} shows all {total}."
    raise Ambiguous(f"“{ref[:80]}” matches several third parties; use the code.{more}",
                    [records.thirdparty(tp) for tp in candidates])


async def _by_prefix(scope, column: str, prefix: str, limit: int = MAX_REF_MATCHES) -> list[ThirdParty]:
    """Records whose `column` starts with `prefix`: a range its bytewise index serves."""
    if not prefix:
        return []
    return await (scope.filter(**{f"{column}__gte": prefix, f"{column}__lt": prefix + PREFIX_END})
                  .order_by(column).limit(limit))


@dataclass(frozen=True)
class Card:
    """Everything the record card shows, as plain data."""

    thirdparty: ThirdPartyRecord
    contacts: list[ContactRecord]
    tags: list[str]
    sales_reps: list[str]
    custom: list[tuple[FieldDefinition, object]]  # the fields that have a value, in position order
    events: list[EventRecord]


async def tags_and_reps(thirdparty_id: int, connection=None) -> tuple[list[str], list[str]]:
    """Its tag names (sorted) and its sales reps' Slack IDs (in their order), in one query: every card reads them."""
    connection = connection or connections.get("default")
    rows = await connection.execute_query_dict(sql(connection, TAGS_AND_REPS), [thirdparty_id, thirdparty_id])
    return (sorted(row["value"] for row in rows if row["kind"] == "tag"),
            [row["value"] for row in rows if row["kind"] == "rep"])


async def card(ctx: Context, thirdparty: int | ThirdPartyRecord) -> Card:
    """The record card of a third party: by id, or the record the caller has just resolved."""
    record = thirdparty if isinstance(thirdparty, ThirdPartyRecord) else await get(ctx, thirdparty)
    tags, reps = await tags_and_reps(record.id)
    fields = await customfields.definitions("thirdparty")
    values = (await customfields.values_by_owner("thirdparty", [record.id], fields))[record.id]
    return Card(
        thirdparty=record,
        contacts=await contacts.of_thirdparty(record.id),
        tags=tags,
        sales_reps=reps,
        custom=[(f, values[f.key]) for f in fields if values[f.key] is not None],
        events=await agenda.latest(record.id),
    )


async def _set_tags(uow: UnitOfWork, thirdparty_id: int, names: list[str]) -> None:
    connection = uow.connection
    await connection.execute_query(sql(connection, "DELETE FROM crm_thirdparty_tag WHERE crm_thirdparty_id = ?"),
                                   [thirdparty_id])
    for name in names:
        try:
            async with in_transaction() as nested:  # a savepoint: a concurrent creator may win the race
                tag, _ = await Tag.get_or_create(name=name, using_db=nested)
        except IntegrityError:
            tag = await Tag.get(name=name, using_db=connection)
        await connection.execute_query(sql(
            connection, "INSERT INTO crm_thirdparty_tag (crm_thirdparty_id, tag_id) VALUES (?, ?)"),
            [thirdparty_id, tag.id])


async def _set_reps(uow: UnitOfWork, thirdparty_id: int, user_ids, default_role: str) -> None:
    connection = uow.connection
    await connection.execute_query(sql(connection, "DELETE FROM crm_thirdparty_rep WHERE crm_thirdparty_id = ?"),
                                   [thirdparty_id])
    for position, user in enumerate(await ensure_users(uow, user_ids, default_role)):
        await connection.execute_query(sql(
            connection, "INSERT INTO crm_thirdparty_rep (crm_thirdparty_id, user_id, position) VALUES (?, ?, ?)"),
            [thirdparty_id, user.id, position])
