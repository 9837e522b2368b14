"""Time-based rules with a frozen clock: idle deals, rotting deals, overdue tasks, passed close
dates; each fires once per episode and again when a new episode starts."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from crm_tui import clock
from crm_tui.models import AutomationRun, Notification, Stage
from crm_tui.services import automation_rules, deals, records
from crm_tui.services.automation_engine import Engine
from crm_tui.services.workspace import Workspace
from tests.helpers import make_deal, stage_named

T0 = datetime(2026, 3, 2, 9, 0)


def rule(ctx, trigger: dict[str, Any], title: str = "{title}") -> int:
    return automation_rules.save_rule(
        ctx, {"name": trigger["type"], "enabled": True, "trigger": trigger, "actions": [{"type": "notify", "to": ["user:alice"], "title": title}]}
    )


def fired(rule_id: int) -> list[tuple[int, str]]:
    return [(run.record_id, run.status) for run in AutomationRun.select().where(AutomationRun.rule == rule_id).order_by(AutomationRun.id)]


def at(moment: datetime, engine: Engine) -> list:
    clock.freeze(moment)
    return engine.check_time(now=moment)


def test_a_deal_idle_for_n_days_fires_once_per_quiet_spell(workspace: Workspace) -> None:
    ctx = workspace.ctx
    clock.freeze(T0)
    rule_id = rule(ctx, {"type": "deal_idle", "days": 7}, "{title} is quiet")
    quiet = make_deal(ctx, "quiet")
    busy = make_deal(ctx, "busy")
    engine = Engine(ctx)
    assert at(T0 + timedelta(days=6), engine) == []
    clock.freeze(T0 + timedelta(days=6, hours=23))
    records.create(ctx, "note", {"body": "called", "deal_id": busy.id})  # activity keeps it awake
    assert [r.record_id for r in at(T0 + timedelta(days=7, hours=1), engine)] == [quiet.id]
    assert at(T0 + timedelta(days=7, hours=2), engine) == []  # not every minute
    assert Notification.get().title == "quiet is quiet"
    # New activity ends the spell; seven more quiet days start another one.
    clock.freeze(T0 + timedelta(days=8))
    records.update(ctx, "deal", quiet.id, {"amount": 10}, version=quiet.version)
    assert [r.record_id for r in at(T0 + timedelta(days=15, hours=1), engine)] == [busy.id, quiet.id]  # longest quiet first
    assert fired(rule_id) == [(quiet.id, "done"), (busy.id, "done"), (quiet.id, "done")]


def test_rotting_uses_the_stage_rot_days_or_the_rule_s_days(workspace: Workspace) -> None:
    ctx = workspace.ctx
    clock.freeze(T0)
    Stage.update(rot_days=10).where(Stage.id == stage_named("Qualification")).execute()
    by_stage = rule(ctx, {"type": "deal_rotting"})
    deal = make_deal(ctx, "slow")
    other = make_deal(ctx, "no rot days", stage="Negotiation")
    engine = Engine(ctx)
    assert at(T0 + timedelta(days=9), engine) == []
    assert [r.record_id for r in at(T0 + timedelta(days=10, minutes=1), engine)] == [deal.id]
    assert other.id not in [rid for rid, _ in fired(by_stage)]
    # Moved on and back: a new stay in the stage is a new episode.
    clock.freeze(T0 + timedelta(days=11))
    deals.move_deal(ctx, deal.id, stage_named("Negotiation"), from_stage_id=stage_named("Qualification"))
    deals.move_deal(ctx, deal.id, stage_named("Qualification"), from_stage_id=stage_named("Negotiation"))
    assert at(T0 + timedelta(days=20), engine) == []
    assert [r.record_id for r in at(T0 + timedelta(days=21, minutes=1), engine)] == [deal.id]
    fixed = automation_rules.save_rule(
        ctx, {"name": "three days", "enabled": True, "trigger": {"type": "deal_rotting", "days": 3}, "actions": [{"type": "add_note", "body": "stuck"}]}
    )
    assert sorted(r.record_id for r in at(T0 + timedelta(days=22), engine) if r.rule_id == fixed) == sorted([deal.id, other.id])


def test_overdue_tasks_fire_once_and_again_after_a_snooze(workspace: Workspace) -> None:
    ctx = workspace.ctx
    clock.freeze(T0)
    rule_id = rule(ctx, {"type": "task_overdue"}, "{title} is overdue")
    task = records.create(ctx, "task", {"title": "Call [b]Jane[/b]", "due_at": T0 + timedelta(hours=2)})
    done = records.create(ctx, "task", {"title": "done", "due_at": T0 + timedelta(hours=1), "done": True})
    engine = Engine(ctx)
    assert at(T0 + timedelta(hours=1), engine) == []
    assert [r.record_id for r in at(T0 + timedelta(hours=3), engine)] == [task.id]
    assert at(T0 + timedelta(hours=4), engine) == []
    records.update(ctx, "task", task.id, {"due_at": T0 + timedelta(days=1)}, version=task.version)  # snoozed
    assert at(T0 + timedelta(hours=23), engine) == []
    assert [r.record_id for r in at(T0 + timedelta(days=1, hours=1), engine)] == [task.id]
    assert done.id not in [rid for rid, _ in fired(rule_id)]
    assert [n.title for n in Notification.select()] == ["Call [b]Jane[/b] is overdue"] * 2


def test_expected_close_passed_while_open(workspace: Workspace) -> None:
    ctx = workspace.ctx
    clock.freeze(T0)
    rule_id = rule(ctx, {"type": "close_date_passed"})
    late = make_deal(ctx, "late", expected_close=date(2026, 3, 5))
    won = make_deal(ctx, "won", expected_close=date(2026, 3, 1), stage="Closed Won")
    engine = Engine(ctx)
    assert at(datetime(2026, 3, 5, 23, 0), engine) == []  # the close date itself is not past yet
    assert [r.record_id for r in at(datetime(2026, 3, 6, 0, 1), engine)] == [late.id]
    assert won.id not in [rid for rid, _ in fired(rule_id)]
    late = records.get("deal", late.id)
    records.update(ctx, "deal", late.id, {"expected_close": date(2026, 3, 20)}, version=late.version)
    assert at(datetime(2026, 3, 10), engine) == []
    assert len(at(datetime(2026, 3, 21), engine)) == 1
