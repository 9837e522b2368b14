"""`crm db backup|upgrade|info|copy|rebuild-rollups`: database maintenance."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from crm_tui import locations
from crm_tui.config import Settings
from crm_tui.db import Target


def add_parser(sub: Any) -> None:
    """Add `crm db` to the command line."""
    database = sub.add_parser("db", help="database maintenance")
    db_sub = database.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    backup = db_sub.add_parser("backup", help="write a consistent copy of the database")
    backup.add_argument("path", nargs="?", type=Path, help="where to write it (default: the backups directory)")
    upgrade = db_sub.add_parser("upgrade", help="back up, then bring the schema to this version")
    upgrade.add_argument("--skip-backup", action="store_true", help="do not back up first (you made your own)")
    db_sub.add_parser("info", help="where the database is, its schema version and what it holds")
    copy = db_sub.add_parser("copy", help="copy this SQLite workspace into an empty PostgreSQL database")
    copy.add_argument("--to", required=True, metavar="URL", help="postgresql:// URL of an empty database")
    db_sub.add_parser(
        "rebuild-rollups",
        help="recompute the dashboard's rollup tables from the records (they are kept by triggers; "
        "this is for repairs)",
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Carry out `crm db ACTION`."""
    from crm_tui import clock, db
    from crm_tui.db import DatabaseError
    from crm_tui.services import schema
    from crm_tui.services.workspace import resolve_target, workspace_stats

    target = resolve_target(args.db, settings)
    if args.db_command == "backup":
        stem = target.path.stem if target.path else "postgresql"
        suffix = ".sqlite3" if target.kind == "sqlite" else ".pgdump"
        path = args.path or locations.backups_dir() / f"{stem}-{clock.now():%Y%m%dT%H%M%S%f}-manual{suffix}"
        db.backup(target, path)
        print(f"backed up {target.describe()} to {path}")
        return 0
    if target.kind == "sqlite" and target.path is not None and not target.path.exists():
        raise DatabaseError(f"there is no database at {target.describe()}")
    if args.db_command == "copy":
        return _copy(target, args.to)
    db.connect(target, busy_timeout=settings.busy_timeout)
    if args.db_command == "rebuild-rollups":
        return _rebuild_rollups()
    if args.db_command == "upgrade":
        report = schema.upgrade(
            target,
            backup_dir=locations.backups_dir(),
            keep=settings.backups_kept,
            skip_backup=args.skip_backup,
            notice=lambda text: print(f"crm: {text}", file=sys.stderr),
        )
        if report.action == "current":
            print(f"{target.describe()} is already at schema version {report.to_version}")
        else:
            print(f"upgraded {target.describe()} from version {report.from_version} to {report.to_version}")
            if report.backup:
                print(f"backup: {report.backup}")
        return 0
    version = schema.read_version()
    print(f"database: {target.describe()}")
    print(f"schema version: {version if version is not None else 'none (empty)'} (this crm-tui: {schema.CURRENT_VERSION})")
    if version is not None:
        for name, count in workspace_stats().items():
            print(f"{name}: {count:,}")
    return 0


def _copy(source: Target, to: str) -> int:
    """`crm db copy --to URL`: the workspace into an empty PostgreSQL database, verified."""
    from crm_tui import db
    from crm_tui.cli import erase_progress, progress_printer  # cli imports this module
    from crm_tui.services import db_copy

    show = progress_printer()
    try:
        report = db_copy.copy_workspace(
            source, db.parse_target(to), progress=(lambda done, total: show("copying", done, total)) if show else None
        )
    finally:
        erase_progress()
        db.close()
    print(f"copied {report.source} to {report.destination} (schema version {report.schema_version})")
    for count in report.tables:
        if count.copied:
            print(f"  {count.table}: {count.copied:,}")
    print(
        f"verified: {report.rows:,} rows in {len(report.tables)} tables, the same on both sides "
        f"(deal amounts {report.deal_amounts:,}); {report.seconds:.1f} s"
    )
    print(f"open it with: crm --db {report.destination}   (add the password, or set database in the config)")
    return 0


def _rebuild_rollups() -> int:
    """Recompute the dashboard's derived tables (and reinstall their triggers) in one transaction."""
    import time

    from crm_tui.models import database
    from crm_tui.services import rollups, schema

    if schema.read_version() != schema.CURRENT_VERSION:
        print("upgrade the workspace first: crm db upgrade")
        return 1
    started = time.perf_counter()
    with database.atomic():
        rollups.install()
        rollups.rebuild()
    print(f"rebuilt the dashboard rollups in {time.perf_counter() - started:.1f} s")
    return 0
