"""Small helpers shared by tests."""

from __future__ import annotations

from typing import Any

from crm_tui.services import board, records
from crm_tui.services.board import PipelineInfo
from crm_tui.services.context import Context
from crm_tui.services.records import Snapshot


def sales() -> PipelineInfo:
    """The default Sales pipeline."""
    return board.list_pipelines()[0]


def stage_named(name: str) -> int:
    """The id of the Sales stage called `name`."""
    return next(stage.id for stage in sales().stages if stage.name == name)


def make_deal(ctx: Context, title: str = "Acme renewal", stage: str = "Qualification", **values: Any) -> Snapshot:
    """Create a deal in the Sales stage `stage`."""
    return records.create(ctx, "deal", {"title": title, "stage_id": stage_named(stage), **values})
