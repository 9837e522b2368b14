"""`crm export ENTITY --format csv|json|vcf|ics [--view NAME] [--columns shown|all] [--output PATH]`:
records for spreadsheets, scripts, address books and calendars.

Without --view every live record is written with every importable field (what `crm import` reads
back); with --view the view's records, in its order, with the columns its list shows. Without
--output the export goes to stdout; with it, the file appears only once it is complete.
"""

from __future__ import annotations

import argparse
import io
import sys
from functools import partial
from pathlib import Path
from typing import Any

EXIT_ERROR = 2
SUFFIXES = {".csv": "csv", ".json": "json", ".vcf": "vcf", ".vcard": "vcf", ".ics": "ics"}
"""Formats an output file's suffix implies when --format is not given."""


def add_parser(sub: Any) -> None:
    """Add `crm export` to the command line."""
    export = sub.add_parser(
        "export",
        help="write records as CSV, JSON, vCard or iCalendar (to stdout, or --output FILE)",
        description="Export records. Without --view: every record with every importable field. "
        "With --view: that view's records and the columns its list shows.",
    )
    export.add_argument(
        "entity",
        metavar="ENTITY",
        help="companies, contacts, leads, deals, tasks, appointments, notes, or calendar (tasks and appointments as .ics)",
    )
    export.add_argument(
        "--format", "-f", dest="export_format", choices=("csv", "json", "vcf", "ics"),
        help="csv (default), json, vcf (contacts) or ics (tasks, appointments, calendar); default: from --output's suffix",
    )  # fmt: skip
    export.add_argument("--view", metavar="NAME", help="a built-in or saved view of the list, by name (any case)")
    export.add_argument(
        "--columns", choices=("shown", "all"),
        help="shown: the list's columns and labels (default with --view); all: every importable field (default otherwise)",
    )  # fmt: skip
    export.add_argument("--output", "-o", type=Path, metavar="PATH", help="write this file instead of stdout")


def _format(args: argparse.Namespace) -> str:
    if args.export_format:
        return args.export_format
    if args.output is not None:
        return SUFFIXES.get(args.output.suffix.lower(), "csv")
    return "csv"


def run(args: argparse.Namespace, workspace: Any) -> int:
    """Carry out `crm export`: 0 when written, 2 (with a message on stderr) when it cannot be."""
    from crm_tui.cli import erase_progress, progress_printer  # the cli imports this module at its top
    from crm_tui.services import export
    from crm_tui.services.errors import ServiceError
    from crm_tui.text import safe_text

    show = progress_printer()
    try:
        request = export.request_for(
            args.entity, _format(args), view=args.view, columns=args.columns, user_id=workspace.ctx.user_id
        )
        if args.output is None:
            _to_stdout(request)
            return 0
        count = export.export_file(request, args.output, show and partial(show, "exporting"))
    except ServiceError as error:
        erase_progress()
        print(f"crm: {safe_text(error)}", file=sys.stderr)
        return EXIT_ERROR
    erase_progress()
    print(f"wrote {export.describe(count, request.entity)} to {args.output}", file=sys.stderr)
    return 0


def _to_stdout(request: Any) -> None:
    """Write UTF-8 to stdout whatever the locale says, with the format's own line ends."""
    from crm_tui.services import export

    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:  # a replaced stdout without bytes underneath (some test harnesses)
        export.write_export(request, sys.stdout)
        return
    sys.stdout.flush()
    stream = io.TextIOWrapper(buffer, encoding="utf-8", newline="", write_through=True)
    try:
        export.write_export(request, stream)
        stream.flush()
    finally:
        stream.detach()  # leave sys.stdout's buffer open
