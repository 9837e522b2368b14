"""`crm import ENTITY FILE`, `crm import revert ID` and `crm import list`: the importer for scripts.

It prints the summary (created, updated, skipped, and every rejected row with its line and reason)
and exits 1 when nothing could be imported, 2 when the file cannot be read or the command is wrong.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from crm_tui.text import safe_text

ENTITIES = ("companies", "contacts", "leads", "deals", "tasks", "notes")
EXIT_NOTHING = 1
EXIT_UNREADABLE = 2


def add_parser(sub: Any) -> None:
    """Add `crm import` to the command line."""
    cmd = sub.add_parser(
        "import",
        help="import companies, contacts, leads, deals, tasks or notes from CSV/XLSX; `import revert ID`; `import list`",
        description="Import records from a CSV or XLSX file (or: `crm import list`, `crm import revert ID`).",
    )
    cmd.add_argument("entity", metavar="ENTITY", help=f"one of {', '.join(ENTITIES)} (or: list, revert)")
    cmd.add_argument("file", metavar="FILE", nargs="?", help="the file to import (for revert: the import's id)")
    cmd.add_argument("--mapping", metavar="NAME", help="use a saved column mapping")
    cmd.add_argument("--save-mapping", metavar="NAME", help="save the mapping used under this name")
    cmd.add_argument("--map", action="append", default=[], metavar="COLUMN=FIELD",
                     help="map one column (repeatable); `--map 'Notes='` leaves a column out")  # fmt: skip
    cmd.add_argument("--mode", choices=("all", "partial"), default="all",
                     help="all: nothing is stored if any row is rejected (default); partial: store the valid rows")  # fmt: skip
    cmd.add_argument("--dry-run", action="store_true", help="check every row and print the summary; store nothing")
    cmd.add_argument("--on-duplicate", choices=("skip", "fill", "overwrite", "create"), default="skip",
                     help="a row matching a record: skip it, fill its empty fields, overwrite them, or create anyway")  # fmt: skip
    cmd.add_argument("--match", metavar="KEYS", help="duplicate keys, comma-separated: email, phone, name, domain")
    cmd.add_argument("--strict-stages", action="store_true", help="reject deals whose stage the pipeline lacks")
    cmd.add_argument("--automations", action="store_true",
                     help="run the automation rules on the imported records (default: they fire for none of them)")  # fmt: skip
    cmd.add_argument("--delimiter", metavar="CHAR", help="the CSV delimiter (default: detected)")
    cmd.add_argument("--encoding", metavar="NAME", help="the file's encoding (default: detected)")
    cmd.add_argument("--sheet", metavar="NAME", help="the XLSX sheet (default: the first)")


def run(args: argparse.Namespace, open_workspace: Any) -> int:
    """Carry out `crm import ...`; `open_workspace()` opens (or creates) the target workspace."""
    from crm_tui.services import import_batches

    if args.entity == "list":
        open_workspace()
        for batch in import_batches.batches():
            state = f"reverted {batch.reverted_at:%Y-%m-%d}" if batch.reverted_at else "kept"
            counts = ", ".join(f"{count} {name}" for name, count in batch.counts.items() if name != "rows")
            print(f"#{batch.id:<5} {batch.at:%Y-%m-%d %H:%M}  {batch.entity:8} {safe_text(batch.file_name)}  {counts}  ({state})")
        return 0
    if args.entity == "revert":
        if not (args.file or "").lstrip("#").isdigit():
            print("crm: usage: crm import revert ID (see `crm import list`)", file=sys.stderr)
            return EXIT_UNREADABLE
        workspace = open_workspace()
        report = import_batches.revert(workspace.ctx, int(args.file.lstrip("#")))
        print("\n".join(safe_text(line) for line in report.lines()))
        return 0
    entity = _entity(args.entity)
    if entity is None or not args.file:
        print(f"crm: import what? ENTITY is one of {', '.join(ENTITIES)}, then the FILE", file=sys.stderr)
        return EXIT_UNREADABLE
    from crm_tui.services.import_read import ReadError, read_table

    try:
        table = read_table(Path(args.file), delimiter=args.delimiter, encoding=args.encoding, sheet=args.sheet)
    except (ReadError, OSError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        print(f"crm: cannot read {args.file}: {reason}", file=sys.stderr)
        return EXIT_UNREADABLE
    return _import(args, entity, table, open_workspace())  # crm's main reports a ServiceError (exit 2)


def _entity(name: str) -> str | None:
    from crm_tui.services.errors import ServiceError
    from crm_tui.services.import_columns import entity_of

    try:
        return entity_of(name)
    except ServiceError:
        return None


def _import(args: argparse.Namespace, entity: str, table: Any, workspace: Any) -> int:
    from crm_tui.services import import_columns, import_mappings
    from crm_tui.services.import_engine import ImportRequest, run_import, write_rejected
    from crm_tui.services.import_rows import StageChoices

    mapping = (
        import_mappings.load_mapping(args.mapping, entity, table.header)
        if args.mapping
        else import_columns.suggest(entity, table.header)
    )
    mapping |= _overrides(args.map, entity, table.header)
    mapping = {index: key for index, key in mapping.items() if key}
    print(f"{len(table.rows):,} rows read ({table.encoding}, delimiter {table.delimiter!r}). Columns:", file=sys.stderr)
    for index, column in enumerate(table.header):
        print(f"  {safe_text(column)!s:30} -> {mapping.get(index, '(not imported)')}", file=sys.stderr)
    request = ImportRequest(
        entity,
        mapping,
        file_name=Path(args.file).name,
        mode=args.mode,
        on_duplicate=args.on_duplicate,
        match_on=tuple(key.strip() for key in (args.match or "").split(",") if key.strip()),
        stages=StageChoices(strict=args.strict_stages),
        automations=args.automations,
    )
    result = run_import(workspace.ctx, table, request, dry_run=args.dry_run, progress=_progress())
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print("\n".join(safe_text(line) for line in result.lines()))
    if result.rejected and result.stored and args.mode == "partial":
        path = write_rejected(Path(f"{args.file}.rejected.csv"), table.header, result.rejected)
        print(f"The rejected rows are in {safe_text(str(path))} with the reason in the last column.")
    if args.save_mapping:
        import_mappings.save_mapping(args.save_mapping, entity, table.header, mapping)
        print(f"Saved the mapping as {safe_text(args.save_mapping)!r}.")
    if result.stored or (args.dry_run and result.created + result.updated > 0):
        return 0 if result.created + result.updated > 0 or not result.rejected else EXIT_NOTHING
    return EXIT_NOTHING if result.rejected or result.total == 0 else 0


def _overrides(pairs: list[str], entity: str, header: list[str]) -> dict[int, str]:
    from crm_tui.services.errors import ServiceError
    from crm_tui.services.import_columns import normalise_header, targets

    known = {target.key for target in targets(entity)}
    out: dict[int, str] = {}
    for pair in pairs:
        column, sep, key = pair.partition("=")
        if not sep:
            raise ServiceError(f"--map {pair!r}: write COLUMN=FIELD")
        index = next((i for i, name in enumerate(header) if normalise_header(name) == normalise_header(column)), None)
        if index is None:
            raise ServiceError(f"--map {pair!r}: the file has no column {column!r}")
        if key.strip() and key.strip() not in known:
            raise ServiceError(f"--map {pair!r}: {key!r} is not a field of {entity}s (fields: {', '.join(sorted(known))})")
        out[index] = key.strip()
    return out


def _progress() -> Any:
    if not sys.stderr.isatty():
        return None
    clock = {"phase": "", "started": time.perf_counter()}

    def show(phase: str, done: int, total: int) -> None:
        if phase != clock["phase"]:
            clock["phase"], clock["started"] = phase, time.perf_counter()
            if done < total:
                print(file=sys.stderr)
        started = float(clock["started"])
        width = 30
        filled = width * done // max(total, 1)
        rate = done / max(time.perf_counter() - started, 1e-6)
        bar = "█" * filled + "░" * (width - filled)
        print(f"\r\033[K  {phase:8} {bar} {done:,}/{total:,} rows  {rate:,.0f} rows/s", end="", file=sys.stderr, flush=True)

    return show
