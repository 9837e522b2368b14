"""What a record list does besides showing rows: the filter builder (`f`), sorting (`s`), bulk
actions on the selection (`b`), saving a view (`w`), adding a record (`n`) and undoing a bulk delete."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from textual import work
from textual.content import Content

from crm_tui.screens.base import session_of
from crm_tui.screens.choice import ChoiceScreen
from crm_tui.screens.confirm import ConfirmScreen
from crm_tui.screens.text_prompt import TextPromptScreen
from crm_tui.services import board, bulk, list_views, lookups, new_records, record_lists
from crm_tui.services.errors import ServiceError
from crm_tui.services.list_fields import OPERATOR_LABELS, Column
from crm_tui.services.record_lists import PERIODS, Condition
from crm_tui.text import safe_text
from crm_tui.widgets.record_table import RecordTable

if TYPE_CHECKING:
    from crm_tui.screens.record_list import RecordListScreen


def _choices(labels: list[str]) -> list[Content]:
    return [Content(safe_text(label)) for label in labels]


class ListActions:
    """Mixin of RecordListScreen: f, s, b, w, n, u."""

    async def choose(self: RecordListScreen, question: str, labels: list[str], *, current: int = 0) -> int | None:
        """Ask to pick one of `labels`; None on Esc."""
        return await self.app.push_screen_wait(ChoiceScreen(Content(question), _choices(labels), current=current))

    async def ask(self: RecordListScreen, question: str, *, value: str = "") -> str | None:
        """Ask for one line of text; None on Esc."""
        return await self.app.push_screen_wait(TextPromptScreen(Content(question), value=value))

    def on_record_table_selection_changed(self: RecordListScreen, message: RecordTable.SelectionChanged) -> None:
        """Keep the selection count in the summary."""
        self._summarise(self.table.count)

    # -- filters ---------------------------------------------------------------------------------
    def action_filters(self: RecordListScreen) -> None:
        """Add a condition, or remove one."""
        self._filters()

    @work(group="list-dialog", exclusive=True, exit_on_error=False)
    async def _filters(self: RecordListScreen) -> None:
        spec = self.spec
        if spec is None:
            return
        conditions = list(self.list_query.conditions)
        if conditions:
            labels = ["+ Add a condition"] + [f"✕ Remove: {c.describe(spec)}" for c in conditions] + ["✕ Remove all"]
            picked = await self.choose("Filters (all must hold)", labels)
            if picked is None:
                return
            if picked > 0:
                kept = [] if picked == len(labels) - 1 else conditions[: picked - 1] + conditions[picked:]
                self.set_query(replace(self.list_query, conditions=tuple(kept)))
                return
        columns = list(spec.columns)
        index = await self.choose("Filter by which field?", [column.label for column in columns])
        if index is None:
            return
        column = columns[index]
        ops = list(column.operators)
        op_index = 0 if len(ops) == 1 else await self.choose(f"{column.label}…", [OPERATOR_LABELS[o] for o in ops])
        if op_index is None:
            return
        value = await self._condition_value(column, ops[op_index])
        if value is not _CANCEL:
            condition = Condition(column.key, ops[op_index], value)
            self.set_query(replace(self.list_query, conditions=(*conditions, condition)))

    async def _condition_value(self: RecordListScreen, column: Column, op: str) -> object:
        session = session_of(self)
        if op in ("empty", "not_empty"):
            return None
        if op == "within":
            picked = await self.choose(f"{column.label} within…", [p.replace("_", " ") for p in PERIODS])
            return _CANCEL if picked is None else PERIODS[picked]
        if column.kind == "bool":
            picked = await self.choose(f"{column.label} is…", ["yes", "no"])
            return _CANCEL if picked is None else picked == 0
        if column.kind == "user":
            users = await session.call(lookups.users)
            picked = await self.choose(f"{column.label} {OPERATOR_LABELS[op]}…", ["me"] + [u.name for u in users])
            return _CANCEL if picked is None else ("me" if picked == 0 else users[picked - 1].id)
        if column.options:
            picked = await self.choose(f"{column.label} {OPERATOR_LABELS[op]}…", list(column.options))
            return _CANCEL if picked is None else column.options[picked]
        text = ""
        while True:
            typed = await self.ask(f"{column.label} {OPERATOR_LABELS[op]}…", value=text)
            if typed is None:
                return _CANCEL
            try:
                return await session.call(record_lists.parse_value, column, op, typed, currency=self.table.currency)
            except ServiceError as error:
                self.notify(safe_text(error), severity="warning", markup=False)
                text = typed

    # -- sort ------------------------------------------------------------------------------------
    def action_sort(self: RecordListScreen) -> None:
        """Sort by a column; choosing the current one reverses the order."""
        self._sort()

    @work(group="list-dialog", exclusive=True, exit_on_error=False)
    async def _sort(self: RecordListScreen) -> None:
        spec = self.spec
        if spec is None:
            return
        columns = list(spec.columns)
        current_key = self.list_query.sort or spec.default_sort
        current = next((i for i, c in enumerate(columns) if c.key == current_key), 0)
        arrow = "↓" if self.list_query.descending else "↑"
        labels = [f"{c.label} {arrow} (reverse)" if i == current else c.label for i, c in enumerate(columns)]
        picked = await self.choose("Sort by", labels, current=current)
        if picked is None:
            return
        descending = not self.list_query.descending if picked == current else False
        self.set_query(replace(self.list_query, sort=columns[picked].key, descending=descending))

    # -- bulk actions ----------------------------------------------------------------------------
    def targets(self: RecordListScreen) -> list[int]:
        """The selected records, else the highlighted one."""
        if self.table.selected:
            return sorted(self.table.selected)
        row = self.table.current
        return [row.id] if row is not None else []

    def action_bulk(self: RecordListScreen) -> None:
        """Set the owner, tag, move (deals) or delete the selected records."""
        self._bulk()

    @work(group="list-dialog", exclusive=True, exit_on_error=False)
    async def _bulk(self: RecordListScreen) -> None:
        ids = self.targets()
        if not ids:
            return
        session = session_of(self)
        ctx = session.ctx
        what = f"{len(ids)} {self.entity if len(ids) == 1 else self.plural.lower()}"
        actions = (
            ["Set owner…", "Add tag…", "Remove tag…"]
            + (["Move to stage…"] if self.entity == "deal" else [])
            + ["Delete…"]
        )
        picked = await self.choose(f"Do what with {what}?", actions)
        if picked is None:
            return
        action = actions[picked]
        try:
            if action == "Set owner…":
                users = await session.call(lookups.users)
                who = await self.choose(f"Give {what} to", ["nobody"] + [u.name for u in users])
                if who is None:
                    return
                owner = None if who == 0 else users[who - 1].id
                done = await session.call(bulk.set_owner, ctx, self.entity, ids, owner)
                self.notify(f"Owner set on {done} of {what}")
            elif action in ("Add tag…", "Remove tag…"):
                tags = await session.call(lookups.tags)
                if not tags:
                    self.notify("There are no tags yet", severity="warning")
                    return
                which = await self.choose(action.rstrip("…"), [t.name for t in tags])
                if which is None:
                    return
                add = action == "Add tag…"
                done = await session.call(bulk.tag, ctx, self.entity, ids, tags[which].id, add=add)
                self.notify(f"{'Tagged' if add else 'Untagged'} {done} of {what}", markup=False)
            elif action == "Move to stage…":
                stages = [(p, s) for p in await session.call(board.list_pipelines) for s in p.stages]
                which = await self.choose(f"Move {what} to", [f"{p.name} › {s.name}" for p, s in stages])
                if which is None:
                    return
                reason = None
                if stages[which][1].kind == "lost":
                    reason = await self.ask("Why were they lost?")
                    if reason is None:
                        return
                done = await session.call(bulk.move_deals, ctx, ids, stages[which][1].id, lost_reason=reason)
                self.notify(f"Moved {done} of {what}")
            else:
                sure = await self.app.push_screen_wait(
                    ConfirmScreen(Content(f"Delete {what}? u undoes it."), yes="Delete", no="Keep")
                )
                if not sure:
                    return
                self.deleted = await session.call(bulk.delete, ctx, self.entity, ids)
                self.notify(f"Deleted {what} · u to undo")
        except ServiceError as error:
            self.notify(safe_text(error), title="Not done", severity="error", markup=False)
            return
        self.table.selected.clear()
        self.action_reload()

    def action_undo(self: RecordListScreen) -> None:
        """Bring back what the last bulk delete removed."""
        self._undo()

    @work(group="list-dialog", exclusive=True, exit_on_error=False)
    async def _undo(self: RecordListScreen) -> None:
        if not self.deleted:
            self.notify("Nothing to undo")
            return
        session = session_of(self)
        restored = await session.call(bulk.restore, session.ctx, self.entity, self.deleted)
        self.deleted = []
        self.notify(f"Restored {restored}")
        self.action_reload()

    # -- views and new records -------------------------------------------------------------------
    def action_save_view(self: RecordListScreen) -> None:
        """Save the current filters and sort as a named view."""
        self._save_view()

    @work(group="list-dialog", exclusive=True, exit_on_error=False)
    async def _save_view(self: RecordListScreen) -> None:
        name = await self.ask("Save this view as", value=self.view.name if self.view and not self.view.builtin else "")
        if not name:
            return
        session = session_of(self)
        display = "cards" if self.cards else "list"
        try:
            self.view = await session.call(list_views.save_view, session.ctx, name, self.list_query, display=display)
        except ServiceError as error:
            self.notify(safe_text(error), severity="error", markup=False)
            return
        self.notify(f"Saved view {safe_text(name)!r}", markup=False)
        self.load_views()
        self._summarise(self.table.count)

    def action_new(self: RecordListScreen) -> None:
        """Add a record by its name, then open it."""
        self._new()

    @work(group="list-dialog", exclusive=True, exit_on_error=False)
    async def _new(self: RecordListScreen) -> None:
        label = {"company": "company name", "contact": "contact's name", "lead": "lead's name", "deal": "deal title"}
        name = await self.ask(f"New {self.entity}: the {label[self.entity]}")
        if not name:
            return
        session = session_of(self)
        try:
            made = await session.call(new_records.quick_create, session.ctx, self.entity, name)
        except ServiceError as error:
            self.notify(safe_text(error), severity="error", markup=False)
            return
        position = await session.call(record_lists.position_of, self.list_query, made.id, session.ctx.user_id)
        self.reload(cursor=position if position is not None else self.table.cursor)
        self.app.open_record(self.entity, made.id)  # type: ignore[attr-defined]


_CANCEL = object()
"""Returned when the user pressed Esc while giving a condition's value."""
