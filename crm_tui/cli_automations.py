"""`crm automations list|export|import|enable|disable|tick|runs|dry-run`: automation rules for
scripts, version control and cron.

`crm automations tick` is the scheduler for when nobody has the app open: put it in cron every
minute (`* * * * * crm automations tick`); it runs the rules for new events and the time-based
rules, sends due reminders, and prints what it did.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from crm_tui.text import safe_text


def add_parser(sub: Any) -> None:
    """Add `crm automations` to the command line."""
    autos = sub.add_parser("automations", help="automation rules: list, export/import TOML, tick (for cron), runs")
    actions = autos.add_subparsers(dest="automations_command", metavar="ACTION", required=True)
    actions.add_parser("list", help="every rule, on or off, with its trigger and how often it ran")
    export = actions.add_parser("export", help="write the rules as TOML (to stdout, or --output FILE)")
    export.add_argument("--output", "-o", type=Path, metavar="FILE")
    load = actions.add_parser("import", help="load rules from a TOML file (a rule with the same name is replaced)")
    load.add_argument("file", type=Path, metavar="FILE")
    for verb in ("enable", "disable"):
        switch = actions.add_parser(verb, help=f"{verb} the rule with this name")
        switch.add_argument("name", metavar="NAME")
    actions.add_parser("tick", help="run due rules and reminders once (put it in cron every minute)")
    runs = actions.add_parser("runs", help="the run log, newest first")
    runs.add_argument("--rule", metavar="NAME", help="only this rule's runs")
    runs.add_argument("--status", choices=("done", "failed", "stopped", "sending"), help="only runs with this result")
    runs.add_argument("--limit", type=int, default=50)
    dry = actions.add_parser("dry-run", help="what a rule would have done over the last days, changing nothing")
    dry.add_argument("name", metavar="NAME")
    dry.add_argument("--days", type=int, default=30)


def run(args: argparse.Namespace, workspace: Any, smtp: Any) -> int:
    """Carry out `crm automations ACTION`."""
    from crm_tui.services import automation_log, automation_rules
    from crm_tui.services.errors import ServiceError

    ctx = workspace.ctx
    command = args.automations_command
    if command == "list":
        for row in automation_rules.list_rules():
            state = "on " if row.enabled else "off"
            print(f"{state}  {safe_text(row.name):50}  {row.rule.trigger.type:18} runs {row.runs}")
        return 0
    if command == "export":
        text = automation_rules.export_toml()
        if args.output:
            args.output.write_text(text, encoding="utf-8")
            print(f"wrote {len(automation_rules.list_rules())} rules to {args.output}", file=sys.stderr)
        else:
            sys.stdout.write(text)
        return 0
    if command == "import":
        try:
            text = args.file.read_text(encoding="utf-8")
        except OSError as error:
            raise ServiceError(f"cannot read {args.file}: {error.strerror}") from None
        report = automation_rules.import_toml(ctx, text)
        print(f"{len(report.created)} added, {len(report.updated)} replaced, {len(report.unchanged)} unchanged")
        for name in report.created + report.updated:
            print(f"  {safe_text(name)}")
        return 0
    if command in ("enable", "disable", "dry-run"):
        row = _named(args.name)
        if command == "dry-run":
            result = automation_log.dry_run(row.rule, days=args.days)
            for hit in result.hits:
                when = f"{hit.when:%Y-%m-%d %H:%M}" if hit.when else "now"
                print(f"{when}  {hit.entity} #{hit.record_id} {safe_text(hit.title)}")
                for line in hit.would:
                    print(f"    would {safe_text(line)}")
            more = " (more not shown)" if result.truncated else ""
            print(f"{len(result.hits)} record{'s' if len(result.hits) != 1 else ''} matched{more}; nothing was changed")
            return 0
        automation_rules.set_enabled(ctx, row.id, command == "enable", version=row.version)
        print(f"{safe_text(row.name)}: {'on' if command == 'enable' else 'off'}")
        return 0
    if command == "runs":
        rule_id = _named(args.rule).id if args.rule else None
        for item in automation_log.run_log(rule_id=rule_id, status=args.status, limit=args.limit):
            print(f"{item.started_at:%Y-%m-%d %H:%M:%S}  {item.status:8} {safe_text(item.rule)}  {safe_text(item.record)}")
            for line in item.outcomes:
                print(f"    {safe_text(line)}")
            if item.error:
                print(f"    error: {safe_text(item.error)}")
        return 0
    return _tick(ctx, smtp)


def _named(name: str) -> Any:
    from crm_tui.services import automation_rules
    from crm_tui.services.errors import ServiceError

    for row in automation_rules.list_rules():
        if row.name.casefold() == name.casefold():
            return row
    raise ServiceError(f"there is no rule called {name!r} (crm automations list shows them)")


def _tick(ctx: Any, smtp: Any) -> int:
    from crm_tui.services import notifications
    from crm_tui.services.automation_engine import Engine

    engine = Engine(ctx, smtp=smtp)
    results = engine.tick()
    reminders = notifications.fire_reminders(ctx)
    for result in results:
        line = f"{result.status:8} {safe_text(result.rule)}  {result.entity} #{result.record_id}"
        print(line + (f"  ({safe_text(result.error)})" if result.error else ""))
    print(f"{len(results)} run{'s' if len(results) != 1 else ''}, {reminders} reminder{'s' if reminders != 1 else ''} sent")
    if engine.deferred:
        print("the database was busy (or another session's pass was under way): the rest runs at the next tick")
    return 1 if any(result.status == "failed" for result in results) else 0
