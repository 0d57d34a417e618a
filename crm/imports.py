"""Imports of third parties and contacts from CSV (SPEC §6).

Third parties come in our export format (any subset of its columns) or as the third-party CSV
that Dolibarr 18–22's Export module writes (dataset `societe_1`, English labels), whose
customer codes are kept. Every row is checked with the rules the Slack forms use: a row
matching an existing record goes through `crm.thirdparties.update` (contacts: `crm.contacts`),
and updates the record with its non-empty values, so importing the same file twice adds
nothing. New third parties are checked one by one with the steps of `crm.thirdparties.create`
(its cleaning, custom fields, unique values) and written together (see `_ThirdPartyBatch`).

Rows are written BATCH at a time, one transaction a batch: a refused row is left out and
reported with its row number as a spreadsheet shows it (the header is row 1). A dry run
rolls each batch back (rather than the whole file at the end, which would hold the code
counter's lock all along): a row repeating the code or email of one in an earlier batch
then counts as created rather than updated.
"""
from __future__ import annotations

import contextlib
import csv
import itertools
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import TextIO

from babel import Locale
from tortoise import connections
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from crm import agenda, contacts, customfields, exports, numbering, tabular, thirdparties
from crm.context import Context, UnitOfWork
from crm.db import insert_rows
from crm.countries import CODES as COUNTRY_CODES
from crm.errors import DatabaseUnavailable, DomainError, OutcomeUnknown, ValidationError
from crm.permissions import require_writer, visible_thirdparties
from crm.users import ensure_users
from models import Contact, Tag, ThirdPartyAlias

# Rows a transaction. New third parties are written together, so a batch costs a dozen
# statements whatever its size. The code counter's lock (SQLite: the write lock) is held from
# their codes' drawing, just before those statements, to the commit: at this size a fraction
# of the query timeout that someone creating in Slack meanwhile waits within.
BATCH = 500
DELIMITERS = (",", ";")  # Dolibarr writes `;` when set up so, as many European installations are
LIST_SEPARATOR = ";"  # tags and sales reps in one cell, as exports join them
CUSTOM_PREFIX = "cf."
Progress = Callable[[int], None]  # told how many more rows were read

# Our export's columns -> the use cases' fields.
OUR_THIRDPARTY_COLUMNS = {**exports.FIELD_COLUMNS, "note_public": "note_public", "note_private": "note_private",
                          "tags": "tags", "sales_reps": "sales_reps"}
OUR_CONTACT_COLUMNS = {"thirdparty_code": "thirdparty_code", **exports.CONTACT_FIELD_COLUMNS}
# Dolibarr's third-party export (modSociete, dataset 1): each field's header as its English
# translation in htdocs/langs/en_US (main.lang, companies.lang; older and newer wordings), its
# translation key, or its SQL name with or without the table alias. "Country" holds a name
# (France), "Country code" the ISO code, which wins when both are there.
DOLIBARR_THIRDPARTY_HEADERS = {
    "name": ("Name", "s.nom", "nom"),
    "alias": ("Alias Name", "AliasNameShort", "s.name_alias", "name_alias"),
    "status": ("Status", "s.status"),
    "type": ("Customer", "s.client", "client"),
    "code": ("Customer Code", "CustomerCode", "s.code_client", "code_client"),
    "address": ("Address", "s.address"),
    "zip": ("Zip Code", "Zip", "s.zip"),
    "town": ("City", "Town", "s.town"),
    "country": ("Country", "c.label"),
    "country_code": ("Country code", "CountryCode", "c.code"),
    "phone": ("Phone", "s.phone"),
    "website": ("Url", "Web", "s.url"),
    "email": ("Email", "E-mail", "s.email"),
    "language": ("Language default", "Default language", "DefaultLang", "s.default_lang", "default_lang"),
    "vat_id": ("VAT ID", "VAT number", "VATIntraShort", "s.tva_intra", "tva_intra"),
    "note_private": ("Note (private)", "Private note", "NotePrivate", "s.note_private"),
    "note_public": ("Note (public)", "Public note", "NotePublic", "s.note_public"),
}
# Dolibarr's `client`: 1 customer, 2 prospect, 3 both. 0 (neither: a supplier, say) comes in
# as a prospect, as we have no third party that is neither; closing it is up to its users.
DOLIBARR_TYPES = {"0": "prospect", "1": "customer", "2": "prospect", "3": "both"}
DOLIBARR_STATUSES = {"0": "closed", "1": "active"}
COUNTRY_NAMES = {name.casefold(): code for code, name in Locale("en").territories.items() if code in COUNTRY_CODES}


def _header_key(cell: str) -> str:
    return " ".join(cell.split()).casefold()


THIRDPARTY_HEADERS = {
    **{_header_key(label): target for target, labels in DOLIBARR_THIRDPARTY_HEADERS.items() for label in labels},
    **{_header_key(column): target for column, target in OUR_THIRDPARTY_COLUMNS.items()},
}
CONTACT_HEADERS = {_header_key(column): target for column, target in OUR_CONTACT_COLUMNS.items()}


@dataclass(frozen=True)
class Refusal:
    """A row not imported: its number as a spreadsheet shows it, the field at fault, why."""

    row: int
    field: str
    reason: str


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    refused: list[Refusal] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)  # header cells no field matches
    dry_run: bool = False


@dataclass(frozen=True)
class _Row:
    number: int
    values: dict[str, str]  # field -> the cell's text, non-empty only
    custom: dict[str, str]  # custom field key -> text, non-empty only


class ImportInterrupted(DomainError):
    """The database failed during a batch: that batch was rolled back, those before it are saved.
    `report` tells what the saved batches did."""

    def __init__(self, report: ImportReport, row: int, error: DomainError):
        saved = "Nothing was written (a dry run)." if report.dry_run else (
            "The rows before it are imported; import the file again to carry on (rows already in are "
            "matched, not added twice).")
        super().__init__(f"Stopped at row {row}: {error} {saved}")
        self.report = report
        self.row = row


class _DryRun(Exception):
    """Raised at the end of each batch of a dry run, so that its transaction rolls back."""


async def import_thirdparties(ctx: Context, stream: TextIO, *, dry_run: bool = False,
                              progress: Progress | None = None, batch: int = BATCH) -> ImportReport:
    """Import the third parties of a CSV text stream; see the module's description."""
    require_writer(ctx.actor, "import third parties")
    fields = await customfields.definitions("thirdparty")
    return await _run(ctx, stream, THIRDPARTY_HEADERS, fields, _ThirdPartyBatch, dry_run, progress, batch)


async def import_contacts(ctx: Context, stream: TextIO, *, dry_run: bool = False,
                          progress: Progress | None = None, batch: int = BATCH) -> ImportReport:
    """Import contacts as `crm export contacts` writes them, each linked to the third party
    of its `thirdparty_code`; one with the email of a contact of that third party updates it."""
    require_writer(ctx.actor, "import contacts")
    fields = await customfields.definitions("contact")
    return await _run(ctx, stream, CONTACT_HEADERS, fields, _ContactBatch, dry_run, progress, batch)


async def _run(ctx: Context, stream: TextIO, headers: dict[str, str], fields, batch_kind, dry_run: bool,
               progress: Progress | None, batch: int) -> ImportReport:
    header, records = read_csv(stream)
    columns, ignored = _columns(header, headers, {f.key for f in fields})
    report = ImportReport(ignored_columns=ignored, dry_run=dry_run)
    rows = _rows(records, columns)
    while chunk := list(itertools.islice(rows, batch)):
        outcome = ImportReport()  # counted once its batch is over: a failed one counts for nothing
        try:
            with contextlib.suppress(_DryRun):
                async with ctx.transaction() as uow:
                    await _plan_key_lookups(uow.connection)
                    await batch_kind(ctx, outcome).run(chunk)
                    if dry_run:
                        raise _DryRun()
        except (DatabaseUnavailable, OutcomeUnknown) as error:
            raise ImportInterrupted(report, chunk[0].number, error) from error
        report.created += outcome.created
        report.updated += outcome.updated
        report.refused += outcome.refused
        if progress:
            progress(len(chunk))
    return report


async def _plan_key_lookups(connection) -> None:
    """A batch reads records by their keys (codes, emails, ids), a list at a time. On a table
    an import is filling, PostgreSQL's statistics lag behind (they may say it is empty), and
    its planner then scans the whole table for each list, or the trigram index of codes, whose
    pending entries it reads one by one: seconds a batch. For the batch's transaction, it uses
    plain index scans."""
    if connection.capabilities.dialect == "postgres":
        await connection.execute_script("SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off")


def read_csv(stream: TextIO) -> tuple[list[str], Iterator[list[str]]]:
    """The header and the records of a CSV text stream (open it with encoding="utf-8-sig",
    newline=""), its delimiter, comma or semicolon, read from the header line."""
    first_line = stream.readline().lstrip("\ufeff")  # a byte-order mark, if the stream kept it
    delimiter = max(DELIMITERS, key=lambda candidate: len(next(csv.reader([first_line], delimiter=candidate), [])))
    records = csv.reader(itertools.chain([first_line], stream), delimiter=delimiter)
    return next(records, []), records


def _columns(header: list[str], headers: dict[str, str], custom_keys: set[str]) -> tuple[dict[int, str], list[str]]:
    """Column index -> field (`cf.KEY` for a custom field), and the header cells no field matches."""
    columns, ignored = {}, []
    for index, cell in enumerate(header):
        key = _header_key(cell)
        if key.startswith(CUSTOM_PREFIX) and key.removeprefix(CUSTOM_PREFIX) in custom_keys:
            columns[index] = key
        elif key in headers and headers[key] not in columns.values():
            columns[index] = headers[key]
        elif cell.strip():
            ignored.append(cell.strip())
    return columns, ignored


def _rows(records: Iterator[list[str]], columns: dict[int, str]) -> Iterator[_Row]:
    """The non-blank records as rows; a blank line still counts, as a spreadsheet shows it."""
    for number, record in enumerate(records, start=2):
        values, custom = {}, {}
        for index, target in columns.items():
            text = tabular.csv_unsafe(record[index].strip()) if index < len(record) else ""
            if not text:
                continue
            if target.startswith(CUSTOM_PREFIX):
                custom[target.removeprefix(CUSTOM_PREFIX)] = text
            else:
                values[target] = text
        if any(cell.strip() for cell in record):
            yield _Row(number, values, custom)


def _list(text: str | None) -> list[str] | None:
    return [item.strip() for item in text.split(LIST_SEPARATOR) if item.strip()] if text else None


def _country(values: dict[str, str]) -> str | None:
    """A country code, from a code column, or from a code or an English name in `country`."""
    given = values.pop("country_code", None) or values.pop("country", None)
    values.pop("country", None)
    if given is None:
        return None
    return given if given.upper() in COUNTRY_CODES else COUNTRY_NAMES.get(given.casefold(), given)


class _Batch:
    """The rows of one batch, written in the transaction the caller opened."""

    def __init__(self, ctx: Context, report: ImportReport):
        self.ctx = ctx
        self.report = report

    async def run(self, rows: list[_Row]) -> None:
        await self.prepare(rows)
        for row in rows:
            await self.write_alone(row, self.write(row))

    async def write_alone(self, row: _Row, write: Awaitable[bool]) -> None:
        """Await `write` (True: it created a record) in a savepoint, so that a refused row is
        rolled back alone, and count it."""
        try:
            async with in_transaction():
                created = await write
        except DomainError as error:
            self.refuse(row, error)
        else:
            if created:
                self.report.created += 1
            else:
                self.report.updated += 1

    def refuse(self, row: _Row, error: DomainError) -> None:
        if isinstance(error, ValidationError):
            self.report.refused.append(Refusal(row.number, error.field, error.message))
        else:
            self.report.refused.append(Refusal(row.number, "", str(error)))

    async def prepare(self, rows: list[_Row]) -> None:
        """Read at once, for the whole batch, the records its rows may match."""

    async def write(self, row: _Row) -> bool:
        """Create or update the record of `row`; True when created."""
        raise NotImplementedError


@dataclass(frozen=True)
class _Wanted:
    """A third-party row as the use cases take it."""

    values: dict[str, str]
    code: str | None
    tags: list[str] | None  # None: the row says nothing of them (an update keeps them)
    reps: list[str] | None
    custom: dict[str, str]

    @property
    def email(self) -> str:
        return self.values.get("email", "").lower()


def _wanted(row: _Row) -> _Wanted:
    values = dict(row.values)
    code = values.pop("code", None)
    tags, reps = _list(values.pop("tags", None)), _list(values.pop("sales_reps", None))
    country = _country(values)
    if country:
        values["country"] = country
    if "type" in values:
        values["type"] = DOLIBARR_TYPES.get(values["type"], values["type"])
    if "status" in values:
        values["status"] = DOLIBARR_STATUSES.get(values["status"], values["status"])
    return _Wanted(values, code, tags, reps, row.custom)


@dataclass(frozen=True)
class _New:
    """A row that creates a third party, checked as `thirdparties.create` checks it, waiting
    to be written with the others of its batch."""

    row: _Row
    wanted: _Wanted
    new: thirdparties.NewThirdParty
    custom: dict[str, object]  # custom field key -> parsed value, None where unset


class _ThirdPartyBatch(_Batch):
    """Rows matching a record update it one at a time (`thirdparties.update`). Rows creating one
    are checked one at a time with create's own steps, then written together: their codes
    drawn at once, then a multi-row INSERT a table. A row that matches one still waiting, or
    shares a unique custom value with it, has the waiting ones written first, so the file's
    order decides as it would row by row. Should the writing of them together fail (a code the numbering draws is an
    imported record's, or a concurrent creator won a race), they are written again one at a
    time through `thirdparties.create`."""

    async def prepare(self, rows: list[_Row]) -> None:
        emails = [row.values["email"].lower() for row in rows if "email" in row.values]
        scope = visible_thirdparties(self.ctx.actor)
        self.by_code = await _ids_by_code(self.ctx, [row.values["code"] for row in rows if "code" in row.values])
        self.by_email: dict[str, int] = {}
        # the oldest record of an email; sorted here, as a planner short of statistics would
        # rather read the whole table in id order than sort the few rows found
        for email, thirdparty_id in await scope.filter(email_key__in=emails).values_list("email_key", "id"):
            self.by_email[email] = min(thirdparty_id, self.by_email.get(email, thirdparty_id))
        self.fields = await customfields.definitions("thirdparty")
        self.waiting: list[_New] = []
        self.waiting_keys: set[tuple[str, str]] = set()  # what a later row may share with those waiting

    async def run(self, rows: list[_Row]) -> None:
        await self.prepare(rows)
        for row in rows:
            await self.take(row)
        await self.write_waiting()

    async def take(self, row: _Row) -> None:
        wanted = _wanted(row)
        if _match_keys(wanted) & self.waiting_keys:
            await self.write_waiting()
        existing = self.by_code.get(wanted.code) or self.by_email.get(wanted.email)
        if existing:
            await self.write_alone(row, self.update(existing, wanted))
            return
        try:
            new = await self.checked(row, wanted)
        except ValidationError as error:
            self.refuse(row, error)
            return
        self.waiting.append(new)
        self.waiting_keys |= _match_keys(wanted) | _unique_keys(self.fields, new.custom)

    async def update(self, thirdparty_id: int, wanted: _Wanted) -> bool:
        await thirdparties.update(self.ctx, thirdparty_id, wanted.values, tags=wanted.tags, sales_reps=wanted.reps,
                                  custom=wanted.custom)
        return False

    async def checked(self, row: _Row, wanted: _Wanted) -> _New:
        """The row checked as `thirdparties.create` checks it, but for its code's being free."""
        new = thirdparties.clean_new(wanted.values, tags=wanted.tags or (), sales_reps=wanted.reps or (),
                                     code=wanted.code)
        custom = customfields.parse_new(self.fields, wanted.custom, self.ctx.timezone)
        if _unique_keys(self.fields, custom) & self.waiting_keys:
            await self.write_waiting()  # then the check below finds the value in the database
        for definition in self.fields:
            await customfields.check_unique(definition, custom[definition.key], None)
        return _New(row, wanted, new, custom)

    async def write_waiting(self) -> None:
        waiting, self.waiting, self.waiting_keys = self.waiting, [], set()
        given = [new.new.code for new in waiting if new.new.code]
        taken = await thirdparties.taken_codes(connections.get("default"), given) if given else set()
        for new in waiting:
            if new.new.code in taken:
                self.refuse(new.row, thirdparties.code_taken(new.new.code))
        waiting = [new for new in waiting if new.new.code not in taken]
        if not waiting:
            return
        try:
            async with in_transaction(), self.ctx.transaction() as uow:  # a savepoint, to fall back from
                made = await _create_all(self.ctx, uow, self.fields, waiting)
        except (DomainError, IntegrityError):
            for new in waiting:
                await self.write_alone(new.row, self.create(new))
            return
        for new, (thirdparty_id, code) in zip(waiting, made):
            self.remember(new.wanted, thirdparty_id, code)
        self.report.created += len(made)

    async def create(self, new: _New) -> bool:
        wanted = new.wanted
        made = await thirdparties.create(self.ctx, wanted.values, tags=wanted.tags or (), sales_reps=wanted.reps or (),
                                         custom=wanted.custom, code=wanted.code)
        self.remember(wanted, made.id, made.code)
        return True

    def remember(self, wanted: _Wanted, thirdparty_id: int, code: str) -> None:
        """A new record, for later rows of the file to match."""
        self.by_code[code] = thirdparty_id
        if wanted.email:
            self.by_email.setdefault(wanted.email, thirdparty_id)


def _match_keys(wanted: _Wanted) -> set[tuple[str, str]]:
    """What a row is matched on: its code, then its email."""
    return {(kind, key) for kind, key in (("code", wanted.code), ("email", wanted.email)) if key}


def _unique_keys(fields: list[customfields.FieldDefinition], custom: dict[str, object]) -> set[tuple[str, str]]:
    """The values of unique custom fields that no other record may have."""
    return {(customfields.name(f), customfields.stored_columns(f, custom[f.key])["unique_value"]) for f in fields
            if f.unique and custom[f.key] is not None}


async def _ids_by_code(ctx: Context, codes: list[str]) -> dict[str, int]:
    """Visible third parties by code; the code of one merged into another gives the one kept."""
    ids = dict(await visible_thirdparties(ctx.actor).filter(code__in=codes).values_list("code", "id"))
    for code, thirdparty_id in await ThirdPartyAlias.filter(code__in=codes).values_list("code", "thirdparty_id"):
        ids.setdefault(code, thirdparty_id)
    return ids


async def _create_all(ctx: Context, uow: UnitOfWork, fields: list[customfields.FieldDefinition],
                      waiting: list[_New]) -> list[tuple[int, str]]:
    """Write checked new third parties as `thirdparties.create` would one by one, with their
    tags, reps, custom values and COMPANY_CREATE events; returns their ids and codes, in order."""
    connection = uow.connection
    values = [thirdparties.new_values(ctx.actor, uow.now, new.new.values) for new in waiting]
    rows = [{**fields_of, **thirdparties.derived_columns(fields_of)} for fields_of in values]
    # drawn just before the writes, rather than claimed after them as create does: claiming
    # rewrites each row, every index entry of it again
    drawn = iter(await numbering.draw_codes(uow, "thirdparty", ctx.timezone, [
        fields_of["type"] for new, fields_of in zip(waiting, values) if not new.new.code]))
    for row, new in zip(rows, waiting):
        row["code"] = new.new.code or next(drawn)
    inserted = await insert_rows(connection, "crm_thirdparty", rows, returning="id, code")
    id_by_code = {row["code"]: row["id"] for row in inserted}
    ids = [id_by_code[row["code"]] for row in rows]
    await _link_tags(connection, {thirdparty_id: new.new.tags for thirdparty_id, new in zip(ids, waiting)})
    await _link_reps(uow, ctx.settings.default_role, {thirdparty_id: new.new.reps for thirdparty_id, new in zip(ids, waiting)})
    by_key = customfields.by_key(fields)
    await insert_rows(connection, "crm_custom_value", [
        {"field_id": by_key[key].id, "thirdparty_id": thirdparty_id, **customfields.stored_columns(by_key[key], value)}
        for thirdparty_id, new in zip(ids, waiting) for key, value in new.custom.items() if value is not None])
    await agenda.record_many(uow, "COMPANY_CREATE", ctx.actor, {
        thirdparty_id: thirdparties.creation_label(fields_of) for thirdparty_id, fields_of in zip(ids, values)})
    return [(thirdparty_id, row["code"]) for thirdparty_id, row in zip(ids, rows)]


async def _link_tags(connection, tags: dict[int, list[str]]) -> None:
    """Tag new third parties (id -> tag names), creating the tags no record had yet."""
    names = {name for names in tags.values() for name in names}
    if not names:
        return
    tag_ids = dict(await Tag.filter(name__in=names).using_db(connection).values_list("name", "id"))
    created = await insert_rows(connection, "crm_tag", [{"name": name} for name in names - set(tag_ids)],
                                returning="id, name")
    tag_ids.update({row["name"]: row["id"] for row in created})
    await insert_rows(connection, "crm_thirdparty_tag", [
        {"crm_thirdparty_id": thirdparty_id, "tag_id": tag_ids[name]}
        for thirdparty_id, names in tags.items() for name in names])


async def _link_reps(uow: UnitOfWork, default_role: str, reps: dict[int, list[str]]) -> None:
    """Give new third parties (id -> Slack user IDs, in order) their sales reps."""
    user_ids = list(dict.fromkeys(user_id for user_ids in reps.values() for user_id in user_ids))
    if not user_ids:
        return
    await ensure_users(uow, user_ids, default_role)
    await insert_rows(uow.connection, "crm_thirdparty_rep", [
        {"crm_thirdparty_id": thirdparty_id, "user_id": user_id, "position": position}
        for thirdparty_id, user_ids in reps.items() for position, user_id in enumerate(user_ids)])


class _ContactBatch(_Batch):
    """A contact matches one of its third party with the same email; one without an email, one
    with the same names and no email either (so importing a file again adds no one twice)."""

    async def prepare(self, rows: list[_Row]) -> None:
        self.thirdparty_by_code = await _ids_by_code(
            self.ctx, [row.values["thirdparty_code"] for row in rows if "thirdparty_code" in row.values])
        known = await (Contact.filter(thirdparty_id__in=set(self.thirdparty_by_code.values())).order_by("-id")
                       .values_list("thirdparty_id", "email", "first_name", "last_name", "id"))
        # the oldest contact of a key, as ids descend
        self.known = {(thirdparty_id, _contact_key(email, first, last)): contact_id
                      for thirdparty_id, email, first, last, contact_id in known}

    async def write(self, row: _Row) -> bool:
        values = dict(row.values)
        code = values.pop("thirdparty_code", None)
        if code is None:
            raise ValidationError("thirdparty_code", "thirdparty_code: the code of its third party is missing.")
        thirdparty_id = self.thirdparty_by_code.get(code)
        if thirdparty_id is None:
            raise ValidationError("thirdparty_code", f"thirdparty_code: no third party has the code {code!r}.")
        country = _country(values)
        if country:
            values["country"] = country
        key = (thirdparty_id, _contact_key(values.get("email", ""), values.get("first_name", ""),
                                           values.get("last_name", "")))
        existing = self.known.get(key)
        if existing:
            await contacts.update(self.ctx, existing, values, custom=row.custom)
            return False
        made = await contacts.create(self.ctx, thirdparty_id, values, custom=row.custom)
        self.known[key] = made.id
        return True


def _contact_key(email: str, first_name: str, last_name: str) -> tuple[str, ...]:
    return ("email", email.lower()) if email else ("name", first_name.casefold(), last_name.casefold())
