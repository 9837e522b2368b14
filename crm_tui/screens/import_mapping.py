"""The Columns step of the import wizard: a table of the file's columns (header, two sample values,
what each becomes) and a picker that filters the targets as you type.

One table rather than a Select per column: a HubSpot export has 150 columns or more, and 150 Select
widgets take seconds to mount and make every tab slow.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.coordinate import Coordinate
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, OptionList, Select, Static
from textual.widgets.option_list import Option

from crm_tui.screens.import_steps import read_summary
from crm_tui.services.import_columns import ImportTarget
from crm_tui.services.import_convert import fold
from crm_tui.services.import_read import Table
from crm_tui.text import safe_text
from crm_tui.widgets.footer import BatchedFooter

NOT_IMPORTED = ""
"""The column target meaning "leave this column out"."""
NEW_FIELD = "+new"
"""The column target meaning "make a new text field for this column"."""
TARGET_WIDTH = 26
"""Cells the "Imported as" column takes."""


def target_labels(targets: list[ImportTarget]) -> dict[str, str]:
    """Target key -> label (NOT_IMPORTED and NEW_FIELD included); a custom field whose label a
    standard field has too is marked "(custom)"."""
    standard = {fold(target.label) for target in targets if not target.key.startswith("custom.")}
    labels = {NOT_IMPORTED: "(not imported)"}
    for target in targets:
        custom = target.key.startswith("custom.") and fold(target.label) in standard
        labels[target.key] = safe_text(target.label) + (" (custom)" if custom else "")
    labels[NEW_FIELD] = "New text field"
    return labels


def samples(table: Table, index: int) -> Text:
    """The first two non-blank values of column `index` (among the first 200 rows)."""
    found: list[str] = []
    for row in table.rows[:200]:
        if index < len(row.cells) and row.cells[index].strip():
            found.append(safe_text(row.cells[index].strip()))
            if len(found) == 2:
                break
    return Text(" · ".join(found)) if found else Text("(empty)", style="dim")


class ColumnsPanel(Vertical):
    """One row per file column; enter on a row picks what it becomes. Warns about required
    fields left out and fields chosen twice."""

    DEFAULT_CSS = """
    ColumnsPanel #columns-file { height: auto; }
    ColumnsPanel #saved-mappings { width: 32; }
    ColumnsPanel .hint { color: $text-muted; width: auto; padding-left: 2; }
    ColumnsPanel #column-warnings { height: auto; margin-bottom: 1; }
    ColumnsPanel #column-table { height: 1fr; }
    """

    def __init__(self, *, id: str, classes: str) -> None:
        super().__init__(id=id, classes=classes)
        self.header: list[str] = []
        self.targets: list[ImportTarget] = []
        self.labels: dict[str, str] = {}
        self.chosen: dict[int, str] = {}
        """Column index -> NOT_IMPORTED, a target key or NEW_FIELD."""
        self._samples: list[Text] = []
        self._width = 0

    def compose(self) -> ComposeResult:
        """Lead, the file, saved mappings, warnings and the column table."""
        yield Static("What each column becomes · enter changes the highlighted one (type to filter)", classes="lead")
        yield Static("", id="columns-file")
        with Horizontal(classes="row"):
            yield Static("Saved mapping", classes="label")
            yield Select([], prompt="load a saved mapping", compact=True, id="saved-mappings")
            yield Static("ctrl+s saves this one", classes="hint")
        yield Static("", id="column-warnings")
        yield DataTable(cursor_type="row", zebra_stripes=True, id="column-table")

    def fill(self, table: Table, targets: list[ImportTarget], chosen: dict[int, str], file_name: str) -> None:
        """Show the columns of `table` (read from `file_name`), each set from `chosen` (target keys
        or NEW_FIELD; others are not imported)."""
        self.header = list(table.header)
        self.targets = targets
        self.labels = target_labels(targets)
        self._samples = [samples(table, index) for index in range(len(self.header))]
        summary = Content.assemble((safe_text(file_name), "bold"), ": ", read_summary(table))
        self.query_one("#columns-file", Static).update(summary)
        self.set_mapping(chosen)

    def _draw(self) -> None:
        """(Re)build the table for the panel's width, keeping the cursor."""
        grid = self.query_one("#column-table", DataTable)
        row = grid.cursor_row
        width = max(self.size.width or self.app.size.width - 2, 60)
        name_width = min(max((len(safe_text(name)) for name in self.header), default=6), 28)
        name_width = max(name_width, 8)
        sample_width = max(width - name_width - TARGET_WIDTH - 8, 10)  # 2 cells of padding per column, a scrollbar
        grid.clear(columns=True)
        grid.add_column("Column", width=name_width, key="name")
        grid.add_column("Sample values", width=sample_width, key="samples")
        grid.add_column("Imported as", width=TARGET_WIDTH, key="target")
        grid.add_rows(
            (Text(safe_text(name), no_wrap=True, overflow="ellipsis"), self._samples[index], self._target_text(index))
            for index, name in enumerate(self.header)
        )
        self._width = width
        if self.header:
            grid.move_cursor(row=min(row, len(self.header) - 1))

    def on_resize(self, event: events.Resize) -> None:
        """Fit the sample column to the new width."""
        if self.header and event.size.width != self._width:
            self._draw()

    def _target_text(self, index: int) -> Text:
        key = self.chosen.get(index, NOT_IMPORTED)
        style = "dim" if key == NOT_IMPORTED else "italic" if key == NEW_FIELD else "bold"
        return Text(self.labels.get(key, key), style=style)

    def set_target(self, index: int, key: str) -> None:
        """Make column `index` become `key`."""
        self.chosen[index] = key if key in self.labels else NOT_IMPORTED
        grid = self.query_one("#column-table", DataTable)
        grid.update_cell_at(Coordinate(index, 2), self._target_text(index))
        self.show_warnings()

    def set_mapping(self, mapping: dict[int, str]) -> None:
        """Set every column from `mapping` (columns it lacks, or whose target is unknown, are not
        imported) and draw them."""
        self.chosen = {index: mapping.get(index, NOT_IMPORTED) for index in range(len(self.header))}
        self.chosen = {index: key if key in self.labels else NOT_IMPORTED for index, key in self.chosen.items()}
        self._draw()
        self.show_warnings()

    @property
    def current(self) -> int | None:
        """The index of the highlighted column."""
        grid = self.query_one("#column-table", DataTable)
        return grid.cursor_row if self.header and grid.row_count else None

    def picker(self, index: int) -> TargetPicker:
        """The dialog choosing what column `index` becomes."""
        choices = [(NOT_IMPORTED, self.labels[NOT_IMPORTED], "leave the column out")]
        choices += [(target.key, self.labels[target.key], target.help) for target in self.targets]
        choices.append((NEW_FIELD, self.labels[NEW_FIELD], "a new text field named after the column"))
        return TargetPicker(self.header[index], choices, self.chosen.get(index, NOT_IMPORTED))

    def set_saved(self, names: list[str]) -> None:
        """Offer the saved mappings `names` to load."""
        box = self.query_one("#saved-mappings", Select)
        with box.prevent(Select.Changed):
            box.set_options((Text(safe_text(name)), name) for name in names)
        box.disabled = not names
        box.prompt = "load a saved mapping" if names else "no saved mapping yet"

    def mapping(self) -> tuple[dict[int, str], dict[int, str]]:
        """(column index -> target key, column index -> label of a new text field)."""
        mapping = {index: key for index, key in self.chosen.items() if key not in (NOT_IMPORTED, NEW_FIELD)}
        new_fields = {index: safe_text(self.header[index]) for index, key in self.chosen.items() if key == NEW_FIELD}
        return mapping, new_fields

    def warnings(self) -> list[str]:
        """Required targets left out, targets chosen twice, or nothing imported at all."""
        used = set(self.chosen.values())
        if used <= {NOT_IMPORTED}:
            return ["No column is imported: choose what at least one column becomes"]
        out = [
            f"{target.label} is not mapped: every row will be rejected"
            for target in self.targets
            if target.required and target.key not in used
        ]
        for key in dict.fromkeys(self.chosen.values()):
            columns = [self.header[index] for index, value in self.chosen.items() if value == key]
            if key not in (NOT_IMPORTED, NEW_FIELD) and len(columns) > 1:
                label = self.labels.get(key, key)
                out.append(f"{label} is chosen for {len(columns)} columns ({', '.join(columns)}): the last one wins")
        return out

    def show_warnings(self) -> None:
        """Draw the current warnings above the table."""
        lines = self.warnings()
        box = self.query_one("#column-warnings", Static)
        box.update(Content("\n").join(Content.styled(f"⚠ {safe_text(line)}", "$text-warning") for line in lines))
        box.display = bool(lines)


class TargetPicker(ModalScreen[str | None]):
    """What one column becomes: type to filter, arrows to move, enter to choose, escape to keep it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="import.pick_cancel"),
        Binding("down", "move(1)", "Down", show=False, id="import.pick_down"),
        Binding("up", "move(-1)", "Up", show=False, id="import.pick_up"),
    ]
    DEFAULT_CSS = """
    TargetPicker { align: center middle; }
    TargetPicker > Vertical {
        width: 72; max-width: 95%; height: auto; max-height: 90%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    TargetPicker .question { padding-bottom: 1; }
    TargetPicker OptionList { height: auto; max-height: 16; border: none; padding: 0; }
    """

    def __init__(self, column: str, choices: list[tuple[str, str, str]], current: str) -> None:
        super().__init__()
        self.column = column
        self.choices = choices
        """(key, label, help) of every choice."""
        self.current = current
        self.shown: list[str] = []

    def compose(self) -> ComposeResult:
        """The question, the filter and the choices."""
        with Vertical():
            yield Static(Content.assemble("Column ", (safe_text(self.column), "bold"), " becomes"), classes="question")
            yield Input(placeholder="type to filter", compact=True)
            yield OptionList()
        yield BatchedFooter()

    def on_mount(self) -> None:
        """Every choice, the current one highlighted."""
        self._filter("")
        box = self.query_one(OptionList)
        box.highlighted = self.shown.index(self.current) if self.current in self.shown else 0
        self.query_one(Input).focus()

    def _filter(self, text: str) -> None:
        wanted = fold(text)
        box = self.query_one(OptionList)
        matches = [item for item in self.choices if wanted in fold(item[1]) or wanted in fold(item[0])]
        self.shown = [key for key, _, _ in matches]
        box.set_options(
            Option(Content.assemble(label, ("  " + safe_text(hint), "dim") if hint else ""))
            for _, label, hint in matches
        )
        if matches:
            box.highlighted = 0

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        self._filter(event.value)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        highlighted = self.query_one(OptionList).highlighted
        if highlighted is not None and highlighted < len(self.shown):
            self.dismiss(self.shown[highlighted])

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.shown[event.option_index])

    def action_move(self, step: int) -> None:
        """Move the highlight while typing."""
        box = self.query_one(OptionList)
        if self.shown:
            box.highlighted = ((box.highlighted or 0) + step) % len(self.shown)

    def action_cancel(self) -> None:
        """Keep what the column was."""
        self.dismiss(None)
