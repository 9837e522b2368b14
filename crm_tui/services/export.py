"""Exporting records: CSV and JSON of a record list or saved view (the columns it shows) or of every
importable field (services.export_full), vCards of contacts and iCalendar of tasks and appointments.

Records are read CHUNK at a time and written as they come, so 100,000 contacts cost a few seconds
and flat memory; `progress(done, total)` is called after each chunk (it may raise ExportCancelled to
stop). `export_file` writes PATH.tmp and renames it to PATH only when everything was written: a
failed or cancelled export never leaves a partial file.

CSV injection (OWASP): a spreadsheet runs a cell starting with `=`, `+`, `-`, `@`, tab, CR or LF as a
formula, so such a cell gets a leading `'`. Only text cells can be neutralised, and which cells are
text is decided by the column's kind, never by guessing from the text: money, number, rating, date,
time and yes/no values are kept as numbers, dates and booleans until written, so a deal amount of
-42.50 is written `-42.50`. A text cell that is exactly a plain number ("-5", "+15551234567") is not
a formula and is written as is. Cells that already start with quotes before such a character get
one more quote, so `restore()` (for the importer) gives back exactly the original text. JSON needs
no neutralising (nothing evaluates it) and is written untouched.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from crm_tui.services import export_cards, export_rows, list_views, permissions, workspace_settings
from crm_tui.services.errors import ServiceError
from crm_tui.services.export_full import full_table
from crm_tui.services.export_rows import Lookups, Table, all_ids, query_ids, shown_table
from crm_tui.services.list_fields import Column
from crm_tui.services.list_views import ListView
from crm_tui.services.record_lists import ListQuery

Progress = Callable[[int, int], None]
"""Called as progress(done, total) after each chunk."""

FORMATS: dict[str, tuple[str, ...]] = {
    "company": ("csv", "json"), "contact": ("csv", "json", "vcf"), "lead": ("csv", "json"),
    "deal": ("csv", "json"), "task": ("csv", "json", "ics"), "appointment": ("csv", "json", "ics"),
    "note": ("csv", "json"), "calendar": ("ics",),
}  # fmt: skip
"""The formats each exportable type can be written as ("calendar" is tasks and appointments)."""

FORMAT_LABELS = {
    "csv": "CSV (spreadsheets)",
    "json": "JSON",
    "vcf": "vCard (address books)",
    "ics": "iCalendar (calendars)",
}
LIST_ENTITIES = ("company", "contact", "lead", "deal")
"""The types with a record list (and saved views): only they can be exported as shown."""

NOUNS = {
    "company": ("company", "companies"), "contact": ("contact", "contacts"), "lead": ("lead", "leads"),
    "deal": ("deal", "deals"), "task": ("task", "tasks"), "appointment": ("appointment", "appointments"),
    "note": ("note", "notes"), "calendar": ("calendar item", "calendar items"),
}  # fmt: skip
_ALIASES = {**{plural: entity for entity, (_, plural) in NOUNS.items()}, **{entity: entity for entity in NOUNS},
            "calendar": "calendar"}  # fmt: skip

_RISKY = re.compile(r"'*[=+\-@\t\r\n]")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


class ExportError(ServiceError):
    """The export cannot be done as asked (a wrong format, an unknown view, an unwritable path)."""


class ExportCancelled(ExportError):
    """Raised by a progress callback to stop an export; nothing is left behind."""

    def __init__(self) -> None:
        super().__init__("the export was cancelled")


def entity_named(name: str) -> str:
    """The exportable type a user named ("contacts", "Contact", "calendar"), or ExportError."""
    entity = _ALIASES.get(name.strip().lower())
    if entity is None:
        raise ExportError(f"cannot export {name!r}; choose one of: {', '.join(NOUNS[e][1] for e in NOUNS)}")
    return entity


def formats_for(entity: str) -> tuple[str, ...]:
    """The formats `entity` can be exported as."""
    return FORMATS[entity]


def shown_columns(entity: str) -> list[Column]:
    """The columns a record list shows (and exports as shown): the default columns, then every
    custom field column. The same as RecordListScreen.shown_columns()."""
    return export_rows.shown_columns(entity)


def describe(count: int, entity: str) -> str:
    """ "1,234 contacts", "1 contact"."""
    one, many = NOUNS[entity]
    return f"{count:,} {one if count == 1 else many}"


def default_filename(entity: str, fmt: str, today: date) -> str:
    """A file name for an export: contacts-2026-11-22.csv."""
    return f"{NOUNS[entity][1].replace(' ', '-')}-{today:%Y-%m-%d}.{fmt}"


def find_view(entity: str, name: str, user_id: int | None) -> ListView:
    """The built-in or saved view of `entity` called `name` (any case), or ExportError naming them."""
    if entity not in LIST_ENTITIES:
        raise ExportError(f"{NOUNS[entity][1]} have no views; export them without --view")
    found = list_views.views(entity, user_id)
    wanted = name.strip().casefold()
    for view in found:
        if view.name.casefold() == wanted or view.key == wanted:
            return view
    raise ExportError(f"no {NOUNS[entity][1]} view called {name!r}; the views are: {', '.join(v.name for v in found)}")


@dataclass(frozen=True)
class ExportRequest:
    """What to export: the type, the format, which records and which columns.

    `query` picks the records and their order (a list's query); None is every live record, in the
    order they were made. `columns` is "shown" (the list's columns and labels) or "all" (every
    importable field, keyed for the importer); it matters for CSV and JSON only.
    """

    entity: str
    format: str
    query: ListQuery | None = None
    columns: str = "all"
    user_id: int | None = None

    def check(self) -> None:
        """Raise ExportError unless this export can be done."""
        if self.entity not in FORMATS:
            raise ExportError(f"cannot export {self.entity!r}")
        many = NOUNS[self.entity][1]
        if self.format not in FORMATS[self.entity]:
            offered = ", ".join(FORMATS[self.entity])
            raise ExportError(f"{many} cannot be exported as {self.format}; choose {offered}")
        if self.columns not in ("shown", "all"):
            raise ExportError(f"columns are 'shown' or 'all', not {self.columns!r}")
        if self.entity not in LIST_ENTITIES and (self.query is not None or self.columns == "shown"):
            raise ExportError(f"{many} have no list to export as shown; export every field")
        if self.query is not None and self.query.entity != self.entity:
            raise ExportError(f"a list of {self.query.entity} records cannot be exported as {many}")


def request_for(
    name: str, fmt: str, *, view: str | None = None, columns: str | None = None, user_id: int | None = None
) -> ExportRequest:
    """The request a command line names: `contacts --format csv --view "My contacts"`. With a view,
    its records in its order and (unless `columns` says otherwise) the columns it shows."""
    entity = entity_named(name)
    request = ExportRequest(entity, fmt.lower(), None, columns or ("shown" if view else "all"), user_id)
    request.check()  # a wrong format is reported before any view is looked up
    if view is not None:
        request = ExportRequest(
            entity, request.format, find_view(entity, view, user_id).query, request.columns, user_id
        )
        request.check()
    return request


# -- writing --------------------------------------------------------------------------------------
def neutralise(text: str) -> str:
    """A text cell made safe from spreadsheet formulas (see the module docstring)."""
    if _RISKY.match(text) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def restore(text: str) -> str:
    """The original text of a CSV cell `neutralise` wrote (for the importer): one quote less."""
    return text[1:] if text.startswith("'") and _RISKY.match(text[1:]) else text


def csv_cell(value: Any) -> str:
    """A typed value as CSV text: only text is neutralised; numbers and dates are written as is."""
    if value is None:
        return ""
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def json_value(value: Any) -> str:
    """A typed value as JSON text: numbers as numbers (money keeps its decimals: 1234.50), null for empty."""
    if value is None or value == "":
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f") if value.is_finite() else "null"
    if isinstance(value, (date, datetime)):
        return json.dumps(csv_cell(value))
    return json.dumps(str(value), ensure_ascii=False)


def _progress(progress: Progress | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, max(done, total))


def write_csv(table: Table, out: TextIO, progress: Progress | None = None) -> int:
    """Write `table` as CSV (comma, minimal quoting, CRLF, line breaks kept inside cells)."""
    writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow([neutralise(column.header) for column in table.columns])
    done = 0
    for rows in table.chunks:
        writer.writerows([csv_cell(value) for value in row] for row in rows)
        done += len(rows)
        _progress(progress, done, table.total)
    return done


def write_json(table: Table, out: TextIO, progress: Progress | None = None) -> int:
    """Write `table` as a JSON list of objects keyed by the header, one object per line."""
    keys = [json.dumps(column.header, ensure_ascii=False) + ": " for column in table.columns]
    out.write("[")
    done = 0
    for rows in table.chunks:
        for row in rows:
            out.write(",\n" if done else "\n")
            out.write("{" + ", ".join(key + json_value(value) for key, value in zip(keys, row, strict=True)) + "}")
            done += 1
        _progress(progress, done, table.total)
    out.write("\n]\n" if done else "]\n")
    return done


def write_export(request: ExportRequest, out: TextIO, progress: Progress | None = None) -> int:
    """Write the export to the text stream `out`; returns how many records were written."""
    request.check()
    entity, fmt = request.entity, request.format
    if fmt == "ics":
        tasks = all_ids("task") if entity in ("task", "calendar") else None
        appointments = all_ids("appointment") if entity in ("appointment", "calendar") else None
        _progress(progress, 0, (tasks[0] if tasks else 0) + (appointments[0] if appointments else 0))
        return export_cards.write_calendar(tasks, appointments, out, progress)
    query = request.query
    if query is None and request.columns == "shown":
        query = ListQuery(entity)
    total, ids = query_ids(query, request.user_id) if query is not None else all_ids(entity)
    _progress(progress, 0, total)
    if fmt == "vcf":
        return export_cards.write_vcards(total, ids, out, progress)
    lookups = Lookups.read(workspace_settings.currency())
    table = (shown_table if request.columns == "shown" else full_table)(entity, ids, total, lookups)
    return (write_csv if fmt == "csv" else write_json)(table, out, progress)


def export_file(request: ExportRequest, path: str | Path, progress: Progress | None = None) -> int:
    """Write the export to `path` (`~` expanded) all or nothing: to PATH.tmp, renamed when complete.
    Returns how many records were written; ExportError when the path cannot be written."""
    permissions.check_server_files()
    request.check()
    target = Path(path).expanduser()
    if target.is_dir():
        raise ExportError(f"{target} is a folder; give a file name")
    temporary = target.with_name(target.name + ".tmp")
    try:
        with open(temporary, "w", encoding="utf-8", newline="") as out:
            count = write_export(request, out, progress)
        os.replace(temporary, target)
    except OSError as error:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        raise ExportError(f"cannot write {target}: {error.strerror or error}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        raise
    return count
