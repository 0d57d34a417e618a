"""Export files (SPEC §6): cell text, formula-safe CSV that round-trips, string-only XLSX."""
import csv
import io
from datetime import date, datetime, timezone
from decimal import Decimal

import openpyxl
import pytest

from crm.tabular import cell_text, csv_safe, csv_unsafe, write_csv, write_xlsx

pytestmark = pytest.mark.database_free

HEADER = ["code", "name", "tags", "created_at", "cf.budget"]
ROWS = [
    ["CU2601-00001", 'Acme, "Widgets"\nLtd', ["vip", "north"],
     datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc), Decimal("1E+3")],
    ["CU2601-00002", "Café 日本", [], None, Decimal("-12.50")],
    ["CU2601-00003", "=1+1", ["@SUM"], None, "+33 1 23 45"],
]
EXPECTED_TEXT = [
    HEADER,
    ["CU2601-00001", 'Acme, "Widgets"\nLtd', "vip;north", "2026-01-02T03:04:05+00:00", "1000"],
    ["CU2601-00002", "Café 日本", "", "", "-12.50"],
    ["CU2601-00003", "=1+1", "@SUM", "", "+33 1 23 45"],
]


@pytest.mark.parametrize("value, text", [
    (None, ""),
    (True, "true"),
    (False, "false"),
    (0, "0"),
    (Decimal("1E+3"), "1000"),
    (Decimal("0.000001"), "0.000001"),
    (Decimal("12.50"), "12.50"),
    (datetime(2026, 1, 2, 3, 4, tzinfo=timezone.utc), "2026-01-02T03:04:00+00:00"),
    (date(2026, 1, 2), "2026-01-02"),
    (["vip", "north"], "vip;north"),
    (("U1", "U2"), "U1;U2"),
    ("Café", "Café"),
])
def test_cell_text(value, text):
    assert cell_text(value) == text


@pytest.mark.parametrize("text, written", [
    ("=1+1", "'=1+1"),
    ("+33 1 23 45", "'+33 1 23 45"),  # too few digits for a phone number
    ("+33 1 23 45 67 89", "+33 1 23 45 67 89"),  # an international phone number cannot run
    ("+33123456789", "+33123456789"),
    ("+1 650 555 0100", "+1 650 555 0100"),
    ("+33  1 23 45 67 89", "'+33  1 23 45 67 89"),  # only single spaces between groups
    ("+33-1-23-45-67-89", "'+33-1-23-45-67-89"),  # a subtraction to a spreadsheet
    ("+33 1 23 45 67 89 01 234", "'+33 1 23 45 67 89 01 234"),  # more than E.164's 15 digits
    ("@SUM(A1)", "'@SUM(A1)"),
    ("-", "'-"),
    ("\tx", "'\tx"),
    ("\rx", "'\rx"),
    ("'=1", "''=1"),  # an apostrophe the user typed survives import
    ("-5", "-5"),
    ("-12.5", "-12.5"),
    ("+5", "+5"),
    ("-1e5", "-1e5"),
    ("'quoted", "'quoted"),
    ("Acme", "Acme"),
    ("a=b", "a=b"),
    ("", ""),
])
def test_csv_safe(text, written):
    assert csv_safe(text) == written


@pytest.mark.parametrize("text", [
    "", "'", "''", "-", "-5", "+5", "-12.5", ".5", "-.5", "+33 1 23 45", "=1+1", "'=1+1",
    "''=1+1", "@SUM", "'@SUM", "\tx", "'\tx", "\rx", "'quoted", "''quoted", "don't",
    "Acme", "=", "'-", "-'", "1e5", "-1e5", "- 5", "٣", "-٣",
    "+33 1 23 45 67 89", "'+33 1 23 45 67 89", "+33123456789",
])
def test_csv_unsafe_inverts_csv_safe(text):
    assert csv_unsafe(csv_safe(text)) == text


def test_csv_unsafe_strips_a_hand_written_guard():
    assert csv_unsafe("'=1+1") == "=1+1"


def columns(rows: list[list]) -> list[tuple]:
    """One batch of `rows`, column by column, as exports hand them to the writers."""
    return list(zip(*rows))


def read_back_csv(rows) -> tuple[str, list[list[str]]]:
    stream = io.StringIO(newline="")
    write_csv(HEADER, [columns(rows)], stream)
    raw = stream.getvalue()
    return raw, list(csv.reader(io.StringIO(raw, newline="")))


def test_csv_round_trip():
    raw, read = read_back_csv(ROWS)
    assert [[csv_unsafe(cell) for cell in row] for row in read] == EXPECTED_TEXT
    assert read[3][1] == "'=1+1" and read[3][2] == "'@SUM"
    assert read[2][4] == "-12.50"


def test_csv_is_rfc_4180():
    raw, _ = read_back_csv(ROWS[:1])
    assert raw == ('code,name,tags,created_at,cf.budget\r\n'
                   'CU2601-00001,"Acme, ""Widgets""\nLtd",vip;north,2026-01-02T03:04:05+00:00,1000\r\n')


def test_csv_streams_batches():
    def batches():
        yield columns(ROWS[:1])
        assert "CU2601-00001" in stream.getvalue()  # written before the next batch is asked for
        yield columns(ROWS[1:2])

    stream = io.StringIO(newline="")
    write_csv(HEADER, batches(), stream)
    assert stream.getvalue().count("CU2601-0000") == 2


def test_xlsx_cells_are_text():
    stream = io.BytesIO()
    write_xlsx(HEADER, iter([columns(ROWS[:2]), columns(ROWS[2:])]), stream, sheet_name="thirdparties")
    workbook = openpyxl.load_workbook(io.BytesIO(stream.getvalue()))
    assert workbook.sheetnames == ["thirdparties"]
    sheet = workbook["thirdparties"]
    assert [[cell or "" for cell in row] for row in sheet.iter_rows(values_only=True)] == EXPECTED_TEXT
    assert all(cell.font.b for cell in sheet[1])
    formula_cell = sheet["B4"]
    assert (formula_cell.value, formula_cell.data_type) == ("=1+1", "s")
    assert sheet["E2"].value == "1000"
    assert sheet["D3"].value is None  # a missing value is a blank cell


def test_xlsx_to_a_path(tmp_path):
    path = tmp_path / "export.xlsx"
    write_xlsx(["code"], [[["CU2601-00001"]]], str(path))
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == ["Sheet1"]
    assert workbook.active["A2"].value == "CU2601-00001"


def test_xlsx_refuses_a_cell_it_would_truncate():
    with pytest.raises(ValueError, match="row 2, column 1"):
        write_xlsx(["note"], [[["x" * 40_000]]], io.BytesIO())


def test_rows_written_joined_are_what_csv_writer_writes():
    rows = [["a", "b c", ""], ["", "", ""], ["x,y", "q\"r", "s"], ["l\nm", "n\ro", "p"], ["'", " t ", "é"]]
    stream, expected = io.StringIO(newline=""), io.StringIO(newline="")
    write_csv(["one", "two", "three"], [columns(rows)], stream)
    csv.writer(expected, lineterminator="\r\n").writerows([["one", "two", "three"], *rows])
    assert stream.getvalue() == expected.getvalue()


def reference_csv(header: list[str], rows: list[list]) -> str:
    """What write_csv must write: csv.writer's bytes for the cells csv_safe(cell_text(value))."""
    stream = io.StringIO(newline="")
    csv.writer(stream, lineterminator="\r\n").writerows(
        [[csv_safe(cell_text(value)) for value in row] for row in [header, *rows]])
    return stream.getvalue()


@pytest.mark.parametrize("rows", [
    [["a", "=b", None], ["c\0=d", "+33 1 23 45 67 89", 5], ["'", "", True]],  # suspects past the first row, NUL
    [[["x", "=y"], ("@z",), datetime(2026, 1, 2, tzinfo=timezone.utc)], [[], (), date(2026, 1, 2)]],
    [[[1, "a"], ["=1"], Decimal("-1E+2")], [["b,c"], ["q\"r"], Decimal("+5")]],  # lists of other than text
    [["x\0y", "a,b", "-"], ["\r", "\n", "\t="]],
    # numbers and phone numbers only, told harmless all at once; a NUL must not join two into one
    [["+33 1 23 45 67 89", "-5", "+33123456789\0+1"], ["+33 1 23 45 67 89\0+33 1 23 45 67 89", "+5", "+1 650 555 0100"],
     ["+33 1 23 45", "1e5", "'+33 1 23 45 67 89"], ["+33 1 23 45 67 89 01 234", "+.5", "+33  1 23 45 67 89"]],
])
def test_columns_are_written_as_csv_writer_writes_their_safe_text(rows):
    header = ["one", "two", "three"]
    stream = io.StringIO(newline="")
    write_csv(header, [columns(rows[:1]), columns(rows[1:])], stream)
    assert stream.getvalue() == reference_csv(header, rows)


def test_a_sole_column_quotes_its_empty_cells_as_csv_writer_does():
    stream = io.StringIO(newline="")
    write_csv(["only"], [[["", "a", None, "=b"]]], stream)
    assert stream.getvalue() == reference_csv(["only"], [[""], ["a"], [None], ["=b"]]) == 'only\r\n""\r\na\r\n""\r\n\'=b\r\n'
