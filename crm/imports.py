"""Imports of third parties and contacts from CSV (SPEC §6).

Third parties come in our export format (any subset of its columns) or as the third-party CSV
that Dolibarr 18–22's Export module writes (dataset `societe_1`, English labels), whose
customer codes are kept. Every row goes through the use cases the Slack forms call
(`crm.thirdparties.create` / `update`, `crm.contacts.create` / `update`), so one set of rules
checks them all. A row matching an existing record updates it with its non-empty values, so
importing the same file twice adds nothing.

Rows are written BATCH at a time, one transaction a batch and a savepoint a row: a refused
row is rolled back alone and reported with its row number as a spreadsheet shows it (the
header is row 1). A dry run rolls each batch back (rather than the whole file at the end,
which would hold the code counter's lock all along): a row repeating the code or email of
one in an earlier batch then counts as created rather than updated.
"""
from __future__ import annotations

import contextlib
import csv
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TextIO

from babel import Locale
from tortoise.transactions import in_transaction

from crm import contacts, customfields, exports, tabular, thirdparties
from crm.context import Context
from crm.countries import CODES as COUNTRY_CODES
from crm.errors import DatabaseUnavailable, DomainError, OutcomeUnknown, ValidationError
from crm.permissions import require_writer, visible_thirdparties
from models import Contact, ThirdPartyAlias

# Rows a transaction. A batch holds the code counter's lock (SQLite: the write lock) from its
# first drawn code to its commit; a small one keeps someone creating in Slack meanwhile from
# waiting past the query timeout, and costs a commit and three look-ups a hundred rows.
BATCH = 100
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
                async with ctx.transaction():
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
    """The rows of one batch, written in the transaction the caller opened, a savepoint a row."""

    def __init__(self, ctx: Context, report: ImportReport):
        self.ctx = ctx
        self.report = report

    async def run(self, rows: list[_Row]) -> None:
        await self.prepare(rows)
        for row in rows:
            try:
                async with in_transaction():  # a savepoint: a refused row is rolled back alone
                    created = await self.write(row)
            except ValidationError as error:
                self.report.refused.append(Refusal(row.number, error.field, error.message))
            except DomainError as error:
                self.report.refused.append(Refusal(row.number, "", str(error)))
            else:
                if created:
                    self.report.created += 1
                else:
                    self.report.updated += 1

    async def prepare(self, rows: list[_Row]) -> None:
        """Read at once, for the whole batch, the records its rows may match."""

    async def write(self, row: _Row) -> bool:
        """Create or update the record of `row`; True when created."""
        raise NotImplementedError


class _ThirdPartyBatch(_Batch):
    async def prepare(self, rows: list[_Row]) -> None:
        codes = [row.values["code"] for row in rows if "code" in row.values]
        emails = [row.values["email"].lower() for row in rows if "email" in row.values]
        scope = visible_thirdparties(self.ctx.actor)
        self.by_code = dict(await scope.filter(code__in=codes).values_list("code", "id"))
        # the code of a record merged into another resolves to the one kept
        for code, thirdparty_id in await ThirdPartyAlias.filter(code__in=codes).values_list("code", "thirdparty_id"):
            self.by_code.setdefault(code, thirdparty_id)
        self.by_email = {}
        for email, thirdparty_id in await scope.filter(email_key__in=emails).order_by("-id").values_list(
                "email_key", "id"):
            self.by_email[email] = thirdparty_id  # the oldest record of an email, as ids descend

    async def write(self, row: _Row) -> bool:
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
        email = values.get("email", "").lower()
        existing = self.by_code.get(code) or self.by_email.get(email)
        if existing:
            await thirdparties.update(self.ctx, existing, values, tags=tags, sales_reps=reps, custom=row.custom)
            return False
        made = await thirdparties.create(self.ctx, values, tags=tags or (), sales_reps=reps or (),
                                         custom=row.custom, code=code)
        self.by_code[made.code] = made.id
        if email:
            self.by_email.setdefault(email, made.id)
        return True


class _ContactBatch(_Batch):
    """A contact matches one of its third party with the same email; one without an email, one
    with the same names and no email either (so importing a file again adds no one twice)."""

    async def prepare(self, rows: list[_Row]) -> None:
        codes = [row.values["thirdparty_code"] for row in rows if "thirdparty_code" in row.values]
        scope = visible_thirdparties(self.ctx.actor)
        self.thirdparty_by_code = dict(await scope.filter(code__in=codes).values_list("code", "id"))
        for code, thirdparty_id in await ThirdPartyAlias.filter(code__in=codes).values_list("code", "thirdparty_id"):
            self.thirdparty_by_code.setdefault(code, thirdparty_id)
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
