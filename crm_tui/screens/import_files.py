"""Finding the file to import from the keyboard: a path field that completes with tab, and a file
browser that shows folders and importable files only (names drawn as plain text, never markup)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

from rich.text import Text, TextType
from textual.binding import Binding, BindingType
from textual.suggester import Suggester
from textual.widgets import DirectoryTree, Input

from crm_tui.text import safe_text

SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm")
"""The files the browser and the completion offer."""


def _importable(entry: os.DirEntry[str] | Path) -> bool:
    """Whether the browser and the completion offer `entry`: a folder or a file with one of
    SUFFIXES, not hidden (a name starting with ".")."""
    if entry.name.startswith("."):
        return False
    try:
        return entry.is_dir() or entry.name.lower().endswith(SUFFIXES)
    except OSError:
        return False


def complete_path(text: str) -> str | None:
    """`text` completed as far as the folder's entries agree ("~/Dow" -> "~/Downloads/"), or
    None when nothing longer matches. Folders end in "/"; only importable files are offered."""
    if not text:
        return None
    typed_dir, _, prefix = text.rpartition("/")
    folder = Path(os.path.expanduser(typed_dir + "/" if typed_dir or text.startswith("/") else "."))
    try:
        with os.scandir(folder) as entries:
            names = sorted(
                entry.name + ("/" if entry.is_dir() else "")
                for entry in entries
                if entry.name.startswith(prefix) and _importable(entry)
            )
    except OSError:
        return None
    if not names:
        return None
    common = os.path.commonprefix(names) if len(names) > 1 else names[0]
    completed = (f"{typed_dir}/" if "/" in text else "") + common
    return completed if len(completed) > len(text) else None


class PathSuggester(Suggester):
    """Shows the completion `complete_path` would make, greyed after the cursor."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        """The completed path (the folder is read again each time: files come and go)."""
        return complete_path(value)


class PathInput(Input):
    """A path field: tab completes the path (or moves on when there is nothing to complete)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "complete", "Complete", show=False, tooltip="Complete the path", id="import.complete"),
    ]

    def __init__(self, *, placeholder: str = "", id: str | None = None, compact: bool = False) -> None:
        super().__init__(placeholder=placeholder, id=id, compact=compact, suggester=PathSuggester())

    def action_complete(self) -> None:
        """Complete the path as far as it is certain; else go to the next field."""
        completed = complete_path(self.value) if self.cursor_at_end else None
        if completed:
            self.value = completed
            self.cursor_position = len(completed)
        else:
            self.screen.focus_next()


class FileTree(DirectoryTree):
    """A directory tree of folders and importable files, hidden ones left out."""

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        """Folders and importable files (`_importable`), hidden ones left out."""
        return [path for path in paths if _importable(path)]

    def process_label(self, label: TextType) -> Text:
        """A file name as plain text, without what a terminal would interpret (DirectoryTree's own
        already keeps a name like "ACME [/] Corp.csv" from being read as markup)."""
        return super().process_label(safe_text(label) if isinstance(label, str) else label)
