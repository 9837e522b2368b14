"""The list of one record type (companies, contacts, leads or deals): saved views on the left, a
virtual table on the right that pages from the database, `/` to filter as you type, `f` to build
filters, `s` to sort, space to select and `b` for bulk actions."""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from crm_tui.screens.base import ReloadSoonOnChange, ReportsWorkerErrors, server_files_refused, session_of
from crm_tui.screens.list_actions import ListActions
from crm_tui.services import list_views, record_lists, workspace_settings
from crm_tui.services.list_fields import LABELS, Column, EntityList
from crm_tui.services.list_views import ListView
from crm_tui.services.record_lists import ListQuery
from crm_tui.text import safe_text
from crm_tui.widgets.footer import BatchedFooter
from crm_tui.widgets.mode_tabs import ModeTabs
from crm_tui.widgets.record_table import RecordTable

_TYPING_PAUSE = 0.25
"""Seconds after the last key before the list is filtered again."""


class RecordListScreen(ListActions, ReloadSoonOnChange, ReportsWorkerErrors, Screen[None]):
    """Every record of one type, a page at a time, filtered, sorted and selectable."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open", tooltip="Open the highlighted record", id="list.open"),
        Binding("n", "new", "New", tooltip="Add a record", id="list.new"),
        Binding("slash", "quick_filter", "Search", key_display="/", tooltip="Filter as you type", id="list.search"),
        Binding(
            "f", "filters", "Filter", tooltip="Add or remove conditions (field, operator, value)", id="list.filters"
        ),
        Binding("s", "sort", "Sort", tooltip="Sort by any column; again to reverse", id="list.sort"),
        Binding("b", "bulk", "Bulk", tooltip="Act on the selected records (or the highlighted one)", id="list.bulk"),
        Binding("w", "save_view", "Save view", tooltip="Save the filters and sort as a view", id="list.save_view"),
        Binding("v", "toggle_display", "Cards", show=False, tooltip="Show as a table or as cards", id="list.display"),
        Binding("tab", "switch_pane", "Views", show=False, tooltip="Between the views and the list", id="list.pane"),
        Binding("escape", "clear", "Clear", show=False, tooltip="Clear the search and the selection", id="list.clear"),
        Binding("u", "undo", "Undo", show=False, tooltip="Undo the last bulk delete", id="list.undo"),
        Binding("x", "export", "Export", tooltip="Write this list (or every field) as CSV, JSON or vCard", id="list.export"),
        Binding("i", "import", "Import", show=False, tooltip="Import records of this type from a CSV or XLSX file", id="list.import"),
        Binding("M", "merge_selected", "Merge", show=False, tooltip="Merge the selected records (two or more)", id="list.merge"),
        Binding("D", "duplicates", "Duplicates", show=False, tooltip="Find duplicates of this record type", id="list.duplicates"),
        Binding("r", "reload", "Refresh", show=False, tooltip="Read the list again", id="list.refresh"),
    ]
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]] | None] = [(0, "-narrow"), (100, "-wide")]
    """Below 100 columns the saved views shrink to a strip (full width while focused): the table
    needs the room, at 80 columns it showed three columns."""
    DEFAULT_CSS = """
    RecordListScreen #views { width: 28; height: 1fr; border: none; border-right: vkey $foreground 20%; }
    RecordListScreen #views:focus { border: none; border-right: vkey $accent; }
    RecordListScreen.-narrow #views { width: 12; text-wrap: nowrap; text-overflow: ellipsis; }
    RecordListScreen.-narrow #views:focus { width: 28; }
    RecordListScreen #title { height: 1; padding: 0 1; text-style: bold; }
    RecordListScreen #summary { height: 1; padding: 0 1; color: $text-muted; }
    RecordListScreen #quick { display: none; margin: 0 1; }
    RecordListScreen #quick.-shown { display: block; }
    """

    def __init__(self, entity: str) -> None:
        super().__init__(id=f"list-{entity}")
        self.entity = entity
        self.plural = LABELS[entity][1]
        self.list_query = ListQuery(entity)
        self.view: ListView | None = None
        self.views: list[ListView] = []
        self.spec: EntityList | None = None
        self.cards = False
        self.deleted: list[int] = []
        self._typing: Timer | None = None

    def compose(self) -> ComposeResult:
        """Views on the left; title, summary, quick filter and the table on the right."""
        with Horizontal():
            yield OptionList(id="views")
            with Vertical():
                yield ModeTabs(self.plural.lower())
                yield Static(self.plural, id="title")
                yield Static("", id="summary")
                yield Input(placeholder="type to filter · enter keeps it · esc clears", id="quick", compact=True)
                yield RecordTable(id="table")
        yield BatchedFooter()

    @property
    def table(self) -> RecordTable:
        """The record table."""
        return self.query_one(RecordTable)

    def on_mount(self) -> None:
        """Read the views and the first page."""
        self.set_focus(self.table)
        self.load_views()
        self.reload()

    # -- reading -------------------------------------------------------------------------------
    @work(group="list-views", exclusive=True, exit_on_error=False)
    async def load_views(self, select: int | None = None) -> None:
        """Fill the side list with the built-in and saved views."""
        session = session_of(self)
        self.views = await session.call(list_views.views, self.entity, session.ctx.user_id)
        options = self.query_one("#views", OptionList)
        options.clear_options()
        for view in self.views:
            label = Content(safe_text(view.name))
            if not view.builtin:
                label = Content.assemble(label, ("  shared" if view.shared else "  saved", "dim"))
            options.add_option(Option(label, id=view.key))
        current = self.view.key if self.view else "all"
        index = next((i for i, v in enumerate(self.views) if v.key == current), 0)
        options.highlighted = index if select is None else select

    @work(group="list-read", exclusive=True, exit_on_error=False)
    async def reload(self, *, cursor: int | None = None) -> None:
        """Count and read the page the cursor is on (the first page for a new query)."""
        session = session_of(self)
        table = self.table
        at = table.cursor if cursor is None else cursor
        if self.spec is None:
            currency = await session.call(workspace_settings.currency)
            table.currency = currency
        page = await session.call(record_lists.read_list, self.list_query, session.ctx.user_id, offset=at)
        self.spec = page.entity
        table.show(self.shown_columns(), page.count, page.rows, cards=self.cards, cursor=at)
        self._summarise(page.count)

    def shown_columns(self) -> list[Column]:
        """The default columns, then every custom field."""
        spec = self.spec
        if spec is None:
            return []
        default = [spec.column(key) for key in spec.default_columns]
        return default + [column for column in spec.columns if column.field is not None]

    @on(RecordTable.NeedRows)
    async def _need_rows(self, message: RecordTable.NeedRows) -> None:
        self._read_page(message.offset)

    @work(group="list-page", exit_on_error=False)
    async def _read_page(self, offset: int) -> None:
        session = session_of(self)
        query = self.list_query
        rows = await session.call(record_lists.page, query, offset, session.ctx.user_id, total=self.table.count)
        if query == self.list_query:
            self.table.put(offset, rows)

    def _summarise(self, total: int) -> None:
        spec = self.spec
        view = self.view.name if self.view else f"All {self.plural.lower()}"
        self.query_one("#title", Static).update(Content.assemble(self.plural, " · ", safe_text(view)))
        parts = [f"{total:,} {self.plural.lower() if total != 1 else self.entity}"]
        if spec is not None:
            try:
                sort = spec.column(self.list_query.sort or spec.default_sort).label
            except KeyError:
                sort = self.list_query.sort
            parts.append(f"sorted by {sort} {'↓' if self.list_query.descending else '↑'}")
            parts += [cond.describe(spec) for cond in self.list_query.conditions]
        if self.list_query.text:
            parts.append(f"matching “{safe_text(self.list_query.text)}”")
        if self.table.selected:
            parts.append(f"{len(self.table.selected)} selected")
        self.query_one("#summary", Static).update(Content(" · ".join(parts)))

    def set_query(self, query: ListQuery, *, view: ListView | None = None, keep_view: bool = True) -> None:
        """Show `query` from its first row."""
        self.list_query = query
        if not keep_view:
            self.view = view
        self.reload(cursor=0)

    def reload_after_change(self) -> None:
        """Someone changed records (a moment ago): read the list again, every page."""
        self.table.forget()
        self.reload()

    # -- views and the quick filter ------------------------------------------------------------
    @on(OptionList.OptionSelected, "#views")
    def _view_chosen(self, event: OptionList.OptionSelected) -> None:
        view = self.views[event.option_index]
        self.cards = view.display == "cards"
        self.set_query(view.query, view=view, keep_view=False)
        self.set_focus(self.table)

    def action_switch_pane(self) -> None:
        """Move between the views and the table."""
        views = self.query_one("#views", OptionList)
        self.set_focus(self.table if self.focused is views else views)

    def action_quick_filter(self) -> None:
        """Show the filter box and type in it."""
        box = self.query_one("#quick", Input)
        box.add_class("-shown")
        self.set_focus(box)

    @on(Input.Changed, "#quick")
    def _typed(self, event: Input.Changed) -> None:
        if self._typing is not None:
            self._typing.stop()
        self._typing = self.set_timer(_TYPING_PAUSE, lambda: self.set_query(replace(self.list_query, text=event.value)))

    @on(Input.Submitted, "#quick")
    def _typed_enter(self, event: Input.Submitted) -> None:
        if self._typing is not None:
            self._typing.stop()
        if event.value != self.list_query.text:
            self.set_query(replace(self.list_query, text=event.value))
        if not event.value:
            event.input.remove_class("-shown")
        self.set_focus(self.table)

    def action_clear(self) -> None:
        """Esc: clear the search, else the selection."""
        box = self.query_one("#quick", Input)
        if box.has_class("-shown") or self.list_query.text:
            box.value = ""
            box.remove_class("-shown")
            self.set_focus(self.table)
            if self.list_query.text:
                self.set_query(replace(self.list_query, text=""))
        elif self.table.selected:
            self.table.selected.clear()
            self.table.refresh()
            self._summarise(self.table.count)

    def action_toggle_display(self) -> None:
        """Show the records as a table or as cards."""
        self.cards = not self.cards
        self.reload()

    def action_export(self) -> None:
        """Export the records of this list as shown (or every field) to a file."""
        from crm_tui.screens.export_dialog import ExportDialog, toast_result

        if server_files_refused(self):
            return
        view = self.view.name if self.view is not None else None
        self.app.push_screen(ExportDialog(self.entity, self.list_query, view), toast_result(self))

    def action_import(self) -> None:
        """Open the import wizard for this record type."""
        self.app.action_import()  # type: ignore[attr-defined]

    def action_duplicates(self) -> None:
        """Find duplicates among this record type."""
        self.app.action_duplicates()  # type: ignore[attr-defined]

    def action_merge_selected(self) -> None:
        """Merge the selected records (two or more) on the merge screen."""
        from crm_tui.screens.merge_screen import MergeScreen

        chosen = sorted(self.table.selected)
        if len(chosen) < 2:
            self.notify("Select two or more records with space first, then M merges them", severity="warning")
            return

        def merged(result: object) -> None:
            if result is not None:
                self.table.selected.clear()
                self.reload()

        self.app.push_screen(MergeScreen(self.entity, chosen), merged)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Merging and duplicates are for contacts, companies and leads."""
        if action in ("merge_selected", "duplicates") and self.entity == "deal":
            return False
        return super().check_action(action, parameters)

    def action_reload(self) -> None:
        """Read the list again."""
        self.table.forget()
        self.reload()

    def action_open(self) -> None:
        """Open the highlighted record."""
        row = self.table.current
        if row is not None and self.focused is self.table:
            self.app.open_record(self.entity, row.id)  # type: ignore[attr-defined]
