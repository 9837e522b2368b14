"""Automations inside the running app: a move on the board fires its rule within a moment, a
change made by another process too, and a failing rule says so in a toast."""

from __future__ import annotations

import asyncio

from crm_tui.app import CrmApp
from crm_tui.models import AutomationRun, Deal, Task
from crm_tui.services import automation_rules, deals
from crm_tui.services.context import Context
from tests.board_fixtures import settle
from tests.helpers import stage_named


async def wait_for(pilot, check, seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.05)):
        await settle(pilot)
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the automation did not run")


async def test_moving_a_deal_on_the_board_fires_its_rule(app: CrmApp, ids: dict[str, int]) -> None:
    ctx = app.session.ctx
    automation_rules.save_rule(
        ctx,
        {"name": "Write it", "enabled": True, "trigger": {"type": "stage_changed", "to_stage": "Writing Proposal"},
         "actions": [{"type": "create_task", "title": "Draft the proposal for {title}", "due_days": 2}]},
    )  # fmt: skip
    async with app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        await pilot.press("2", "L")  # the Qualification column, then move its first deal on
        await wait_for(pilot, lambda: Task.select().exists())
        task = Task.get()
        moved = Deal.get_by_id(task.deal_id)
        assert moved.stage_id == stage_named("Writing Proposal") and moved.id in (ids["acme"], ids["globex"])
        assert task.title == f"Draft the proposal for {moved.title}"


async def test_a_change_from_another_process_fires_too_and_a_failure_is_a_toast(app: CrmApp, ids: dict[str, int]) -> None:
    ctx = app.session.ctx
    automation_rules.save_rule(
        ctx,
        {"name": "Broken [/] rule", "enabled": True, "trigger": {"type": "stage_changed", "to_kind": "won"},
         "actions": [{"type": "move_stage", "stage": "Nowhere"}]},
    )  # fmt: skip
    async with app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        other = Context(user_id=ctx.user_id, login=ctx.login)  # another session: its own bus
        deals.move_deal(other, ids["initech"], stage_named("Closed Won"), from_stage_id=stage_named("Negotiation"))
        await wait_for(pilot, lambda: AutomationRun.select().exists())
        assert AutomationRun.get().status == "failed"
        await wait_for(pilot, lambda: any("Broken [/] rule failed" in str(n.message) for n in app._notifications))
