"""Which pipeline the board shows (p, the palette), the pipelines editor (P), and the keys (?)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work
from textual.content import Content

from crm_tui.screens.base import session_of
from crm_tui.screens.choice import ChoiceScreen
from crm_tui.services import board as board_service
from crm_tui.text import safe_text

if TYPE_CHECKING:
    from crm_tui.screens.board.screen import BoardScreen


class PipelineChoice:
    """Mixin of BoardScreen: p, P and ?."""

    def action_pick_pipeline(self: BoardScreen) -> None:
        """Choose another pipeline."""
        if not self.dialog_pending():
            self._pick_pipeline()

    @work(exit_on_error=False, group="board-form")
    async def _pick_pipeline(self: BoardScreen) -> None:
        pipelines = await session_of(self).call(board_service.list_pipelines)
        current = next((i for i, p in enumerate(pipelines) if self.pipeline and p.id == self.pipeline.id), 0)
        choices = [
            Content.assemble((safe_text(p.name), "bold" if i == current else ""), (f"  {len(p.stages)} stages", "$text-muted"))
            for i, p in enumerate(pipelines)
        ]
        chosen = await self.app.push_screen_wait(ChoiceScreen(Content.styled("Show pipeline", "bold"), choices, current=current))
        if chosen is not None:
            self.show_pipeline(pipelines[chosen].id)

    def show_pipeline(self: BoardScreen, pipeline_id: int) -> None:
        """Switch the board to `pipeline_id` (remembered for next time)."""
        self.load(pipeline_id)

    def action_edit_pipelines(self: BoardScreen) -> None:
        """Open the pipelines and stages editor."""
        from crm_tui.screens.pipelines import PipelinesScreen

        self.app.push_screen(PipelinesScreen(), callback=lambda _: self.load(self.pipeline.id if self.pipeline else None))

    def action_keys(self: BoardScreen) -> None:
        """Show every key of the board."""
        from crm_tui.screens.keys import KeysScreen

        self.app.push_screen(KeysScreen(self))
