"""The footer every crm screen shows: Textual's, drawn once per burst of key binding changes."""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class BatchedFooter(Footer):
    """Textual's Footer, which recomposes once per burst of binding changes instead of once per
    change: a new screen changes its bindings four or five times before its first frame (mount,
    focus, each widget that takes the focus), and each recompose cost a mount, a layout and a frame."""

    _recompose_queued = False

    def bindings_changed(self, screen: Screen) -> None:
        """The bindings changed: recompose after the next refresh, unless that is already queued
        (the recompose reads the bindings as they are then, so one covers every change before it)."""
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen and not self._recompose_queued:
            self._recompose_queued = True
            self.call_after_refresh(self._recompose_once)

    async def _recompose_once(self) -> None:
        self._recompose_queued = False
        await self.recompose()
