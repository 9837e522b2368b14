"""The rule editor: one automation rule as TOML (the shape `crm automations export` writes for a
rule, as top-level keys), beside a help panel built from the rule schema itself. ctrl+s checks and
saves, ctrl+d dry-runs the rule as written without saving, escape cancels (asking first if changed)."""

from __future__ import annotations

import inspect
import tomllib
from functools import cache
from importlib.util import find_spec
from typing import Any, ClassVar, Literal, get_args, get_origin

import tomli_w
from pydantic import BaseModel
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static, TextArea

from crm_tui.schemas.automation import OUTBOUND, TIME_TRIGGERS, Action, Condition, Entity, Op, Rule, Trigger
from crm_tui.screens.base import ReportsWorkerErrors, session_of
from crm_tui.screens.confirm import ConfirmScreen
from crm_tui.screens.dry_run import DryRunScreen
from crm_tui.services import automation_rules
from crm_tui.services.errors import ServiceError, ValidationFailed
from crm_tui.text import safe_text
from crm_tui.widgets.footer import BatchedFooter

PLACEHOLDERS = ("{title}", "{amount}", "{owner}", "{stage}", "{pipeline}", "{company}", "{name}", "{custom.<key>}")
"""What templates (task titles, note bodies, notification and email texts) can name."""

BLANK = """\
# A rule: when the trigger happens and every condition holds, the actions run in order.
# The panel on the right lists every trigger, condition and action. ctrl+s saves it switched off.
name = "New rule"
enabled = false

[trigger]
type = "record_created"
entity = "deal"

# [[conditions]]
# field = "source"
# op = "eq"
# value = "Referral"

[[actions]]
type = "add_note"
body = "Created: {title} ({amount})"
"""
"""What "Blank rule" starts from: the smallest rule that saves, with a condition to uncomment."""


def toml_language() -> str | None:
    """ "toml" when Textual's syntax extras (tree-sitter and its TOML grammar) are installed; else
    None: plain text, since asking for a language tree-sitter lacks raises."""
    return "toml" if find_spec("tree_sitter") and find_spec("tree_sitter_toml") else None


def _lines(table: dict[str, Any]) -> str:
    """A flat table's keys, one per line, short lists kept on one line (tomli_w spreads them out)."""
    lines = []
    for key, value in table.items():
        if isinstance(value, list) and all(isinstance(item, str | int | float | bool) for item in value):
            items = ", ".join(tomli_w.dumps({"v": item}).strip().removeprefix("v = ") for item in value)
            lines.append(f"{tomli_w.dumps({key: 0}).strip().removesuffix(' = 0')} = [{items}]")
        else:
            lines.append(tomli_w.dumps({key: value}).strip())
    return "\n".join(lines) + "\n"


def rule_toml(rule: Rule) -> str:
    """A rule as the editor shows it: its conditions and actions as [[conditions]] / [[actions]]
    tables (tomli_w would squeeze short ones into inline tables, which are hard to edit)."""
    data = automation_rules.as_data(rule)
    tables = [("[trigger]", data.pop("trigger"))]
    tables += [(f"[[{key}]]", table) for key in ("conditions", "actions") for table in data.pop(key, [])]
    if any(isinstance(value, dict) for _, table in tables for value in table.values()):
        return tomli_w.dumps(automation_rules.as_data(rule))  # a nested table needs tomli_w's own layout
    return _lines(data) + "".join(f"\n{header}\n{_lines(table)}" for header, table in tables)


def template_toml(data: dict[str, Any], taken: set[str]) -> str:
    """A template (one of BUILT_INS) as a new rule: switched off, named so that it does not clash."""
    rule = automation_rules.parse(data)
    name, number = rule.name, 2
    while name in taken:
        name, number = f"{rule.name} ({number})", number + 1
    return rule_toml(rule.model_copy(update={"name": name, "enabled": False}))


def _members(union: Any) -> list[type[BaseModel]]:
    """The models of a discriminated union (Annotated[A | B | ..., Field(discriminator=...)])."""
    return list(get_args(get_args(union)[0]))


def _kind(model: type[BaseModel]) -> str:
    return str(get_args(model.model_fields["type"].annotation)[0])


def _literals(annotation: Any) -> tuple[list[str], bool]:
    """The Literal values an annotation allows, and whether any other text is allowed too."""
    if get_origin(annotation) is Literal:
        return [str(value) for value in get_args(annotation)], False
    values, other = [], annotation is str
    for arg in get_args(annotation):
        more, free = _literals(arg)
        values += more
        other = other or free
    return values, other


def _fields(model: type[BaseModel]) -> str:
    """ "entity, field, to?": a part's keys (optional ones marked ?), with their allowed values."""
    entities = sorted(get_args(Entity))
    shown = []
    for name, info in model.model_fields.items():
        if name == "type":
            continue
        values, other = _literals(info.annotation)
        choice = f"={'|'.join(values)}{'|…' if other else ''}" if values and sorted(values) != entities else ""
        shown.append(f"{name}{'' if info.is_required() else '?'}{choice}")
    return ", ".join(shown)


def _doc(model: type[BaseModel]) -> str:
    return " ".join(inspect.cleandoc(model.__doc__ or "").split())


def _section(title: str, models: list[type[BaseModel]], notes: dict[str, str]) -> list[str | tuple[str, str]]:
    parts: list[str | tuple[str, str]] = [(title, "bold underline"), "\n"]
    for model in models:
        kind = _kind(model)
        fields = _fields(model)
        parts += [(kind, "bold $accent"), f"  {fields}" if fields else ""]
        if kind in notes:
            parts.append((f"  ({notes[kind]})", "$text-warning"))
        parts += ["\n", (f"  {_doc(model)}", "dim"), "\n"]
    return parts


@cache
def help_text() -> Content:
    """Every trigger, condition op, action and placeholder, read from the schema (so it cannot drift)."""
    time_notes = dict.fromkeys(TIME_TRIGGERS, "checked every minute")
    parts: list[str | tuple[str, str]] = [
        ("Keys marked ? are optional.", "dim"), "\n\n",
        *_section('[trigger]  type = "…"', _members(Trigger), time_notes),
        ("entity", "bold"), f" is one of {', '.join(get_args(Entity))}", "\n\n",
        ("[[conditions]]  field, op, value", "bold underline"), "\n",
        ("op", "bold"), f" {' '.join(get_args(Op))}", "\n",
        (f"  {_doc(Condition)}", "dim"), "\n\n",
        *_section('[[actions]]  type = "…"  (in order)', _members(Action),
                  dict.fromkeys(OUTBOUND, "sent after the rest is saved")),
        "\n", ("Placeholders in titles, bodies, subjects", "bold underline"), "\n",
        " ".join(PLACEHOLDERS), "\n", ("  and any other field of the record, by its key", "dim"),
    ]  # fmt: skip
    return Content.assemble(*parts)


def problems(error: ServiceError) -> list[str]:
    """What is wrong, one line per part."""
    if isinstance(error, ValidationFailed):
        return [f"{where}: {message}" if where else message for where, message in error.errors.items()]
    return [str(error)]


class RuleEditorScreen(ReportsWorkerErrors, ModalScreen[int | None]):
    """Edit `text` (a rule as TOML); saves as rule `rule_id` read at `version`, or as a new rule.

    Dismisses with the saved rule's id, or None when cancelled.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", tooltip="Check the rule and save it", id="rule_editor.save"),
        # priority: the text area's own ctrl+d deletes a character (delete does that too).
        Binding("ctrl+d", "dry_run", "Dry run", priority=True,
                tooltip="What the rule as written would have done in the last 30 days; saves and changes nothing",
                id="rule_editor.dry_run"),
        Binding("escape", "cancel", "Cancel", tooltip="Close without saving (asks first if you changed it)",
                id="rule_editor.cancel"),
    ]  # fmt: skip
    DEFAULT_CSS = """
    RuleEditorScreen { align: center middle; }
    RuleEditorScreen > Vertical {
        width: 95%; height: 90%; border: round $accent; background: $surface; padding: 0 1;
    }
    RuleEditorScreen #editor-title { text-style: bold; height: 1; }
    RuleEditorScreen Horizontal { height: 1fr; }
    RuleEditorScreen TextArea { width: 1fr; height: 1fr; }
    RuleEditorScreen #rule-help { width: 42%; max-width: 60; height: 1fr; border: round $panel; padding: 0 1; }
    RuleEditorScreen #rule-help:focus { border: round $accent; }
    RuleEditorScreen #rule-error { color: $text-error; height: auto; max-height: 6; display: none; }
    RuleEditorScreen .hint { color: $text-muted; height: 1; }
    """

    def __init__(self, text: str, *, rule_id: int | None = None, version: int | None = None, title: str = "") -> None:
        super().__init__()
        self.text = text
        self.rule_id = rule_id
        self.version = version
        self.rule_title = title

    def compose(self) -> ComposeResult:
        """Title, the TOML beside the help, the error line, the keys."""
        with Vertical():
            heading = "Edit rule " if self.rule_id is not None else "New rule "
            yield Static(Content.assemble((heading, "bold"), safe_text(self.rule_title)), id="editor-title")
            with Horizontal():
                yield TextArea(self.text, language=toml_language(), show_line_numbers=True, id="rule-toml")
                with VerticalScroll(id="rule-help"):
                    yield Static(help_text())
            yield Static("", id="rule-error", markup=False)
            yield Static("ctrl+s save · ctrl+d dry run (saves nothing) · tab: help · esc cancel", classes="hint")
        yield BatchedFooter()

    def on_mount(self) -> None:
        """Start typing in the rule."""
        self.query_one("#rule-toml", TextArea).focus()

    @property
    def changed(self) -> bool:
        """Whether the text differs from what the editor opened with."""
        return self.query_one("#rule-toml", TextArea).text != self.text

    def _say(self, lines: list[str]) -> None:
        line = self.query_one("#rule-error", Static)
        line.update(Content("\n".join(f"✗ {safe_text(text)}" for text in lines)))
        line.display = bool(lines)

    def _read(self) -> dict[str, Any] | None:
        """The TOML as data, or None after showing why it does not read."""
        try:
            data = tomllib.loads(self.query_one("#rule-toml", TextArea).text)
        except tomllib.TOMLDecodeError as error:
            self._say([f"not valid TOML: {error}"])
            return None
        tables = data.get("rule")
        # A rule copied from an export file comes as one [[rule]] table: take what is inside.
        if set(data) == {"rule"} and isinstance(tables, list) and len(tables) == 1 and isinstance(tables[0], dict):
            data = tables[0]
        return data

    def action_save(self) -> None:
        """Check the rule and store it."""
        self._save()

    @work(group="rule-editor-save", exclusive=True, exit_on_error=False)
    async def _save(self) -> None:
        data = self._read()
        if data is None:
            return
        session = session_of(self)
        try:
            rule_id = await session.call(
                automation_rules.save_rule, session.ctx, data, rule_id=self.rule_id, version=self.version
            )
        except ServiceError as error:
            self._say(problems(error))
            return
        self.dismiss(rule_id)

    def action_dry_run(self) -> None:
        """Show what the rule as written would have done, saving nothing."""
        self._dry_run()

    @work(group="rule-editor-save", exclusive=True, exit_on_error=False)
    async def _dry_run(self) -> None:
        data = self._read()
        if data is None:
            return
        try:
            rule = await session_of(self).call(automation_rules.parse, data)
        except ServiceError as error:
            self._say(problems(error))
            return
        self._say([])
        self.app.push_screen(DryRunScreen(rule))

    def action_cancel(self) -> None:
        """Close without saving; ask first when the rule was changed."""
        if not self.changed:
            self.dismiss(None)
            return

        def answered(discard: bool | None) -> None:
            if discard:
                self.dismiss(None)

        question = Content("Discard your changes to this rule?")
        self.app.push_screen(ConfirmScreen(question, yes="Discard", no="Keep editing"), callback=answered)
