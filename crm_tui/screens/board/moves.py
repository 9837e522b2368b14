"""Moving deals on the board (one stage on or back, or a jump through the stage picker) and undoing
the last moves and edits made since the app was opened."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from time import monotonic
from typing import TYPE_CHECKING, Any

from textual import work
from textual.content import Content

from crm_tui.screens.base import session_of
from crm_tui.screens.choice import ChoiceScreen
from crm_tui.services import board as board_service
from crm_tui.services import records, workspace_settings
from crm_tui.services.board import DealCard, StageInfo
from crm_tui.services.errors import ConflictError, ServiceError
from crm_tui.text import safe_text

if TYPE_CHECKING:
    from crm_tui.screens.board.screen import BoardScreen

_ECHO_SECONDS = 2.0
"""How long the bus's events about a record this board just wrote are known to be its own echo."""


@dataclass(frozen=True)
class MoveChain:
    """Moves of one deal typed ahead: where the last queued one puts it, and how many are queued."""

    stage_id: int
    generation: int
    queued: int


@dataclass(frozen=True)
class UndoStep:
    """Something the user did that `u` can take back."""

    kind: str  # "move", "edit", "create", "delete"
    deal_id: int
    title: str
    from_stage: int | None = None
    to_stage: int | None = None
    lost_reason: str | None = None
    entered_at: datetime | None = None
    closed_at: datetime | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


class Moves:
    """Mixin of BoardScreen: moves, the stage picker, undo."""

    def init_moves(self: BoardScreen) -> None:
        """Start with nothing to undo and no move queued."""
        self.undo_steps: list[UndoStep] = []
        self.move_chains: dict[int, MoveChain] = {}
        self.generations = 0
        self.recent_writes: dict[tuple[str, int], float] = {}

    def selected(self: BoardScreen) -> DealCard | None:
        """The deal under the cursor of the focused column."""
        column = self.focused_column()
        return column.cards.current if column else None

    def action_move(self: BoardScreen, step: int) -> None:
        """Move the selected deal `step` stages on (or back).

        The deal and its stage are taken when the key is pressed, so keys typed ahead (L j, L L L
        over a slow link) act on what the user saw: a burst of moves chains from where the previous
        one will have put the deal, and runs one at a time.
        """
        card = self.selected()
        if card is None or self.pipeline is None:
            self.notify("Select a deal first.", severity="warning")
            return
        chain = self.move_chains.get(card.id)
        start = chain.stage_id if chain else card.stage_id
        target = self.pipeline.neighbour(start, step)
        if target is None:
            self.notify("This deal is already in the " + ("last" if step > 0 else "first") + " stage.")
            return
        generation = chain.generation if chain else self._next_generation()
        self.move_chains[card.id] = MoveChain(target.id, generation, (chain.queued if chain else 0) + 1)
        self._move_by(replace(card, stage_id=start), target, generation)

    def _next_generation(self: BoardScreen) -> int:
        self.generations += 1
        return self.generations

    @work(exit_on_error=False, group="board-write")
    async def _move_by(self: BoardScreen, card: DealCard, target: StageInfo, generation: int) -> None:
        async with self._write_lock:
            chain = self.move_chains.get(card.id)
            if chain is None or chain.generation != generation:
                return  # an earlier move of this burst was refused or cancelled
            moved = await self.move_card(card, target)
            chain = self.move_chains[card.id]
            if not moved:
                del self.move_chains[card.id]
            elif chain.queued == 1:
                del self.move_chains[card.id]
            else:
                self.move_chains[card.id] = replace(chain, queued=chain.queued - 1)

    def action_move_to(self: BoardScreen) -> None:
        """Pick any stage of the pipeline for the selected deal (the one selected at the key)."""
        card = self.selected()
        if card is None or self.pipeline is None:
            self.notify("Select a deal first.", severity="warning")
        elif not self.dialog_pending():
            self._move_to(card)

    @work(exit_on_error=False, group="board-form")
    async def _move_to(self: BoardScreen, card: DealCard) -> None:
        assert self.pipeline is not None
        stages = list(self.pipeline.stages)
        current = next(i for i, stage in enumerate(stages) if stage.id == card.stage_id)
        choices = [
            Content.assemble(
                (safe_text(stage.name), "bold" if i == current else ""),
                (f"  {stage.probability}%" + ("  (now)" if i == current else ""), "$text-muted"),
            )
            for i, stage in enumerate(stages)
        ]
        question = Content.assemble("Move ", (safe_text(card.title), "bold"), " to")
        chosen = await self.app.push_screen_wait(ChoiceScreen(question, choices, current=current))
        if chosen is None or chosen == current:
            return
        async with self._write_lock:
            await self.move_card(card, stages[chosen])

    async def move_card(
        self: BoardScreen,
        card: DealCard,
        target: StageInfo,
        *,
        undoing: bool = False,
        reason: str | None = None,
        restore_times: tuple[datetime, datetime | None] | None = None,
    ) -> bool:
        """Move `card` to `target` through move_deal and show the result; False if refused."""
        session = session_of(self)
        assert self.pipeline is not None
        source = self.pipeline.stage(card.stage_id)
        if target.kind == "lost" and reason is None:
            reasons = await session.call(workspace_settings.lost_reasons)
            question = Content.assemble("Why was ", (safe_text(card.title), "bold"), " lost?")
            choice = await self.app.push_screen_wait(ChoiceScreen(question, [Content(safe_text(r)) for r in reasons], tone="error"))
            if choice is None:
                return False
            reason = reasons[choice]
        previous_reason = None
        if source.kind == "lost":
            previous_reason = (await session.call(records.get, "deal", card.id))["lost_reason"]
        self.recent_writes[("deal", card.id)] = monotonic()
        moves = {column.stage.id: column.cards.moves for column in self._columns()}
        try:
            update = await session.call(
                board_service.move_and_read, session.ctx, self.query_, card.id, target.id,
                from_stage_id=card.stage_id, lost_reason=reason, restore_times=restore_times,
                requests=self._requests(anchors={target.id: card.id}, only=[source.id, target.id]),
            )  # fmt: skip
        except ServiceError as error:
            self.notify(safe_text(str(error)), title="Not moved", severity="warning", markup=False)
            # Follow the deal to wherever it really is now, so the next key acts on it again.
            actual = error.theirs.get("stage_id") if isinstance(error, ConflictError) else None
            on_board = actual is not None and any(stage.id == actual for stage in self.pipeline.stages)
            await self.refresh_board(
                anchors={actual: card.id} if on_board else None, focus_stage=actual if on_board else None
            )
            return False
        if not undoing:
            self.undo_steps.append(
                UndoStep(
                    "move", card.id, card.title, source.id, target.id, previous_reason,
                    entered_at=card.stage_entered_at, closed_at=card.closed_at,
                )
            )  # fmt: skip
        if update.pipeline != self.query_.pipeline:  # the stages changed meanwhile: rebuild
            self.load(update.pipeline.id if update.pipeline else None, rebuild=True)
            return True
        moves[target.id] = None  # the moved card takes the cursor in its new column
        self.apply_update(update, moves_seen=moves)
        if not self._column(target.id).collapsed:
            self._focus_stage(target.id)
        return True

    def ignores(self: BoardScreen, entity: str, record_id: int) -> bool:
        """True for the bus's echoes of a write this board made (and has already shown) just now."""
        written = self.recent_writes.get((entity, record_id))
        return written is not None and monotonic() - written < _ECHO_SECONDS

    # -- undo ----------------------------------------------------------------------------------
    def action_undo(self: BoardScreen) -> None:
        """Take back the last move or edit made since the app was opened."""
        self._undo()

    @work(exit_on_error=False, group="board-write")
    async def _undo(self: BoardScreen) -> None:
        async with self._write_lock:
            if not self.undo_steps:
                self.notify("Nothing to undo.")
                return
            step = self.undo_steps.pop()
            session = session_of(self)
            title = safe_text(step.title)
            self.recent_writes[("deal", step.deal_id)] = monotonic()
            try:
                if step.kind == "move":
                    await self._undo_move(step)
                    return
                if step.kind == "edit":
                    assert step.before is not None and step.after is not None
                    current = await session.call(records.get, "deal", step.deal_id)
                    changed = [name for name, value in step.after.items() if current[name] != value]
                    if changed:  # someone changed what the edit set: their values stay
                        self.notify(
                            f"{title} was changed since ({', '.join(changed)}); nothing undone.", severity="warning", markup=False
                        )
                        return
                    await session.call(records.update, session.ctx, "deal", step.deal_id, step.before, version=current.version)
                    message = f"Undid the edit of {title}."
                elif step.kind == "delete":
                    restored = await session.call(records.restore, session.ctx, "deal", step.deal_id)
                    self.notify(f"Brought back {title}.", markup=False)
                    stage_id = restored["stage_id"]
                    on_board = self.pipeline is not None and any(s.id == stage_id for s in self.pipeline.stages)
                    await self.refresh_board(
                        anchors={stage_id: step.deal_id} if on_board else None, focus_stage=stage_id if on_board else None
                    )
                    return
                else:  # create
                    current = await session.call(records.get, "deal", step.deal_id)
                    await session.call(records.delete, session.ctx, "deal", step.deal_id, version=current.version)
                    message = f"Removed the new deal {title}."
            except ServiceError as error:
                self.notify(safe_text(str(error)), title="Cannot undo", severity="warning", markup=False)
                await self.refresh_board()
                return
            self.notify(message, markup=False)
            await self.refresh_board()

    async def _undo_move(self: BoardScreen, step: UndoStep) -> None:
        assert self.pipeline is not None and step.from_stage is not None and step.to_stage is not None
        session = session_of(self)
        snapshot = await session.call(records.get, "deal", step.deal_id)
        if snapshot["stage_id"] != step.to_stage:
            self.notify(f"{safe_text(step.title)} has moved since; nothing undone.", severity="warning", markup=False)
            return
        back = next((s for s in self.pipeline.stages if s.id == step.from_stage), None)
        if back is None:
            self.notify("That stage is no longer on this board; nothing undone.", severity="warning")
            return
        card = DealCard(
            step.deal_id, snapshot.version, step.to_stage, step.title, None, None, 0, "", None, snapshot["stage_entered_at"]
        )
        times = (step.entered_at, step.closed_at) if step.entered_at is not None else None
        if await self.move_card(card, back, undoing=True, reason=step.lost_reason, restore_times=times):
            self.notify(f"Moved {safe_text(step.title)} back to {safe_text(back.name)}.", markup=False)
