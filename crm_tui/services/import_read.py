"""Reading an import file exactly as it is: CSV (any common encoding and delimiter) or XLSX.

Nothing is guessed silently. A guessed encoding is reported as a warning, a broken file is a
`ReadError` that says which line, and cells reach the import engine unchanged (not stripped, not
padded), so the engine can decide and explain what it does with each one.
"""

from __future__ import annotations

import codecs
import csv
import gc
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from crm_tui.services import permissions
from crm_tui.services.errors import ServiceError

FIELD_LIMIT = 50 * 1024 * 1024
"""The longest cell a CSV file may hold (the csv module's default of 128 KB cuts real notes)."""

DELIMITERS = (",", ";", "\t", "|")
"""The delimiters `sniff_delimiter` chooses among, the first winning a tie."""

_DELIMITER_NAMES = {
    "comma": ",", ",": ",", "semicolon": ";", ";": ";", "tab": "\t", "\\t": "\t", "\t": "\t",
    "pipe": "|", "|": "|",
}  # fmt: skip
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_EXCEL_SEP_LINE = re.compile(r"sep=(.)(?:\r\n|\n|\r)")
_SNIFF_CHARS = 65536
_SNIFF_RECORDS = 50


class ReadError(ServiceError):
    """The file cannot be read as a table; the message says what is wrong and, when known, where."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(f"line {line}: {message}" if line is not None else message)
        self.line = line


@dataclass(frozen=True, slots=True)
class Row:
    """One data record: the file line where it starts, and its cells exactly as written."""

    line: int
    cells: list[str]


@dataclass(frozen=True)
class Table:
    """A file read into a header and data rows, with how it was read and what to double-check."""

    header: list[str]
    rows: list[Row]
    encoding: str
    delimiter: str
    warnings: list[str]


def read_table(
    path: Path, *, delimiter: str | None = None, encoding: str | None = None, sheet: str | None = None
) -> Table:
    """Read the CSV or XLSX file at `path` (see `read_bytes`); `sheet` picks an XLSX sheet by name."""
    permissions.check_server_files()
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ReadError(f"cannot read {path}: {error.strerror or error}") from error
    return read_bytes(data, name=path.name, delimiter=delimiter, encoding=encoding, sheet=sheet)


def read_bytes(
    data: bytes,
    *,
    name: str = "file.csv",
    delimiter: str | None = None,
    encoding: str | None = None,
    sheet: str | None = None,
) -> Table:
    """Read a file's bytes: an XLSX workbook (by name or content) or delimited text. The encoding
    and delimiter are detected unless given; a file that cannot be read exactly is a ReadError."""
    if name.lower().endswith((".xlsx", ".xlsm")) or data.startswith(b"PK\x03\x04"):
        return _read_xlsx(data, sheet)
    if data.startswith(_OLE_MAGIC):
        raise ReadError("this is an old Excel .xls workbook (or another binary Office file): save it as .xlsx or CSV")
    text, used, warnings = decode(data, encoding)
    return _read_text(text, used, warnings, delimiter)


def decode(data: bytes, encoding: str | None = None) -> tuple[str, str, list[str]]:
    """The text of `data`, the encoding used and warnings. Detection: a byte-order mark (UTF-8,
    UTF-16, UTF-32), UTF-16 without one, UTF-8, then Windows-1252, then Latin-1 (which always
    decodes) with a warning. An explicit `encoding` is used as given."""
    if encoding:
        return _decode_as(data, encoding)
    for bom, codec in _BOMS:
        if data.startswith(bom):
            used = "utf-8-sig" if codec == "utf-8" else codec
            problem = f"the file starts with a {used} byte-order mark but is not valid {used}"
            return _decode_strict(data[len(bom) :], codec, problem), used, []
    guessed = _bomless_utf16(data)
    if guessed is not None:
        warning = f"the file has no byte-order mark but looks like {guessed.upper()}; read it as such"
        return data.decode(guessed), guessed, [warning]
    try:
        return data.decode("utf-8"), "utf-8", []
    except UnicodeDecodeError as error:
        line = _line_at(data[: error.start].decode("latin-1"), error.start)
        where = f"line {line} has byte 0x{data[error.start]:02X}"
    check = "check accented letters in the preview"
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        warning = f"the file is not UTF-8 ({where}) nor Windows-1252; read it as Latin-1 (ISO-8859-1): {check}"
        return data.decode("latin-1"), "latin-1", [warning]
    return text, "cp1252", [f"the file is not UTF-8 ({where}); read it as Windows-1252 (cp1252): {check}"]


def _decode_as(data: bytes, encoding: str) -> tuple[str, str, list[str]]:
    try:
        codec = codecs.lookup(encoding.strip()).name
        "".encode(codec)  # base64 and friends are codecs but not text encodings: LookupError
    except LookupError:
        raise ReadError(f"unknown encoding {encoding!r}: try utf-8, cp1252, latin-1 or utf-16") from None
    text = _decode_strict(data, codec, f"the file is not valid {codec}")
    used = {"iso8859-1": "latin-1"}.get(codec, codec)
    return text.removeprefix("\ufeff"), used, []


def _decode_strict(data: bytes, codec: str, problem: str) -> str:
    try:
        return data.decode(codec)
    except UnicodeDecodeError as error:
        line = data[: error.start].decode(codec, "replace").count("\n") + 1
        raise ReadError(f"{problem} ({error.reason} at byte {error.start})", line=line) from None


def _bomless_utf16(data: bytes) -> str | None:
    """The UTF-16 codec (LE or BE) when the start of `data` is Latin text in UTF-16 without a byte-order mark
    (every other byte NUL), which would otherwise be reported as a file full of NUL bytes."""
    sample = data[:4096]
    if len(sample) < 4 or len(data) % 2:
        return None
    even, odd = sample[0::2], sample[1::2]
    for zeros, others, codec in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        if zeros.count(0) >= 0.9 * len(zeros) and others.count(0) == 0:
            try:
                data.decode(codec)
            except UnicodeDecodeError:
                return None
            return codec
    return None


def sniff_delimiter(text: str) -> str:
    """The delimiter among , ; tab | that splits the first records of `text` (quotes respected)
    into a consistent number of columns, more than one; "," when none does."""
    sample = text[:_SNIFF_CHARS]
    truncated = len(text) > len(sample)
    if truncated:
        cut = max(sample.rfind("\n"), sample.rfind("\r"))
        sample = sample[:cut] if cut > 0 else sample
    best: tuple[float, int, int] | None = None
    choice = ","
    for rank, candidate in enumerate(DELIMITERS):
        counts = _column_counts(sample, candidate)
        if truncated and len(counts) > 1:
            counts.pop()  # the cut may have split the last record
        if not counts or counts[0] < 2:
            continue
        key = (counts.count(counts[0]) / len(counts), counts[0], -rank)
        if best is None or key > best:
            best, choice = key, candidate
    return choice


def _column_counts(sample: str, delimiter: str) -> list[int]:
    counts: list[int] = []
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
    try:
        for cells in reader:
            if any(cells):
                counts.append(len(cells))
                if len(counts) >= _SNIFF_RECORDS:
                    break
    except csv.Error:
        pass  # the records before the broken one still tell the delimiter
    return counts


def _delimiter(value: str) -> str:
    named = _DELIMITER_NAMES.get(value) or _DELIMITER_NAMES.get(value.strip().casefold())
    if named:
        return named
    if len(value) == 1 and value not in '"\r\n':
        return value
    raise ReadError(f"unknown delimiter {value!r}: use comma, semicolon, tab or |")


def _read_text(text: str, encoding: str, warnings: list[str], delimiter: str | None) -> Table:
    nul = text.find("\x00")
    if nul >= 0:
        raise ReadError("the file holds NUL bytes — is it a spreadsheet saved as binary?", line=_line_at(text, nul))
    if not text.strip():
        raise ReadError("the file is empty")
    offset = 0
    hint = _EXCEL_SEP_LINE.match(text)
    if hint:  # Excel's "sep=;" first line names the delimiter and is not data
        text, offset = text[hint.end() :], 1
        if delimiter is None and hint.group(1) not in '"\r\n':
            delimiter = hint.group(1)
    used = _delimiter(delimiter) if delimiter is not None else sniff_delimiter(text)
    header, rows = _parse(text, used, offset)
    if header is None:
        raise ReadError("the file is empty")
    return Table(_header(header, warnings), rows, encoding, used, warnings)


def _parse(text: str, delimiter: str, offset: int) -> tuple[list[str] | None, list[Row]]:
    """The first non-blank record and the later ones, each with the line where it starts."""
    if csv.field_size_limit() < FIELD_LIMIT:
        csv.field_size_limit(FIELD_LIMIT)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header: list[str] | None = None
    rows: list[Row] = []
    append = rows.append
    last = 0
    with gc_paused():
        try:
            for cells in reader:
                start = last + 1
                last = reader.line_num
                if not any(cells) or not "".join(cells).strip():
                    continue
                if header is None:
                    header = cells
                else:
                    append(Row(start + offset, cells))
        except csv.Error as error:
            raise _csv_error(error, text, last + 1, reader.line_num, delimiter, offset) from None
    return header, rows


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection inside the block: reading or importing a large file makes hundreds
    of thousands of objects that live to the end, none of them cyclic, and the collector walking
    them again and again costs a quarter of the time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _csv_error(error: csv.Error, text: str, start: int, now: int, delimiter: str, offset: int) -> ReadError:
    message = str(error)
    if "unexpected end of data" in message:
        return ReadError(
            'a quoted field is never closed (is a closing " missing?)',
            line=_unclosed_quote_line(text, start, delimiter) + offset,
        )
    if "expected after" in message:
        return ReadError(
            'a quoted field has text after its closing quote (a " inside quotes must be doubled: "")', line=now + offset
        )
    if "field larger than field limit" in message:
        return ReadError(
            f"a field is longer than {FIELD_LIMIT // 1024 // 1024} MB (is a quote missing?)", line=start + offset
        )
    return ReadError(f"the file is not valid CSV ({message})", line=now + offset)


def _unclosed_quote_line(text: str, start_line: int, delimiter: str) -> int:
    """The line of the quote that opens the field left open in the record starting at `start_line`."""
    position = 0
    lines = io.StringIO(text, newline="")
    for _ in range(start_line - 1):
        position += len(lines.readline())
    opened, field_start, index, end = None, True, position, len(text)
    while index < end:
        char = text[index]
        if opened is None:
            if char == '"' and field_start:
                opened = index
            field_start = char in (delimiter, "\n", "\r")
        elif char == '"':
            if index + 1 < end and text[index + 1] == '"':
                index += 1
            else:
                opened = None
        index += 1
    return _line_at(text, opened if opened is not None else position)


def _line_at(text: str, index: int) -> int:
    """The 1-based line of `text[index]`, counting \\r\\n, \\r and \\n as line breaks like the reader."""
    return text.count("\n", 0, index) + text.count("\r", 0, index) - text.count("\r\n", 0, index) + 1


def _header(cells: list[str], warnings: list[str]) -> list[str]:
    """Header names stripped, blank ones named after their column, duplicates numbered."""
    names: list[str] = []
    seen: set[str] = set()
    blank: list[str] = []
    for number, cell in enumerate(cells, 1):
        name = cell.strip()
        if not name:
            name = f"Column {number}"
            blank.append(str(number))
        if name in seen:
            copy = 2
            while f"{name} ({copy})" in seen:
                copy += 1
            warnings.append(f"two columns are called {name!r}: column {number} is read as {name + f' ({copy})'!r}")
            name = f"{name} ({copy})"
        seen.add(name)
        names.append(name)
    if blank:
        warnings.append(f'column {", ".join(blank)} has no name in the header: called "Column N"')
    return names


def _read_xlsx(data: bytes, sheet: str | None) -> Table:
    try:
        import openpyxl  # here, not at the top: the app starts faster without it
    except ImportError:
        raise ReadError("reading .xlsx files needs the openpyxl package; save the sheet as CSV instead") from None
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # a damaged workbook fails in many ways (zip, XML, missing parts)
        raise ReadError(f"this is not a readable .xlsx workbook ({type(error).__name__}: {error})") from error
    try:
        return _read_sheet(book, sheet)
    finally:
        book.close()


def _read_sheet(book: Any, sheet: str | None) -> Table:
    names = [ws.title for ws in book.worksheets]
    if not names:
        raise ReadError("the workbook has no worksheet")
    if sheet is not None and sheet not in names:
        raise ReadError(f"the workbook has no sheet {sheet!r}; its sheets are: {', '.join(names)}")
    warnings: list[str] = []
    if sheet is None and len(names) > 1:
        warnings.append(f"the workbook has {len(names)} sheets; read the first, {names[0]!r}")
    ws = book.worksheets[names.index(sheet)] if sheet is not None else book.worksheets[0]
    ws.reset_dimensions()  # a wrong <dimension> in the file would silently cut rows off
    header: list[str] | None = None
    rows: list[Row] = []
    number = 0
    try:
        for number, values in enumerate(ws.iter_rows(min_row=1, min_col=1, values_only=True), start=1):
            cells = [_cell_text(value) for value in values]
            if not any(cells) or not "".join(cells).strip():
                continue
            if header is None:
                while not cells[-1].strip():
                    cells.pop()  # formatting can make a sheet wider than its named columns
                header = cells
                continue
            # Sheets have no ragged rows: a short row is empty cells on the right, not a missing field.
            width = len(header)
            while len(cells) > width and not cells[-1]:
                cells.pop()
            cells.extend([""] * (width - len(cells)))
            rows.append(Row(number, cells))
    except Exception as error:  # damaged XML shows up only while reading rows
        raise ReadError(f"the sheet cannot be read ({type(error).__name__}: {error})", line=number + 1) from error
    if header is None:
        raise ReadError(f"the sheet {ws.title!r} is empty")
    return Table(_header(header, warnings), rows, "xlsx", "", warnings)


def _cell_text(value: Any) -> str:
    """A sheet cell as the text a CSV export of it would hold."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        if value.microsecond:  # Excel stores times as fractions of a day: 14:29:59.999998 is 14:30
            value = (value + timedelta(microseconds=500_000)).replace(microsecond=0)
        if value.time() == time(0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, (date, time)):
        return value.isoformat()
    return str(value)
