"""The automation engine on both back ends: every event trigger, every record action, conditions,
templates, exactly-once keys, chain and loop protection, and the built-in rules."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from crm_tui.models import AutomationRule, AutomationRun, Deal, DealTag, Lead, Note, Notification, Tag, Task, User
from crm_tui.services import automation_rules, deals, records
from crm_tui.services.automation_engine import Engine
from crm_tui.services.context import Context
from crm_tui.services.errors import ServiceError, ValidationFailed
from crm_tui.services.workspace import Workspace
from tests.helpers import make_deal, stage_named


def add_rule(ctx: Context, trigger: dict[str, Any], *actions: dict[str, Any], conditions: list | None = None, name: str = "Rule") -> int:
    """An enabled rule (it reacts to events from now on)."""
    return automation_rules.save_rule(
        ctx, {"name": name, "enabled": True, "trigger": trigger, "conditions": conditions or [], "actions": list(actions)}
    )


def user(login: str, role: str = "member", email: str | None = None) -> int:
    return User.insert(login=login, name=login.title(), role=role, email=email).execute()


def runs(rule_id: int) -> list[tuple[str, str]]:
    return [(run.status, run.error or "") for run in AutomationRun.select().where(AutomationRun.rule == rule_id).order_by(AutomationRun.id)]


def test_the_built_in_rules_are_installed_once_and_disabled(workspace: Workspace) -> None:
    rows = automation_rules.list_rules()
    assert [row.name for row in rows] == [data["name"] for data in automation_rules.BUILT_INS]
    assert not any(row.enabled for row in rows)
    first = rows[0]
    automation_rules.delete_rule(workspace.ctx, first.id, version=first.version)
    assert automation_rules.ensure_built_ins(workspace.ctx) == 0  # a deleted built-in stays deleted
    assert len(automation_rules.list_rules()) == len(rows) - 1


def test_a_stage_change_rule_creates_a_task_once(workspace: Workspace) -> None:
    ctx = workspace.ctx
    rule_id = add_rule(
        ctx,
        {"type": "stage_changed", "to_stage": "Proposal Sent"},
        {"type": "create_task", "title": "Follow up on {title} ({amount})", "due_days": 3, "reminders": [60]},
    )
    deal = make_deal(ctx, "ACME [/] Corp", amount=125000, currency="USD", owner_id=ctx.user_id)
    engine = Engine(ctx)
    engine.tick()  # the creation alone does not fire
    assert Task.select().count() == 0
    deals.move_deal(ctx, deal.id, stage_named("Proposal Sent"), from_stage_id=deal["stage_id"])
    now = datetime(2026, 11, 22, 10, 0)
    [result] = engine.process_events(now=now)
    assert result.status == "done"
    task = Task.get()
    assert (task.title, task.deal_id, task.assignee_id, task.reminders) == ("Follow up on ACME [/] Corp ($1,250)", deal.id, ctx.user_id, [60])
    assert task.due_at == now + timedelta(days=3)
    assert engine.tick() == [] and Task.select().count() == 1  # the same event never fires twice
    assert runs(rule_id) == [("done", "")]


def test_stage_triggers_narrow_by_pipeline_from_and_kind(workspace: Workspace) -> None:
    ctx = workspace.ctx
    won = add_rule(ctx, {"type": "stage_changed", "to_kind": "won"}, {"type": "add_note", "body": "won"}, name="won")
    frm = add_rule(ctx, {"type": "stage_changed", "from_stage": "Negotiation", "pipeline": "Sales"}, {"type": "add_note", "body": "left"}, name="from")
    other = add_rule(ctx, {"type": "stage_changed", "pipeline": "Nope"}, {"type": "add_note", "body": "x"}, name="other")
    deal = make_deal(ctx, stage="Negotiation")
    deals.move_deal(ctx, deal.id, stage_named("Closed Won"), from_stage_id=stage_named("Negotiation"))
    Engine(ctx).tick()
    assert (len(runs(won)), len(runs(frm)), len(runs(other))) == (1, 1, 0)
    assert sorted(note.body for note in Note.select()) == ["left", "won"]


def test_record_created_updated_field_changed_assigned_and_deleted(workspace: Workspace) -> None:
    ctx = workspace.ctx
    bob = user("bob")
    created = add_rule(ctx, {"type": "record_created", "entity": "lead"}, {"type": "add_note", "body": "new lead {name}"}, name="c")
    updated = add_rule(ctx, {"type": "record_updated", "entity": "lead"}, {"type": "add_tag", "tag": "touched"}, name="u")
    working = add_rule(
        ctx, {"type": "field_changed", "entity": "lead", "field": "status", "to": "working"}, {"type": "add_tag", "tag": "hot"}, name="f"
    )
    assigned = add_rule(ctx, {"type": "assigned", "entity": "lead"}, {"type": "notify", "to": ["owner"], "title": "{name} is yours"}, name="a")
    deleted = add_rule(ctx, {"type": "record_deleted", "entity": "lead"}, {"type": "notify", "to": ["user:alice"], "title": "{name} deleted"}, name="d")
    engine = Engine(ctx)
    lead = records.create(ctx, "lead", {"first_name": "Jane", "last_name": "Doe"})
    engine.tick()
    lead = records.update(ctx, "lead", lead.id, {"status": "working", "owner_id": bob}, version=lead.version)
    engine.tick()
    engine.tick()  # the tags those runs added are updates too
    records.delete(ctx, "lead", lead.id, version=Lead.get_by_id(lead.id).version)
    engine.tick()
    assert [len(runs(r)) for r in (created, updated, working, assigned, deleted)] == [1, 3, 1, 1, 1]
    # The tag the "updated" rule added is an update of the lead: firing it again is a loop, stopped;
    # the tag the "working" rule added is one step down a chain, and runs.
    assert runs(updated) == [("done", ""), ("stopped", "stopped: the rule re-triggered itself on the same record"), ("done", "")]
    assert Note.get().body == "new lead Jane Doe"
    assert {tag.name for tag in Tag.select()} == {"touched", "hot"}
    assert sorted((n.user_id, n.title) for n in Notification.select()) == sorted(
        # (the third: giving the lead to bob by hand tells him too, whatever the rules say)
        [(bob, "Jane Doe is yours"), (ctx.user_id, "Jane Doe deleted"), (bob, f"Lead given to you by {ctx.login}: Jane Doe")]
    )


def test_conditions_on_fields_custom_fields_owner_tags_and_amount(workspace: Workspace) -> None:
    ctx = workspace.ctx
    records.create(ctx, "custom_field", {"entity": "deal", "key": "region", "label": "Region", "type": "text"})
    vip = records.create(ctx, "tag", {"name": "VIP"}).id
    rule_id = add_rule(
        ctx,
        {"type": "record_created", "entity": "deal"},
        {"type": "add_note", "body": "big one"},
        conditions=[
            {"field": "amount", "op": "gte", "value": 100000},
            {"field": "custom.region", "op": "in", "value": ["EMEA", "APAC"]},
            {"field": "owner", "op": "eq", "value": "alice"},
            {"field": "stage", "op": "eq", "value": "qualification"},
            {"field": "pipeline", "op": "eq", "value": "Sales"},
            {"field": "tags", "op": "lacks", "value": "VIP"},
        ],
    )
    small = make_deal(ctx, "small", amount=99999, currency="USD", owner_id=ctx.user_id, custom={"region": "EMEA"})
    big = make_deal(ctx, "big", amount=100000, currency="USD", owner_id=ctx.user_id, custom={"region": "APAC"})
    elsewhere = make_deal(ctx, "us", amount=500000, currency="USD", owner_id=ctx.user_id, custom={"region": "US"})
    DealTag.insert(deal=make_deal(ctx, "tagged", amount=500000, currency="USD", owner_id=ctx.user_id, custom={"region": "EMEA"}).id, tag=vip).execute()
    Engine(ctx).tick()
    assert [(run.record_id) for run in AutomationRun.select().where(AutomationRun.rule == rule_id)] == [big.id]
    assert {small.id, elsewhere.id}.isdisjoint({note.deal_id for note in Note.select()})


def test_set_field_move_stage_assign_and_remove_tag(workspace: Workspace) -> None:
    ctx = workspace.ctx
    ann, ben = user("ann"), user("ben")
    lost_rule = add_rule(
        ctx,
        {"type": "field_changed", "entity": "deal", "field": "source", "to": "spam"},
        {"type": "set_field", "field": "probability", "value": 0},
        {"type": "remove_tag", "tag": "hot"},
        {"type": "move_stage", "stage": "Closed Lost", "lost_reason": "Spam"},
        name="spam",
    )
    add_rule(ctx, {"type": "record_created", "entity": "deal"}, {"type": "assign", "to": "round_robin", "users": ["ann", "ben"]}, name="rr")
    first, second, third = (make_deal(ctx, f"d{n}") for n in range(3))
    Engine(ctx).tick()
    assert [Deal.get_by_id(d.id).owner_id for d in (first, second, third)] == [ann, ben, ann]
    hot = records.create(ctx, "tag", {"name": "hot"}).id
    DealTag.insert(deal=first.id, tag=hot).execute()
    records.update(ctx, "deal", first.id, {"source": "spam"}, version=Deal.get_by_id(first.id).version)
    Engine(ctx).tick()
    moved = Deal.get_by_id(first.id)
    assert (moved.probability, moved.stage_id, moved.lost_reason) == (0, stage_named("Closed Lost"), "Spam")
    assert not DealTag.select().where(DealTag.deal == first.id).exists()
    assert runs(lost_rule) == [("done", "")]


def test_least_loaded_assignment_picks_the_user_with_fewest_open_leads(workspace: Workspace) -> None:
    ctx = workspace.ctx
    ann, ben = user("ann"), user("ben")
    records.create(ctx, "lead", {"first_name": "Old", "last_name": "One", "owner_id": ann})
    add_rule(ctx, {"type": "record_created", "entity": "lead"}, {"type": "assign", "to": "least_loaded", "users": ["ann", "ben"]},
             conditions=[{"field": "owner", "op": "empty"}])  # fmt: skip
    lead = records.create(ctx, "lead", {"first_name": "New", "last_name": "One"})
    Engine(ctx).tick()
    assert Lead.get_by_id(lead.id).owner_id == ben


def test_a_failing_action_rolls_the_run_back_and_is_logged_once(workspace: Workspace) -> None:
    ctx = workspace.ctx
    rule_id = add_rule(
        ctx,
        {"type": "record_created", "entity": "deal"},
        {"type": "add_note", "body": "first"},
        {"type": "move_stage", "stage": "No such stage"},
    )
    deal = make_deal(ctx)
    [result] = Engine(ctx).tick()
    assert result.status == "failed" and "No such stage" in (result.error or "")
    assert Note.select().count() == 0  # the note of the first action rolled back with the run
    assert Deal.get_by_id(deal.id).title == "Acme renewal"  # the user's own change stands
    assert Engine(ctx).tick() == [] and len(runs(rule_id)) == 1


def test_a_chain_of_rules_stops_at_the_depth_limit(workspace: Workspace) -> None:
    ctx = workspace.ctx
    # Each rule's note on the deal ... is an update of nothing; use tags: rule n adds tag n, which
    # is a deal update that fires rule n + 1.
    for n in range(7):
        add_rule(
            ctx,
            {"type": "record_created", "entity": "deal"} if n == 0 else {"type": "field_changed", "entity": "deal", "field": "tags", "to": f"t{n - 1}"},
            {"type": "add_tag", "tag": f"t{n}"},
            name=f"step {n}",
        )
    tags = {f"t{n}": records.create(ctx, "tag", {"name": f"t{n}"}).id for n in range(7)}
    make_deal(ctx)
    engine = Engine(ctx, max_depth=3)
    results = []
    for _ in range(8):
        results += engine.tick()
    assert [r.status for r in results] == ["done", "done", "done", "stopped"]
    assert "deeper than 3" in (results[-1].error or "")
    assert {tag_id for (tag_id,) in DealTag.select(DealTag.tag).tuples()} == {tags["t0"], tags["t1"], tags["t2"]}


def test_a_rule_only_reacts_to_events_after_it_was_enabled(workspace: Workspace) -> None:
    ctx = workspace.ctx
    rule_id = add_rule(ctx, {"type": "record_created", "entity": "deal"}, {"type": "add_note", "body": "x"})
    row = AutomationRule.get_by_id(rule_id)
    automation_rules.set_enabled(ctx, rule_id, False, version=row.version)
    make_deal(ctx, "while off")
    Engine(ctx).tick()
    automation_rules.set_enabled(ctx, rule_id, True, version=row.version + 1)
    make_deal(ctx, "after")
    Engine(ctx).tick()
    assert [Deal.get_by_id(run.record_id).title for run in AutomationRun.select()] == ["after"]


def test_rules_are_validated_with_clear_errors(workspace: Workspace) -> None:
    with pytest.raises(ValidationFailed) as caught:
        automation_rules.save_rule(workspace.ctx, {"name": "x", "trigger": {"type": "stage_changed"}, "actions": [{"type": "assign", "to": "user"}]})
    assert "needs users" in str(caught.value)
    with pytest.raises(ValidationFailed):
        automation_rules.save_rule(workspace.ctx, {"name": "x", "trigger": {"type": "task_overdue"}, "actions": [{"type": "move_stage", "stage": "a"}]})
    with pytest.raises(ValidationFailed):
        automation_rules.save_rule(workspace.ctx, {"name": "x", "trigger": {"type": "nope"}, "actions": []})


def test_toml_export_and_import_round_trip(workspace: Workspace) -> None:
    ctx = workspace.ctx
    add_rule(ctx, {"type": "stage_changed", "to_kind": "won"}, {"type": "webhook", "url": "https://example.com/hook", "retries": 1}, name="Hook")
    text = automation_rules.export_toml()
    before = [(row.name, automation_rules.as_data(row.rule)) for row in automation_rules.list_rules()]
    for row in automation_rules.list_rules():
        automation_rules.delete_rule(ctx, row.id, version=row.version)
    report = automation_rules.import_toml(ctx, text)
    assert len(report.created) == len(before)
    assert [(row.name, automation_rules.as_data(row.rule)) for row in automation_rules.list_rules()] == before
    again = automation_rules.import_toml(ctx, text)
    assert (again.created, again.updated, len(again.unchanged)) == ([], [], len(before))
    with pytest.raises(ServiceError, match="rule 1"):
        automation_rules.import_toml(ctx, '[[rule]]\nname = "bad"\n[rule.trigger]\ntype = "nope"\n')
    assert len(automation_rules.list_rules()) == len(before)  # all or nothing


def test_a_template_shows_a_formula_s_number_as_written() -> None:
    from decimal import Decimal

    from crm_tui.services.automation_match import render

    view = {"custom.profit": Decimal("-4E+2"), "custom.rate": Decimal("0.125"), "tags": ["a", "b"]}
    assert render("{custom.profit} at {custom.rate} ({tags})", view) == "-400 at 0.125 (a, b)"
