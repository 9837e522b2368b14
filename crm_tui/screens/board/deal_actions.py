"""Creating, opening, editing and deleting deals from the board (n, enter, e, d)."""

from __future__ import annotations

from datetime import date
from time import monotonic
from typing import TYPE_CHECKING

from textual import work
from textual.content import Content

from crm_tui.screens.base import session_of
from crm_tui.screens.board.moves import UndoStep
from crm_tui.screens.confirm import ConfirmScreen
from crm_tui.screens.deal_form import DealFormResult, DealFormScreen
from crm_tui.services import deal_detail, deals, lookups, records
from crm_tui.services.board import DealCard
from crm_tui.services.errors import ConflictError, ServiceError, ValidationFailed
from crm_tui.services.records import Snapshot
from crm_tui.money import format_money
from crm_tui.text import safe_text

if TYPE_CHECKING:
    from crm_tui.screens.board.screen import BoardScreen


def _errors(error: ServiceError) -> dict[str, str]:
    """A service refusal as messages per form field."""
    return error.errors if isinstance(error, ValidationFailed) else {"": str(error)}


_LABELS = {"title": "title", "company_id": "company", "amount": "amount", "expected_close": "expected close",
           "owner_id": "owner", "probability": "probability", "confidence": "confidence"}  # fmt: skip


def _describe_conflict(error: ConflictError, currency: str) -> str:
    """What a teammate saved meanwhile, in the words and units of the form."""

    def shown(name: str, value: object) -> str:
        if value is None:
            return "empty"
        if name in ("amount", "cost") and isinstance(value, int):
            return format_money(value, currency)
        if isinstance(value, date):
            return value.isoformat()
        return safe_text(value)

    theirs = [
        f"{_LABELS.get(d.field, d.field)} {shown(d.field, d.theirs)} (yours {shown(d.field, d.mine)})"
        for d in error.differences
        if d.field in _LABELS
    ]
    what = "; ".join(theirs) or "other fields"
    return f"Someone else saved this deal meanwhile: {what}. Save again to keep yours, or Esc to keep theirs."


class DealActions:
    """Mixin of BoardScreen: n, enter, e, d."""

    def action_new_deal(self: BoardScreen) -> None:
        """Add a deal to the focused column (the form opens at once: what is typed next is its title)."""
        if self.dialog_pending():
            return
        column = self.focused_column()
        if column is None:
            open_columns = [c for c in self._columns() if not c.collapsed]
            column = open_columns[0] if open_columns else None
        if column is None:
            self.notify("This pipeline has no stage to add a deal to.", severity="warning")
            return
        stage = column.stage
        if stage.kind == "lost":
            self.notify("A new deal starts in an open stage: move it here later to record why it was lost.")
            return
        session = session_of(self)
        saved: list[Snapshot] = []

        async def save(result: DealFormResult) -> dict[str, str] | None:
            try:
                snapshot = await session.call(
                    deals.quick_save, session.ctx, {**result.values, "stage_id": stage.id}, company_name=result.company_name
                )
            except ServiceError as error:
                return _errors(error)
            saved.append(snapshot)
            return None

        def added(result: DealFormResult | None) -> None:
            if result is not None and saved:
                self._show_new_deal(saved[0], stage.id)

        form = DealFormScreen(save, stage_name=stage.name, currency=self.currency, read_only=self.read_only)
        self.app.push_screen(form, callback=added)

    @work(exit_on_error=False, group="board-write")
    async def _show_new_deal(self: BoardScreen, deal: Snapshot, stage_id: int) -> None:
        self.undo_steps.append(UndoStep("create", deal.id, deal["title"]))
        self.recent_writes[("deal", deal.id)] = monotonic()
        async with self._write_lock:
            await self.refresh_board(anchors={stage_id: deal.id}, focus_stage=stage_id)
        self.notify(f"Added {safe_text(deal['title'])}.", markup=False)

    def action_open_deal(self: BoardScreen) -> None:
        """Open the selected deal's record screen (form, related records, timeline)."""
        card = self.selected()
        if card is None:
            self.notify("No deal here.")
        elif not self.dialog_pending():
            self.app.open_record("deal", card.id)

    def action_edit_deal(self: BoardScreen) -> None:
        """Edit the selected deal's essentials."""
        card = self.selected()
        if card is None:
            self.notify("Select a deal first.", severity="warning")
        elif not self.dialog_pending():
            self._edit_deal(card)

    @work(exit_on_error=False, group="board-form")
    async def _edit_deal(self: BoardScreen, card: DealCard) -> None:
        session = session_of(self)
        try:
            detail = await session.call(deal_detail.deal_detail, card.id)
            before = await session.call(records.get, "deal", card.id)
        except ServiceError as error:
            self.notify(safe_text(str(error)), severity="warning", markup=False)
            return
        users = await session.call(lookups.users)
        saved: list[Snapshot] = []
        version = [detail.version]

        async def save(result: DealFormResult) -> dict[str, str] | None:
            try:
                snapshot = await session.call(
                    deals.quick_save, session.ctx, result.values, company_name=result.company_name,
                    deal_id=detail.id, version=version[0],
                )  # fmt: skip
            except ConflictError as error:
                # Show what they saved; saving again is the rep's choice to keep their own values.
                version[0] = error.actual_version or version[0]
                return {"": _describe_conflict(error, detail.currency)}
            except ServiceError as error:
                return _errors(error)
            saved.append(snapshot)
            return None

        form = DealFormScreen(
            save, stage_name=detail.stage, currency=detail.currency, deal=detail, users=users, read_only=self.read_only
        )
        if await self.app.push_screen_wait(form) is None or not saved:
            return
        after = saved[0]
        fields = [name for name in ("title", "company_id", "amount", "expected_close", "owner_id", "probability", "confidence")
                  if after[name] != before[name]]  # fmt: skip
        if fields:
            self.undo_steps.append(
                UndoStep(
                    "edit", after.id, after["title"],
                    before={name: before[name] for name in fields}, after={name: after[name] for name in fields},
                )
            )  # fmt: skip
        self.recent_writes[("deal", after.id)] = monotonic()
        async with self._write_lock:
            await self.refresh_board(anchors={card.stage_id: after.id})

    def action_delete_deal(self: BoardScreen) -> None:
        """Delete the selected deal, after asking."""
        card = self.selected()
        if card is None:
            self.notify("Select a deal first.", severity="warning")
        elif not self.dialog_pending():
            self._delete_deal(card)

    @work(exit_on_error=False, group="board-form")
    async def _delete_deal(self: BoardScreen, card: DealCard) -> None:
        question = Content.assemble("Delete ", (safe_text(card.title), "bold"), "? (u brings it back)")
        if not await self.app.push_screen_wait(ConfirmScreen(question, yes="Delete")):
            return
        session = session_of(self)
        async with self._write_lock:
            self.recent_writes[("deal", card.id)] = monotonic()
            try:  # at the version the rep saw: a teammate's change since then is not thrown away
                await session.call(records.delete, session.ctx, "deal", card.id, version=card.version)
            except ServiceError as error:
                self.notify(safe_text(str(error)), title="Not deleted", severity="warning", markup=False)
                await self.refresh_board()
                return
            self.undo_steps.append(UndoStep("delete", card.id, card.title))
            await self.refresh_board()
        self.notify(f"Deleted {safe_text(card.title)}. Press u to bring it back.", markup=False)
