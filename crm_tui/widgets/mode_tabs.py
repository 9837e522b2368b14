"""The strip that names the app's places and their keys, with the current one marked."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

PLACES = (("f2", "Board", "board"), ("f3", "Deals", "deals"), ("f4", "Contacts", "contacts"),
          ("f5", "Companies", "companies"), ("f6", "Leads", "leads"), ("f7", "Dashboard", "dashboard"))  # fmt: skip
"""(key, label, app mode) of every place the function keys switch to."""


class ModeTabs(Static):
    """F2 Board · F3 Deals · …, the current place highlighted."""

    DEFAULT_CSS = """
    ModeTabs { height: 1; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, current: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.current = current

    def on_mount(self) -> None:
        """Draw the strip."""
        parts: list[Content | tuple[str, str] | str] = []
        for key, label, mode in PLACES:
            style = "bold reverse" if mode == self.current else ""
            parts += [(f" {key.upper()} {label} ", style), " "]
        self.update(Content.assemble(*parts))
