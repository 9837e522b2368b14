"""The strip that names the app's places and their keys, with the current one marked."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

PLACES = (("f2", "Board", "board"), ("f3", "Deals", "deals"), ("f4", "Contacts", "contacts"),
          ("f5", "Companies", "companies"), ("f6", "Leads", "leads"), ("f7", "Dashboard", "dashboard"),
          ("f8", "Tasks", "tasks"), ("f12", "Automations", "automations"))  # fmt: skip
"""(key, label, app mode) of every place the function keys switch to."""


class ModeTabs(Static):
    """F2 Board · F3 Deals · …, the current place highlighted; narrower forms on a narrow screen
    (no padding, then only the current place's name) so every key stays visible at 80 columns."""

    DEFAULT_CSS = """
    ModeTabs { height: 1; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, current: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.current = current

    def render(self) -> Content:
        """The widest form of the strip that fits."""
        width = self.content_region.width or 200
        for pad, names in ((" ", "all"), ("", "all"), ("", "current")):
            parts: list[tuple[str, str] | str] = []
            for key, label, mode in PLACES:
                here = mode == self.current
                text = f"{key.upper()} {label}" if names == "all" or here else key.upper()
                parts += [(f"{pad}{text}{pad}", "bold reverse" if here else ""), " "]
            strip = Content.assemble(*parts[:-1])
            if strip.cell_length <= width:
                break
        return strip
