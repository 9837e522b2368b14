"""Users: everyone who uses the workspace, with role, team, state and SSH keys. An admin adds
people (`a`), changes a role (`r`), a team (`t`) or a name (`e`), deactivates or lets back in
(`d`), and opens the field limits (`f`). Others see the list; the service refuses their changes."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.screen import Screen
from textual.widgets import DataTable, Static

from crm_tui.screens.base import ReportsWorkerErrors, session_of
from crm_tui.screens.choice import ChoiceScreen
from crm_tui.screens.confirm import ConfirmScreen
from crm_tui.screens.text_prompt import TextPromptScreen
from crm_tui.services import user_admin
from crm_tui.services.errors import ServiceError
from crm_tui.services.user_admin import ROLES, UserRow
from crm_tui.text import safe_text
from crm_tui.widgets.footer import BatchedFooter

ROLE_HELP = {
    "member": "edits their own and unassigned records; reads the rest",
    "manager": "also edits their team's records (everyone's without a team)",
    "admin": "edits everything and the settings: pipelines, fields, automations, users",
}


class UsersScreen(ReportsWorkerErrors, Screen[None]):
    """The users of the workspace; an admin's keys change them."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "add", "Add", tooltip="Add a user", id="users.add"),
        Binding("r", "role", "Role", tooltip="Change the highlighted user's role", id="users.role"),
        Binding("t", "team", "Team", tooltip="Put the highlighted user in a team", id="users.team"),
        Binding("e", "rename", "Rename", tooltip="Change the highlighted user's name", id="users.rename"),
        Binding("d", "toggle_active", "(De)activate", tooltip="Stop or allow the user signing in", id="users.active"),
        Binding("f", "limits", "Field limits", tooltip="Fields hidden from or read-only for a role", id="users.limits"),
        Binding("escape", "close", "Back", tooltip="Back", id="users.close"),
    ]
    def __init__(self) -> None:
        super().__init__()
        self.users: list[UserRow] = []
        self.role = "member"

    def compose(self) -> ComposeResult:
        """A title, the users, a hint."""
        yield Static("", id="users-title", classes="title-bar")
        yield DataTable(id="users", cursor_type="row", zebra_stripes=True, classes="framed")
        yield Static("", id="users-hint", classes="hint-bar")
        yield BatchedFooter()

    def on_mount(self) -> None:
        """Read the users and what the viewer may do."""
        table = self.query_one("#users", DataTable)
        for key, label, width in (("login", "Login", 16), ("name", "Name", 24), ("role", "Role", 8),
                                  ("team", "Team", 14), ("active", "Active", 6), ("keys", "SSH keys", 8)):  # fmt: skip
            table.add_column(Text(label), width=width, key=key)
        self.set_focus(table)
        self.load()

    @property
    def current(self) -> UserRow | None:
        """The highlighted user."""
        row = self.query_one("#users", DataTable).cursor_row
        return self.users[row] if self.users and 0 <= row < len(self.users) else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Changes are an admin's; the footer shows them only to admins."""
        if action in ("add", "role", "team", "rename", "toggle_active"):
            return self.role == "admin" and (action == "add" or self.current is not None)
        return True

    @work(group="users-read", exclusive=True, exit_on_error=False)
    async def load(self, follow: int | None = None) -> None:
        """Read the users; keep the cursor on `follow` (else the same user)."""
        session = session_of(self)
        keep = follow if follow is not None else (self.current.id if self.current else None)
        self.role = await session.call(user_admin.role_of, session.ctx.user_id)
        self.users = await session.call(user_admin.users)
        table = self.query_one("#users", DataTable)
        table.clear()
        for user in self.users:
            dim = "" if user.active else "dim"
            table.add_row(
                Content.styled(safe_text(user.login), dim), Content.styled(safe_text(user.name), dim),
                Content.styled(user.role, "bold" if user.role == "admin" else dim),
                Content.styled(safe_text(user.team or "—"), dim), Content("yes" if user.active else "no"),
                Content(str(user.keys) if user.keys else "—"), key=str(user.id),
            )  # fmt: skip
        ids = [user.id for user in self.users]
        if keep in ids:
            table.move_cursor(row=ids.index(keep))
        active = sum(1 for user in self.users if user.active)
        self.query_one("#users-title", Static).update(
            Content.assemble(("Users", "bold"), f"  {active} active of {len(self.users)} · you are {self.role}")
        )
        hint = (
            "a add · r role · t team · e rename · d (de)activate · f field limits · esc back"
            if self.role == "admin"
            else "Only an admin changes users · f field limits · esc back"
        )
        self.query_one("#users-hint", Static).update(Content(hint))
        self.refresh_bindings()

    # -- changes ---------------------------------------------------------------------------------
    @work(group="users-write", exit_on_error=False)
    async def change(self, user: UserRow, **changes: object) -> None:
        """Apply `changes` to `user`; a refusal is a toast."""
        session = session_of(self)
        try:
            await session.call(user_admin.change, session.ctx, user.login, **changes)
        except ServiceError as error:
            self.notify(safe_text(error), title="Not changed", severity="error", markup=False, timeout=8)
        self.load(follow=user.id)

    def action_add(self) -> None:
        """Ask for the new user's login, then add them as a member."""

        def answered(login: str | None) -> None:
            if login and login.strip():
                self.add(login.strip())

        self.app.push_screen(TextPromptScreen(Content("Login of the new user (their OS or SSH login):")), answered)

    @work(group="users-write", exit_on_error=False)
    async def add(self, login: str) -> None:
        """Add `login` as a member."""
        session = session_of(self)
        try:
            made = await session.call(user_admin.add, session.ctx, login)
        except ServiceError as error:
            self.notify(safe_text(error), title="Not added", severity="error", markup=False, timeout=8)
            return
        self.notify(f"Added {safe_text(made.login)} as a member: r changes the role.", markup=False)
        self.load(follow=made.id)

    def action_role(self) -> None:
        """Choose the highlighted user's role."""
        user = self.current
        if user is None:
            return
        labels = [Content.assemble((role, "bold"), (f"  {ROLE_HELP[role]}", "dim")) for role in ROLES]
        question = Content.assemble("Role of ", (safe_text(user.name), "bold"), ":")

        def chosen(index: int | None) -> None:
            if index is not None and ROLES[index] != user.role:
                self.change(user, role=ROLES[index])

        self.app.push_screen(ChoiceScreen(question, labels, current=ROLES.index(user.role)), chosen)

    def action_team(self) -> None:
        """Ask for the highlighted user's team (empty: none)."""
        user = self.current
        if user is None:
            return

        def answered(team: str | None) -> None:
            if team is not None and (team.strip() or None) != user.team:
                self.change(user, team=team.strip() or None)

        question = Content.assemble("Team of ", (safe_text(user.name), "bold"), " (empty for none):")
        self.app.push_screen(TextPromptScreen(question, value=safe_text(user.team or "")), answered)

    def action_rename(self) -> None:
        """Ask for the highlighted user's display name."""
        user = self.current
        if user is None:
            return

        def answered(name: str | None) -> None:
            if name and name.strip() and name != user.name:
                self.change(user, name=name.strip())

        question = Content.assemble("Name of ", (safe_text(user.login), "bold"), ":")
        self.app.push_screen(TextPromptScreen(question, value=safe_text(user.name)), answered)

    def action_toggle_active(self) -> None:
        """Deactivate the highlighted user (after asking), or let them in again."""
        user = self.current
        if user is None:
            return
        if not user.active:
            self.change(user, active=True)
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.change(user, active=False)

        ask = Content.assemble(
            "Deactivate ", (safe_text(user.name), "bold"), "?\n\n",
            ("They can no longer sign in or be assigned; their records and history stay.", "dim"),
        )  # fmt: skip
        self.app.push_screen(ConfirmScreen(ask, yes="Deactivate"), confirmed)

    def action_limits(self) -> None:
        """Open the field limits."""
        from crm_tui.screens.field_limits import FieldLimitsScreen

        self.app.push_screen(FieldLimitsScreen(editable=self.role == "admin"))

    def action_close(self) -> None:
        """Back."""
        self.dismiss(None)
