"""CSV and XLSX writing for exports (SPEC §6), one row at a time so big exports stay small.

Both formats show the same text for a value (`cell_text`). A CSV cell a spreadsheet would
run as a formula gets a leading `'` (`csv_safe`), which import removes (`csv_unsafe`);
XLSX cells are always written as strings, so nothing there is ever a formula.
"""
import csv
import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import BinaryIO, TextIO

import xlsxwriter

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
# An international phone number (E.164: a country code and at most 15 digits in all), its
# digits grouped by single spaces: "+33 1 23 45 67 89". Fewer than 8 digits is no real number.
_PHONE_NUMBER = re.compile(r"\+[0-9]+(?: [0-9]+)*")
PHONE_DIGITS = range(8, 16)
_SUSPECT_FIRST = frozenset(FORMULA_STARTS) | {"'"}  # what csv_safe may change


def cell_text(value) -> str:
    """The text of a value in an export cell, the same in CSV and XLSX."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")  # never an exponent: Decimal("1E+3") is 1000
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return ";".join(cell_text(item) for item in value)
    return str(value)


def _formula_like(text: str) -> bool:
    return text.startswith(FORMULA_STARTS) and not (_PLAIN_NUMBER.fullmatch(text) or _phone_number(text))


def _phone_number(text: str) -> bool:
    return bool(_PHONE_NUMBER.fullmatch(text)) and len(text.replace(" ", "")) - 1 in PHONE_DIGITS


def csv_safe(text: str) -> str:
    """`text` with a leading `'` when a spreadsheet would run it as a formula.

    Apostrophes already in front of a formula-like text get one more, so that
    `csv_unsafe` can always take exactly one away: `'=1` is written `''=1`.
    """
    return "'" + text if _formula_like(text.lstrip("'")) else text


def csv_unsafe(text: str) -> str:
    """The inverse of `csv_safe`, for import: `csv_unsafe(csv_safe(x)) == x` for every x."""
    escaped = text.startswith("'") and _formula_like(text.lstrip("'"))
    return text[1:] if escaped else text


def write_csv(header: list[str], rows: Iterable[list], stream: TextIO) -> None:
    """Write RFC 4180 CSV to `stream`, opened with `encoding="utf-8", newline=""`."""
    writer = csv.writer(stream, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    suspect = _SUSPECT_FIRST
    for row in _with_header(header, rows):
        # csv_safe(cell_text(value)) for each cell, inlined for plain text, which most cells are
        cells = [value if type(value) is str and value[:1] not in suspect else csv_safe(cell_text(value))
                 for value in row]
        line = ",".join(cells)
        # A row with no comma, quote or line break in any cell is written joined, as csv.writer
        # would write it but three times faster; the others are quoted by csv.writer.
        if len(cells) > 1 and line.count(",") == len(cells) - 1 and '"' not in line and "\n" not in line \
                and "\r" not in line:
            stream.write(line + "\r\n")
        else:
            writer.writerow(cells)


def write_xlsx(header: list[str], rows: Iterable[list], path_or_stream: str | BinaryIO,
               sheet_name: str = "Sheet1") -> None:
    """Write a one-sheet workbook, bold header, every cell a string (never a formula).

    `constant_memory` flushes each row to a temporary file as soon as the next one starts.
    """
    with xlsxwriter.Workbook(path_or_stream, {"constant_memory": True}) as workbook:
        sheet = workbook.add_worksheet(sheet_name)
        bold = workbook.add_format({"bold": True})
        for row_index, row in enumerate(_with_header(header, rows)):
            cell_format = bold if row_index == 0 else None
            for column_index, value in enumerate(row):
                text = cell_text(value)
                # A missing value is a blank cell, not an empty string; a cell past the
                # sheet's limits (rows, 32767 characters) is an error, not a silent loss.
                if text and sheet.write_string(row_index, column_index, text, cell_format):
                    raise ValueError(
                        f"row {row_index + 1}, column {column_index + 1} does not fit in an XLSX sheet")


def _with_header(header: list[str], rows: Iterable[list]) -> Iterator[list]:
    yield header
    yield from rows
