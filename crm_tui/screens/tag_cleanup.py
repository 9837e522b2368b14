"""Tag clean-up: every tag with how many companies, contacts, leads and deals carry it; `e` renames
the highlighted tag, `m` merges it into another, `d` deletes the tags nothing uses (after listing
them). A refused change (a name another tag has: merge instead) is shown as a toast."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.color import Color, ColorParseError
from textual.content import Content
from textual.screen import Screen
from textual.widgets import DataTable, Static

from crm_tui.screens.base import RefreshAtMostOncePerGap, ReportsWorkerErrors, session_of
from crm_tui.screens.choice import ChoiceScreen
from crm_tui.screens.confirm import ConfirmScreen
from crm_tui.screens.text_prompt import TextPromptScreen
from crm_tui.services import tag_admin
from crm_tui.services.errors import ServiceError
from crm_tui.services.tag_admin import TagUsage
from crm_tui.text import fit, safe_text
from crm_tui.widgets.footer import BatchedFooter

COUNTS = (
    ("companies", "Companies"),
    ("contacts", "Contacts"),
    ("leads", "Leads"),
    ("deals", "Deals"),
    ("total", "Total"),
)
"""The usage columns: TagUsage attribute, heading."""
SINGULAR = {"companies": "company", "contacts": "contact", "leads": "lead", "deals": "deal"}
COUNT_WIDTH = 9
LISTED = 30
"""Names a confirmation lists at most."""


def swatch(color: str | None) -> Content:
    """A dot in the tag's colour (nothing when it has none or it is not a colour)."""
    if not color:
        return Content("  ")
    try:
        parsed = Color.parse(color)
    except ColorParseError:
        return Content("  ")
    return Content.styled("● ", parsed.hex)


def usage_text(tag: TagUsage) -> str:
    """ "3 contacts, 1 deal" or "unused" """
    parts = [
        f"{count} {SINGULAR[key] if count == 1 else key}" for key, _ in COUNTS[:-1] if (count := getattr(tag, key))
    ]
    return ", ".join(parts) or "unused"


def names_list(names: list[str]) -> Content:
    """Tag names, quoted and comma-separated; a long list ends with how many more."""
    shown = [f"“{safe_text(name)}”" for name in names[:LISTED]]
    more = f" and {len(names) - LISTED} more" if len(names) > LISTED else ""
    return Content(", ".join(shown) + more)


class TagCleanupScreen(RefreshAtMostOncePerGap, ReportsWorkerErrors, Screen[None]):
    """Every tag and its use; rename, merge and delete unused ones."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("e", "rename", "Rename", tooltip="Rename the highlighted tag", id="tags.rename"),
        Binding("m", "merge", "Merge into…", tooltip="Move the tag's records to another tag and delete it", id="tags.merge"),
        Binding("d", "delete_unused", "Delete unused", tooltip="Delete every tag no record carries (asks first)",
                id="tags.delete_unused"),
        Binding("r", "refresh", "Refresh", show=False, tooltip="Read the tags again", id="tags.refresh"),
        Binding("escape", "close", "Back", tooltip="Back", id="tags.close"),
    ]  # fmt: skip
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[TagUsage] = []
        self._width = 0

    def compose(self) -> ComposeResult:
        """A title with the counts, the tags, a hint."""
        yield Static("", id="tags-title", classes="title-bar")
        yield DataTable(id="tags", cursor_type="row", zebra_stripes=True, classes="framed")
        yield Static("e rename · m merge into another tag · d delete the unused ones · esc back", id="tags-hint", classes="hint-bar")
        yield BatchedFooter()

    def on_mount(self) -> None:
        """Read the tags."""
        self.set_focus(self.query_one("#tags", DataTable))
        self.load()

    @property
    def current(self) -> TagUsage | None:
        """The highlighted tag."""
        table = self.query_one("#tags", DataTable)
        row = table.cursor_row
        return self.tags[row] if self.tags and 0 <= row < len(self.tags) else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Rename and merge need a tag (merge two); delete needs an unused one."""
        if action == "rename":
            return self.current is not None
        if action == "merge":
            return self.current is not None and len(self.tags) > 1
        if action == "delete_unused":
            return any(tag.total == 0 for tag in self.tags)
        return True

    # -- reading ---------------------------------------------------------------------------------
    @work(group="tags-read", exclusive=True, exit_on_error=False)
    async def load(self, follow: int | None = None) -> None:
        """Read the tags and their counts; keep the cursor on `follow` (else the same tag)."""
        self.loaded_now()
        keep = follow if follow is not None else (self.current.id if self.current else None)
        self.tags = await session_of(self).call(tag_admin.tag_usage)
        self._draw(keep)

    def _draw(self, keep: int | None) -> None:
        table = self.query_one("#tags", DataTable)
        place = table.cursor_row
        self._width = self.size.width
        name_width = max(12, self.size.width - 2 - 1 - 2 - len(COUNTS) * (COUNT_WIDTH + 2))
        table.clear(columns=True)
        table.add_column(Text("Tag"), width=name_width, key="name")
        for key, label in COUNTS:
            table.add_column(Text(label.rjust(COUNT_WIDTH)), width=COUNT_WIDTH, key=key)
        for tag in self.tags:
            name = fit(safe_text(tag.name), name_width - 2)
            counts = [
                Content.styled(f"{getattr(tag, key):>{COUNT_WIDTH},}", "bold" if key == "total" else ("dim" if not getattr(tag, key) else ""))
                for key, _ in COUNTS
            ]  # fmt: skip
            table.add_row(swatch(tag.color) + Content(name), *counts, key=str(tag.id))
        ids = [tag.id for tag in self.tags]
        if ids:
            table.move_cursor(row=ids.index(keep) if keep in ids else min(place, len(ids) - 1))
        unused = sum(1 for tag in self.tags if tag.total == 0)
        title: list[str | tuple[str, str]] = [
            ("Tags", "bold"),
            f"  {len(self.tags):,} tag{'s' if len(self.tags) != 1 else ''}",
        ]
        if unused:
            title.append((f" · {unused:,} unused", "$text-warning"))
        if not self.tags:
            title.append(("  ·  no tags yet: tag records from their pages or the lists", "dim"))
        self.query_one("#tags-title", Static).update(Content.assemble(*title))
        self.refresh_bindings()

    def on_resize(self, event: events.Resize) -> None:
        """The name column takes the width there is."""
        if self.tags and event.size.width != self._width:
            self._draw(self.current.id if self.current else None)

    # -- actions ---------------------------------------------------------------------------------
    def _failed(self, error: ServiceError, title: str) -> None:
        self.notify(safe_text(error), title=title, severity="error", markup=False, timeout=8)
        self.load()

    def action_rename(self) -> None:
        """Ask for the highlighted tag's new name."""
        tag = self.current
        if tag is None:
            return

        def answered(name: str | None) -> None:
            if name and name != tag.name:
                self.rename(tag, name)

        question = Content.assemble("Rename the tag “", safe_text(tag.name), f"” ({usage_text(tag)}) to:")
        self.app.push_screen(TextPromptScreen(question, value=safe_text(tag.name)), callback=answered)

    @work(group="tags-write", exit_on_error=False)
    async def rename(self, tag: TagUsage, name: str) -> None:
        """Rename `tag`; a name another tag has is refused (merge instead)."""
        session = session_of(self)
        try:
            await session.call(tag_admin.rename, session.ctx, tag.id, name)
        except ServiceError as error:
            self._failed(error, "Not renamed")
            return
        self.notify(f"Renamed “{safe_text(tag.name)}” to “{safe_text(name)}”.", markup=False)
        self.load(follow=tag.id)

    def action_merge(self) -> None:
        """Ask which tag the highlighted one goes into, confirm, merge."""
        source = self.current
        if source is None or len(self.tags) < 2:
            return
        targets = [tag for tag in self.tags if tag.id != source.id]
        labels = [Content.assemble(swatch(t.color), safe_text(t.name), (f"  {usage_text(t)}", "dim")) for t in targets]
        question = Content.assemble(
            "Merge the tag “", (safe_text(source.name), "bold"), f"” ({usage_text(source)}) into…"
        )

        def chosen(index: int | None) -> None:
            if index is None:
                return
            target = targets[index]
            ask = Content.assemble(
                "Merge “", (safe_text(source.name), "bold"), "” into “", (safe_text(target.name), "bold"), "”?\n\n",
                f"Its {usage_text(source)} get “", safe_text(target.name), "” instead, and “", safe_text(source.name),
                "” is deleted. Automation rules and saved views that name it follow.",
            )  # fmt: skip

            def confirmed(yes: bool | None) -> None:
                if yes:
                    self.merge(source, target)

            self.app.push_screen(ConfirmScreen(ask, yes="Merge"), callback=confirmed)

        self.app.push_screen(ChoiceScreen(question, labels), callback=chosen)

    @work(group="tags-write", exit_on_error=False)
    async def merge(self, source: TagUsage, target: TagUsage) -> None:
        """Merge `source` into `target`."""
        session = session_of(self)
        try:
            moved = await session.call(tag_admin.merge_tags, session.ctx, source.id, target.id)
        except ServiceError as error:
            self._failed(error, "Not merged")
            return
        links = f"{moved} record{'s' if moved != 1 else ''}"
        self.notify(f"Merged “{safe_text(source.name)}” into “{safe_text(target.name)}” ({links} moved).", markup=False)
        self.load(follow=target.id)

    def action_delete_unused(self) -> None:
        """List the unused tags, ask, delete them."""
        unused = [tag.name for tag in self.tags if tag.total == 0]
        if not unused:
            self.notify("Every tag is in use.", markup=False)
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.delete_unused(unused)

        count = f"{len(unused)} unused tag{'s' if len(unused) != 1 else ''}"
        ask = Content.assemble(
            (f"Delete {count}?", "bold"), "\n\n", names_list(unused),
            ("\n\nNo live record carries them. Tags an automation rule adds or tests for are kept.", "dim"),
        )  # fmt: skip
        self.app.push_screen(ConfirmScreen(ask, yes="Delete"), callback=confirmed)

    @work(group="tags-write", exit_on_error=False)
    async def delete_unused(self, listed: list[str]) -> None:
        """Delete the unused tags; say which went and which a rule kept."""
        session = session_of(self)
        try:
            deleted = await session.call(tag_admin.delete_unused, session.ctx)
        except ServiceError as error:
            self._failed(error, "Not deleted")
            return
        kept = [name for name in listed if name not in deleted]
        message = f"Deleted {len(deleted)} unused tag{'s' if len(deleted) != 1 else ''}"
        if kept:
            message += f"; kept {', '.join(safe_text(name) for name in kept[:LISTED])} (an automation rule names them)"
        self.notify(message + ".", markup=False)
        self.load()

    def action_refresh(self) -> None:
        """Read the tags again."""
        self.load()

    def action_close(self) -> None:
        """Back."""
        self.dismiss(None)
