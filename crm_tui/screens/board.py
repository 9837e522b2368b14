"""The pipeline board: one column per stage, deals as cards, moved between stages with one key."""

from __future__ import annotations

import asyncio

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, HorizontalScroll
from textual.content import Content
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Static

from crm_tui.money import format_money
from crm_tui.screens.base import DataChanged, session_of
from crm_tui.screens.choice import ChoiceScreen
from crm_tui.services import board as board_service
from crm_tui.services import deals, workspace_settings
from crm_tui.services.board import Board, ColumnTotals, PipelineInfo
from crm_tui.services.errors import ServiceError
from crm_tui.text import safe_text
from crm_tui.widgets.stage_column import DealList, StageColumn

_REFRESH_DELAY = 0.3
"""Seconds to gather bursts of change events into one refresh."""


class BoardColumns(HorizontalScroll, inherit_bindings=False):
    """The row of stage columns. It scrolls to follow the focus, and leaves the arrow keys to the
    board (a plain HorizontalScroll would take left and right for scrolling)."""


class BoardScreen(Screen[None]):
    """The deals of one pipeline as a kanban board."""

    CSS_PATH = "../styles/board.tcss"
    BINDINGS = [
        Binding("left,h", "focus_column(-1)", "Column", show=False, id="board.column_left"),
        Binding("right,l", "focus_column(1)", "Column", show=False, id="board.column_right"),
        Binding("shift+left,H", "move(-1)", "Move back", key_display="⇧← H", id="board.move_prev"),
        Binding("shift+right,L", "move(1)", "Move on", key_display="⇧→ L", id="board.move_next"),
        Binding("p", "pick_pipeline", "Pipeline", id="board.pipeline"),
        Binding("r", "reload", "Refresh", id="board.refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.pipeline: PipelineInfo | None = None
        self.currency = "USD"
        self._totals: dict[int, ColumnTotals] = {}
        self._write_lock = asyncio.Lock()
        self._refresh_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        """Summary bar, columns, footer."""
        with Horizontal(id="board-bar"):
            yield Static("Loading the board…", id="board-summary", markup=False)
            yield Static(id="board-where", markup=False)
        yield BoardColumns(id="columns")
        yield Footer()

    def on_mount(self) -> None:
        """Read the board in the background; the frame appears at once."""
        session = session_of(self)
        self.query_one("#board-where", Static).update(
            Content.styled(f"{safe_text(session.ctx.login)} · {safe_text(session.where)}", "$text-muted")
        )
        self.load(None)

    # -- reading -------------------------------------------------------------------------------
    @work(exclusive=True, group="board-load")
    async def load(self, pipeline_id: int | None, focus: tuple[int, int] | None = None) -> None:
        """Show the board of `pipeline_id` (default: the current or first pipeline)."""
        session = session_of(self)
        if pipeline_id is None and self.pipeline is None:
            board = await session.take_preloaded("board", board_service.load_board)
        else:
            board = await session.call(board_service.load_board, pipeline_id)
        if board is None:
            self.query_one("#board-summary", Static).update("This workspace has no pipeline yet.")
            return
        await self._show(board, focus)

    async def _show(self, board: Board, focus: tuple[int, int] | None) -> None:
        remembered = focus or self._focused_position()
        if remembered is not None and all(stage.id != remembered[0] for stage in board.pipeline.stages):
            remembered = None  # another pipeline: its stages start fresh
        index_hint = self._highlight_indexes()
        container = self.query_one("#columns", BoardColumns)
        self.currency = board.currency
        if self.pipeline is None or self.pipeline != board.pipeline:
            await container.remove_children()
            width = self._column_width(len(board.pipeline.stages))
            await container.mount_all(
                StageColumn(
                    stage,
                    totals=board.totals[stage.id],
                    currency=board.currency,
                    page=board.pages[stage.id],
                    width=width,
                    id=f"stage-{stage.id}",
                )
                for stage in board.pipeline.stages
            )
            self.pipeline = board.pipeline
            self._totals = board.totals
            self._update_summary()
        else:
            self._apply_totals(board.totals)
            for stage in board.pipeline.stages:
                page = board.pages[stage.id]
                focus_deal = remembered[1] if remembered and remembered[0] == stage.id else None
                self._column(stage.id).deals.show(
                    list(page.cards), page.has_more, focus_deal=focus_deal, index=index_hint.get(stage.id)
                )
        target = remembered[0] if remembered else self._first_stage_with_deals()
        self._focus_stage(target)

    def on_resize(self) -> None:
        """Share the width between the columns, never below their minimum (then the board scrolls)."""
        self._fit_columns()

    def _column_width(self, count: int) -> int:
        return max(StageColumn.MIN_WIDTH, self.size.width // max(count, 1))

    def _fit_columns(self) -> None:
        columns = self._columns()
        width = self._column_width(len(columns))
        for column in columns:
            column.styles.width = width

    def _apply_totals(self, totals: dict[int, ColumnTotals]) -> None:
        self._totals = totals
        for stage_id, column_totals in totals.items():
            self._column(stage_id).set_totals(column_totals, self.currency)
        self._update_summary()

    def _update_summary(self) -> None:
        if self.pipeline is None:
            return
        open_ids = [stage.id for stage in self.pipeline.stages if not stage.is_closed]
        count = sum(self._totals[i].count for i in open_ids if i in self._totals)
        total = sum(self._totals[i].total.get(self.currency, 0) for i in open_ids if i in self._totals)
        weighted = sum(self._totals[i].weighted.get(self.currency, 0) for i in open_ids if i in self._totals)
        if not any(totals.count for totals in self._totals.values()):
            self.query_one("#board-summary", Static).update(
                Content.assemble(
                    (safe_text(self.pipeline.name), "bold"),
                    ("  no deals yet · run ", "$text-muted"),
                    ("crm demo", "bold"),
                    (" to explore a sample workspace", "$text-muted"),
                )
            )
            return
        self.query_one("#board-summary", Static).update(
            Content.assemble(
                (safe_text(self.pipeline.name), "bold"),
                (f"  {count:,} open · ", "$text-muted"),
                (format_money(total, self.currency, compact=True), "$text-success"),
                (" · weighted ", "$text-muted"),
                (format_money(weighted, self.currency, compact=True), "$text-success"),
            )
        )

    @on(StageColumn.NeedMore)
    def _need_more(self, event: StageColumn.NeedMore) -> None:
        self._load_more(event.column)

    @work(group="board-more")
    async def _load_more(self, column: StageColumn) -> None:
        deal_list = column.deals
        if not deal_list.cards:
            return
        last = deal_list.cards[-1]
        page = await session_of(self).call(
            board_service.card_page, column.stage.id, after=(last.stage_entered_at, last.id)
        )
        deal_list.extend(page)

    @on(DataChanged)
    def _data_changed(self, _: DataChanged) -> None:
        if self._refresh_timer is None:
            self._refresh_timer = self.set_timer(_REFRESH_DELAY, self._refresh_now)

    def _refresh_now(self) -> None:
        self._refresh_timer = None
        if self.pipeline is not None:
            self.load(self.pipeline.id)

    def action_reload(self) -> None:
        """Read the board again."""
        self.load(self.pipeline.id if self.pipeline else None)

    # -- focus ---------------------------------------------------------------------------------
    def _column(self, stage_id: int) -> StageColumn:
        return self.query_one(f"#stage-{stage_id}", StageColumn)

    def _columns(self) -> list[StageColumn]:
        return list(self.query(StageColumn))

    def _focused_column(self) -> StageColumn | None:
        focused = self.focused
        if isinstance(focused, DealList) and isinstance(focused.parent, StageColumn):
            return focused.parent
        return None

    def _focused_position(self) -> tuple[int, int] | None:
        column = self._focused_column()
        if column is None:
            return None
        card = column.deals.current
        return (column.stage.id, card.id) if card else (column.stage.id, -1)

    def _highlight_indexes(self) -> dict[int, int]:
        return {
            column.stage.id: column.deals.highlighted
            for column in self._columns()
            if column.deals.highlighted is not None
        }

    def _first_stage_with_deals(self) -> int | None:
        if self.pipeline is None:
            return None
        return next(
            (stage.id for stage in self.pipeline.stages if self._totals.get(stage.id, ColumnTotals()).count),
            self.pipeline.stages[0].id if self.pipeline.stages else None,
        )

    def _focus_stage(self, stage_id: int | None) -> None:
        if stage_id is None:
            return
        column = self._column(stage_id)
        column.deals.focus()
        column.scroll_visible(animate=False)

    def action_focus_column(self, step: int) -> None:
        """Focus the column `step` places to the right (or left), keeping the row."""
        columns = self._columns()
        current = self._focused_column()
        if not columns:
            return
        index = columns.index(current) if current in columns else 0
        target = columns[max(0, min(len(columns) - 1, index + step))]
        row = current.deals.highlighted if current is not None else 0
        if target.deals.cards and row is not None:
            target.deals.highlighted = min(row, len(target.deals.cards) - 1)
        target.deals.focus()
        target.scroll_visible(animate=False)

    # -- moving deals --------------------------------------------------------------------------
    def action_move(self, step: int) -> None:
        """Move the focused deal `step` stages on (or back)."""
        self._move(step)

    @work(group="board-write")
    async def _move(self, step: int) -> None:
        # One move at a time: the next key press sees where the previous move put the deal.
        async with self._write_lock:
            column = self._focused_column()
            card = column.deals.current if column else None
            if card is None or self.pipeline is None:
                self.notify("Select a deal first.", severity="warning")
                return
            target = self.pipeline.neighbour(card.stage_id, step)
            if target is None:
                self.notify("This deal is already in the " + ("last" if step > 0 else "first") + " stage.")
                return
            session = session_of(self)
            reason: str | None = None
            if target.kind == "lost":
                reasons = await session.call(workspace_settings.lost_reasons)
                question = Content.assemble("Why was ", (safe_text(card.title), "bold"), " lost?")
                choice = await self.app.push_screen_wait(
                    ChoiceScreen(question, [Content(safe_text(r)) for r in reasons], tone="error")
                )
                if choice is None:
                    return
                reason = reasons[choice]
            try:
                await session.call(
                    deals.move_deal, session.ctx, card.id, target.id, from_stage_id=card.stage_id, lost_reason=reason
                )
            except ServiceError as error:
                self.notify(safe_text(str(error)), title="Not moved", severity="warning", markup=False)
                self.load(self.pipeline.id)
                return
            update = await session.call(
                board_service.refresh_columns, self.pipeline, [card.stage_id, target.id], focus=(target.id, card.id)
            )
            source = self._column(card.stage_id).deals
            row = source.highlighted
            for stage_id, page in update.pages.items():
                deal_list = self._column(stage_id).deals
                if stage_id == target.id:
                    deal_list.show(list(page.cards), page.has_more, focus_deal=card.id)
                else:
                    deal_list.show(list(page.cards), page.has_more, index=row)
            self._apply_totals(update.totals)
            self._focus_stage(target.id)

    # -- pipelines -----------------------------------------------------------------------------
    def action_pick_pipeline(self) -> None:
        """Choose another pipeline."""
        self._pick_pipeline()

    @work(group="board-pick")
    async def _pick_pipeline(self) -> None:
        pipelines = await session_of(self).call(board_service.list_pipelines)
        current = next((i for i, p in enumerate(pipelines) if self.pipeline and p.id == self.pipeline.id), 0)
        choices = [
            Content.assemble((safe_text(p.name), "bold" if i == current else ""), (f"  {len(p.stages)} stages", "$text-muted"))
            for i, p in enumerate(pipelines)
        ]
        chosen = await self.app.push_screen_wait(ChoiceScreen(Content.styled("Show pipeline", "bold"), choices, current=current))
        if chosen is not None:
            self.show_pipeline(pipelines[chosen].id)

    def show_pipeline(self, pipeline_id: int) -> None:
        """Switch the board to `pipeline_id`."""
        self.load(pipeline_id)
