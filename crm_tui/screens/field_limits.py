"""Field limits: every field of companies, contacts, leads and deals with what members and managers
may do with it. `m` and `g` step the highlighted field's limit for members or managers through
editable → read-only → hidden (a field that names or totals a record is never hidden)."""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.screen import Screen
from textual.widgets import DataTable, Static

from crm_tui.screens.base import ReportsWorkerErrors, session_of
from crm_tui.services import user_admin
from crm_tui.services.errors import ServiceError
from crm_tui.services.user_admin import LimitRow
from crm_tui.text import safe_text
from crm_tui.widgets.footer import BatchedFooter

SHOWN = {"": Content("editable"), "read": Content.styled("read-only", "$text-warning"),
         "hidden": Content.styled("hidden", "$text-error")}  # fmt: skip
FOLLOWS = Content.styled("hidden*", "$text-error")
"""A formula or lookup hidden because it reads a field hidden from the role (see the hint)."""


def next_limit(now: str, hideable: bool) -> str | None:
    """The limit after `now` in the cycle editable → read-only → hidden → editable (None: none)."""
    order = ["", "read", "hidden"] if hideable else ["", "read"]
    return order[(order.index(now) + 1) % len(order)] or None


class FieldLimitsScreen(ReportsWorkerErrors, Screen[None]):
    """The field limits table; an admin's `m` / `g` change them."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("m", "step('member')", "Members", tooltip="Next limit for members", id="limits.member"),
        Binding("g", "step('manager')", "Managers", tooltip="Next limit for managers", id="limits.manager"),
        Binding("escape", "close", "Back", tooltip="Back", id="limits.close"),
    ]
    def __init__(self, *, editable: bool) -> None:
        super().__init__()
        self.editable = editable
        self.rows: list[LimitRow] = []

    def compose(self) -> ComposeResult:
        """A title, the fields, a hint."""
        yield Static(Content.assemble(("Field limits", "bold"), "  admins always see and change every field"),
                     id="limits-title", classes="title-bar")  # fmt: skip
        yield DataTable(id="limits", cursor_type="row", zebra_stripes=True, classes="framed")
        hint = "m members · g managers: editable → read-only → hidden · esc back" if self.editable else "Only an admin changes limits · esc back"
        hint += " · * reads a hidden field"
        yield Static(Content(hint), id="limits-hint", classes="hint-bar")
        yield BatchedFooter()

    def on_mount(self) -> None:
        """Read the limits."""
        table = self.query_one("#limits", DataTable)
        for key, label, width in (("entity", "Record", 8), ("field", "Field", 34), ("member", "Members", 10),
                                  ("manager", "Managers", 10)):  # fmt: skip
            table.add_column(Text(label), width=width, key=key)
        self.set_focus(table)
        self.load()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Only an admin steps limits."""
        return self.editable if action == "step" else True

    @property
    def current(self) -> LimitRow | None:
        """The highlighted field."""
        row = self.query_one("#limits", DataTable).cursor_row
        return self.rows[row] if self.rows and 0 <= row < len(self.rows) else None

    @work(group="limits-read", exclusive=True, exit_on_error=False)
    async def load(self) -> None:
        """Read every field and its limits; the cursor stays where it was."""
        self.rows = await session_of(self).call(user_admin.limit_rows)
        table = self.query_one("#limits", DataTable)
        place = table.cursor_row
        table.clear()
        for row in self.rows:
            label = Content(safe_text(row.label)) + (Content.styled("  (never hidden)", "dim") if not row.hideable else Content(""))
            member, manager = (FOLLOWS if role in row.follows and not getattr(row, role) else SHOWN[getattr(row, role)]
                               for role in ("member", "manager"))  # fmt: skip
            table.add_row(Content(row.entity), label, member, manager, key=f"{row.entity}.{row.field}")
        if self.rows:
            table.move_cursor(row=min(place, len(self.rows) - 1))

    def action_step(self, role: str) -> None:
        """Step the highlighted field's limit for `role`."""
        row = self.current
        if row is None:
            return
        access = next_limit(getattr(row, role), row.hideable)
        # Known at once, so a quick second press steps on from here, not from the stored limit.
        self.rows[self.rows.index(row)] = replace(row, **{role: access or ""})
        self.step(row, role, access)

    @work(group="limits-write", exit_on_error=False)
    async def step(self, row: LimitRow, role: str, access: str | None) -> None:
        """Store the new limit; a refusal is a toast."""
        session = session_of(self)
        try:
            await session.call(user_admin.set_limit, session.ctx, row.entity, row.field, role, access)
        except ServiceError as error:
            self.notify(safe_text(error), title="Not changed", severity="error", markup=False, timeout=8)
        self.load()

    def action_close(self) -> None:
        """Back."""
        self.dismiss(None)
