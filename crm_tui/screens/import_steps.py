"""The File, Stages and Options steps of the import wizard, and the steps bar.

Each panel only draws and reads its own widgets; the wizard (screens/import_wizard.py) calls the
services and moves between the panels (the Columns step is in import_mapping.py, Check and Import in
import_results.py). Everything a file brings is drawn as Content or Text after safe_text, never as
markup.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Checkbox, Input, RadioButton, RadioSet, Select, Static

from crm_tui.screens.import_files import PathInput
from crm_tui.services.import_plan import DEFAULT_MATCH, MATCH_KEYS, ON_DUPLICATE
from crm_tui.services.import_preview import MissingStage
from crm_tui.services.import_read import Table
from crm_tui.text import safe_text

ENTITY_LABELS = {
    "company": "Companies", "contact": "Contacts", "lead": "Leads", "deal": "Deals", "task": "Tasks", "note": "Notes",
}  # fmt: skip
"""The record types a file can be imported into, as the wizard names them."""
STEPS = ("file", "columns", "stages", "options", "check", "import")
"""The wizard's steps in order (the stages step only for a deal file with unknown stages)."""
STEP_TITLES = {
    "file": "File",
    "columns": "Columns",
    "stages": "Stages",
    "options": "Options",
    "check": "Check",
    "import": "Import",
}
NEW_STAGE = ""
"""The stage choice meaning "add the file's stage to the pipeline"."""
DUPLICATE_LABELS = {
    "skip": "Skip the row (the record stays as it is)",
    "fill": "Fill the record's empty fields",
    "overwrite": "Overwrite the record's fields with the file's values",
    "create": "Create a new record anyway",
}
"""What each ON_DUPLICATE choice does, as the Options step says it."""
MATCH_LABELS = {"email": "Email", "phone": "Phone", "name": "Name", "domain": "Domain"}
"""The match keys' names."""
_DELIMITER_NAMES = {",": "','", ";": "';'", "\t": "tab", "|": "'|'"}


def steps_bar(current: str, shown: Sequence[str]) -> Content:
    """ "1 File · 2 Columns · …" with the current step highlighted and skipped ones dimmed."""
    parts: list[str | tuple[str, str]] = [("Import  ", "bold")]
    for number, step in enumerate(STEPS, 1):
        if number > 1:
            parts.append((" · ", "dim"))
        label = f"{number} {STEP_TITLES[step]}"
        if step == current:
            parts.append((f" {label} ", "bold reverse $accent"))
        elif step not in shown:
            parts.append((label, "dim strike"))
        else:
            parts.append(label)
    return Content.assemble(*parts)


def read_summary(table: Table) -> Content:
    """ "1,234 rows · utf-8 · delimiter ','", then the reader's warnings, one per line."""
    count = len(table.rows)
    delimiter = _DELIMITER_NAMES.get(table.delimiter, repr(table.delimiter))
    parts: list[str | tuple[str, str]] = [
        (f"{count:,} row{'s' if count != 1 else ''}", "bold $text-success"),
        f" · {len(table.header)} columns · {table.encoding} · delimiter {delimiter}",
    ]
    for warning in table.warnings:
        parts += ["\n", ("⚠ ", "$text-warning"), (safe_text(warning), "$text-warning")]
    return Content.assemble(*parts)


def error_text(message: object) -> Content:
    """An error in the error colour."""
    return Content.assemble(("✗ ", "bold $text-error"), (safe_text(message), "$text-error"))


def _label(text: str, *, id: str | None = None, section: bool = False) -> Static:
    return Static(text, classes="section" if section else "label", id=id)


class FilePanel(Vertical):
    """Step 1: the record type, the file's path and optional delimiter and encoding."""

    DEFAULT_CSS = """
    FilePanel .label.second { width: auto; padding: 0 1 0 3; }
    FilePanel #entity { width: 24; }
    FilePanel #path { width: 1fr; }
    FilePanel #delimiter, FilePanel #encoding { width: 14; }
    FilePanel #tree { height: 1fr; border: round $panel; }
    FilePanel #tree:focus { border: round $accent; }
    FilePanel #file-status { height: auto; }
    """

    def __init__(self, entity: str, *, id: str, classes: str) -> None:
        super().__init__(id=id, classes=classes)
        self.entity = entity

    def compose(self) -> ComposeResult:
        """Lead, fields and the result of reading (the file browser is mounted when asked for)."""
        yield Static("A CSV, TSV or Excel (.xlsx) file · tab completes the path · enter reads it", classes="lead")
        with Horizontal(classes="row"):
            yield _label("Record type")
            entities = [(label, key) for key, label in ENTITY_LABELS.items()]
            yield Select(entities, value=self.entity, allow_blank=False, compact=True, id="entity")
        with Horizontal(classes="row"):
            yield _label("File")
            yield PathInput(placeholder="~/Downloads/contacts.csv", id="path", compact=True)
        with Horizontal(classes="row"):
            yield _label("Delimiter")
            yield Input(placeholder="detected", id="delimiter", compact=True)
            yield Static("Encoding", classes="label second")
            yield Input(placeholder="detected", id="encoding", compact=True)
        yield Static("", id="file-status")


class StagesPanel(Vertical):
    """Step 3: what each stage of the file that the pipeline lacks becomes."""

    DEFAULT_CSS = """
    StagesPanel .stage-row { height: 1; }
    StagesPanel .stage-name { width: 30; padding-right: 1; text-wrap: nowrap; text-overflow: ellipsis; }
    StagesPanel .stage-row Select { width: 36; }
    StagesPanel #stage-rows { height: 1fr; }
    """

    def __init__(self, *, id: str, classes: str) -> None:
        super().__init__(id=id, classes=classes)
        self.missing: list[MissingStage] = []
        """The file's stages its pipelines lack, one row each."""

    def compose(self) -> ComposeResult:
        """Lead and the stage rows."""
        yield Static("Stages the pipeline lacks: add each one, or put its deals in a stage you have", classes="lead")
        yield VerticalScroll(id="stage-rows", can_focus=False)

    async def fill(self, missing: list[MissingStage]) -> None:
        """A row per missing stage, each choosing "Add as a new stage" or one of its pipeline's
        open stages; the pipeline is named when the file's deals go to more than one."""
        self.missing = missing
        several = len({item.pipeline_id for item in missing}) > 1
        whose = "Stages their pipelines lack" if several else "Stages the pipeline lacks"
        self.query_one(".lead", Static).update(f"{whose}: add each one, or put its deals in a stage you have")
        box = self.query_one("#stage-rows", VerticalScroll)
        await box.remove_children()
        await box.mount_all(
            Horizontal(
                Static(_stage_label(item, several), classes="stage-name"),
                Select(
                    [(Text(f"Add to {item.pipeline}" if several else "Add as a new stage"), NEW_STAGE)]
                    + [(Text(safe_text(name)), name) for name in item.choices],
                    value=NEW_STAGE, allow_blank=False, compact=True, id=f"stage-{number}",
                ),
                classes="stage-row",
            )
            for number, item in enumerate(missing)
        )  # fmt: skip

    def mapped(self) -> dict[str, str]:
        """Each missing stage's key (pipeline and folded name) -> the existing stage chosen for it."""
        out: dict[str, str] = {}
        for number, item in enumerate(self.missing):
            value = self.query_one(f"#stage-{number}", Select).value
            if value is not Select.NULL and value != NEW_STAGE:
                out[item.key] = str(value)
        return out


def _stage_label(item: MissingStage, several: bool) -> Content:
    if not several:
        return Content(safe_text(item.name))
    return Content.assemble(safe_text(item.name), (f" · {safe_text(item.pipeline)}", "dim"))


class OptionsPanel(Vertical):
    """Step 4: all or nothing, what a duplicate does, what makes a duplicate, and whether the
    automation rules run on the imported records."""

    DEFAULT_CSS = """
    OptionsPanel .section { color: $text-muted; text-style: bold; }
    OptionsPanel RadioSet { width: 100%; margin-bottom: 1; }
    OptionsPanel #match-keys { height: auto; }
    OptionsPanel #match-keys Checkbox { margin-right: 2; }
    """

    def __init__(self, *, id: str, classes: str) -> None:
        super().__init__(id=id, classes=classes)
        self.entity: str | None = None
        """The record type the choices are shown for."""

    def compose(self) -> ComposeResult:
        """The mode, the duplicate choice and the match keys."""
        yield Static("How to import · tab moves between groups, arrows and enter (or space) choose", classes="lead")
        yield _label("If any row is rejected", section=True)
        with RadioSet(id="mode", compact=True):
            yield RadioButton("All or nothing: store no row, list what to fix", value=True, id="mode-all")
            yield RadioButton("Partial: store the valid rows, write the rejected ones to a file", id="mode-partial")
        yield _label("A row that matches a record already there", id="duplicate-label", section=True)
        with RadioSet(id="duplicate", compact=True):
            for number, choice in enumerate(ON_DUPLICATE):
                yield RadioButton(DUPLICATE_LABELS[choice], value=number == 0, id=f"duplicate-{choice}")
        yield _label("Match duplicates on", id="match-label", section=True)
        yield Horizontal(id="match-keys")
        yield Static("", id="no-match")
        yield _label("Automation rules", section=True)
        yield Checkbox(
            "Run them on these records (off: no follow-ups, e-mails or webhooks)",
            False, compact=True, id="automations",
        )  # fmt: skip

    async def configure(self, entity: str) -> None:
        """Show the duplicate choices and match keys `entity` has (deals, tasks and notes have none)."""
        self.entity = entity
        keys = MATCH_KEYS.get(entity, ())
        for selector in ("#duplicate", "#duplicate-label", "#match-label", "#match-keys"):
            self.query_one(selector).display = bool(keys)
        note = self.query_one("#no-match", Static)
        note.update(
            Content.styled("Every row makes a new record: rows are not matched to existing ones.", "$text-muted")
        )
        note.display = not keys
        box = self.query_one("#match-keys", Horizontal)
        await box.remove_children()
        defaults = DEFAULT_MATCH.get(entity, ())
        await box.mount_all(
            Checkbox(MATCH_LABELS[key], key in defaults, compact=True, id=f"match-{key}") for key in keys
        )

    @property
    def mode(self) -> str:
        """ "all" or "partial"."""
        pressed = self.query_one("#mode", RadioSet).pressed_button
        return "partial" if pressed is not None and pressed.id == "mode-partial" else "all"

    @property
    def on_duplicate(self) -> str:
        """One of ON_DUPLICATE; "create" when every match key is unticked (nothing is a duplicate
        then, whereas the importer would take no keys to mean the default ones)."""
        if MATCH_KEYS.get(self.entity or "") and not self.match_on:
            return "create"
        pressed = self.query_one("#duplicate", RadioSet).pressed_button
        return (pressed.id or "").removeprefix("duplicate-") if pressed is not None else "skip"

    @property
    def match_on(self) -> tuple[str, ...]:
        """The ticked match keys."""
        return tuple(
            (box.id or "").removeprefix("match-")
            for box in self.query("#match-keys Checkbox").results(Checkbox)
            if box.value
        )

    @property
    def automations(self) -> bool:
        """Whether the automation rules run on the imported records."""
        return self.query_one("#automations", Checkbox).value
