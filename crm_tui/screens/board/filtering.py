"""Narrowing the board: `/` searches as you type, `f` filters by owner, tag, amount, close date,
stale and mine, `v` applies or saves a named view, Esc clears. Counts and totals follow."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.timer import Timer
from textual.widgets import Input, Static

from crm_tui.money import format_money
from crm_tui.screens.base import session_of
from crm_tui.screens.choice import ChoiceScreen
from crm_tui.screens.filters import FilterScreen
from crm_tui.screens.text_prompt import TextPromptScreen
from crm_tui.services import lookups, records
from crm_tui.services.board_filter import BoardFilter
from crm_tui.services.errors import ServiceError
from crm_tui.text import safe_text

if TYPE_CHECKING:
    from crm_tui.screens.board.screen import BoardScreen

_TYPING_PAUSE = 0.25
"""Seconds after the last key before the board is filtered again."""


class Filtering:
    """Mixin of BoardScreen: /, f, v, Esc."""

    def init_filtering(self: BoardScreen) -> None:
        """Start unfiltered."""
        self.filter = BoardFilter()
        self.names: dict[str, dict[int, str]] = {"owner": {}, "tag": {}}
        self._typing_timer: Timer | None = None

    def compose_filter_bar(self: BoardScreen) -> ComposeResult:
        """The search box (shown by /) and the line that says what is filtered."""
        with Horizontal(id="search-bar"):
            yield Static("/", id="search-label")
            yield Input(placeholder="search titles, companies and contacts · enter to keep · esc to clear", id="board-search")
        yield Static(id="filter-summary", markup=False)

    def action_search(self: BoardScreen) -> None:
        """Show the search box and type into it (at once: keys typed after / are the search)."""
        self.query_one("#search-bar").add_class("-shown")
        self.set_focus(self.query_one("#board-search", Input), scroll_visible=False)

    # Named handlers, not @on: Textual collects @on handlers only from the screen class itself.
    def on_input_changed(self: BoardScreen, event: Input.Changed) -> None:
        """Filter again a moment after the user stops typing in the search box."""
        if event.input.id != "board-search":
            return
        if self._typing_timer is not None:
            self._typing_timer.stop()
        value = event.value
        self._typing_timer = self.set_timer(_TYPING_PAUSE, lambda: self.apply_filter(replace(self.filter, text=value)))

    def on_input_submitted(self: BoardScreen, event: Input.Submitted) -> None:
        """Enter in the search box: keep the filter, back to the cards."""
        if event.input.id == "board-search":
            if self._typing_timer is not None:
                self._typing_timer.stop()
            self.apply_filter(replace(self.filter, text=event.value), then_focus=True)
            self.back_to_cards()

    def action_clear_filters(self: BoardScreen) -> None:
        """Show every deal again and hide the search box."""
        search = self.query_one("#board-search", Input)
        bar = self.query_one("#search-bar")
        if self.filter.is_empty() and not bar.has_class("-shown"):
            return
        with search.prevent(Input.Changed):
            search.value = ""
        bar.remove_class("-shown")
        self.apply_filter(BoardFilter())
        if self.focused_column() is None:
            self.back_to_cards()

    @work(exit_on_error=False, exclusive=True, group="board-filter")
    async def apply_filter(self: BoardScreen, flt: BoardFilter, *, then_focus: bool = False) -> None:
        """Show the board narrowed by `flt` (and, with `then_focus`, focus the first column that
        has matches once they are known)."""
        if self.query_ is None:
            return
        if flt != self.filter:
            self.filter = flt
            self.query_ = replace(self.query_, filter=flt)
            async with self._write_lock:
                await self.refresh_board()
        column = self.focused_column()
        if then_focus and (column is None or not column.cards.count):
            self._focus_stage(self._first_stage_with_deals())

    def show_filter_summary(self: BoardScreen) -> None:
        """Say what the board is narrowed to (or nothing)."""
        summary = self.query_one("#filter-summary", Static)
        flt = self.filter
        summary.set_class(not flt.is_empty(), "-shown")
        if flt.is_empty():
            summary.update("")
            return
        parts: list[str] = []
        if flt.text.strip():
            parts.append(f"“{safe_text(flt.text.strip())}”")
        if flt.owner_ids:
            parts.append("owner " + ", ".join(safe_text(self.names["owner"].get(i, f"#{i}")) for i in flt.owner_ids))
        if flt.mine_only:
            parts.append("mine")
        if flt.tag_ids:
            parts.append("tag " + ", ".join(safe_text(self.names["tag"].get(i, f"#{i}")) for i in flt.tag_ids))
        if flt.amount_min is not None or flt.amount_max is not None:
            low = format_money(flt.amount_min, self.currency, compact=True) if flt.amount_min is not None else "0"
            high = format_money(flt.amount_max, self.currency, compact=True) if flt.amount_max is not None else "any"
            parts.append(f"amount {low}–{high}")
        if flt.close_from or flt.close_to:
            parts.append(f"closing {flt.close_from or '…'} to {flt.close_to or '…'}")
        if flt.stale_only:
            parts.append("stale only")
        summary.update(Content.assemble(("Filtered: ", "bold"), " · ".join(parts), ("   esc clears", "$text-muted")))

    async def _load_names(self: BoardScreen) -> tuple[list[lookups.Choice], list[lookups.Choice]]:
        session = session_of(self)
        users = await session.call(lookups.users, active_only=False)
        tags = await session.call(lookups.tags)
        self.names = {"owner": {u.id: u.name for u in users}, "tag": {t.id: t.name for t in tags}}
        return users, tags

    def action_filters(self: BoardScreen) -> None:
        """Filter by owner, tag, amount, close date, stale, mine."""
        if not self.dialog_pending():
            self._open_filters()

    @work(exit_on_error=False, group="board-form")
    async def _open_filters(self: BoardScreen) -> None:
        users, tags = await self._load_names()
        chosen = await self.app.push_screen_wait(FilterScreen(self.filter, users=users, tags=tags, currency=self.currency))
        if chosen is not None:
            self.apply_filter(replace(chosen, text=self.filter.text))

    def action_views(self: BoardScreen) -> None:
        """Apply a saved view, or save the current filters as one."""
        if not self.dialog_pending():
            self._views()

    @work(exit_on_error=False, group="board-form")
    async def _views(self: BoardScreen) -> None:
        session = session_of(self)
        views = await session.call(lookups.deal_views, session.ctx.user_id)
        await self._load_names()
        choices = [Content.assemble(safe_text(v.name), ("  shared" if v.shared else "", "$text-muted")) for v in views]
        save_index = len(choices)
        if not self.filter.is_empty():
            choices.append(Content.styled("Save the current filters as a view…", "italic"))
        if not choices:
            self.notify("No saved views yet: filter the board (f or /), then press v to save it.")
            return
        chosen = await self.app.push_screen_wait(ChoiceScreen(Content.styled("Saved views", "bold"), choices))
        if chosen is None:
            return
        if chosen < save_index:
            self.apply_filter(BoardFilter.from_json(views[chosen].filters))
            self.notify(f"View: {safe_text(views[chosen].name)}", markup=False)
            return
        name = await self.app.push_screen_wait(TextPromptScreen(Content("Name this view"), placeholder="e.g. My stale deals"))
        if not name:
            return
        try:
            await session.call(
                records.create, session.ctx, "saved_view",
                {"entity": "deal", "name": name, "owner_id": session.ctx.user_id, "filters": self.filter.to_json(), "display": "cards"},
            )  # fmt: skip
        except ServiceError as error:
            self.notify(safe_text(str(error)), title="Not saved", severity="warning", markup=False)
            return
        self.notify(f"Saved the view {safe_text(name)}.", markup=False)
