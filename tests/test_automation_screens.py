"""The automation screens from the keyboard: a rule made from a blank and from a template, TOML and
validation errors shown in the editor, dry runs (saved and unsaved), switching a rule on, the run log
and its filters, deleting, and rule and record names with markup characters."""

from __future__ import annotations

import tomllib
from typing import Any, get_args

from textual.pilot import Pilot
from textual.widgets import OptionList, Static, TextArea

from crm_tui.app import CrmApp
from crm_tui.models import AutomationRule, AutomationRun
from crm_tui.schemas.automation import Action, Op, Trigger
from crm_tui.screens.automations import AutomationsScreen, trigger_words
from crm_tui.screens.choice import ChoiceScreen
from crm_tui.screens.confirm import ConfirmScreen
from crm_tui.screens.dry_run import DryRunScreen, summary
from crm_tui.screens.record_screen import RecordScreen
from crm_tui.screens.rule_editor import RuleEditorScreen, help_text, rule_toml, template_toml
from crm_tui.screens.run_log import RunLogScreen
from crm_tui.screens.text_prompt import TextPromptScreen
from crm_tui.services import automation_rules
from crm_tui.services.automation_engine import Engine
from crm_tui.services.automation_log import DryRun
from crm_tui.services.changes import latest_event_id
from crm_tui.services.context import Context
from crm_tui.services.workspace import Workspace
from tests.board_fixtures import HOSTILE, settle
from tests.helpers import make_deal

SIZE = (120, 40)
BUILT_IN_COUNT = len(automation_rules.BUILT_INS)

FOLLOW_UP = """\
name = ""
enabled = false

[trigger]
type = "record_created"
entity = "deal"

[[conditions]]
field = "amount"
op = "gte"
value = 1000000

[[actions]]
type = "create_task"
title = "Call {company} about {title}"
due_days = 2
"""


def add_rule(ctx: Context, name: str = "Note new deals", *, enabled: bool = False, actions: list | None = None) -> int:
    """A rule on deal creation (off unless `enabled`)."""
    return automation_rules.save_rule(ctx, {
        "name": name, "enabled": enabled, "trigger": {"type": "record_created", "entity": "deal"},
        "actions": actions or [{"type": "add_note", "body": "new: {title}"}],
    })  # fmt: skip


async def _open(pilot: Pilot) -> AutomationsScreen:
    await settle(pilot)
    pilot.app.push_screen(AutomationsScreen())
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, AutomationsScreen)
    return screen


async def _press(pilot: Pilot, *keys: str) -> None:
    await pilot.press(*keys)
    await settle(pilot)


def _lines(screen: Any, selector: str) -> list[str]:
    box = screen.query_one(selector, OptionList)
    return [box.get_option_at_index(i).prompt.plain for i in range(box.option_count)]


async def _highlight(pilot: Pilot, screen: AutomationsScreen, name: str) -> None:
    """Move the cursor to the rule `name` with the arrow keys."""
    box = screen.query_one("#rules", OptionList)
    await _press(pilot, "home")
    for _ in range(len(screen.rows)):
        if screen.current is not None and screen.current.name == name:
            return
        await _press(pilot, "down")
    raise AssertionError(f"no rule {name!r} in the list; at {box.highlighted}")


def _error(pilot: Pilot) -> str:
    editor = next(screen for screen in pilot.app.screen_stack if isinstance(screen, RuleEditorScreen))
    line = editor.query_one("#rule-error", Static)
    return str(line.render()) if line.display else ""


def _toasts(pilot: Pilot) -> list[str]:
    return [str(n.message) for n in pilot.app._notifications]


def test_the_help_names_every_trigger_op_action_and_placeholder() -> None:
    text = help_text().plain
    for union in (Trigger, Action):
        for model in get_args(get_args(union)[0]):
            assert get_args(model.model_fields["type"].annotation)[0] in text
    assert all(op in text for op in get_args(Op))
    assert "{title}" in text and "{custom.<key>}" in text


def test_triggers_read_as_words() -> None:
    def words(trigger: dict) -> str:
        return trigger_words(
            automation_rules.parse({"name": "x", "trigger": trigger, "actions": [{"type": "add_note", "body": "b"}]})
        )

    assert (
        words({"type": "stage_changed", "to_stage": "Proposal Sent", "pipeline": "Sales"})
        == "when a deal moves in Sales to Proposal Sent"
    )
    assert words({"type": "stage_changed", "to_kind": "won"}) == "when a deal is won"
    assert (
        words({"type": "field_changed", "entity": "lead", "field": "status", "to": "working"})
        == "when a lead's status changes to 'working'"
    )
    assert words({"type": "deal_idle", "days": 7}) == "when a deal has been quiet for 7 days"


def test_every_template_reads_back_as_the_same_rule() -> None:
    for data in automation_rules.BUILT_INS:
        rule = automation_rules.parse(data)
        assert automation_rules.parse(tomllib.loads(rule_toml(rule))) == rule
        assert "[[actions]]" in rule_toml(rule)  # tables to edit, not inline ones
        copy = tomllib.loads(template_toml(data, {data["name"], f"{data['name']} (2)"}))
        assert copy["name"] == f"{data['name']} (3)" and copy["enabled"] is False


def test_the_dry_run_says_when_it_is_not_the_whole_picture() -> None:
    rule = automation_rules.parse(automation_rules.BUILT_INS[1])
    assert "Not the whole picture" in summary(rule, DryRun([], 50_000, True), 30).plain
    plain = summary(rule, DryRun([], 12, False), 30).plain
    assert plain == "0 records it would have fired for in the last 30 days (12 changes read) · nothing was changed"
    idle = automation_rules.parse(automation_rules.BUILT_INS[3])
    assert summary(idle, DryRun([], 0, False), 30).plain.startswith("0 records it holds for now")


async def test_new_blank_rule_typed_and_saved(app: CrmApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        assert len(screen.rows) == BUILT_IN_COUNT and all("○ off" in line for line in _lines(screen, "#rules"))
        await _press(pilot, "n")
        assert isinstance(pilot.app.screen, ChoiceScreen)
        await _press(pilot, "enter")  # Blank rule
        editor = pilot.app.screen
        assert isinstance(editor, RuleEditorScreen)
        area = editor.query_one(TextArea)
        assert area.has_focus and tomllib.loads(area.text)["enabled"] is False
        area.text = FOLLOW_UP
        area.cursor_location = (0, 8)  # between the quotes of the name
        await _press(pilot, *"Big deal follow-up")
        await _press(pilot, "ctrl+s")
        assert pilot.app.screen is screen
        row = AutomationRule.get(AutomationRule.name == "Big deal follow-up")
        assert (row.enabled, row.trigger, row.conditions) == (
            False,
            {"type": "record_created", "entity": "deal"},
            [{"field": "amount", "op": "gte", "value": 1000000}],
        )
        assert row.actions == [{"type": "create_task", "title": "Call {company} about {title}", "due_days": 2.0}]
        assert screen.current is not None and screen.current.id == row.id  # the cursor is on the new rule
        assert "when a deal is created · if 1 condition · then create task" in _lines(screen, "#rules")[-1]

        await _press(pilot, "d")  # a dry run of the saved rule finds the deals made in the last 30 days
        dry = pilot.app.screen
        assert isinstance(dry, DryRunScreen)
        hits = _lines(dry, "#dry-hits")
        acme = next(line for line in hits if "Acme renewal" in line)
        assert f"would create task 'Call {HOSTILE} about Acme renewal' due 2 days after now" in acme
        assert not any("Globex pilot" in line for line in hits)  # 5,000.00 is under the condition's amount
        assert "nothing was changed" in str(dry.query_one("#dry-summary", Static).render())
        await _press(pilot, "escape")
        assert pilot.app.screen is screen and AutomationRun.select().count() == 0


async def test_a_template_starts_switched_off_under_a_free_name(app: CrmApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot)
        await _press(pilot, "n", "down", "down", "enter")  # the second template
        editor = pilot.app.screen
        assert isinstance(editor, RuleEditorScreen)
        data = tomllib.loads(editor.query_one(TextArea).text)
        template = automation_rules.BUILT_INS[1]
        assert data["name"] == f"{template['name']} (2)" and data["enabled"] is False
        assert data["trigger"] == template["trigger"]
        await _press(pilot, "ctrl+s")
        stored = AutomationRule.get(AutomationRule.name == f"{template['name']} (2)")
        assert not stored.enabled and stored.actions[0]["title"] == template["actions"][0]["title"]


async def test_errors_show_in_the_editor_and_nothing_is_stored(app: CrmApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        await _press(pilot, "n", "enter")
        editor = pilot.app.screen
        area = editor.query_one(TextArea)
        area.text = 'name = "Broken"\n\n[trigger]\ntype = "record_created"\n\n[[actions]]\ntype = "teleport"\n'
        await _press(pilot, "ctrl+s")
        assert pilot.app.screen is editor
        error = _error(pilot)
        assert "trigger.record_created.entity: Field required" in error and "actions.0" in error
        await _press(pilot, "ctrl+d")  # the dry run checks first, too
        assert pilot.app.screen is editor and "Field required" in _error(pilot)
        area.text = "name = [/]\n"
        await _press(pilot, "ctrl+s")
        assert "not valid TOML" in _error(pilot) and "line 1" in _error(pilot)
        area.text = FOLLOW_UP.replace('name = ""', f'name = "{automation_rules.BUILT_INS[0]["name"]}"')
        await _press(pilot, "ctrl+s")
        assert "another rule is called" in _error(pilot)
        area.text = FOLLOW_UP.replace('name = ""', 'name = "Unsaved"')
        await _press(pilot, "ctrl+d")  # the rule as written, unsaved
        assert isinstance(pilot.app.screen, DryRunScreen) and _error(pilot) == ""
        assert any("Acme renewal" in line for line in _lines(pilot.app.screen, "#dry-hits"))
        await _press(pilot, "escape", "escape")
        assert isinstance(pilot.app.screen, ConfirmScreen)  # it was changed: ask before dropping it
        await _press(pilot, "escape")
        assert pilot.app.screen is editor
        await _press(pilot, "escape", "y")
        assert pilot.app.screen is screen
        assert AutomationRule.select().count() == BUILT_IN_COUNT


async def test_edit_an_existing_rule(sqlite_workspace: Workspace, app: CrmApp) -> None:
    rule_id = add_rule(sqlite_workspace.ctx)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        await _highlight(pilot, screen, "Note new deals")
        await _press(pilot, "enter")
        editor = pilot.app.screen
        assert isinstance(editor, RuleEditorScreen)
        area = editor.query_one(TextArea)
        assert automation_rules.parse(tomllib.loads(area.text)) == automation_rules.get_rule(rule_id).rule
        await _press(pilot, "escape")  # unchanged: closes at once
        assert pilot.app.screen is screen
        await _press(pilot, "e")
        area = pilot.app.screen.query_one(TextArea)
        area.text = area.text.replace("new: {title}", "fresh: {title}")
        await _press(pilot, "ctrl+s")
        assert pilot.app.screen is screen
        stored = AutomationRule.get_by_id(rule_id)
        assert stored.actions == [{"type": "add_note", "body": "fresh: {title}"}] and stored.version == 2


async def test_space_switches_a_rule_on_from_now_on_and_off(sqlite_workspace: Workspace, app: CrmApp) -> None:
    rule_id = add_rule(sqlite_workspace.ctx)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await _open(pilot)
        await _highlight(pilot, screen, "Note new deals")
        newest = latest_event_id()
        await _press(pilot, "space")
        row = AutomationRule.get_by_id(rule_id)
        assert row.enabled and row.fires_after >= newest > 0
        assert any("Note new deals on: reacts to events from now on" in toast for toast in _toasts(pilot))
        assert "● on" in _lines(screen, "#rules")[screen.rows.index(screen.current)]
        await _press(pilot, "space", "space", "space")  # each press acts on what the one before left
        assert not AutomationRule.get_by_id(rule_id).enabled


async def test_the_run_log_lists_runs_and_filters_them(sqlite_workspace: Workspace, app: CrmApp) -> None:
    ctx = sqlite_workspace.ctx
    add_rule(ctx, "Note new deals", enabled=True)
    add_rule(ctx, "Move to nowhere", enabled=True, actions=[{"type": "move_stage", "stage": "Nope"}])
    deal = make_deal(ctx, "Fresh deal")
    results = Engine(ctx).tick()
    assert sorted(r.status for r in results) == ["done", "failed"]
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        assert (
            "1 run"
            in _lines(screen, "#rules")[screen.rows.index(next(r for r in screen.rows if r.name == "Note new deals"))]
        )
        await _highlight(pilot, screen, "Note new deals")
        await _press(pilot, "l")
        log = pilot.app.screen
        assert isinstance(log, RunLogScreen)
        [line] = _lines(log, "#runs")
        assert "done" in line and "Note new deals" in line and "deal Fresh deal" in line
        assert "\n    " in line  # the outcome, on its own line
        await _press(pilot, "a")  # every rule
        lines = _lines(log, "#runs")
        assert len(lines) == 2 and any("failed" in line and "Nope" in line for line in lines)
        await _press(pilot, "f")  # done only
        assert [("done" in line) for line in _lines(log, "#runs")] == [True]
        await _press(pilot, "f")  # failed only
        [failed] = _lines(log, "#runs")
        assert "Move to nowhere" in failed
        await _press(pilot, "f", "f")  # sending: none
        assert "no run matches" in _lines(log, "#runs")[0]
        await _press(pilot, "c", "slash")
        assert isinstance(pilot.app.screen, TextPromptScreen)
        await _press(pilot, *"nowhere", "enter")
        assert [("Move to nowhere" in line) for line in _lines(log, "#runs")] == [True]
        await _press(pilot, "enter")  # opens the run's deal
        assert isinstance(pilot.app.screen, RecordScreen) and pilot.app.screen.record_id == deal.id


async def test_delete_asks_then_removes(sqlite_workspace: Workspace, app: CrmApp) -> None:
    rule_id = add_rule(sqlite_workspace.ctx)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        await _highlight(pilot, screen, "Note new deals")
        await _press(pilot, "x")
        assert isinstance(pilot.app.screen, ConfirmScreen) and "Note new deals" in str(pilot.app.screen.question)
        await _press(pilot, "n")
        assert AutomationRule.get_or_none(AutomationRule.id == rule_id) is not None
        await _press(pilot, "delete", "y")
        assert AutomationRule.get_or_none(AutomationRule.id == rule_id) is None
        assert "Note new deals" not in [row.name for row in screen.rows]


async def test_names_with_markup_characters_render(sqlite_workspace: Workspace, app: CrmApp) -> None:
    ctx = sqlite_workspace.ctx
    name = "ACME [/] Corp"
    add_rule(ctx, name, enabled=True, actions=[{"type": "add_note", "body": "[@click=app.quit]x {company}"}])
    make_deal(ctx, "[b]Bold[/b] deal", company_id=None)
    Engine(ctx).tick()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await _open(pilot)
        await _highlight(pilot, screen, name)
        assert any(line.startswith(f"● on   {name}") for line in _lines(screen, "#rules"))
        await _press(pilot, "d")
        dry = pilot.app.screen
        assert name in str(dry.query_one("#dry-title", Static).render())
        assert any("[b]Bold[/b] deal" in line and "[@click=app.quit]x" in line for line in _lines(dry, "#dry-hits"))
        await _press(pilot, "escape", "l")
        log = pilot.app.screen
        assert name in str(log.query_one("#log-title", Static).render())
        assert any("[b]Bold[/b] deal" in line for line in _lines(log, "#runs"))
        await _press(pilot, "escape", "e")
        assert name in str(pilot.app.screen.query_one("#editor-title", Static).render())
        await _press(pilot, "escape", "space")
        assert any(f"{name} off" in toast for toast in _toasts(pilot))
        await _press(pilot, "x")
        assert name in str(pilot.app.screen.question)
        await _press(pilot, "y")
        assert pilot.app.is_running and AutomationRule.get_or_none(AutomationRule.name == name) is None
