"""Looking at automations without changing anything: the run log, filterable, and the dry run of a
rule over the last days of the event log (or, for a time rule, over the records it holds for now)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from peewee import fn

from crm_tui import clock
from crm_tui.models import AutomationRule, AutomationRun, Event
from crm_tui.schemas.automation import TIME_TRIGGERS, Rule
from crm_tui.services import automation_time, permissions, records
from crm_tui.services.automation_match import conditions_hold, happenings, record_view, render, trigger_matches
from crm_tui.services.changes import latest_event_id

DRY_RUN_EVENTS = 50_000
"""A dry run reads at most this many event-log rows (the newest of the period)."""


@dataclass(frozen=True)
class RunRow:
    """One run as the run log lists it."""

    id: int
    started_at: datetime
    rule_id: int
    rule: str
    trigger: str
    entity: str | None
    record_id: int | None
    record: str
    status: str
    outcomes: list[str]
    error: str | None
    depth: int


STATUSES = ("done", "failed", "stopped", "sending", "running")


def run_log(*, rule_id: int | None = None, status: str | None = None, text: str = "", limit: int = 200) -> list[RunRow]:
    """The latest runs, newest first, optionally of one rule, with one status, or whose rule name,
    record or error contains `text`."""
    query = (
        AutomationRun.select(AutomationRun, AutomationRule.name)
        .join(AutomationRule, on=(AutomationRun.rule == AutomationRule.id))
        .order_by(AutomationRun.id.desc())
    )
    if rule_id is not None:
        query = query.where(AutomationRun.rule == rule_id)
    if status:
        query = query.where(AutomationRun.status == status)
    rows: list[RunRow] = []
    needle = text.strip().casefold()
    runs = list(query.limit(limit * 5 if needle else limit).objects())
    titles = _titles(runs)
    for run in runs:
        title = ""
        if run.entity and run.record_id is not None:
            title = titles.get((run.entity, run.record_id)) or f"{run.entity} #{run.record_id} (deleted)"
        row = RunRow(
            run.id, run.started_at, run.rule_id, run.name, run.trigger, run.entity, run.record_id, title,
            run.status, list(run.outcomes or []), run.error, run.depth,
        )  # fmt: skip
        if needle and needle not in f"{row.rule} {row.record} {row.error or ''}".casefold():
            continue
        rows.append(row)
        if len(rows) >= limit:
            break
    return rows


def _titles(runs: list[Any]) -> dict[tuple[str, int], str]:
    """The titles of the live records the runs are about, one query per record type."""
    wanted: dict[str, set[int]] = {}
    for run in runs:
        if run.entity and run.record_id is not None:
            wanted.setdefault(run.entity, set()).add(run.record_id)
    return {
        (entity, record_id): title
        for entity, ids in wanted.items()
        for record_id, title in records.titles(entity, ids).items()
    }


def describe(action: Any, view: dict[str, Any]) -> str:
    """What an action would do to the record, in words."""
    kind = action.type
    if kind == "create_task":
        who = action.assignee if action.assignee != "owner" else f"owner ({view.get('owner') or 'nobody'})"
        days = f"{action.due_days:g} day{'' if action.due_days == 1 else 's'}"
        return f"create task {render(action.title, view)!r} due {days} after {action.due_from}, for {who}"
    if kind == "assign":
        return f"assign to {action.to.replace('_', ' ')}" + (f" of {', '.join(action.users)}" if action.users else "")
    if kind == "set_field":
        return f"set {action.field} to {action.value!r}"
    if kind in ("add_tag", "remove_tag"):
        return f"{'add' if kind == 'add_tag' else 'remove'} tag {action.tag!r}"
    if kind == "move_stage":
        return f"move to {action.stage!r}"
    if kind == "add_note":
        return f"add note {render(action.body, view)[:60]!r}"
    if kind == "notify":
        return f"notify {', '.join(action.to)}: {render(action.title, view)!r}"
    if kind == "webhook":
        return f"POST to {action.url}"
    return f"email {', '.join(action.to)}: {render(action.subject, view)!r}"


@dataclass(frozen=True)
class DryHit:
    """A record the rule would have fired for, and what it would have done."""

    entity: str
    record_id: int
    title: str
    when: datetime | None
    would: list[str]


@dataclass(frozen=True)
class DryRun:
    """The outcome of a dry run: the hits (newest first, at most the limit) and how much was read."""

    hits: list[DryHit]
    events_read: int
    truncated: bool


def dry_run(rule: Rule, *, days: int = 30, now: datetime | None = None, limit: int = 100) -> DryRun:
    """Which records `rule` would have fired for in the last `days` days (a time rule: which it
    holds for now) and what it would do; nothing is written. Conditions are checked against each
    record as it is now."""
    # It reads every record the rule could touch, hidden fields and others' records included.
    permissions.require_admin(permissions.current(), "preview a rule")
    now = now or clock.now()
    hits: list[DryHit] = []
    if rule.trigger.type in TIME_TRIGGERS:
        for entity, record_id, _ in automation_time.matching(rule.trigger, now, limit=limit * 5):
            view = record_view(entity, record_id)
            if view is not None and conditions_hold(rule.conditions, view):
                hits.append(DryHit(entity, record_id, str(view["record"]), None, [describe(a, view) for a in rule.actions]))
                if len(hits) >= limit:
                    break
        return DryRun(hits, 0, len(hits) >= limit)
    since = now - timedelta(days=days)
    newest = latest_event_id()
    first = Event.select(fn.MIN(Event.id)).where(Event.at >= since).scalar()
    if first is None:
        return DryRun([], 0, False)
    cursor = max(first - 1, newest - DRY_RUN_EVENTS)
    skipped = cursor > first - 1
    read = 0
    while cursor < newest:
        items, last = happenings(cursor, 1000)
        read += last - cursor
        if last == cursor:
            break
        for item in items:
            if not trigger_matches(rule.trigger, item):
                continue
            view = record_view(item.entity, item.record_id, item.values or None)
            if view is not None and conditions_hold(rule.conditions, view):
                hits.append(DryHit(item.entity, item.record_id, str(view["record"]), item.at, [describe(a, view) for a in rule.actions]))
        cursor = last
    hits.reverse()
    return DryRun(hits[:limit], read, skipped or len(hits) > limit)
