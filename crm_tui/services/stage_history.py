"""Writing a deal's stage history (StageChange rows): each row is a stay in a stage, from its `at`
to its `left_at`, the time of the deal's next change. Every write goes through here so that the
two stay in step: a new change ends the stay before it, and an undone move is taken out again.
Called inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from crm_tui.models import StageChange


def enter(deal_ids: Sequence[int], from_stage_id: int | None, to_stage_id: int, at: datetime, user_id: int | None) -> None:
    """Record that the deals moved from `from_stage_id` (None: newly created) to `to_stage_id` at `at`."""
    if not deal_ids:
        return
    StageChange.update(left_at=at).where(StageChange.deal.in_(list(deal_ids)), StageChange.left_at.is_null()).execute()
    StageChange.insert_many(
        [(deal_id, from_stage_id, to_stage_id, at, user_id) for deal_id in deal_ids],
        fields=[StageChange.deal, StageChange.from_stage, StageChange.to_stage, StageChange.at, StageChange.user],
    ).execute()


def enter_one(deal_id: int, from_stage_id: int | None, to_stage_id: int, at: datetime, user_id: int | None) -> int:
    """`enter` for one deal; returns the new row's id."""
    StageChange.update(left_at=at).where(StageChange.deal == deal_id, StageChange.left_at.is_null()).execute()
    return StageChange.insert(deal=deal_id, from_stage=from_stage_id, to_stage=to_stage_id, at=at, user=user_id).execute()


def take_back(deal_id: int, from_stage_id: int, to_stage_id: int) -> int | None:
    """Undo: if the deal's latest change is the move `from_stage_id` -> `to_stage_id`, delete it and
    let the stay before it run on (its `left_at` cleared); returns that stay's id. None if the
    latest change is another one (the caller then records the undo as a move of its own)."""
    rows = list(
        StageChange.select()
        .where(StageChange.deal == deal_id)
        .order_by(StageChange.at.desc(), StageChange.id.desc())
        .limit(2)
    )
    if len(rows) < 2 or (rows[0].from_stage_id, rows[0].to_stage_id) != (from_stage_id, to_stage_id):
        return None
    latest, before = rows
    StageChange.delete().where(StageChange.id == latest.id).execute()
    StageChange.update(left_at=None).where(StageChange.id == before.id).execute()
    return before.id


def redate_start(deal_id: int, at: datetime) -> None:
    """A deal made just now (one stay, still running) entered its stage at `at` instead: an import
    giving the times it was created or closed."""
    StageChange.update(at=at).where(StageChange.deal == deal_id, StageChange.left_at.is_null()).execute()
