"""Rules pipelines and stages obey when they are deleted: nothing is ever deleted with its deals."""

from __future__ import annotations

from crm_tui.models import Deal, Stage
from crm_tui.services.errors import ServiceError
from crm_tui.services.unit import Txn


def live_deals_in(*, stage_id: int | None = None, pipeline_id: int | None = None) -> int:
    """How many live deals a stage or a pipeline holds."""
    query = Deal.select().where(Deal.deleted_at.is_null())
    if stage_id is not None:
        query = query.where(Deal.stage == stage_id)
    if pipeline_id is not None:
        query = query.where(Deal.pipeline == pipeline_id)
    return query.count()


def before_stage_delete(tx: Txn, stage_id: int) -> None:
    """A stage is archived only once it holds no deals."""
    held = live_deals_in(stage_id=stage_id)
    if held:
        raise ServiceError(
            f"this stage still holds {held:,} deal{'s' if held != 1 else ''}; move them to another stage first"
        )


def before_pipeline_delete(tx: Txn, pipeline_id: int) -> None:
    """A pipeline is archived only once it holds no deals; its stages are archived with it."""
    held = live_deals_in(pipeline_id=pipeline_id)
    if held:
        raise ServiceError(
            f"this pipeline still holds {held:,} deal{'s' if held != 1 else ''}; move or delete them first"
        )
    Stage.update(deleted_at=tx.now, version=Stage.version + 1).where(
        Stage.pipeline == pipeline_id, Stage.deleted_at.is_null()
    ).execute()
