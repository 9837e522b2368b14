"""Deal operations with business rules beyond plain edits: moving between stages, and dating an
imported deal."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from crm_tui.events import DealStageChanged, RecordUpdated
from crm_tui.models import Deal, Stage
from crm_tui.schemas.fields import SafeStr
from crm_tui.services import records, stage_history
from crm_tui.services.context import Context
from crm_tui.services.errors import ConflictError, NotFound, ValidationFailed
from crm_tui.services.lookups import company_named
from crm_tui.services.records import Snapshot
from crm_tui.services.unit import write
from crm_tui.services.validation import validate


class _LostReason(BaseModel):
    lost_reason: SafeStr


def move_deal(
    ctx: Context,
    deal_id: int,
    to_stage_id: int,
    *,
    from_stage_id: int,
    lost_reason: str | None = None,
    restore_times: tuple[datetime, datetime | None] | None = None,
) -> Snapshot:
    """Move a deal to another stage, if it is still in `from_stage_id` (the stage the caller saw).

    One transaction updates the deal, sets `stage_entered_at`, sets `closed_at` when the new stage is
    won, lost or closed (and clears it when a deal is reopened), writes a StageChange row and an
    event-log row, and publishes DealStageChanged once after commit. A lost stage needs a reason.
    A deal that someone else has moved meanwhile raises ConflictError and nothing changes.

    `restore_times` (stage entered, closed) is for undo: the deal gets back the times it had, so
    "days in stage" does not restart, and the move it undoes leaves the stage history (see
    stage_history.take_back); the undo itself is in the event log like any move.
    """
    with write(ctx) as tx:
        deal = Deal.get_or_none(Deal.id == deal_id, Deal.deleted_at.is_null())
        if deal is None:
            raise NotFound("Deal", deal_id)
        target = Stage.get_or_none(Stage.id == to_stage_id, Stage.deleted_at.is_null())
        if target is None:
            raise ValidationFailed("Deal", {"stage_id": f"no stage #{to_stage_id}"})
        if deal.stage_id != from_stage_id:
            raise _moved_meanwhile(deal, from_stage_id, to_stage_id)
        if target.id == deal.stage_id:
            return records.get("deal", deal_id)
        reason: str | None = None
        if target.kind == "lost":
            if not (lost_reason or "").strip():
                raise ValidationFailed("Deal", {"lost_reason": "is required to move a deal to a lost stage"})
            reason = validate(_LostReason, {"lost_reason": lost_reason}, "Deal")["lost_reason"]
        closed_at = None if target.kind == "open" else tx.now
        entered_at = tx.now
        if restore_times is not None:
            entered_at, closed_at = restore_times[0], (restore_times[1] if target.kind != "open" else None)
        updated = (
            Deal.update(
                stage=target.id,
                pipeline=target.pipeline_id,
                stage_entered_at=entered_at,
                closed_at=closed_at,
                lost_reason=reason,
                updated_at=tx.now,
                version=Deal.version + 1,
            )
            .where(Deal.id == deal_id, Deal.stage == from_stage_id, Deal.deleted_at.is_null())
            .execute()
        )
        if updated != 1:
            raise _moved_meanwhile(Deal.get_by_id(deal_id), from_stage_id, to_stage_id)
        # An undo takes the move it undoes out of the stage history (the event log keeps both), so
        # the stay before it runs on unbroken, as the restored `stage_entered_at` says.
        change_id = stage_history.take_back(deal_id, target.id, from_stage_id) if restore_times is not None else None
        if change_id is None:
            change_id = stage_history.enter_one(deal_id, from_stage_id, target.id, tx.now, ctx.user_id)
        event_id = tx.log("deal.stage_changed", "deal", deal_id, field="stage_id", old=from_stage_id, new=target.id)
        side_changes = {}
        if deal.lost_reason != reason:
            side_changes["lost_reason"] = (deal.lost_reason, reason)
        if deal.pipeline_id != target.pipeline_id:
            side_changes["pipeline_id"] = (deal.pipeline_id, target.pipeline_id)
        if deal.closed_at != closed_at:
            side_changes["closed_at"] = (deal.closed_at, closed_at)
        side_ids = [
            tx.log("record.updated", "deal", deal_id, field=name, old=old, new=new)
            for name, (old, new) in side_changes.items()
        ]
        tx.emit(
            DealStageChanged(
                event_id=event_id,
                user_id=ctx.user_id,
                at=tx.now,
                deal_id=deal_id,
                pipeline_id=target.pipeline_id,
                from_stage_id=from_stage_id,
                to_stage_id=target.id,
                stage_change_id=change_id,
                to_kind=target.kind,
                lost_reason=reason,
            )
        )
        if side_changes:
            tx.emit(
                RecordUpdated(
                    event_id=side_ids[0], user_id=ctx.user_id, at=tx.now, entity="deal", record_id=deal_id, changes=side_changes
                )
            )
        return records.get("deal", deal_id)


def _moved_meanwhile(deal: Deal, expected_stage_id: int, to_stage_id: int) -> ConflictError:
    names = {stage.id: stage.name for stage in Stage.select().where(Stage.id.in_([expected_stage_id, deal.stage_id]))}
    return ConflictError(
        "deal",
        deal.id,
        deal.title,
        expected_version=None,
        actual_version=deal.version,
        mine={"stage_id": to_stage_id},
        theirs={"stage_id": deal.stage_id},
        reason=(
            f"deal {deal.title!r} is no longer in {names.get(expected_stage_id, '?')!r}: "
            f"someone moved it to {names.get(deal.stage_id, '?')!r}"
        ),
    )


def quick_save(
    ctx: Context,
    values: dict[str, object],
    *,
    company_name: str | None,
    deal_id: int | None = None,
    version: int | None = None,
) -> Snapshot:
    """Create a deal (in `values["stage_id"]`) or update `deal_id` at `version`, naming its company.

    A company name that matches no company creates one, in the same transaction, so a rep never has
    to leave the board to add one; an empty one clears it, and None leaves it as it is. Returns the
    deal as stored.
    """
    with write(ctx):
        data = dict(values)
        name = (company_name or "").strip()
        if name:
            data["company_id"] = company_named(name) or records.create(ctx, "company", {"name": name}).id
        elif company_name is not None:
            data["company_id"] = None
        if deal_id is None:
            data.setdefault("owner_id", ctx.user_id)  # a rep's new deal is theirs unless they say otherwise
            return records.create(ctx, "deal", data)
        assert version is not None
        return records.update(ctx, "deal", deal_id, data, version=version)


def backdate(deal_id: int, *, created_at: datetime | None = None, closed_at: datetime | None = None) -> None:
    """Give a deal made in this transaction (by an import) the times its file says it was created
    and, if won or lost, closed. It entered its stage when it closed, or when it was created while
    still open; its stage history moves with it. Call inside the transaction that made the deal."""
    deal = Deal.get_by_id(deal_id)
    columns: dict = {}
    if created_at is not None:
        columns[Deal.created_at] = created_at
    if closed_at is not None and deal.closed_at is not None:
        columns[Deal.closed_at] = closed_at
    entered = columns.get(Deal.closed_at) or (created_at if deal.closed_at is None else None)
    if entered is not None:
        columns[Deal.stage_entered_at] = entered
        stage_history.redate_start(deal_id, entered)
    if columns:
        Deal.update(columns).where(Deal.id == deal_id).execute()
