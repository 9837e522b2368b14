"""Bulk actions on the records selected in a list: set the owner, add or remove a tag, move deals
to a stage, delete and restore. Each runs in one transaction (all or nothing) and goes through the
record services, so every record's history and events are kept."""

from __future__ import annotations

from collections.abc import Iterable

from crm_tui.models import TAG_LINKS, Deal, Stage, Tag
from crm_tui.services import deals, records
from crm_tui.services.context import Context
from crm_tui.services.custom_field_types import RECORD_MODELS
from crm_tui.services.errors import NotFound, ServiceError
from crm_tui.services.unit import write


def _current(entity: str, ids: Iterable[int]) -> list[tuple[int, int]]:
    """(id, version) of the records `ids`, read in one query; one that is gone is an error."""
    wanted = list(dict.fromkeys(ids))
    model = RECORD_MODELS[entity]
    live = model.select(model.id, model.version).where(model.id.in_(wanted), model.deleted_at.is_null())
    versions = dict(live.tuples())
    missing = [record_id for record_id in wanted if record_id not in versions]
    if missing:
        raise NotFound(model.__name__, missing[0])
    return [(record_id, versions[record_id]) for record_id in wanted]


def set_owner(ctx: Context, entity: str, ids: list[int], owner_id: int | None) -> int:
    """Give the records to `owner_id` (None: nobody); returns how many changed."""
    changed = 0
    with write(ctx):
        for record_id, version in _current(entity, ids):
            after = records.update(ctx, entity, record_id, {"owner_id": owner_id}, version=version)
            changed += after.version != version
    return changed


def tag(ctx: Context, entity: str, ids: list[int], tag_id: int, *, add: bool = True) -> int:
    """Add the tag to (or remove it from) the records; returns how many changed."""
    link, column = TAG_LINKS[entity]
    if Tag.get_or_none(Tag.id == tag_id) is None:
        raise NotFound("Tag", tag_id)
    record = getattr(link, column)
    with write(ctx) as tx:
        live = [record_id for record_id, _ in _current(entity, ids)]
        tagged = {row[0] for row in link.select(record).where(link.tag == tag_id, record.in_(live)).tuples()}
        changing = [record_id for record_id in live if (record_id in tagged) != add]
        if add and changing:
            link.insert_many([(tag_id, record_id) for record_id in changing], fields=[link.tag, record]).execute()
        elif changing:
            link.delete().where(link.tag == tag_id, record.in_(changing)).execute()
        for record_id in changing:
            kind, old, new = ("tag.added", None, tag_id) if add else ("tag.removed", tag_id, None)
            tx.log(kind, entity, record_id, field="tags", old=old, new=new)
    return len(changing)


def move_deals(ctx: Context, ids: list[int], stage_id: int, *, lost_reason: str | None = None) -> int:
    """Move the deals to `stage_id` (each keeps its stage history); returns how many moved."""
    stage = Stage.get_or_none(Stage.id == stage_id, Stage.deleted_at.is_null())
    if stage is None:
        raise NotFound("Stage", stage_id)
    moved = 0
    with write(ctx):
        for deal_id in ids:
            deal = Deal.get_or_none(Deal.id == deal_id, Deal.deleted_at.is_null())
            if deal is None:
                raise NotFound("Deal", deal_id)
            if deal.stage_id == stage_id:
                continue
            deals.move_deal(
                ctx,
                deal_id,
                stage_id,
                from_stage_id=deal.stage_id,
                lost_reason=lost_reason,
            )
            moved += 1
    return moved


def delete(ctx: Context, entity: str, ids: list[int]) -> list[int]:
    """Delete the records (they can be restored); returns the ids deleted."""
    done = []
    with write(ctx):
        for record_id, version in _current(entity, ids):
            records.delete(ctx, entity, record_id, version=version)
            done.append(record_id)
    return done


def restore(ctx: Context, entity: str, ids: list[int]) -> int:
    """Bring deleted records back (the undo of `delete`)."""
    if not ids:
        raise ServiceError("nothing to restore")
    with write(ctx):
        for record_id in ids:
            records.restore(ctx, entity, record_id)
    return len(ids)
