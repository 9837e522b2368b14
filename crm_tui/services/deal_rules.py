"""Rules a deal obeys when it is created: it takes its pipeline from its stage, starts its stage
history, and is closed from the start if created in a won, lost or closed stage."""

from __future__ import annotations

from typing import Any

from crm_tui.models import Stage
from crm_tui.services import stage_history
from crm_tui.services.errors import ValidationFailed
from crm_tui.services.unit import Txn
from crm_tui.services.workspace_settings import currency


def defaults(data: dict[str, Any]) -> dict[str, Any]:
    """Fill what a new deal may leave out: the workspace currency."""
    return {"currency": currency(), **data}


def before_insert(tx: Txn, values: dict[str, Any]) -> dict[str, Any]:
    """Check the stage, derive the pipeline, and return the columns set by the system."""
    stage = Stage.get_or_none(Stage.id == values["stage_id"], Stage.deleted_at.is_null())
    if stage is None:
        raise ValidationFailed("Deal", {"stage_id": f"no stage #{values['stage_id']}"})
    if values.get("pipeline_id") not in (None, stage.pipeline_id):
        raise ValidationFailed("Deal", {"stage_id": f"stage {stage.name!r} is not in pipeline #{values['pipeline_id']}"})
    if stage.kind == "lost" and not values.get("lost_reason"):
        raise ValidationFailed("Deal", {"lost_reason": "is required for a lost deal"})
    values["pipeline_id"] = stage.pipeline_id
    return {"stage_entered_at": tx.now, "closed_at": None if stage.kind == "open" else tx.now}


def after_insert(tx: Txn, deal_id: int, values: dict[str, Any]) -> None:
    """Open the deal's stage history with its first stage."""
    stage_history.enter_one(deal_id, None, values["stage_id"], tx.now, tx.ctx.user_id)
