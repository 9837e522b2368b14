"""Board commands for the command palette (ctrl+p): moves, refresh and pipeline switching."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content

from crm_tui.screens.base import session_of
from crm_tui.screens.board import BoardScreen
from crm_tui.services import board as board_service
from crm_tui.services.board import PipelineInfo
from crm_tui.text import safe_text
from crm_tui.widgets.palette import highlight

Command = tuple[str, Callable[[], object], str]


class BoardCommands(Provider):
    """What the board can do, searchable by name. Help texts are fixed strings (they are markup)."""

    pipelines: list[PipelineInfo] = []

    async def startup(self) -> None:
        """Read the pipeline names once per palette opening."""
        if isinstance(self.screen, BoardScreen):
            self.pipelines = await session_of(self.screen).call(board_service.list_pipelines)

    def _commands(self) -> list[Command]:
        screen = self.screen
        if not isinstance(screen, BoardScreen):
            return []
        commands: list[Command] = [
            ("Move deal to next stage", partial(screen.action_move, 1), "Move the selected deal one stage on"),
            ("Move deal to previous stage", partial(screen.action_move, -1), "Move the selected deal one stage back"),
            ("Choose pipeline", screen.action_pick_pipeline, "Pick which pipeline the board shows"),
            ("Refresh board", screen.action_reload, "Read the board again from the database"),
        ]
        commands += [
            (f"Show pipeline: {pipeline.name}", partial(screen.show_pipeline, pipeline.id), "Switch the board to this pipeline")
            for pipeline in self.pipelines
        ]
        return commands

    async def discover(self) -> Hits:
        """Every board command, before anything is typed."""
        for name, callback, help_text in self._commands():
            yield DiscoveryHit(Content(safe_text(name)), callback, text=name, help=help_text)

    async def search(self, query: str) -> Hits:
        """Board commands matching `query`."""
        matcher = self.matcher(query)
        for name, callback, help_text in self._commands():
            score = matcher.match(safe_text(name))
            if score > 0:
                yield Hit(score, highlight(matcher, name), callback, text=name, help=help_text)
