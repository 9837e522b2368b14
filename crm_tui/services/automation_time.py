"""Time-based triggers: which records a time rule is due for now, each with its episode key.

An episode is one stretch of the condition holding: a deal idle since its last activity, a deal in
a stage since it entered it, a task overdue since its due time, a deal past its expected close
date. The key names the record and the moment the stretch began, so a rule fires once per episode
(not every minute), and again after the record moves on and the condition returns.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from peewee import JOIN, fn

from crm_tui.models import Appointment, AutomationRun, Deal, Note, Stage, Task

PER_PASS = 200
"""At most this many records per rule and pass: a rule enabled over a large backlog catches up
over a few minutes instead of holding the database for one long pass."""
_CHUNK = 500


def _candidates(trigger: Any, now: datetime) -> Iterator[tuple[str, int, str]]:
    kind = trigger.type
    if kind == "task_overdue":
        query = (
            Task.select(Task.id, Task.due_at)
            .join(Deal, JOIN.LEFT_OUTER, on=(Task.deal == Deal.id))
            .where(Task.done == False, Task.due_at < now, Deal.deleted_at.is_null())
            .order_by(Task.due_at, Task.id)
        )
        for task_id, due_at in query.tuples().iterator():
            yield "task", task_id, f"overdue:{task_id}:{_iso(Task.due_at, due_at)}"
        return
    open_deals = Deal.select(Deal.id).join(Stage, on=(Deal.stage == Stage.id)).where(Deal.deleted_at.is_null(), Stage.kind == "open")
    if kind == "close_date_passed":
        query = open_deals.select(Deal.id, Deal.expected_close).where(Deal.expected_close < now.date()).order_by(Deal.expected_close, Deal.id)
        for deal_id, close in query.tuples().iterator():
            yield "deal", deal_id, f"close:{deal_id}:{close}"
    elif kind == "deal_rotting":
        if trigger.days is not None:
            late = Deal.stage_entered_at < now - timedelta(days=trigger.days)
        else:
            # Per stage rot_days: one range per stage that has them, on the board's (stage, entered) index.
            late = None
            for stage_id, days in Stage.select(Stage.id, Stage.rot_days).where(
                Stage.kind == "open", Stage.rot_days.is_null(False), Stage.deleted_at.is_null()
            ).tuples():
                part = (Deal.stage == stage_id) & (Deal.stage_entered_at < now - timedelta(days=days))
                late = part if late is None else (late | part)
            if late is None:
                return
        query = open_deals.select(Deal.id, Deal.stage, Deal.stage_entered_at).where(late).order_by(Deal.stage_entered_at, Deal.id)
        for deal_id, stage_id, entered in query.tuples().iterator():
            yield "deal", deal_id, f"rot:{deal_id}:{stage_id}:{_iso(Deal.stage_entered_at, entered)}"
    elif kind == "deal_idle":
        cutoff = now - timedelta(days=trigger.days)
        # Idle: no change to the deal and no note, task or appointment on it since the cutoff.
        last_note = Note.select(fn.MAX(Note.created_at)).where(Note.deal == Deal.id)
        last_task = Task.select(fn.MAX(Task.updated_at)).where(Task.deal == Deal.id)
        last_meeting = Appointment.select(fn.MAX(Appointment.updated_at)).where(Appointment.deal == Deal.id)
        query = (
            open_deals.select(Deal.id, Deal.updated_at, last_note, last_task, last_meeting)
            .where(
                Deal.updated_at < cutoff,
                ~fn.EXISTS(Note.select(Note.id).where(Note.deal == Deal.id, Note.created_at >= cutoff)),
                ~fn.EXISTS(Task.select(Task.id).where(Task.deal == Deal.id, Task.updated_at >= cutoff)),
                ~fn.EXISTS(Appointment.select(Appointment.id).where(Appointment.deal == Deal.id, Appointment.updated_at >= cutoff)),
            )
            .order_by(Deal.updated_at, Deal.id)
        )
        for deal_id, *moments in query.tuples().iterator():
            last = max(_iso(Deal.updated_at, moment) for moment in moments if moment is not None)
            yield "deal", deal_id, f"idle:{deal_id}:{last}"


def _iso(column: Any, value: Any) -> str:
    """A stored timestamp as ISO text, the same on both back ends (SQLite hands back text)."""
    value = column.python_value(value) if isinstance(value, str) else value
    return value.isoformat(sep=" ") if isinstance(value, datetime) else str(value)


def due(rule_id: int, trigger: Any, now: datetime, *, limit: int = PER_PASS) -> list[tuple[str, int, str]]:
    """(entity, record id, episode key) of up to `limit` records the rule has not fired for yet."""
    found: list[tuple[str, int, str]] = []
    chunk: list[tuple[str, int, str]] = []

    def flush() -> None:
        keys = [key for _, _, key in chunk]
        done = {key for (key,) in AutomationRun.select(AutomationRun.key).where(AutomationRun.rule == rule_id, AutomationRun.key.in_(keys)).tuples()}
        found.extend(item for item in chunk if item[2] not in done)
        chunk.clear()

    for item in _candidates(trigger, now):
        chunk.append(item)
        if len(chunk) >= _CHUNK:
            flush()
            if len(found) >= limit:
                break
    if chunk:
        flush()
    return found[:limit]


def matching(trigger: Any, now: datetime, *, limit: int) -> list[tuple[str, int, str]]:
    """Records the time trigger holds for now, fired or not (for a dry run)."""
    found = []
    for item in _candidates(trigger, now):
        found.append(item)
        if len(found) >= limit:
            break
    return found
