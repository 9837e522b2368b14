"""The `crm` command: opens the board, or runs a subcommand (demo, db, config, keys).

Textual is imported only when a screen is about to open, so script commands stay fast.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crm_tui import (
    __version__,
    cli_automations,
    cli_db,
    cli_export,
    cli_import,
    cli_report,
    cli_serve,
    cli_users,
    locations,
)

if TYPE_CHECKING:
    from crm_tui.config import Settings
    from crm_tui.db import Target
    from crm_tui.services.workspace import Workspace

EXIT_ERROR = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crm",
        description="A CRM that lives in the terminal. With no command, opens the pipeline board.",
    )
    parser.add_argument("--version", action="version", version=f"crm-tui {__version__}")
    parser.add_argument(
        "--db",
        metavar="DB",
        help="SQLite file path, sqlite:///path or postgresql:// URL (default: $CRM_DB_URL, config, or the data dir)",
    )
    parser.add_argument("--user", metavar="LOGIN", help="act as this user (default: config, $CRM_USER or the OS login)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser("demo", help="open the demo workspace (created with sample data on first use)")
    demo.add_argument("--db", dest="demo_db", metavar="DB", help="make or open the demo workspace here instead")
    demo.add_argument("--reset", action="store_true", help="throw the demo workspace away and make a new one")
    demo.add_argument("--seed", type=int, default=2026, help="random seed (same seed, same data)")
    demo.add_argument("--deals", type=int, help="number of deals (companies, contacts and leads scale with it)")
    demo.add_argument("--companies", type=int, help="number of companies")
    demo.add_argument("--contacts", type=int, help="number of contacts")
    demo.add_argument("--leads", type=int, help="number of leads")
    demo.add_argument("--no-open", action="store_true", help="create the data but do not open the board")

    cli_db.add_parser(sub)

    sub.add_parser("config", help="show the config file's location and every setting")
    sub.add_parser("keys", help="list every key binding id (for the keymap setting)")

    find = sub.add_parser("search", help="find records by name, e-mail, phone, company or note text")
    find.add_argument("query", nargs="+", help="words to find; each matches as a prefix ('jan do' finds Jane Doe)")
    find.add_argument("--json", action="store_true", help="print a JSON array (for scripts)")
    find.add_argument("--limit", type=int, default=20, help="at most this many records (default 20, at most 100)")

    cli_report.add_parser(sub)
    cli_automations.add_parser(sub)
    cli_import.add_parser(sub)
    cli_export.add_parser(sub)
    cli_users.add_parser(sub)
    cli_serve.add_parser(sub)

    formulas = sub.add_parser("formulas", help="computed custom fields")
    formulas_sub = formulas.add_subparsers(dest="formulas_command", metavar="ACTION", required=True)
    refresh = formulas_sub.add_parser(
        "refresh", help="bring formulas that use today() up to date (the app does it daily; this is for cron)"
    )
    refresh.add_argument("--all", action="store_true", help="recompute every lookup and formula of every record")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `crm` command."""
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `crm keys | head` ends quietly
    args = _parser().parse_args(argv)
    from crm_tui.config import ConfigError, load_settings
    from crm_tui.db import DatabaseError
    from crm_tui.services.errors import ServiceError

    try:
        if args.command == "config":
            return _show_config()
        settings = load_settings()
        if args.command == "keys":
            return _show_keys(settings.keymap)
        if args.command == "db":
            return cli_db.run(args, settings)
        if args.command == "demo":
            return _demo(args, settings)
        if args.command == "search":
            return _search(args, settings)
        if args.command == "formulas":
            return _formulas(args, settings)
        if args.command == "report":
            _existing(args, settings)
            return cli_report.run(args)
        if args.command == "export":
            return cli_export.run(args, _existing(args, settings))
        if args.command == "import":
            return cli_import.run(args, lambda: _open(_target(args, settings), settings, args.user))
        if args.command == "serve":
            return _serve(args, settings)
        if args.command == "users":
            return cli_users.run(args, lambda: _open(_target(args, settings), settings, args.user))
        if args.command == "automations":
            return cli_automations.run(args, _existing(args, settings), settings.smtp)
        return _board(args, settings)
    except (ConfigError, DatabaseError, ServiceError) as error:
        print(f"crm: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130


def _open(target: Target, settings: Settings, login: str | None) -> Workspace:
    from crm_tui.services.workspace import open_workspace

    workspace = open_workspace(target, settings, login=login, notice=lambda text: print(f"crm: {text}", file=sys.stderr))
    report = workspace.report
    if report.action == "created":
        print(f"crm: created a new workspace at {target.describe()}", file=sys.stderr)
    elif report.action == "upgraded":
        print(
            f"crm: upgraded the schema from version {report.from_version} to {report.to_version}"
            + (f"; backup at {report.backup}" if report.backup else ""),
            file=sys.stderr,
        )
    return workspace


def _run_app(workspace: Workspace, settings: Settings) -> int:
    from crm_tui import db
    from crm_tui.services import board, changes
    from crm_tui.services.session import Session

    locations.ensure_dir(locations.data_dir())
    logging.basicConfig(
        filename=locations.log_file(),
        level=logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    db.close()  # the app works on its own database thread
    session = Session(workspace.ctx, where=workspace.target.describe())
    # Where the event log ends first, then the board: a change made in between is not missed.
    session.preload("events", changes.latest_event_id)
    session.preload("board", partial(board.open_board, workspace.ctx.user_id))  # read while Textual is imported

    from crm_tui.app import CrmApp

    app = CrmApp(session, theme=settings.theme, keymap=settings.keymap, animations=settings.animations, smtp=settings.smtp)
    try:
        app.run()
    finally:
        session.close()
    return app.return_code or 0


def _board(args: argparse.Namespace, settings: Settings) -> int:
    from crm_tui.services.workspace import resolve_target

    workspace = _open(resolve_target(args.db, settings), settings, args.user)
    return _run_app(workspace, settings)


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from crm_tui.db import parse_target
    from crm_tui.services import demo

    chosen = args.demo_db or args.db
    target = parse_target(chosen) if chosen else parse_target(str(locations.demo_database()))
    if args.reset:
        _reset_demo(target)
    workspace = _open(target, settings, args.user)
    if demo.is_empty():
        sizes = demo.DemoSizes()
        if args.deals:
            sizes = sizes.scaled_to(args.deals)
        sizes = demo.DemoSizes(
            companies=args.companies or sizes.companies,
            contacts=args.contacts or sizes.contacts,
            leads=args.leads if args.leads is not None else sizes.leads,
            deals=sizes.deals,
        )
        print(f"crm: filling the demo workspace ({sizes.deals:,} deals)…", file=sys.stderr)
        counts = demo.generate(workspace.ctx, sizes, seed=args.seed, progress=progress_printer())
        erase_progress()
        print("crm: made " + ", ".join(f"{n:,} {name}" for name, n in counts.items()), file=sys.stderr)
    if args.no_open:
        return 0
    return _run_app(workspace, settings)


def _reset_demo(target: Target) -> None:
    """Remove a demo workspace's files; anything that is not a demo workspace is refused."""
    from crm_tui.db import DatabaseError

    if target.kind != "sqlite" or target.path is None:
        raise DatabaseError("--reset only removes SQLite demo files; drop the PostgreSQL database yourself")
    if target.path.exists() and target.path != locations.demo_database():
        import sqlite3

        try:
            with sqlite3.connect(f"file:{target.path}?mode=ro", uri=True) as conn:
                marked = conn.execute("SELECT 1 FROM workspace_setting WHERE key = 'demo'").fetchone()
        except sqlite3.Error:
            marked = None
        if not marked:
            raise DatabaseError(f"{target.path} is not a demo workspace; --reset only throws demo workspaces away")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target.path}{suffix}").unlink(missing_ok=True)


def progress_printer() -> Callable[[str, int, int], None] | None:
    """On a terminal, a callback that shows `step: done/total` on one line of stderr; else None."""
    if not sys.stderr.isatty():
        return None

    def show(step: str, done: int, total: int) -> None:
        print(f"\r\033[K  {step}: {done:,}/{total:,}", end="", file=sys.stderr, flush=True)

    return show


def erase_progress() -> None:
    """Clear the line `progress_printer` drew (on a terminal)."""
    if sys.stderr.isatty():
        print("\r\033[K", end="", file=sys.stderr, flush=True)


def _search(args: argparse.Namespace, settings: Settings) -> int:
    """Print the records matching the query, best first; exit status 1 when there are none."""
    from crm_tui.services.search import search
    from crm_tui.text import safe_text

    _existing(args, settings)  # upgrades an older schema, so the search index exists
    hits = search(" ".join(args.query), limit=args.limit)
    if args.json:
        rows = [
            {"entity": hit.entity, "id": hit.record_id, "title": hit.title, "detail": hit.detail, "excerpt": hit.excerpt,
             "opens": {"entity": hit.opens[0], "id": hit.opens[1]}}
            for hit in hits
        ]  # fmt: skip
        print(json.dumps(rows, indent=2))  # ASCII escapes: no record text reaches the terminal raw
    else:
        for hit in hits:  # a terminal obeys escape sequences in record text: print safe text only
            entity, record_id = hit.opens
            print(f"{entity:8} {record_id:>7}  {safe_text(hit.title)}  ({safe_text(hit.detail)})")
    return 0 if hits else 1


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    """`crm serve`: open the workspace once (a schema upgrade happens here, not per session)."""
    from crm_tui import db

    if problem := cli_serve.missing(args):
        print(f"crm: {problem}", file=sys.stderr)
        return EXIT_ERROR
    workspace = _open(_target(args, settings), settings, args.user)
    db.close()
    return cli_serve.run(args, workspace.target, workspace.ctx.login)


def _target(args: argparse.Namespace, settings: Settings) -> Target:
    from crm_tui.services.workspace import resolve_target

    return resolve_target(args.db, settings)


def _existing(args: argparse.Namespace, settings: Settings) -> Workspace:
    """Open the workspace a script names, refusing to create one that is not there."""
    from crm_tui.db import DatabaseError
    from crm_tui.services.workspace import resolve_target

    target = resolve_target(args.db, settings)
    if target.kind == "sqlite" and target.path is not None and not target.path.exists():
        raise DatabaseError(f"there is no database at {target.describe()}")
    return _open(target, settings, args.user)


def _formulas(args: argparse.Namespace, settings: Settings) -> int:
    """Recompute dated formulas (or, with --all, every computed field) and say how many changed."""
    from crm_tui.services import computed_fields

    workspace = _existing(args, settings)
    if args.all:
        changed = computed_fields.refresh_all(workspace.ctx)
    else:
        changed = computed_fields.refresh_dated(workspace.ctx, force=True)
    print(f"{changed:,} record{'s' if changed != 1 else ''} changed")
    return 0


def _toml(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def _show_config() -> int:
    from crm_tui.config import ConfigError, Settings, load_settings

    print(f"# config file: {locations.config_file()}")
    print(f"# data directory: {locations.data_dir()}")
    try:
        settings = load_settings()
    except ConfigError as error:  # this is where people come to fix the file: show it anyway
        print(f"# THE FILE HAS AN ERROR, so these are the defaults: {error}")
        settings = Settings()
    for name, field in type(settings).model_fields.items():
        print(f"\n# {field.description}")
        value = getattr(settings, name)
        print(f"{name} = {_toml(value)}" if value is not None else f"# {name} = (not set)")
    return 0


def _show_keys(keymap: dict[str, str]) -> int:
    from crm_tui.app import binding_owners, known_binding_ids

    known = known_binding_ids()
    print(f"{'binding id':32} {'keys':24} does")
    for owner in binding_owners():
        for binding in owner.BINDINGS:
            if getattr(binding, "id", None):
                keys = keymap.get(binding.id, binding.key)
                mark = " (remapped)" if binding.id in keymap else ""
                print(f"{binding.id:32} {keys:24} {binding.description}{mark}")
    for unknown in sorted(set(keymap) - known):
        print(f"{unknown:32} {keymap[unknown]:24} UNKNOWN binding id in your keymap: it does nothing")
    return 0
