"""`crm report forecast|pipeline|stage-duration|won`: the dashboard's numbers for scripts, as a
table, JSON or CSV. Money is given per currency in major units as exact decimal text ("12400.50"),
never summed across currencies."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from decimal import Decimal
from typing import Any

REPORTS = ("forecast", "pipeline", "stage-duration", "won")
PERIODS = ("this_month", "last_month", "this_quarter", "last_quarter", "this_year", "last_12_months")


def add_parser(sub: Any) -> None:
    """Add `crm report` to the command line."""
    report = sub.add_parser("report", help="the dashboard's numbers for scripts (table, --json or --csv)")
    report.add_argument("name", choices=REPORTS, help="which report")
    report.add_argument("--period", choices=PERIODS, default="this_month", help="the period (default this_month)")
    report.add_argument("--pipeline", metavar="NAME", help="only this pipeline (default: all)")
    report.add_argument("--owner", metavar="LOGIN", help="only deals this user owns")
    report.add_argument("--tag", metavar="NAME", help="only deals with this tag")
    form = report.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="print JSON")
    form.add_argument("--csv", action="store_true", help="print CSV")


def _major(minor: int, currency: str) -> str:
    from crm_tui.money import exponent

    return str(Decimal(minor).scaleb(-exponent(currency)))


def _lookup(model: Any, field: Any, value: str | None, what: str) -> int | None:
    from crm_tui.services.errors import ServiceError

    if value is None:
        return None
    row = model.get_or_none(field == value)
    if row is None:
        raise ServiceError(f"there is no {what} {value!r}")
    return row.id


def rows_for(name: str, f: Any) -> list[dict[str, Any]]:
    """The report's rows: one dict per line, the same keys on every line."""
    from crm_tui.services import reports

    if name == "forecast":
        return [
            {"bucket": b.key, "deals": b.count, "currency": cur, "value": _major(v, cur),
             "weighted": _major(b.weighted.get(cur, 0), cur)}
            for b in reports.forecast(f) for cur, v in sorted(b.value.items())
        ]  # fmt: skip
    if name == "pipeline":
        from crm_tui.models import Pipeline

        names = dict(Pipeline.select(Pipeline.id, Pipeline.name).tuples())
        return [
            {"pipeline": names.get(s.pipeline_id, ""), "stage": s.name, "probability": s.probability, "deals": s.count, "currency": cur, "value": _major(v, cur),
             "weighted": _major(s.weighted.get(cur, 0), cur)}
            for s in reports.by_stage(f) for cur, v in sorted(s.value.items())
        ]  # fmt: skip
    if name == "stage-duration":
        pipeline_id = f.pipeline_id or _first_pipeline()
        return [
            {"stage": d.name, "stays": d.spells, "still_there": d.ongoing,
             "average_days": None if d.average_days is None else round(d.average_days, 2),
             "median_days": None if d.median_days is None else round(d.median_days, 2)}
            for d in reports.stage_durations(pipeline_id, f)
        ] if pipeline_id else []  # fmt: skip
    cards = reports.stat_cards(f)
    currencies = sorted({*cards.won_value, *cards.lost_value}) or ["-"]
    return [
        {"currency": cur, "won_deals": cards.won_count, "won_value": _major(cards.won_value.get(cur, 0), cur),
         "lost_deals": cards.lost_count, "lost_value": _major(cards.lost_value.get(cur, 0), cur),
         "win_rate_count": _round(cards.win_rate_count), "win_rate_value": _round(cards.win_rate_value.get(cur)),
         "average_won": _major(cards.avg_won.get(cur, 0), cur) if cur in cards.avg_won else None,
         "cycle_days": None if cards.cycle_days is None else round(cards.cycle_days, 1)}
        for cur in currencies if cur != "-" or not cards.won_count
    ]  # fmt: skip


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _first_pipeline() -> int | None:
    from crm_tui.models import Pipeline

    query = Pipeline.select(Pipeline.id).where(Pipeline.deleted_at.is_null()).order_by(Pipeline.position, Pipeline.id)
    return query.scalar()


def run(args: argparse.Namespace) -> int:
    """Print the report for an open workspace; 0 even when it has no rows (an empty table is an answer)."""
    from crm_tui.models import Pipeline, Tag, User
    from crm_tui.services.reports import ReportFilter
    from crm_tui.text import safe_text

    f = ReportFilter.for_period(
        args.period,
        pipeline_id=_lookup(Pipeline, Pipeline.name, args.pipeline, "pipeline"),
        owner_id=_lookup(User, User.login, args.owner, "user"),
        tag_id=_lookup(Tag, Tag.name, args.tag, "tag"),
    )
    rows = rows_for(args.name, f)
    if args.json:
        print(json.dumps(rows, indent=2))  # ASCII escapes: no record text reaches the terminal raw
        return 0
    keys = list(rows[0]) if rows else []
    if args.csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(keys)
        writer.writerows([[row[k] for k in keys] for row in rows])
        return 0
    if not rows:
        print("nothing for these filters")
        return 0
    cells = [[safe_text("" if row[k] is None else str(row[k])) for k in keys] for row in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]
    print("  ".join(k.ljust(w) for k, w in zip(keys, widths, strict=True)))
    for line in cells:
        print("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)))
    return 0
