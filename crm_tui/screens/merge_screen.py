"""The merge screen: two or more duplicate records side by side, one column each, one row per field.

The value that wins in each row is marked (●); the cursor sits on the highlighted row's winner, so
left / right (or 1-9) choose another record's value for that field; `a` takes every value a record
has; `k` chooses the record that is kept (its id survives; the others are deleted and everything
that pointed at them points at it). Rows where every record agrees are dimmed. ctrl+s merges after
a confirmation and says what was re-linked; `u` (or ctrl+z) then undoes the merge. The screen
dismisses with the MergeResult of a merge that stands, or None."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.coordinate import Coordinate
from textual.screen import Screen
from textual.widgets import DataTable, Static

from crm_tui.screens.base import ReportsWorkerErrors, session_of, stamp
from crm_tui.screens.choice import ChoiceScreen
from crm_tui.screens.confirm import ConfirmScreen
from crm_tui.services import merge
from crm_tui.services.errors import ConflictError, ServiceError
from crm_tui.services.merge import MergeField, MergePlan, MergeResult
from crm_tui.text import fit, safe_text
from crm_tui.widgets.footer import BatchedFooter

LABELS = {"contact": ("contact", "contacts"), "company": ("company", "companies"), "lead": ("lead", "leads")}
LABEL_WIDTH = 18
"""The field-name column at most."""
VALUE_WIDTH = (16, 40)
"""A record's column, at least and at most: below the least the table scrolls sideways."""
_MERGING = {"choose", "pick", "keep", "take_all", "merge"}


def agrees(field: MergeField) -> bool:
    """Every record has the same value (empty counts as one value)."""
    return len(set(field.shown)) == 1


def cell(field: MergeField, index: int, width: int) -> Content:
    """One value: the winner marked ●; the row dimmed, unmarked, when every record agrees."""
    text = fit(safe_text(field.shown[index]), width - 2)
    chosen = index == field.chosen
    if agrees(field):  # which record wins makes no difference: no mark
        return Content.styled(f"  {text or '—'}", "dim")
    if not text:
        return Content.assemble(("● " if chosen else "  ", "$text-success"), ("—", "dim"))
    if chosen:
        return Content.assemble(("● ", "$text-success"), (text, "bold"))
    return Content.assemble("  ", text)


class MergeScreen(ReportsWorkerErrors, Screen[MergeResult | None]):
    """Merge the records `ids` of `entity` (company, contact or lead) into one."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # Priority: the table's own left / right would only move its cursor.
        Binding("left", "choose(-1)", "Choose", key_display="←→", priority=True,
                tooltip="The previous record's value wins for this field", id="merge.choose_left"),
        Binding("right", "choose(1)", "Choose", show=False, priority=True,
                tooltip="The next record's value wins for this field", id="merge.choose_right"),
        *[Binding(str(n), f"pick({n - 1})", "Record 1-9", key_display="1-9", show=n == 1,
                  tooltip=f"Record {n}'s value wins for this field", id=f"merge.pick_{n}") for n in range(1, 10)],
        Binding("a", "take_all", "All from", show=False, tooltip="Every value a record has wins", id="merge.take_all"),
        Binding("k", "keep", "Keep", tooltip="Choose the record that is kept (the others are deleted)", id="merge.keep"),
        Binding("ctrl+s", "merge", "Merge", priority=True, tooltip="Merge the records (asks first)", id="merge.run"),
        Binding("u,ctrl+z", "undo", "Undo merge", tooltip="Undo the merge just made", id="merge.undo"),
        Binding("escape", "close", "Back", tooltip="Back (a merge made stays made)", id="merge.close"),
    ]  # fmt: skip
    DEFAULT_CSS = """
    MergeScreen #merge-title { height: 1; padding: 0 1; background: $panel; }
    MergeScreen DataTable { height: 1fr; border: round $panel; }
    MergeScreen DataTable:focus { border: round $accent; }
    MergeScreen.-merged DataTable { opacity: 70%; }
    MergeScreen #merge-status { height: auto; max-height: 4; padding: 0 1; }
    """

    def __init__(self, entity: str, ids: list[int]) -> None:
        if entity not in LABELS:
            raise ValueError(f"only {', '.join(LABELS)} can be merged, not {entity!r}")
        super().__init__()
        self.entity = entity
        self.ids = list(ids)
        self.plan: MergePlan | None = None
        self.survivor_id: int | None = None
        """The record kept (None: the plan's proposal)."""
        self.overrides: dict[str, int] = {}
        """Field key -> the record id whose value the user chose (kept across a re-plan)."""
        self.result: MergeResult | None = None
        """The merge made here that stands (not undone)."""
        self.busy = False
        self._row = 0
        self._width = 0

    def compose(self) -> ComposeResult:
        """A title, the fields side by side, a status line."""
        yield Static(Content.styled(f"Merge {len(self.ids)} {LABELS[self.entity][1]}", "bold"), id="merge-title")
        yield DataTable(id="fields", cursor_type="cell", header_height=3, fixed_columns=1, zebra_stripes=True)
        yield Static(Content.styled("reading…", "dim"), id="merge-status")
        yield BatchedFooter()

    def on_mount(self) -> None:
        """Read the records."""
        self.set_focus(self.query_one("#fields", DataTable))
        self.load()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Choices and merging while there is a plan and no merge stands; undo only after one."""
        if action in _MERGING:
            if self.plan is None or self.result is not None:
                return False
            index = parameters[0] if action == "pick" and parameters else 0
            return isinstance(index, int) and index < len(self.plan.records)  # 1-9: only records there are
        if action == "undo":
            return self.result is not None
        return True

    # -- reading and drawing ---------------------------------------------------------------------
    @work(group="merge-read", exclusive=True, exit_on_error=False)
    async def load(self) -> None:
        """Plan the merge (again), keeping the user's choices and kept record."""
        try:
            plan = await session_of(self).call(merge.plan, self.entity, self.ids)
        except ServiceError as error:
            self.plan = None
            self._say(Content.styled(safe_text(error), "$text-error"))
            self.refresh_bindings()
            return
        ids = [record.id for record in plan.records]
        for field in plan.fields:
            if self.overrides.get(field.key) in ids:
                field.chosen = ids.index(self.overrides[field.key])
        if self.survivor_id not in ids:
            self.survivor_id = plan.survivor_id
        self.plan = plan
        self._draw()
        self.refresh_bindings()

    def _widths(self) -> tuple[int, int]:
        assert self.plan is not None
        label = min(LABEL_WIDTH, max(len(field.label) for field in self.plan.fields) if self.plan.fields else 5)
        room = self.size.width - 2 - 1 - (label + 2)  # the border, a scrollbar, the label column
        value = room // max(len(self.plan.records), 1) - 2
        return label, max(VALUE_WIDTH[0], min(VALUE_WIDTH[1], value))

    def _header(self, index: int, width: int) -> Text:
        assert self.plan is not None
        record = self.plan.records[index]
        header = Text(no_wrap=True)
        header.append(f"{index + 1} ", "dim")
        header.append(fit(safe_text(record.title), width - 2), "bold")
        updated = f"#{record.id} · {stamp(record.updated_at)}"
        if len(updated) > width:  # the day is enough in a narrow column
            updated = updated[: -len(" 00:00")]
        header.append("\n" + fit(updated, width), "dim")
        if record.id == self.survivor_id:
            header.append("\n★ kept", "bold")
        elif self.result is not None and record.id in self.result.merged:
            header.append("\nmerged, deleted", "dim strike")
        else:
            header.append("\nmerged into ★", "dim")
        return header

    def _draw(self) -> None:
        """Build the table from the plan, keeping the cursor's row."""
        plan = self.plan
        if plan is None:
            return
        table = self.query_one("#fields", DataTable)
        label_width, width = self._widths()
        self._width = self.size.width
        row = min(table.cursor_row, max(len(plan.fields) - 1, 0))
        table.clear(columns=True)
        table.add_column(Text("Field", "bold"), width=label_width, key="label")
        for index in range(len(plan.records)):
            table.add_column(self._header(index, width), width=width, key=f"r{index}")
        for field in plan.fields:
            label = Content.styled(fit(safe_text(field.label), label_width), "dim" if agrees(field) else "bold")
            table.add_row(label, *(cell(field, i, width) for i in range(len(plan.records))), key=field.key)
        if plan.fields:
            self._row = row
            table.move_cursor(row=row, column=plan.fields[row].chosen + 1)
        self._say(self._status())

    def _redraw_row(self, row: int) -> None:
        assert self.plan is not None
        field = self.plan.fields[row]
        table = self.query_one("#fields", DataTable)
        width = self._widths()[1]
        for index in range(len(self.plan.records)):
            table.update_cell(field.key, f"r{index}", cell(field, index, width))
        self._row = row
        table.move_cursor(row=row, column=field.chosen + 1)
        self._say(self._status())

    def on_resize(self, event: events.Resize) -> None:
        """Columns follow the screen's width."""
        if self.plan is not None and event.size.width != self._width:
            self._draw()

    def _say(self, text: Content) -> None:
        self.query_one("#merge-status", Static).update(text)

    def _status(self) -> Content:
        plan = self.plan
        assert plan is not None
        kept = next(record for record in plan.records if record.id == self.survivor_id)
        if self.result is not None:
            links = f"{self.result.relinked} link{'s' if self.result.relinked != 1 else ''}"
            return Content.assemble(
                ("Merged. ", "bold $text-success"), f"{len(self.result.merged)} {self._noun(len(self.result.merged))} merged into “",
                safe_text(kept.title), f"” (#{kept.id}); {links} (deals, notes, tasks, tags, references) now point at it.",
                ("\nu undoes the merge · esc goes back", "dim"),
            )  # fmt: skip
        own = plan.records.index(kept)
        taken = sum(1 for field in plan.fields if field.chosen != own and field.shown[field.chosen] != field.shown[own])
        others = len(plan.records) - 1
        return Content.assemble(
            "Keeping “", (safe_text(kept.title), "bold"), f"” (#{kept.id}); {others} {self._noun(others)} merged into it and deleted",
            f"; {taken} field{'s' if taken != 1 else ''} take another record's value." if taken else ".",
            ("\n←/→ or 1-9 choose the value that wins · a all from a record · k keep another · ctrl+s merge", "dim"),
        )  # fmt: skip

    def _noun(self, count: int) -> str:
        return LABELS[self.entity][0 if count == 1 else 1]

    # -- the cursor ------------------------------------------------------------------------------
    @on(DataTable.CellHighlighted, "#fields")
    def _cursor_moved(self, event: DataTable.CellHighlighted) -> None:
        """The cursor stays on the winner of its row; clicking another value of the row chooses it."""
        plan = self.plan
        table = self.query_one("#fields", DataTable)
        if plan is None or not plan.fields or table.row_count != len(plan.fields):
            return
        row, column = table.cursor_coordinate
        row = min(row, len(plan.fields) - 1)
        field = plan.fields[row]
        if row == self._row and column >= 1 and column - 1 != field.chosen and self.result is None:
            self._choose(row, column - 1)  # the mouse (the keys left / right are this screen's)
            return
        self._row = row
        if column != field.chosen + 1:
            table.cursor_coordinate = Coordinate(row, field.chosen + 1)

    def _current_row(self) -> int | None:
        if self.plan is None or not self.plan.fields:
            return None
        return min(self.query_one("#fields", DataTable).cursor_row, len(self.plan.fields) - 1)

    def _choose(self, row: int, index: int) -> None:
        assert self.plan is not None
        field = self.plan.fields[row]
        field.chosen = index
        self.overrides[field.key] = self.plan.records[index].id
        self._redraw_row(row)

    # -- actions ---------------------------------------------------------------------------------
    def action_choose(self, step: int) -> None:
        """The previous (-1) or next (1) record's value wins for the highlighted field."""
        row = self._current_row()
        if row is None or self.plan is None:
            return
        index = self.plan.fields[row].chosen + step
        if 0 <= index < len(self.plan.records):
            self._choose(row, index)

    def action_pick(self, index: int) -> None:
        """Record `index` (0-based; the key is 1-9)'s value wins for the highlighted field."""
        row = self._current_row()
        if row is not None and self.plan is not None and index < len(self.plan.records):
            self._choose(row, index)

    def _records_choice(self, question: Content, current: int) -> ChoiceScreen:
        assert self.plan is not None
        labels = [
            Content.assemble((f"{i + 1}  ", "dim"), safe_text(r.title), (f"  #{r.id} · updated {stamp(r.updated_at)}", "dim"))
            for i, r in enumerate(self.plan.records)
        ]  # fmt: skip
        return ChoiceScreen(question, labels, current=current)

    def action_take_all(self) -> None:
        """Ask for a record; each field it has a value for takes that value."""
        if self.plan is None:
            return

        def chosen(index: int | None) -> None:
            if index is None or self.plan is None:
                return
            for field in self.plan.fields:
                if field.shown[index]:
                    field.chosen = index
                    self.overrides[field.key] = self.plan.records[index].id
            self._draw()

        self.app.push_screen(self._records_choice(Content("Take every value this record has:"), 0), callback=chosen)

    def action_keep(self) -> None:
        """Ask which record is kept."""
        if self.plan is None:
            return
        ids = [record.id for record in self.plan.records]

        def chosen(index: int | None) -> None:
            if index is not None and self.plan is not None:
                self.survivor_id = ids[index]
                self._draw()

        question = Content(
            "Keep which record? Its id stays; the others are deleted and everything of theirs moves to it."
        )
        self.app.push_screen(self._records_choice(question, ids.index(self.survivor_id or ids[0])), callback=chosen)

    def action_merge(self) -> None:
        """Ask, then merge."""
        plan = self.plan
        if plan is None or self.busy or self.result is not None:
            return
        kept = next(record for record in plan.records if record.id == self.survivor_id)
        others = len(plan.records) - 1
        question = Content.assemble(
            f"Merge {others} {self._noun(others)} into “", (safe_text(kept.title), "bold"), f"” (#{kept.id})?\n\n",
            f"The other {self._noun(others)} {'is' if others == 1 else 'are'} deleted; their deals, notes, tasks, tags and "
            "references move to the one kept. You can undo it on this screen (u).",
        )  # fmt: skip
        self.app.push_screen(ConfirmScreen(question, yes="Merge"), callback=self._confirmed)

    def _confirmed(self, yes: bool | None) -> None:
        if yes:
            self.run_merge()

    @work(group="merge-write", exclusive=True, exit_on_error=False)
    async def run_merge(self) -> None:
        """Merge with the choices on screen; a conflict re-reads the records."""
        plan = self.plan
        if plan is None or self.busy or self.survivor_id is None:
            return
        session = session_of(self)
        choices = {field.key: field.chosen for field in plan.fields}
        self.busy = True
        try:
            result = await session.call(merge.merge, session.ctx, plan, choices, self.survivor_id)
        except ConflictError as error:
            self.notify(f"{safe_text(error)}. The records were read again: check the choices and merge again.",
                        title="Changed meanwhile", severity="warning", markup=False, timeout=10)  # fmt: skip
            self.load()
            return
        except ServiceError as error:
            self.notify(safe_text(error), title="Not merged", severity="error", markup=False)
            return
        finally:
            self.busy = False
        self.result = result
        self.add_class("-merged")
        self._draw()
        self.refresh_bindings()
        self.notify(f"Merged: {result.relinked} links moved to the record kept. u undoes it.", markup=False)

    @work(group="merge-write", exclusive=True, exit_on_error=False)
    async def action_undo(self) -> None:
        """Undo the merge made here: the merged records come back."""
        done = self.result
        if done is None or self.busy:
            return
        session = session_of(self)
        self.busy = True
        try:
            undone = await session.call(merge.undo, session.ctx, done.event_id)
        except ServiceError as error:
            self.notify(safe_text(error), title="Not undone", severity="error", markup=False, timeout=10)
            return
        finally:
            self.busy = False
        self.result = None
        self.remove_class("-merged")
        back = len(undone.restored)
        kept = f"; {undone.kept} link{'s' if undone.kept != 1 else ''} changed since stayed" if undone.kept else ""
        self.notify(f"Merge undone: {back} {self._noun(back)} restored{kept}.", markup=False)
        self.load()

    def action_close(self) -> None:
        """Back, with the merge made here (if it stands)."""
        self.dismiss(self.result)
