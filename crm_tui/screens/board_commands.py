"""Board commands for the command palette (ctrl+p): every board action by name, each pipeline, and
each saved view. Help texts are fixed strings: the palette parses them as markup."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content

from crm_tui.screens.base import session_of
from crm_tui.screens.board import BoardScreen
from crm_tui.services import board as board_service
from crm_tui.services import lookups
from crm_tui.services.board import PipelineInfo
from crm_tui.services.board_filter import BoardFilter
from crm_tui.services.lookups import ViewChoice
from crm_tui.text import safe_text
from crm_tui.widgets.palette import highlight

Command = tuple[str, Callable[[], object], str]

ACTIONS: list[tuple[str, str, str]] = [
    ("Move deal to next stage", "move(1)", "shift+right or L"),
    ("Move deal to previous stage", "move(-1)", "shift+left or H"),
    ("Move deal to a stage…", "move_to", "m: pick any stage"),
    ("New deal", "new_deal", "n: add a deal to the focused column"),
    ("Open deal", "open_deal", "enter: everything about the deal"),
    ("Edit deal", "edit_deal", "e: title, company, amount, close date, owner"),
    ("Delete deal", "delete_deal", "d: asks first; u brings it back"),
    ("Undo", "undo", "u: take back the last move or edit"),
    ("Search the board", "search", "/: titles, companies, contacts"),
    ("Filter the board", "filters", "f: owner, tag, amount, close date, stale, mine"),
    ("Saved views", "views", "v: apply or save a view"),
    ("Clear filters", "clear_filters", "esc"),
    ("Choose pipeline", "pick_pipeline", "p"),
    ("Edit pipelines and stages", "edit_pipelines", "P"),
    ("Fold or unfold closed columns", "toggle_collapsed", "c"),
    ("Refresh board", "reload", "r"),
    ("Show keys", "keys", "?"),
]


class BoardCommands(Provider):
    """What the board can do, searchable by name."""

    pipelines: list[PipelineInfo] = []
    views: list[ViewChoice] = []

    async def startup(self) -> None:
        """Read the pipeline and view names once per palette opening."""
        if isinstance(self.screen, BoardScreen):
            session = session_of(self.screen)
            self.pipelines = await session.call(board_service.list_pipelines)
            self.views = await session.call(lookups.deal_views, session.ctx.user_id)

    def _commands(self) -> list[Command]:
        screen = self.screen
        if not isinstance(screen, BoardScreen):
            return []
        commands: list[Command] = [
            (name, partial(screen.run_action, action), f"Key: {keys}") for name, action, keys in ACTIONS
        ]
        commands += [
            (f"Show pipeline: {p.name}", partial(screen.show_pipeline, p.id), "Switch the board to this pipeline")
            for p in self.pipelines
        ]
        commands += [
            (f"View: {v.name}", partial(screen.apply_filter, BoardFilter.from_json(v.filters)), "Apply this saved view")
            for v in self.views
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
