"""The data tools on the app: import, find duplicates, clean up tags and normalise formats, each
opened from the palette (and the record lists' keys) on the record type in view."""

from __future__ import annotations

from collections.abc import Iterator

from textual.app import App, SystemCommand
from textual.screen import ModalScreen

from crm_tui.screens.base import server_files_refused

_PEOPLE = ("contact", "company", "lead")
_IMPORTABLE = ("company", "contact", "lead", "deal", "task", "note")


class DataTools:
    """Mixin for the app: actions that open the data tools, and their palette commands."""

    def _entity_in_view(self: App, allowed: tuple[str, ...], default: str) -> str | None:
        """The record type of the screen in view when it is one of `allowed`; None over a dialog."""
        if isinstance(self.screen, ModalScreen):
            return None
        entity = getattr(self.screen, "entity", None)
        return entity if entity in allowed else default

    def action_import(self) -> None:
        """Open the import wizard on the record type in view (contacts otherwise)."""
        from crm_tui.screens.import_wizard import ImportWizard

        entity = self._entity_in_view(_IMPORTABLE, "contact")  # type: ignore[attr-defined]
        if entity is not None and not isinstance(self.screen, ImportWizard) and not server_files_refused(self):  # type: ignore[attr-defined]
            self.push_screen(ImportWizard(entity))  # type: ignore[attr-defined]

    def action_duplicates(self) -> None:
        """Find duplicates among the record type in view (contacts otherwise)."""
        from crm_tui.screens.duplicates import DuplicatesScreen

        entity = self._entity_in_view(_PEOPLE, "contact")  # type: ignore[attr-defined]
        if entity is not None:
            self.push_screen(DuplicatesScreen(entity))  # type: ignore[attr-defined]

    def action_tag_cleanup(self) -> None:
        """Open the tag clean-up screen."""
        from crm_tui.screens.tag_cleanup import TagCleanupScreen

        if not isinstance(self.screen, ModalScreen):  # type: ignore[attr-defined]
            self.push_screen(TagCleanupScreen())  # type: ignore[attr-defined]

    def action_normalise(self) -> None:
        """Open the normalise dialog."""
        from crm_tui.screens.normalise_screen import NormaliseScreen

        if not isinstance(self.screen, ModalScreen):  # type: ignore[attr-defined]
            self.push_screen(NormaliseScreen())  # type: ignore[attr-defined]

    def action_users(self) -> None:
        """Open the users screen."""
        from crm_tui.screens.users import UsersScreen

        if not isinstance(self.screen, ModalScreen):  # type: ignore[attr-defined]
            self.push_screen(UsersScreen())  # type: ignore[attr-defined]

    def action_field_limits(self) -> None:
        """Open the field limits (an admin changes them; others read them)."""
        if not isinstance(self.screen, ModalScreen):  # type: ignore[attr-defined]
            self.run_worker(self._open_field_limits(), group="field-limits-open", exit_on_error=False)  # type: ignore[attr-defined]

    async def _open_field_limits(self) -> None:
        from crm_tui.screens.field_limits import FieldLimitsScreen
        from crm_tui.services import user_admin

        session = self.session  # type: ignore[attr-defined]
        role = await session.call(user_admin.role_of, session.ctx.user_id)
        self.push_screen(FieldLimitsScreen(editable=role == "admin"))  # type: ignore[attr-defined]

    def data_commands(self) -> Iterator[SystemCommand]:
        """The palette entries of the data tools."""
        yield SystemCommand(
            "Import records", "From a CSV or XLSX file: map columns, check, import; revert an import", self.action_import
        )
        yield SystemCommand("Find duplicates", "Likely duplicate contacts, companies or leads, to merge", self.action_duplicates)
        yield SystemCommand("Clean up tags", "Rename tags, merge two, delete unused ones", self.action_tag_cleanup)
        yield SystemCommand("Users", "Who uses the workspace: roles, teams, SSH keys, field limits", self.action_users)
        yield SystemCommand(
            "Field limits", "What members and managers may see and change, field by field", self.action_field_limits
        )
        yield SystemCommand(
            "Normalise stored values", "Emails, phones and web addresses in one format; the default country",
            self.action_normalise,
        )  # fmt: skip
