"""Editing pipelines and stages: add, rename, reorder, set probability, kind and rot days, and
delete — a stage's deals are moved elsewhere first (each move in its history), never deleted."""

from __future__ import annotations

from dataclasses import dataclass

from peewee import fn

from crm_tui.events import DealStageChanged
from crm_tui.models import Deal, Event, Pipeline, Stage, StageChange
from crm_tui.services import permissions, records, stage_history
from crm_tui.services.context import Context
from crm_tui.services.errors import NotFound, ValidationFailed
from crm_tui.services.records import Snapshot
from crm_tui.services.unit import to_json, write

NEW_PIPELINE_STAGES = [("New", 10, "open"), ("Won", 100, "won"), ("Lost", 0, "lost")]
_BATCH = 500


@dataclass(frozen=True)
class StageRow:
    """A stage as the editor lists it."""

    id: int
    version: int
    name: str
    position: int
    probability: int
    kind: str
    rot_days: int | None
    deals: int


@dataclass(frozen=True)
class PipelineRow:
    """A pipeline as the editor lists it."""

    id: int
    version: int
    name: str
    deals: int


def pipeline_rows() -> list[PipelineRow]:
    """Live pipelines with how many live deals each holds."""
    counts = dict(
        Deal.select(Deal.pipeline, fn.COUNT(Deal.id)).where(Deal.deleted_at.is_null()).group_by(Deal.pipeline).tuples()
    )
    query = Pipeline.select().where(Pipeline.deleted_at.is_null()).order_by(Pipeline.position, Pipeline.id)
    return [PipelineRow(p.id, p.version, p.name, counts.get(p.id, 0)) for p in query]


def stage_rows(pipeline_id: int) -> list[StageRow]:
    """A pipeline's live stages in order, with how many live deals each holds."""
    counts = dict(
        Deal.select(Deal.stage, fn.COUNT(Deal.id))
        .where(Deal.pipeline == pipeline_id, Deal.deleted_at.is_null())
        .group_by(Deal.stage)
        .tuples()
    )
    query = Stage.select().where(Stage.pipeline == pipeline_id, Stage.deleted_at.is_null()).order_by(Stage.position, Stage.id)
    return [StageRow(s.id, s.version, s.name, s.position, s.probability, s.kind, s.rot_days, counts.get(s.id, 0)) for s in query]


def first_open_stage(pipeline_id: int | None = None) -> int | None:
    """Where a new deal starts: the first open stage of `pipeline_id` (of the first live pipeline
    when None), or None if that pipeline is gone or has no open stage."""
    query = (
        Stage.select(Stage.id)
        .join(Pipeline)
        .where(Stage.kind == "open", Stage.deleted_at.is_null(), Pipeline.deleted_at.is_null())
        .order_by(Pipeline.position, Pipeline.id, Stage.position, Stage.id)
    )
    if pipeline_id is not None:
        query = query.where(Stage.pipeline == pipeline_id)
    stage = query.first()
    return None if stage is None else stage.id


def add_pipeline(ctx: Context, name: str) -> Snapshot:
    """A new pipeline, last in order, with a New, a Won and a Lost stage to start from."""
    with write(ctx):
        position = (Pipeline.select(fn.MAX(Pipeline.position)).where(Pipeline.deleted_at.is_null()).scalar() or 0) + 1
        pipeline = records.create(ctx, "pipeline", {"name": name, "position": position})
        for index, (stage, probability, kind) in enumerate(NEW_PIPELINE_STAGES):
            records.create(ctx, "stage", {"pipeline_id": pipeline.id, "name": stage, "probability": probability, "kind": kind, "position": index})
        return pipeline


def add_stage(ctx: Context, pipeline_id: int, values: dict[str, object]) -> Snapshot:
    """A new stage: an open one goes after the last open stage, a closed one at the end."""
    with write(ctx):
        rows = stage_rows(pipeline_id)
        kind = values.get("kind", "open")
        opens = [row for row in rows if row.kind == "open"]
        after = (opens[-1].position if opens else -1) if kind == "open" else (rows[-1].position if rows else -1)
        for row in rows:
            if row.position > after:
                records.update(ctx, "stage", row.id, {"position": row.position + 1}, version=row.version)
        return records.create(ctx, "stage", {**values, "pipeline_id": pipeline_id, "position": after + 1})


def move_stage(ctx: Context, stage_id: int, step: int) -> None:
    """Swap a stage with its neighbour `step` (-1 or +1) places away; positions are renumbered."""
    with write(ctx):
        stage = Stage.get_or_none(Stage.id == stage_id, Stage.deleted_at.is_null())
        if stage is None:
            raise NotFound("Stage", stage_id)
        rows = stage_rows(stage.pipeline_id)
        index = next(i for i, row in enumerate(rows) if row.id == stage_id)
        other = index + step
        if not 0 <= other < len(rows):
            return
        rows[index], rows[other] = rows[other], rows[index]
        for position, row in enumerate(rows):
            if row.position != position:
                records.update(ctx, "stage", row.id, {"position": position}, version=row.version)


def move_all_deals(ctx: Context, from_stage_id: int, to_stage_id: int, *, lost_reason: str | None = None) -> int:
    """Move every live deal of one stage to another, each with its own history row and event.

    Set-based (a batched UPDATE and batched inserts), so a stage of tens of thousands of deals holds
    the write lock for a moment, not for minutes.
    """
    with write(ctx) as tx:
        permissions.require_admin(tx.access, "move a whole stage's deals")  # its events are written in bulk
        target = Stage.get_or_none(Stage.id == to_stage_id, Stage.deleted_at.is_null())
        if target is None or to_stage_id == from_stage_id:
            raise ValidationFailed("Stage", {"stage_id": "choose another live stage to move the deals to"})
        if target.kind == "lost" and not (lost_reason or "").strip():
            raise ValidationFailed("Deal", {"lost_reason": "is required to move deals to a lost stage"})
        closed_at = None if target.kind == "open" else tx.now
        reason = lost_reason if target.kind == "lost" else None
        ids = [row.id for row in Deal.select(Deal.id).where(Deal.stage == from_stage_id, Deal.deleted_at.is_null())]
        last_event = Event.select(fn.MAX(Event.id)).scalar() or 0
        old, new = to_json(from_stage_id), to_json(target.id)
        for start in range(0, len(ids), _BATCH):
            chunk = ids[start : start + _BATCH]
            Deal.update(
                stage=target.id, pipeline=target.pipeline_id, stage_entered_at=tx.now, closed_at=closed_at,
                lost_reason=reason, updated_at=tx.now, version=Deal.version + 1,
            ).where(Deal.id.in_(chunk)).execute()  # fmt: skip
            stage_history.enter(chunk, from_stage_id, target.id, tx.now, ctx.user_id)
            Event.insert_many(
                [(tx.now, ctx.user_id, "deal.stage_changed", "deal", deal_id, "stage_id", old, new, tx.token) for deal_id in chunk],
                fields=[Event.at, Event.user, Event.kind, Event.entity, Event.record_id, Event.field, Event.old, Event.new, Event.txn],
            ).execute()
        events = dict(
            Event.select(Event.record_id, Event.id).where(Event.id > last_event, Event.txn == tx.token, Event.kind == "deal.stage_changed").tuples()
        )
        changes = dict(
            StageChange.select(StageChange.deal, StageChange.id)
            .where(StageChange.to_stage == target.id, StageChange.from_stage == from_stage_id, StageChange.at == tx.now)
            .tuples()
        )
        for deal_id in ids:
            tx.emit(
                DealStageChanged(
                    event_id=events.get(deal_id), user_id=ctx.user_id, at=tx.now, deal_id=deal_id, pipeline_id=target.pipeline_id,
                    from_stage_id=from_stage_id, to_stage_id=target.id, stage_change_id=changes.get(deal_id, 0),
                    to_kind=target.kind, lost_reason=reason,
                )
            )  # fmt: skip
        return len(ids)


def delete_stage(ctx: Context, stage_id: int, *, version: int, move_to: int | None = None, lost_reason: str | None = None) -> int:
    """Archive a stage, first moving its deals to `move_to` (required if it holds any); returns how
    many deals moved."""
    with write(ctx):
        moved = 0
        if Deal.select().where(Deal.stage == stage_id, Deal.deleted_at.is_null()).exists():
            if move_to is None:
                raise ValidationFailed("Stage", {"stage_id": "this stage holds deals: choose where they go"})
            moved = move_all_deals(ctx, stage_id, move_to, lost_reason=lost_reason)
        records.delete(ctx, "stage", stage_id, version=version)
        return moved
