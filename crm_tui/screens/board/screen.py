"""The pipeline board: one column per stage, deals as cards, every action one key away.

This module holds the screen itself (loading, refreshing, focus, columns, pipelines); moving and
undoing are in `moves`, creating and editing deals in `deal_actions`, filters in `filtering`.
"""

from __future__ import annotations

import asyncio
from functools import partial

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, HorizontalScroll
from textual.content import Content
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input, Static

from crm_tui.money import format_money
from crm_tui.screens.base import DataChanged, ReportsWorkerErrors, session_of
from crm_tui.screens.board.deal_actions import DealActions
from crm_tui.screens.board.filtering import Filtering
from crm_tui.screens.board.moves import Moves
from crm_tui.screens.board.pipeline_choice import PipelineChoice
from crm_tui.services import board as board_service
from crm_tui.services import preferences
from crm_tui.services.board import Board, BoardQuery, ColumnRequest, ColumnsUpdate, ColumnTotals, ColumnWindow
from crm_tui.text import safe_text
from crm_tui.widgets.card_list import CardList
from crm_tui.widgets.footer import BatchedFooter
from crm_tui.widgets.stage_column import StageColumn

_REFRESH_DELAY = 0.3
"""Seconds to gather bursts of change events into one refresh."""


class BoardColumns(HorizontalScroll, inherit_bindings=False):
    """The row of stage columns. It scrolls to follow the focus, and leaves the arrow keys to the
    board (a plain HorizontalScroll would take left and right for scrolling)."""


class BoardScreen(ReportsWorkerErrors, Moves, DealActions, Filtering, PipelineChoice, Screen[None]):
    """The deals of one pipeline as a kanban board."""

    CSS_PATH = "../../styles/board.tcss"
    BINDINGS = [
        Binding("left,h", "focus_column(-1)", "Column", show=False, tooltip="Focus the column to the left", id="board.column_left"),
        Binding("right,l", "focus_column(1)", "Column", show=False, tooltip="Focus the column to the right", id="board.column_right"),
        *[Binding(str(n), f"jump({n})", f"Column {n}", show=False, id=f"board.column_{n}") for n in range(1, 10)],
        Binding("shift+left,H", "move(-1)", "Back", key_display="⇧← H", tooltip="Move the selected deal to the previous stage", id="board.move_prev"),
        Binding("shift+right,L", "move(1)", "On", key_display="⇧→ L", tooltip="Move the selected deal to the next stage", id="board.move_next"),
        Binding("m", "move_to", "Move to…", show=False, tooltip="Move the selected deal to any stage", id="board.move_to"),
        # Priority: handled as the key arrives, so the keys typed right after it reach the form.
        Binding("n", "new_deal", "New", priority=True, tooltip="New deal in this column", id="board.new"),
        Binding("enter", "open_deal", "Open", show=False, tooltip="Everything about the selected deal", id="board.open"),
        Binding("e", "edit_deal", "Edit", show=False, tooltip="Edit the selected deal", id="board.edit"),
        Binding("d", "delete_deal", "Delete", show=False, tooltip="Delete the selected deal (asks first)", id="board.delete"),
        Binding("slash", "search", "Search", key_display="/", priority=True, tooltip="Search titles, companies and contacts", id="board.search"),
        Binding("f", "filters", "Filter", tooltip="Filter by owner, tag, amount, close date, stale, mine", id="board.filters"),
        Binding("v", "views", "Views", show=False, tooltip="Apply a saved view, or save the filters as one", id="board.views"),
        Binding("escape", "clear_filters", "Clear filters", show=False, tooltip="Clear search and filters", id="board.clear_filters"),
        Binding("u", "undo", "Undo", tooltip="Undo the last move, edit, new deal or delete", id="board.undo"),
        Binding("p", "pick_pipeline", "Pipeline", show=False, tooltip="Choose the pipeline", id="board.pipeline"),
        Binding("P", "edit_pipelines", "Edit pipelines", show=False, tooltip="Edit pipelines and stages", id="board.edit_pipelines"),
        Binding("c", "toggle_collapsed", "Fold closed", show=False, tooltip="Fold or unfold the won, lost and N/A columns", id="board.collapse"),
        Binding("r", "reload", "Refresh", show=False, tooltip="Read the board again", id="board.refresh"),
        Binding("question_mark", "keys", "Keys", key_display="?", tooltip="Show every key", id="board.keys"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.query_: BoardQuery | None = None
        self.currency = "USD"
        self.read_only: frozenset[str] = frozenset()
        """The deal fields this user may not change (greyed in the quick form)."""
        self.collapsed = False
        self._totals: dict[int, ColumnTotals] = {}
        self._write_lock = asyncio.Lock()
        self._refresh_timer: Timer | None = None
        self.focus_stage_id: int | None = None
        self.init_moves()
        self.init_filtering()

    @property
    def pipeline(self):  # noqa: ANN201 - PipelineInfo | None
        """The pipeline shown."""
        return self.query_.pipeline if self.query_ else None

    def compose(self) -> ComposeResult:
        """Summary bar, filter bar, columns, footer."""
        with Horizontal(id="board-bar"):
            yield Static("Loading the board…", id="board-summary", markup=False)
            yield Static(id="board-where", markup=False)
        yield from self.compose_filter_bar()
        yield BoardColumns(id="columns")
        yield BatchedFooter()

    def on_mount(self) -> None:
        """Read the board in the background; the frame appears at once."""
        session = session_of(self)
        self.query_one("#board-where", Static).update(
            Content.styled(f"{safe_text(session.ctx.login)} · {safe_text(session.where)}", "$text-muted")
        )
        self.load(None, first=True)

    # -- reading -------------------------------------------------------------------------------
    @work(exit_on_error=False, exclusive=True, group="board-load")
    async def load(self, pipeline_id: int | None, *, first: bool = False, rebuild: bool = False) -> None:
        """Show the board of `pipeline_id` (on opening: the pipeline the user saw last). With
        `rebuild`, the stages changed under the board: keep the focus on the same stage if it is
        still there."""
        keep = self.focus_stage_id if rebuild else None
        session = session_of(self)
        user = session.ctx.user_id
        if first:
            board = await session.take_preloaded("board", partial(board_service.open_board, user))
            self.collapsed = bool(await session.call(preferences.get_preference, user, board_service.BOARD_COLLAPSED, False))
        else:
            board = await session.call(board_service.load_board, pipeline_id, filter=self.filter, user_id=user)
        if board is None:
            self.query_one("#board-summary", Static).update("This workspace has no pipeline yet: press P to add one.")
            return
        async with self._write_lock:  # never rebuild the columns under a move that is refreshing them
            await self._show(board)
        if keep is not None and any(stage.id == keep for stage in board.pipeline.stages):
            self._focus_stage(keep)
        if rebuild:
            self.notify("This pipeline's stages were changed by someone else; the board was rebuilt.")
        if not first:
            await session.call(preferences.set_preference, user, board_service.BOARD_PIPELINE, board.pipeline.id)

    async def _show(self, board: Board) -> None:
        container = self.query_one("#columns", BoardColumns)
        self.currency = board.currency
        self.read_only = board.read_only
        self.query_ = board.query
        await container.remove_children()
        width = self._column_width(len(board.pipeline.stages))
        await container.mount_all(
            StageColumn(
                stage,
                totals=board.totals[stage.id],
                currency=board.currency,
                window=board.windows[stage.id],
                width=width,
                collapsed=self.collapsed,
                id=f"stage-{stage.id}",
            )
            for stage in board.pipeline.stages
        )
        self._totals = dict(board.totals)
        self._update_summary()
        self._focus_stage(self._first_stage_with_deals())

    def _requests(self, *, anchors: dict[int, int] | None = None, only: list[int] | None = None) -> list[ColumnRequest]:
        """What to re-read of each column (or of `only` these stages): around its selected deal,
        or an explicit anchor."""
        requests = []
        for column in self._columns():
            if only is not None and column.stage.id not in only:
                continue
            cards = column.cards
            anchor = (anchors or {}).get(column.stage.id)
            if anchor is None and cards.current is not None:
                anchor = cards.current.id
            requests.append(ColumnRequest(column.stage.id, anchor, cards.cursor))
        return requests

    async def refresh_board(
        self, *, anchors: dict[int, int] | None = None, focus_stage: int | None = None, only: list[int] | None = None
    ) -> None:
        """Re-read every column (or `only` those whose deals changed), keeping each cursor on its
        deal (wherever that deal is now) at the same place on screen, and the focus where it was
        (or on `focus_stage`)."""
        if self.query_ is None:
            return
        session = session_of(self)
        moves = {column.stage.id: column.cards.moves for column in self._columns()}
        update = await session.call(
            board_service.refresh_columns,
            board_service.with_time(self.query_),
            self._requests(anchors=anchors, only=only),
            all_totals=only is None,
        )
        if update.pipeline != self.query_.pipeline:  # someone changed the stages: rebuild
            self.load(update.pipeline.id if update.pipeline else None, rebuild=True)
            return
        self.apply_update(update, moves_seen=None if anchors else moves)
        if focus_stage is not None:
            self._focus_stage(focus_stage)

    def apply_update(self, update: ColumnsUpdate, *, moves_seen: dict[int, int] | None = None) -> None:
        """Show fresh totals and windows; a cursor the user moved since the read stays where it is."""
        self._totals.update(update.totals)
        for stage_id, window in update.windows.items():
            seen = (moves_seen or {}).get(stage_id)
            self._column(stage_id).show(update.totals[stage_id], self.currency, window, keep_row=True, moves_seen=seen)
        for stage_id, totals in update.totals.items():
            if stage_id not in update.windows:
                self._column(stage_id).set_totals(totals, self.currency)
        self._update_summary()

    def _update_summary(self) -> None:
        if self.pipeline is None:
            return
        open_ids = [stage.id for stage in self.pipeline.stages if not stage.is_closed]
        count = sum(self._totals[i].count for i in open_ids if i in self._totals)
        total = sum(self._totals[i].total.get(self.currency, 0) for i in open_ids if i in self._totals)
        weighted = sum(self._totals[i].weighted.get(self.currency, 0) for i in open_ids if i in self._totals)
        name = (safe_text(self.pipeline.name), "bold")
        if not any(totals.count for totals in self._totals.values()) and self.filter.is_empty():
            line = Content.assemble(
                name, ("  no deals yet · press ", "$text-muted"), ("n", "bold"), (" to add one, or run ", "$text-muted"),
                ("crm demo", "bold"), (" to explore a sample workspace", "$text-muted"),
            )  # fmt: skip
        else:
            line = Content.assemble(
                name,
                (f"  {count:,} open · ", "$text-muted"),
                (format_money(total, self.currency, compact=True), "$text-success"),
                (" · weighted ", "$text-muted"),
                (format_money(weighted, self.currency, compact=True), "$text-success"),
            )
        self.query_one("#board-summary", Static).update(line)
        self.show_filter_summary()

    @on(CardList.NeedCards)
    def _need_cards(self, event: CardList.NeedCards) -> None:
        self._load_window(event.card_list, event.offset)

    @work(exit_on_error=False, group="board-more")
    async def _load_window(self, card_list: CardList, offset: int) -> None:
        if self.query_ is None:
            return
        query = self.query_
        cards = await session_of(self).call(board_service.card_window, query, card_list.stage.id, offset)
        if query is self.query_ and card_list.is_attached:
            card_list.put(ColumnWindow(card_list.stage.id, offset, tuple(cards), None))

    @on(DataChanged)
    def _data_changed(self, message: DataChanged) -> None:
        record = message.record
        if record is not None and self.ignores(*record):
            return
        if self._refresh_timer is None:
            self._refresh_timer = self.set_timer(_REFRESH_DELAY, self._refresh_now)

    @work(exit_on_error=False, exclusive=True, group="board-refresh")
    async def _refresh_now(self) -> None:
        self._refresh_timer = None
        async with self._write_lock:  # never between a write and its own refresh
            await self.refresh_board()

    def action_reload(self) -> None:
        """Read the board again, stages included."""
        self.load(self.pipeline.id if self.pipeline else None, rebuild=True)

    # -- columns and focus ---------------------------------------------------------------------
    def on_resize(self) -> None:
        """Share the width between the open columns, never below their minimum (then it scrolls),
        and keep the focused column in view."""
        width = self._column_width(len(self._columns()))
        for column in self._columns():
            column.styles.width = StageColumn.COLLAPSED_WIDTH if column.collapsed else width
        focused = self.focused_column()
        if focused is not None:
            self.call_after_refresh(focused.scroll_visible, animate=False)

    def _column_width(self, count: int) -> int:
        folded = sum(1 for c in self._columns() if c.collapsed) if self.is_mounted else 0
        space = self.size.width - folded * StageColumn.COLLAPSED_WIDTH
        return max(StageColumn.MIN_WIDTH, space // max(count - folded, 1))

    def _column(self, stage_id: int) -> StageColumn:
        return self.query_one(f"#stage-{stage_id}", StageColumn)

    def _columns(self) -> list[StageColumn]:
        return list(self.query(StageColumn))

    def focused_column(self) -> StageColumn | None:
        """The column holding the focus (the board moves it with set_focus, which is immediate)."""
        focused = self.focused
        if isinstance(focused, CardList) and isinstance(focused.parent, StageColumn) and not focused.parent.collapsed:
            return focused.parent
        return None

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """A column got the focus (keys, a click, tab): mark it, and remember it to come back to
        it from the search box."""
        if isinstance(event.widget, CardList) and isinstance(event.widget.parent, StageColumn):
            column = event.widget.parent
            self.focus_stage_id = column.stage.id
            for other in self.query(".-focused"):
                if other is not column:
                    other.remove_class("-focused")
            column.add_class("-focused")

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        """The focus left the cards (for the search box, say): unmark the column."""
        if isinstance(event.widget, CardList) and isinstance(event.widget.parent, StageColumn):
            event.widget.parent.remove_class("-focused")

    def back_to_cards(self) -> None:
        """Put the focus back on the cards: the column used last, else the first with deals."""
        if self.focus_stage_id is not None and self.query(f"#stage-{self.focus_stage_id}"):
            if not self._column(self.focus_stage_id).collapsed:
                self._focus_stage(self.focus_stage_id)
                return
        self._focus_stage(self._first_stage_with_deals())

    def _first_stage_with_deals(self) -> int | None:
        if self.pipeline is None:
            return None
        usable = [c for c in self._columns() if not c.collapsed]
        with_deals = [c for c in usable if c.totals.count]
        chosen = (with_deals or usable or [None])[0]
        return chosen.stage.id if chosen else None

    def _focus_stage(self, stage_id: int | None) -> None:
        if stage_id is None or not self.query(f"#stage-{stage_id}"):
            return
        column = self._column(stage_id)
        if column.collapsed:
            return
        self.focus_stage_id = stage_id
        self.set_focus(column.cards, scroll_visible=False)
        column.scroll_visible(animate=False)  # one scroll, not an animated one racing a second

    def action_focus_column(self, step: int) -> None:
        """Focus the open column `step` places to the right (or left), keeping the row."""
        columns = [c for c in self._columns() if not c.collapsed]
        if not columns:
            return
        current = self.focused_column()
        index = columns.index(current) if current in columns else 0
        target = columns[max(0, min(len(columns) - 1, index + step))]
        if current is not None and target is not current:
            target.cards.cursor = min(current.cards.cursor, max(target.cards.count - 1, 0))
        self._focus_stage(target.stage.id)

    def action_jump(self, number: int) -> None:
        """Focus column `number` (1 is the first)."""
        columns = self._columns()
        if 0 < number <= len(columns):
            if columns[number - 1].collapsed:
                self.notify(f"Column {number} is folded: c unfolds the closed columns.")
                return
            self._focus_stage(columns[number - 1].stage.id)

    def action_toggle_collapsed(self) -> None:
        """Fold the won, lost and closed columns to narrow strips, or open them again."""
        self.collapsed = not self.collapsed
        columns = self._columns()
        for column in columns:
            column.set_collapsed(self.collapsed)
        self.on_resize()
        if self.focused_column() is None:
            self._focus_stage(self._first_stage_with_deals())
        session = session_of(self)
        self.run_worker(
            session.call(preferences.set_preference, session.ctx.user_id, board_service.BOARD_COLLAPSED, self.collapsed)
        )

    def dialog_pending(self) -> bool:
        """A dialog is about to open (its data is being read): a second key must not open another."""
        return any(worker.group == "board-form" and not worker.is_finished for worker in self.workers)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The board's keys act only when the board is the screen in front, no dialog is on its way
        (keys typed meanwhile were meant for the dialog), and no text box has the focus (there,
        `n` and `/` are letters)."""
        if self.app.screen is not self or self.dialog_pending():
            return False
        if isinstance(self.focused, Input) and action in ("new_deal", "search"):
            return False
        return True

    def on_worker_state_changed(self, event) -> None:  # noqa: ANN001 - Worker.StateChanged
        """A dialog's job ended: the keys it held back are live again (and the footer says so)."""
        super().on_worker_state_changed(event)
        if event.worker.group == "board-form" and event.worker.is_finished:
            self.refresh_bindings()
