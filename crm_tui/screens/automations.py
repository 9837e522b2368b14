"""The automations settings: every rule with whether it is on, its trigger in words, how often it
ran and when last. Space switches a rule on or off, enter edits it as TOML, n makes one (blank or
from a template), d dry-runs it, l / L show the run log, x deletes."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.screen import Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from crm_tui.schemas.automation import TIME_TRIGGERS, Rule
from crm_tui.screens.base import RefreshAtMostOncePerGap, ReportsWorkerErrors, session_of, stamp
from crm_tui.screens.choice import ChoiceScreen
from crm_tui.screens.confirm import ConfirmScreen
from crm_tui.screens.dry_run import DryRunScreen
from crm_tui.screens.rule_editor import BLANK, RuleEditorScreen, rule_toml, template_toml
from crm_tui.screens.run_log import RunLogScreen
from crm_tui.services import automation_rules
from crm_tui.services.automation_rules import RuleRow
from crm_tui.services.context import Context
from crm_tui.services.errors import NotFound, ServiceError
from crm_tui.text import safe_text
from crm_tui.widgets.footer import BatchedFooter
from crm_tui.widgets.mode_tabs import ModeTabs

ABOUT = (
    "A rule reacts to a change (or, checked every minute, to time: idle, rotting, overdue), checks its "
    "conditions and runs its actions. Switched on, it reacts only to what happens from then on. Rules run "
    "while crm is open; with nobody in it, `crm automations tick` from cron runs them."
)


def trigger_words(rule: Rule) -> str:
    """ "when a deal moves to Proposal Sent" (names are record text: pass the result through safe_text)."""
    t: Any = rule.trigger
    entity = getattr(t, "entity", "")
    if t.type == "record_created":
        return f"when a {entity} is created"
    if t.type == "record_updated":
        return f"when a {entity} changes"
    if t.type == "field_changed":
        return f"when a {entity}'s {t.field} changes" + (f" to {t.to!r}" if t.to is not None else "")
    if t.type == "stage_changed":
        head = f"when a deal is {t.to_kind}" if t.to_kind in ("won", "lost") and not t.to_stage else "when a deal moves"
        words = [head]
        words += [f"in {t.pipeline}"] if t.pipeline else []
        words += [f"from {t.from_stage}"] if t.from_stage else []
        words += [f"to {t.to_stage}"] if t.to_stage else []
        words += [f"to an {t.to_kind} stage"] if t.to_kind == "open" else []
        words += ["to a closed stage"] if t.to_kind == "closed" else []
        return " ".join(words)
    if t.type == "assigned":
        return f"when a {entity} gets {'an assignee' if entity == 'task' else 'an owner'}"
    if t.type == "record_deleted":
        return f"when a {entity} is deleted"
    if t.type == "deal_idle":
        return f"when a deal has been quiet for {t.days} days"
    if t.type == "deal_rotting":
        return f"when a deal stays in its stage over {t.days} days" if t.days else "when a deal rots in its stage"
    if t.type == "task_overdue":
        return "when a task is overdue"
    if t.type == "close_date_passed":
        return "when a deal's expected close date passes"
    return f"when {t.type.replace('_', ' ')}"


def rule_line(row: RuleRow) -> Content:
    """Two lines: on/off, name, runs and last run; then the trigger, conditions and actions in words."""
    rule = row.rule
    state = ("● on ", "bold $success") if row.enabled else ("○ off", "$text-muted")
    runs = f"{row.runs:,} run{'s' if row.runs != 1 else ''}"
    last = f" · last {stamp(row.last_run)}" if row.last_run else ""
    conditions = len(rule.conditions)
    ifs = f" · if {conditions} condition{'s' if conditions != 1 else ''}" if conditions else ""
    then = ", ".join(action.type.replace("_", " ") for action in rule.actions)
    return Content.assemble(
        state, "  ", (safe_text(row.name), "bold"), (f"  · {runs}{last}", "dim"),
        "\n       ", safe_text(trigger_words(rule)), (f"{ifs} · then {then}", "dim"),
    )  # fmt: skip


def flip(ctx: Context, rule_id: int) -> RuleRow:
    """Switch a rule to the other state as stored now (on the database thread, so that keys pressed
    fast each act on the state the one before left); returns it as it is then."""
    row = automation_rules.get_rule(rule_id)
    automation_rules.set_enabled(ctx, rule_id, not row.enabled, version=row.version)
    return automation_rules.get_rule(rule_id)


class AutomationsScreen(RefreshAtMostOncePerGap, ReportsWorkerErrors, Screen[None]):
    """The automation rules and what can be done with them."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle", "On/off", tooltip="Switch the rule on (it reacts from now on) or off",
                id="automations.toggle"),
        Binding("e", "edit", "Edit", key_display="e/⏎", tooltip="Edit the rule as TOML", id="automations.edit"),
        Binding("n", "new", "New", tooltip="A new rule: blank, or from a template", id="automations.new"),
        Binding("d", "dry_run", "Dry run", tooltip="What the rule would have done in the last 30 days; changes nothing",
                id="automations.dry_run"),
        Binding("l", "run_log", "Runs", tooltip="The run log of this rule", id="automations.run_log"),
        Binding("L", "run_log_all", "All runs", tooltip="The run log of every rule", id="automations.run_log_all"),
        Binding("x,delete", "delete", "Delete", tooltip="Delete the rule and its run log (asks first)",
                id="automations.delete"),
        Binding("r", "refresh", "Refresh", tooltip="Read the rules again", id="automations.refresh"),
        Binding("escape", "back", "Back", tooltip="Close the automations", id="automations.back"),
    ]  # fmt: skip
    DEFAULT_CSS = """
    AutomationsScreen #about { height: auto; padding: 0 1; color: $text-muted; }
    AutomationsScreen #empty { height: auto; padding: 1 2; color: $text-muted; }
    AutomationsScreen OptionList { height: 1fr; border: round $panel; }
    AutomationsScreen OptionList:focus { border: round $accent; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[RuleRow] = []

    def compose(self) -> ComposeResult:
        """Tabs, what rules do, then the rules."""
        yield ModeTabs("automations")
        yield Static(Content(ABOUT), id="about")
        yield Static("", id="empty")
        yield OptionList(id="rules")
        yield BatchedFooter()

    def on_mount(self) -> None:
        """Read the rules."""
        self.query_one("#rules", OptionList).focus()
        self.load()

    @property
    def current(self) -> RuleRow | None:
        """The highlighted rule."""
        index = self.query_one("#rules", OptionList).highlighted
        return self.rows[index] if index is not None and 0 <= index < len(self.rows) else None

    @work(group="automations-read", exclusive=True, exit_on_error=False)
    async def load(self, keep: int | None = None) -> None:
        """Read the rules again, keeping (or moving to) the rule `keep`."""
        keep = keep or (self.current.id if self.current else None)
        self.loaded_now()
        rows = await session_of(self).call(automation_rules.list_rules)
        self.rows = rows
        box = self.query_one("#rules", OptionList)
        was = box.highlighted or 0
        box.set_options(Option(rule_line(row), id=str(row.id)) for row in rows)
        ids = [row.id for row in rows]
        box.highlighted = ids.index(keep) if keep in ids else (min(was, len(ids) - 1) if ids else None)
        empty = self.query_one("#empty", Static)
        empty.update(Content("No rules yet: press n to make one, blank or from a template."))
        empty.display = not rows

    def action_refresh(self) -> None:
        """Read the rules again."""
        self.load()

    def _failed(self, error: ServiceError, title: str) -> None:
        self.notify(safe_text(error), title=title, severity="warning", markup=False)
        self.load()

    # -- switching, editing ----------------------------------------------------------------------
    def action_toggle(self) -> None:
        """Switch the highlighted rule on or off."""
        if self.current is not None:
            self._toggle(self.current.id)

    @work(group="automations-write", exit_on_error=False)
    async def _toggle(self, rule_id: int) -> None:
        # Not exclusive: every press must reach the database, in order.
        session = session_of(self)
        try:
            row = await session.call(flip, session.ctx, rule_id)
        except ServiceError as error:
            self._failed(error, "Not switched")
            return
        if not row.enabled:
            said = "off"
        elif row.rule.trigger.type in TIME_TRIGGERS:
            said = "on: checks its records every minute from now on"
        else:
            said = "on: reacts to events from now on"
        self.notify(f"{safe_text(row.name)} {said}", markup=False)
        self.load(keep=rule_id)

    @on(OptionList.OptionSelected, "#rules")
    def _selected(self) -> None:
        self.action_edit()

    def action_edit(self) -> None:
        """Edit the highlighted rule as TOML."""
        if self.current is not None:
            self._edit(self.current.id)

    @work(group="automations-edit", exclusive=True, exit_on_error=False)
    async def _edit(self, rule_id: int) -> None:
        try:
            row = await session_of(self).call(automation_rules.get_rule, rule_id)  # the version stored now
        except NotFound as error:
            self._failed(error, "Not found")
            return
        editor = RuleEditorScreen(rule_toml(row.rule), rule_id=row.id, version=row.version, title=row.name)
        self.app.push_screen(editor, callback=self._saved)

    def action_new(self) -> None:
        """A new rule: choose a blank one or a template first."""
        templates = automation_rules.BUILT_INS
        choices = [Content.styled("Blank rule", "bold")] + [
            Content.assemble(
                safe_text(data["name"]), ("  " + safe_text(trigger_words(automation_rules.parse(data))), "dim")
            )
            for data in templates
        ]
        taken = {row.name for row in self.rows}

        def chosen(index: int | None) -> None:
            if index is None:
                return
            text = BLANK if index == 0 else template_toml(templates[index - 1], taken)
            self.app.push_screen(RuleEditorScreen(text), callback=self._saved)

        question = Content("Start the new rule from (it is saved switched off)")
        self.app.push_screen(ChoiceScreen(question, choices), callback=chosen)

    def _saved(self, rule_id: int | None) -> None:
        if rule_id is not None:
            self.notify("Rule saved.", markup=False)
            self.load(keep=rule_id)

    # -- looking ---------------------------------------------------------------------------------
    def action_dry_run(self) -> None:
        """What the highlighted rule would have done lately; nothing is changed."""
        if self.current is not None:
            self.app.push_screen(DryRunScreen(self.current.rule))

    def action_run_log(self) -> None:
        """The runs of the highlighted rule."""
        if self.current is not None:
            self.app.push_screen(RunLogScreen(self.current.id, self.current.name))

    def action_run_log_all(self) -> None:
        """The runs of every rule."""
        self.app.push_screen(RunLogScreen())

    # -- deleting, leaving -----------------------------------------------------------------------
    def action_delete(self) -> None:
        """Delete the highlighted rule after asking."""
        row = self.current
        if row is None:
            return
        runs = f"Its run log ({row.runs:,} run{'s' if row.runs != 1 else ''}) goes with it." if row.runs else ""
        question = Content.assemble("Delete the rule ", (safe_text(row.name), "bold"), "?\n\n", runs)
        self.app.push_screen(
            ConfirmScreen(question, yes="Delete"), callback=lambda yes: self._delete(row.id, row.version, row.name, yes)
        )

    @work(group="automations-write", exit_on_error=False)
    async def _delete(self, rule_id: int, version: int, name: str, yes: bool | None) -> None:
        if not yes:
            return
        session = session_of(self)
        try:
            await session.call(automation_rules.delete_rule, session.ctx, rule_id, version=version)
        except ServiceError as error:
            self._failed(error, "Not deleted")
            return
        self.notify(f"Deleted {safe_text(name)}.", markup=False)
        self.load()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Back is there only when the screen was opened over another (not as the app's mode)."""
        if action == "back":
            return len(self.app.screen_stack) > 1
        return True

    def action_back(self) -> None:
        """Close the automations (when opened over another screen)."""
        if len(self.app.screen_stack) > 1:
            self.dismiss(None)
