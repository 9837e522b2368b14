"""The duplicate scan: likely duplicates among the contacts, companies or leads, grouped, best first.

The scan runs in a worker on a database thread of its own (the session's keeps serving the other
screens), with a progress bar; esc stops it. Each group shows its score and why its records were
grouped, then one line per record: enter merges the group (the merge screen), `o` opens the record
under the cursor, 1 / 2 / 3 scan contacts / companies / leads, `r` scans again, `n` normalises the
stored formats first (phones in one format meet more often)."""

from __future__ import annotations

import threading
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.screen import Screen
from textual.widgets import OptionList, ProgressBar, Static
from textual.widgets.option_list import Option

from crm_tui.screens.base import PolledProgress, ReportsWorkerErrors, open_record, own_session, stamp
from crm_tui.screens.merge_screen import MergeScreen
from crm_tui.services import dedupe
from crm_tui.services.dedupe import Candidate, DuplicateGroup
from crm_tui.services.errors import ServiceError
from crm_tui.services.merge import MergeResult
from crm_tui.text import safe_text
from crm_tui.widgets.footer import BatchedFooter

ENTITIES = ("contact", "company", "lead")
"""The record types a scan covers, in the order of their keys 1, 2, 3."""
PLURALS = {"contact": "contacts", "company": "companies", "lead": "leads"}
SHOWN_GROUPS = 1000
"""Groups listed at most (the best): merging a thousand is a day's work; a new scan finds the rest."""


def group_heading(group: DuplicateGroup, entity: str) -> Content:
    """ "━ 100  same email · same phone   2 contacts" """
    style = "bold $text-success" if group.score >= 95 else "bold $text-warning" if group.score >= 90 else "bold"
    return Content.assemble(
        ("━ ", "$accent"),
        (f"{group.score:>3}", style),
        "  ",
        (" · ".join(safe_text(reason) for reason in group.reasons), "$text-accent"),
        (f"   {len(group.records)} {PLURALS[entity]}", "dim"),
    )


def record_line(record: Candidate, id_width: int = 6) -> Content:
    """ "    #12   John Smith  jon@acme.com · Acme  updated 2026-03-01 09:00" """
    parts: list[str | tuple[str, str]] = [(f"    #{record.id:<{id_width}}  ", "dim"), (safe_text(record.title), "bold")]
    if record.detail:
        parts += ["  ", (safe_text(record.detail), "$text-muted")]
    if record.updated_at is not None:
        parts.append((f"  updated {stamp(record.updated_at)}", "dim"))
    return Content.assemble(*parts)


class DuplicatesScreen(ReportsWorkerErrors, Screen[None]):
    """Likely duplicates among the records of `entity`, to merge group by group."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # A priority binding: the list's own enter would hide "Merge" from the footer.
        Binding("enter", "merge", "Merge", priority=True, tooltip="Merge the group under the cursor", id="dupes.merge"),
        Binding("o", "open", "Open", tooltip="Open the record under the cursor", id="dupes.open"),
        Binding("1", "entity('contact')", "Contacts", show=False, tooltip="Find duplicate contacts", id="dupes.contacts"),
        Binding("2", "entity('company')", "Companies", show=False, tooltip="Find duplicate companies", id="dupes.companies"),
        Binding("3", "entity('lead')", "Leads", show=False, tooltip="Find duplicate leads", id="dupes.leads"),
        Binding("r", "rescan", "Scan again", tooltip="Scan again (after changes made elsewhere)", id="dupes.rescan"),
        Binding("n", "normalise", "Normalise", tooltip="Bring stored emails, phones and web addresses to one format",
                id="dupes.normalise"),
        Binding("escape", "stop_or_close", "Back", tooltip="Stop the scan, or close the screen", id="dupes.close"),
    ]  # fmt: skip
    DEFAULT_CSS = """
    DuplicatesScreen #dupes-title { height: 1; padding: 0 1; background: $panel; }
    DuplicatesScreen #dupes-status { height: auto; padding: 0 1; color: $text-muted; }
    DuplicatesScreen ProgressBar { height: 1; padding: 0 1; display: none; }
    DuplicatesScreen.-scanning ProgressBar { display: block; }
    DuplicatesScreen OptionList {
        height: 1fr; border: round $panel; text-wrap: nowrap; text-overflow: ellipsis;
    }
    DuplicatesScreen OptionList:focus { border: round $accent; }
    """

    def __init__(self, entity: str = "contact", *, threshold: int = 90) -> None:
        if entity not in ENTITIES:
            raise ValueError(f"duplicates are found among {', '.join(ENTITIES)}, not {entity!r}")
        super().__init__()
        self.entity = entity
        self.threshold = threshold
        """The fuzzy-name score (50-100) from which similar names count."""
        self.groups: list[DuplicateGroup] = []
        """The groups found by the last scan that are still listed."""
        self.found = 0
        """How many groups the last scan found (more may be found than listed)."""
        self.merged_groups = 0
        """How many of them were merged since."""
        self.scanning = False
        self._cancel = threading.Event()
        self._lines: dict[str, tuple[int, Candidate]] = {}
        """Option id -> (index in `groups`, the record on that line)."""

    def compose(self) -> ComposeResult:
        """Title (the record types and their keys), status, progress, then the groups."""
        yield Static("", id="dupes-title")
        yield Static("", id="dupes-status")
        yield ProgressBar(id="dupes-progress", show_eta=False)
        yield OptionList(id="groups")
        yield BatchedFooter()

    def on_mount(self) -> None:
        """Scan the record type it was opened on."""
        self.set_focus(self.query_one("#groups", OptionList))
        self._draw_title()
        self.scan()

    def on_unmount(self) -> None:
        """A scan still running stops (it would only read for a screen that is gone)."""
        self._cancel.set()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Merge and open need a record under the cursor, and nothing is merged mid-scan."""
        if action in ("merge", "open"):
            return not self.scanning and self.current is not None
        if action == "normalise":
            return not self.scanning
        return True

    def _draw_title(self) -> None:
        parts: list[str | tuple[str, str]] = [("Duplicates", "bold"), "  "]
        for key, entity in enumerate(ENTITIES, start=1):
            label = f" {key} {PLURALS[entity].capitalize()} "
            parts += [(label, "reverse bold" if entity == self.entity else "dim"), " "]
        parts.append((f"  names alike from {self.threshold}", "dim"))
        self.query_one("#dupes-title", Static).update(Content.assemble(*parts))

    def _say(self, text: str | Content) -> None:
        self.query_one("#dupes-status", Static).update(text if isinstance(text, Content) else Content(text))

    # -- scanning --------------------------------------------------------------------------------
    @work(group="dupes-scan", exclusive=True, exit_on_error=False)
    async def scan(self) -> None:
        """Scan `entity` on a database thread of its own and list the groups found."""
        cancel = threading.Event()
        self._cancel.set()  # a scan started before this one stops
        self._cancel = cancel
        progress = PolledProgress(self.query_one("#dupes-progress", ProgressBar))
        self.scanning = True
        self.add_class("-scanning")
        self.refresh_bindings()
        self._say(f"Looking for duplicate {PLURALS[self.entity]}… esc stops")
        self._fill([])
        try:
            # On the way out the scan is cancelled too: when the worker itself was (the screen closing).
            async with own_session(self, cancel=cancel, progress=progress) as own:
                groups = await own.call(
                    dedupe.scan, self.entity, progress=progress.report, threshold=self.threshold, cancel=cancel.is_set
                )
        except dedupe.Cancelled:
            if self._cancel is cancel:  # stopped by esc, not replaced by a newer scan
                self._say("The scan was stopped: press r to scan again.")
            return
        except ServiceError as error:
            self._say(Content.styled(safe_text(error), "$text-error"))
            return
        finally:
            if self._cancel is cancel:
                self.scanning = False
                self.remove_class("-scanning")
                self.refresh_bindings()
        self.found, self.merged_groups = len(groups), 0
        self._fill(groups[:SHOWN_GROUPS])

    def _fill(self, groups: list[DuplicateGroup], *, place: int | None = None) -> None:
        """List `groups`; the cursor goes to the first record line at or after `place`."""
        self.groups = groups
        box = self.query_one("#groups", OptionList)
        options: list[Option] = []
        self._lines = {}
        id_width = max((len(str(record.id)) for group in groups for record in group.records), default=1)
        for index, group in enumerate(groups):
            options.append(Option(group_heading(group, self.entity), disabled=True))
            for record in group.records:
                option_id = f"g{index}-{record.id}"
                self._lines[option_id] = (index, record)
                options.append(Option(record_line(record, id_width), id=option_id))
        if not groups and not self.scanning:
            options.append(Option(Content.styled(self._headline() + ".", "dim"), disabled=True))
        box.set_options(options)
        enabled = [i for i, option in enumerate(box.options) if not option.disabled]
        if enabled:
            start = place or 0
            box.highlighted = next((i for i in enabled if i >= start), enabled[-1])
        if not self.scanning:
            self._say(self._summary())
        self.refresh_bindings()

    def _headline(self) -> str:
        """What the last scan found (and is still listed), in a few words."""
        plural = PLURALS[self.entity]
        if not self.found:
            return f"No likely duplicates among the {plural}"
        if not self.groups:
            return f"Every group of likely duplicate {plural} found is merged"
        shown = len(self.groups)
        if self.found > SHOWN_GROUPS:
            return f"The best {shown:,} of {self.found - self.merged_groups:,} groups of likely duplicate {plural}"
        return f"{shown:,} group{'s' if shown != 1 else ''} of likely duplicate {plural}"

    def _summary(self) -> Content:
        """The headline, then the keys that apply."""
        if not self.found or not self.groups:
            keys = "  ·  r scans again"
        else:
            keys = "  ·  enter merges a group · o opens a record · r scans again"
        return Content.assemble(self._headline(), (keys, "dim"))

    # -- what is under the cursor ---------------------------------------------------------------
    @property
    def current(self) -> tuple[int, Candidate] | None:
        """(group index, record) of the line under the cursor, or None."""
        box = self.query_one("#groups", OptionList)
        option = box.highlighted_option
        return self._lines.get(option.id or "") if option is not None else None

    # -- actions ---------------------------------------------------------------------------------
    def action_merge(self) -> None:
        """Open the merge screen on the group under the cursor."""
        current = self.current
        if current is None or self.scanning:
            return
        group = self.groups[current[0]]
        self.app.push_screen(MergeScreen(self.entity, [record.id for record in group.records]), callback=self._merged)

    @on(OptionList.OptionSelected, "#groups")
    def _clicked(self, event: OptionList.OptionSelected) -> None:
        # Enter is the screen's (priority) binding; this is the mouse.
        self.action_merge()

    def _merged(self, result: MergeResult | None) -> None:
        """Back from the merge screen: a merged group (not undone) leaves the list."""
        if result is None:
            return
        gone = {result.survivor_id, *result.merged}
        place = self.query_one("#groups", OptionList).highlighted
        kept = [group for group in self.groups if not gone & {record.id for record in group.records}]
        self.merged_groups += len(self.groups) - len(kept)
        self._fill(kept, place=place)

    @work(group="dupes-open", exit_on_error=False)
    async def action_open(self) -> None:
        """Open the record under the cursor."""
        current = self.current
        if current is not None:
            await open_record(self, self.entity, current[1].id)

    def action_entity(self, entity: str) -> None:
        """Scan another record type (a scan running stops)."""
        if entity == self.entity and (self.scanning or self.groups):
            return
        self.entity = entity
        self._draw_title()
        self.scan()

    def action_rescan(self) -> None:
        """Scan again."""
        self.scan()

    def action_normalise(self) -> None:
        """Open the normalise dialog; scan again if it changed anything."""
        from crm_tui.screens.normalise_screen import NormaliseScreen

        self.app.push_screen(NormaliseScreen(), callback=self._normalised)

    def _normalised(self, changed: bool | None) -> None:
        if changed:
            self.scan()

    def action_stop_or_close(self) -> None:
        """Esc: stop a running scan, else go back."""
        if self.scanning:
            self._cancel.set()
            self._say("Stopping…")
            return
        self.dismiss(None)
