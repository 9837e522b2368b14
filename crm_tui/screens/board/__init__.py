"""The pipeline board screen (split by concern: the screen, moving deals, editing deals, filters)."""

from crm_tui.screens.board.screen import BoardColumns, BoardScreen

__all__ = ["BoardColumns", "BoardScreen"]
