"""The filter language of `/crm list`, `/crm export` and campaign targets (SPEC §5).

A FILTER is space-separated terms that must all hold: `field:value`, `field>value`,
`field<value`, `-field:value` (not), or bare words (the same matching as `/crm search`).
Quotes group words (`name:"Acme W"`). A final `csv` or `xlsx` is an export format.

`parse` reads the text alone; `thirdparties` turns it into a query of what the actor may
see, with subqueries for what hangs off a third party (tags, reps, contacts, custom values)
so that a negation keeps the records that have none. Values always go to the database as
parameters, never inside the SQL text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Callable

from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet

from crm import customfields, fieldtypes, pending, records, search
from crm.context import Context
from crm.customfields import FieldDefinition
from crm.errors import NotFound, ValidationError
from crm.normalize import fold
from crm.permissions import held_by, visible_thirdparties
from crm.quoting import quoting
from models import Contact, CustomFieldValue, PendingAction, ThirdParty

FORMATS = ("csv", "xlsx")
FIELDS = ("type", "status", "tag", "rep", "town", "zip", "country", "lang", "email", "created", "updated",
          "code", "name")
PAGE_SIZE = 20
KEPT_KIND = "filter"  # a filter too long for a button, kept server-side (crm.pending)
TYPES = {"prospect": ("prospect", "both"), "customer": ("customer", "both"), "both": ("both",)}
STATUSES = ("active", "closed")

# A term: an optional `-`, a field name and its operator, then the value; or a bare word.
_TERM = re.compile(r"(?P<negated>-)?(?P<field>[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)?)(?P<op>[:<>])(?P<value>.*)",
                   re.DOTALL)
# A quote opens a group at the start of a word or of a value (after the operator).
_QUOTING = quoting(after=":<>")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DAYS = re.compile(r"(\d{1,5})d")
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^<>]*)?>|@?([UW][A-Z0-9]{2,})")


@dataclass(frozen=True)
class Term:
    field: str  # "" for bare words
    op: str  # ":", ">" or "<"
    value: str
    negated: bool
    text: str  # as typed, for error messages


@dataclass(frozen=True)
class Filter:
    text: str  # the filter as typed, without the format
    terms: tuple[Term, ...]
    format: str | None  # "csv" or "xlsx" when the final word named one

    @property
    def words(self) -> str:
        """The bare words, for the text search."""
        return " ".join(term.value for term in self.terms if not term.field)


@dataclass(frozen=True)
class Page:
    filter: str
    total: int
    offset: int
    thirdparties: list[records.ThirdPartyRecord]


def parse(text: str) -> Filter:
    """The terms of a FILTER and its final format word; a quote never closed is an error."""
    if re.search(_QUOTING.opening, _QUOTING.word.sub(" ", text)):
        raise ValidationError("FILTER", "A quote in the filter is never closed: close it or remove it.")
    matches = list(_QUOTING.word.finditer(text))
    file_format = None
    if matches and matches[-1].group().lower() in FORMATS:
        file_format = matches.pop().group().lower()
        text = text[:matches[-1].end()] if matches else ""
    return Filter(text.strip(), tuple(_term(match.group()) for match in matches), file_format)


def _term(word: str) -> Term:
    match = _TERM.fullmatch(word)
    if not match:
        return Term("", ":", _QUOTING.unquoted(word), False, word)
    value = _QUOTING.unquoted(match["value"])
    return Term(match["field"].lower(), match["op"], value, bool(match["negated"]), word)


async def thirdparties(ctx: Context, chosen: Filter | str) -> QuerySet[ThirdParty]:
    """The third parties the actor may see that match every term; a bad term is a ValidationError naming it."""
    chosen = parse(chosen) if isinstance(chosen, str) else chosen
    query = visible_thirdparties(ctx.actor)
    custom = None
    for term in chosen.terms:
        if not term.field:
            continue
        if term.field.startswith("cf."):
            custom = custom if custom is not None else customfields.by_key(await customfields.definitions("thirdparty"))
            condition = _custom_condition(ctx, term, custom)
        elif term.field in FIELDS:
            condition = _CONDITIONS[term.field](ctx, term)
        else:
            raise _bad(term, f"there is no field “{term.field}”; use one of {', '.join(FIELDS)} or cf.KEY")
        query = query.filter(~condition if term.negated else condition)
    for word in _search_words(chosen):
        query = query.filter(_text_match(word))
    return query


def _search_words(chosen: Filter) -> list[str]:
    for term in chosen.terms:
        if not term.field and term.value.startswith("-") and len(term.value) > 1:
            raise _bad(term, "only a field can be negated; to leave out a name, say -name:WORD")
    try:
        return search.query_words(chosen.words)
    except ValidationError as error:
        raise ValidationError("FILTER", error.message) from None


def _text_match(word: str) -> Q:
    """A folded search word, matched as `/crm search` matches it."""
    return Q(search_text__contains=word) | Q(code__icontains=word)


async def page(ctx: Context, text: str, offset: int = 0, size: int = PAGE_SIZE) -> Page:
    """One page of the matches, by name, and how many match in all."""
    query = await thirdparties(ctx, text)
    total = await query.count()
    columns = records.columns(records.ThirdPartyRecord)
    rows = await query.order_by("name_fold", "id").offset(max(offset, 0)).limit(size).values(*columns)
    return Page(text, total, max(offset, 0), [records.ThirdPartyRecord(**row) for row in rows])


async def keep(ctx: Context, text: str) -> str:
    """Keep a filter server-side (one too long for a button); returns the token that finds it again."""
    return await pending.offer(ctx, KEPT_KIND, {"filter": text})


async def kept(ctx: Context, token: str) -> str:
    """The filter kept under `token`."""
    row = await PendingAction.filter(token=token, kind=KEPT_KIND).first()
    if row is None:
        raise NotFound("This list has expired. Run the command again.")
    return row.payload["filter"]


# --- one condition per field ---

def _bad(term: Term, problem: str) -> ValidationError:
    return ValidationError("FILTER", f"In the filter, “{term.text}”: {problem}.")


def _equality_only(term: Term) -> None:
    if term.op != ":":
        raise _bad(term, f"{term.field} takes `{term.field}:value`, not `{term.op}`")
    if not term.value:
        raise _bad(term, "give a value after the colon")


def _choice(term: Term, choices) -> str:
    _equality_only(term)
    value = term.value.lower()
    if value not in choices:
        raise _bad(term, f"{term.field} is one of {', '.join(choices)}")
    return value


def _type(ctx: Context, term: Term) -> Q:
    return Q(type__in=TYPES[_choice(term, TYPES)])


def _status(ctx: Context, term: Term) -> Q:
    return Q(status=_choice(term, STATUSES))


def _tag(ctx: Context, term: Term) -> Q:
    _equality_only(term)
    name = " ".join(term.value.split()).lower()
    return Q(id__in=Subquery(ThirdParty.filter(tags__name=name).values("id")))


def _rep(ctx: Context, term: Term) -> Q:
    _equality_only(term)
    if term.value.lower() == "me":
        user_id = ctx.actor.id
    else:
        match = _MENTION.fullmatch(term.value)
        if not match:
            raise _bad(term, "give a person as @name, a Slack user ID, or me")
        user_id = match[1] or match[2]
    return Q(id__in=held_by(user_id))


def _plain(column: str, lookup: str = "iexact", clean: Callable[[str], str] = str.strip) -> Callable:
    def condition(ctx: Context, term: Term) -> Q:
        _equality_only(term)
        return Q(**{f"{column}__{lookup}" if lookup else column: clean(term.value)})
    return condition


def _email(ctx: Context, term: Term) -> Q:
    _equality_only(term)
    if term.value.lower() == "none":
        with_contact_email = Subquery(Contact.exclude(email="").values("thirdparty_id"))
        return Q(email="") & ~Q(id__in=with_contact_email)
    address = term.value.strip().lower()
    contacts_with_it = Subquery(Contact.filter(email__iexact=address).values("thirdparty_id"))
    return Q(email_key=address) | Q(id__in=contacts_with_it)


def _moment(ctx: Context, term: Term, text: str) -> tuple[datetime, datetime | None]:
    """The moment a date value starts at, in CRM_TIMEZONE, and the end of that day (None for `30d`)."""
    days = _DAYS.fullmatch(text)
    if days:
        return (ctx.now() - timedelta(days=int(days[1]))).astimezone(timezone.utc), None
    try:
        day = date.fromisoformat(text) if _DATE.fullmatch(text) else None
    except ValueError:
        day = None
    if day is None:
        raise _bad(term, "give a date as 2026-01-31, or 30d for the last 30 days")
    # in UTC, as stored: SQLite compares date-times as text
    start = datetime.combine(day, time(), tzinfo=ctx.timezone).astimezone(timezone.utc)
    return start, datetime.combine(day + timedelta(days=1), time(), tzinfo=ctx.timezone).astimezone(timezone.utc)


def _compared(column: str, term: Term, start, end) -> Q:
    """`>` on or after `start`, `<` before it, `:` from `start` up to `end` (or on, without an end)."""
    if term.op == ">" or (term.op == ":" and end is None):
        return Q(**{f"{column}__gte": start})
    if term.op == "<":
        return Q(**{f"{column}__lt": start})
    return Q(**{f"{column}__gte": start, f"{column}__lt": end})


def _dated(column: str) -> Callable:
    def condition(ctx: Context, term: Term) -> Q:
        start, end = _moment(ctx, term, term.value.strip())
        return _compared(column, term, start, end)
    return condition


def _name(ctx: Context, term: Term) -> Q:
    _equality_only(term)
    folded = fold(term.value)
    if not folded:
        raise _bad(term, "give letters or digits of the name")
    return Q(name_fold__contains=folded)


_CONDITIONS: dict[str, Callable[[Context, Term], Q]] = {
    "type": _type,
    "status": _status,
    "tag": _tag,
    "rep": _rep,
    "town": _plain("town"),
    "zip": _plain("zip", ""),
    "country": _plain("country", "", lambda value: value.strip().upper()),
    "lang": _plain("language"),
    "email": _email,
    "created": _dated("created_at"),
    "updated": _dated("updated_at"),
    "code": _plain("code", "istartswith"),
    "name": _name,
}


# --- custom fields, by their type ---

def _custom_condition(ctx: Context, term: Term, custom: dict[str, FieldDefinition]) -> Q:
    key = term.field.removeprefix("cf.")
    definition = custom.get(key)
    if definition is None:
        raise _bad(term, f"there is no custom field “{key}”")
    if not term.value:
        raise _bad(term, "give a value")
    values = CustomFieldValue.filter(field_id=definition.id)
    kind = definition.field_type
    if kind in fieldtypes.NUMBER_TYPES:
        number = Decimal(_typed(term, definition, ctx))
        lookup = {":": "number", ">": "number__gt", "<": "number__lt"}[term.op]
        values = values.filter(**{lookup: number})
    elif kind in ("date", "datetime"):
        values = values.filter(_custom_moment(ctx, term, definition))
    else:
        _equality_only(term)
        values = values.filter(_custom_text(ctx, term, definition))
    return Q(id__in=Subquery(values.values("thirdparty_id")))


def _typed(term: Term, definition: FieldDefinition, ctx: Context):
    """The value parsed as the field's forms parse it; its error names the term."""
    try:
        return fieldtypes.parse(definition, term.value, tz=ctx.timezone)
    except ValidationError as error:
        raise _bad(term, error.message.rstrip(".")) from None


def _custom_moment(ctx: Context, term: Term, definition: FieldDefinition) -> Q:
    """Dates and date-times compare as their stored ISO text, which sorts like the moments."""
    text = term.value.strip()
    if definition.field_type == "datetime" and not (_DATE.fullmatch(text) or _DAYS.fullmatch(text)):
        moment = fieldtypes.to_storage(definition, _typed(term, definition, ctx))  # a date-time typed in full
        return Q(value=moment) if term.op == ":" else _compared("value", term, moment, None)
    start, end = _moment(ctx, term, text)

    def stored(moment: datetime) -> str:
        if definition.field_type == "date":
            return moment.astimezone(ctx.timezone).date().isoformat()
        return fieldtypes.to_storage(definition, moment)

    return _compared("value", term, stored(start), end and stored(end))


def _custom_text(ctx: Context, term: Term, definition: FieldDefinition) -> Q:
    if definition.field_type == "multiselect":
        keys = _typed(term, definition, ctx) or []
        if len(keys) != 1:
            raise _bad(term, "give one option")
        key = keys[0]
        return Q(value=key) | Q(value__startswith=f"{key};") | Q(value__endswith=f";{key}") | Q(
            value__contains=f";{key};")
    if definition.field_type in ("select", "boolean"):
        return Q(value=fieldtypes.to_storage(definition, _typed(term, definition, ctx)))
    return Q(value__iexact=term.value.strip())
