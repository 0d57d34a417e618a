"""CSV and XLSX writing for exports (SPEC §6), a batch of rows at a time so big exports stay small.

A batch comes column by column (`Columns`: one sequence of values per column, all as long),
which is how CSV is written fastest: each column is turned to text by the quickest means its
values' types allow, then rows are joined in C.

Both formats show the same text for a value (`cell_text`). A CSV cell a spreadsheet would
run as a formula gets a leading `'` (`csv_safe`), which import removes (`csv_unsafe`);
XLSX cells are always written as strings, so nothing there is ever a formula.
"""
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from itertools import compress, repeat
from typing import BinaryIO, TextIO

import xlsxwriter

Columns = Sequence[Sequence]  # a batch of rows, one sequence of values per column

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_SUSPECT_STARTS = (*FORMULA_STARTS, "'")  # what csv_safe may change
# A column is scanned as one text, its cells joined by NUL: neither quoted nor a formula start,
# so a NUL inside a cell can only send the column down the slower, exact, cell by cell way.
_CELL_SEPARATOR = "\0"
# The column starts with one too: a pattern that starts with a plain character is searched fast.
_SUSPECT_CELL = re.compile(f"{_CELL_SEPARATOR}[{re.escape(''.join(_SUSPECT_STARTS))}]")
# What starts like a formula but cannot run as one: a plain number, or an international phone
# number (E.164: a country code and 8 to 15 digits in all, fewer is no real number) with its
# digits grouped by single spaces, "+33 1 23 45 67 89". The digits are counted by the lookahead,
# up to the end of the cell (the end of the text, or a separator in a joined column).
_PLAIN_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_PHONE_NUMBER = rf"\+(?=(?:[0-9] ?){{8,15}}(?:{_CELL_SEPARATOR}|\Z))[0-9]+(?: [0-9]+)*"
_HARMLESS = f"(?:{_PLAIN_NUMBER}|{_PHONE_NUMBER})"
_HARMLESS_TEXT = re.compile(_HARMLESS)
_HARMLESS_CELLS = re.compile(f"{_HARMLESS}(?:{_CELL_SEPARATOR}{_HARMLESS})*")


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
    return text.startswith(FORMULA_STARTS) and not _HARMLESS_TEXT.fullmatch(text)


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


def write_csv(header: list[str], batches: Iterable[Columns], stream: TextIO) -> None:
    """Write RFC 4180 CSV to `stream`, opened with `encoding="utf-8", newline=""`: the bytes
    csv.writer would write for the cells `csv_safe(cell_text(value))`, one write per batch."""
    sole_column = len(header) == 1
    for columns in _with_header(header, batches):
        cells = [_csv_cells(column, sole_column) for column in columns]
        stream.write("\r\n".join([*map(",".join, zip(*cells)), ""]))  # the "" ends the last line too


def _csv_cells(values: Sequence, sole_column: bool) -> Sequence[str]:
    """A column's cells: texts, formula-safe, quoted. Most columns need neither, which one scan
    of the column joined tells (csv_safe's leading ' never needs quoting)."""
    try:
        column = _CELL_SEPARATOR.join(values)  # fails unless every value is text, as most columns are
        texts = values
    except TypeError:
        texts = _texts(values)
        column = _CELL_SEPARATOR.join(texts)
    if _SUSPECT_CELL.search(_CELL_SEPARATOR + column):
        texts = _neutralised(texts)
    if _needs_quotes(column) or (sole_column and not all(texts)):
        texts = _quoted(texts, sole_column)
    return texts


def _texts(values: Sequence) -> list[str]:
    """`cell_text` of each value; a column of one common type is converted in C."""
    types = set(map(type, values))
    if types == {datetime}:
        return list(map(datetime.isoformat, values))
    if types <= {list, tuple}:
        try:
            return list(map(";".join, values))  # cell_text's own join when every item is text
        except TypeError:
            pass
    return list(map(cell_text, values))


def _neutralised(texts: Sequence[str]) -> Sequence[str]:
    """`csv_safe` of each text, called only for those whose first character could start a formula,
    and not at all when every one of those is harmless (a column of phone numbers)."""
    suspects = list(compress(range(len(texts)), map(str.startswith, texts, repeat(_SUSPECT_STARTS))))
    if _all_harmless([texts[index] for index in suspects]):
        return texts
    texts = list(texts)
    for index in suspects:
        texts[index] = csv_safe(texts[index])
    return texts


def _all_harmless(texts: list[str]) -> bool:
    """Whether every text is a plain or phone number, told by one match over them all; a text
    holding the separator would blur the cells' ends, and is answered no."""
    column = _CELL_SEPARATOR.join(texts)
    return column.count(_CELL_SEPARATOR) == len(texts) - 1 and bool(_HARMLESS_CELLS.fullmatch(column))


def _quoted(texts: Sequence[str], sole_column: bool) -> list[str]:
    """Each text as a CSV cell; csv.writer also quotes an empty cell that is a row's only one."""
    return [_quote(text) if _needs_quotes(text) or (sole_column and not text) else text for text in texts]


def _needs_quotes(text: str) -> bool:
    """RFC 4180 as csv.writer writes it (QUOTE_MINIMAL, "\r\n")."""
    return "," in text or '"' in text or "\r" in text or "\n" in text


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def write_xlsx(header: list[str], batches: Iterable[Columns], path_or_stream: str | BinaryIO,
               sheet_name: str = "Sheet1") -> None:
    """Write a one-sheet workbook, bold header, every cell a string (never a formula).

    `constant_memory` flushes each row to a temporary file as soon as the next one starts.
    """
    with xlsxwriter.Workbook(path_or_stream, {"constant_memory": True}) as workbook:
        sheet = workbook.add_worksheet(sheet_name)
        bold = workbook.add_format({"bold": True})
        rows = (row for columns in _with_header(header, batches) for row in zip(*columns))
        for row_index, row in enumerate(rows):
            cell_format = bold if row_index == 0 else None
            for column_index, value in enumerate(row):
                text = cell_text(value)
                # A missing value is a blank cell, not an empty string; a cell past the
                # sheet's limits (rows, 32767 characters) is an error, not a silent loss.
                if text and sheet.write_string(row_index, column_index, text, cell_format):
                    raise ValueError(
                        f"row {row_index + 1}, column {column_index + 1} does not fit in an XLSX sheet")


def _with_header(header: list[str], batches: Iterable[Columns]) -> Iterable[Columns]:
    yield [[name] for name in header]
    yield from batches
