"""The imports made so far, and reverting one: what it created is removed again, what it updated
gets its previous values back.

A value someone changed after the import is left as it is (and counted), so a revert never
undoes later work. Created companies, contacts, leads and deals are deleted the way a person
deletes them (hidden, restorable); created tasks and notes are erased; created tags and stages
are removed when nothing else uses them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from peewee import JOIN

from crm_tui.models import Event, ImportBatch, ImportItem, User
from crm_tui.services import bulk, computed_fields, permissions, records, search_index, tag_admin
from crm_tui.services.context import Context
from crm_tui.services.entities import spec_for
from crm_tui.services.errors import NotFound, ServiceError
from crm_tui.services.sql_util import among, insert_rows
from crm_tui.services.unit import to_json, write

CHUNK = 900


@dataclass(frozen=True)
class BatchRow:
    """One import as the list of imports shows it."""

    id: int
    entity: str
    file_name: str
    at: datetime
    user: str
    mode: str
    counts: dict[str, int]
    reverted_at: datetime | None


@dataclass
class RevertReport:
    """What a revert did."""

    batch_id: int
    removed: dict[str, int] = field(default_factory=dict)
    restored: int = 0
    kept: list[str] = field(default_factory=list)
    """Values and records left alone because they changed after the import."""

    def lines(self) -> list[str]:
        """The report as plain lines."""
        removed = ", ".join(f"{count} {entity}" for entity, count in sorted(self.removed.items())) or "nothing"
        out = [f"Import #{self.batch_id} reverted: removed {removed}; restored {self.restored} updated records."]
        out += [f"kept: {text}" for text in self.kept]
        return out


def batches(limit: int = 50) -> list[BatchRow]:
    """The latest imports, newest first."""
    query = (
        ImportBatch.select(ImportBatch, User.login)
        .join(User, on=ImportBatch.user == User.id, join_type=JOIN.LEFT_OUTER)
        .order_by(ImportBatch.id.desc())
        .limit(limit)
    )
    return [
        BatchRow(
            row.id, row.entity, row.file_name, row.created_at, getattr(row.user, "login", "") or "", row.mode,
            dict(row.counts or {}), row.reverted_at,
        )
        for row in query
    ]


def revert(ctx: Context, batch_id: int) -> RevertReport:
    """Undo import `batch_id` in one transaction (see the module docstring)."""
    report = RevertReport(batch_id)
    with write(ctx) as tx:
        batch = ImportBatch.get_or_none(ImportBatch.id == batch_id)
        if batch is None:
            raise NotFound("Import", batch_id)
        if batch.reverted_at is not None:
            raise ServiceError(f"import #{batch_id} was already reverted on {batch.reverted_at:%Y-%m-%d %H:%M}")
        if batch.user_id != ctx.user_id and not tx.access.admin:
            # Its records may be anyone's by now; the bulk removal below checks no owner.
            raise permissions.PermissionDenied(f"import #{batch_id} was run by someone else: only they or an admin can revert it")
        items = list(
            ImportItem.select(ImportItem.entity, ImportItem.record_id, ImportItem.action, ImportItem.before, ImportItem.after)
            .where(ImportItem.batch == batch_id)
            .order_by(ImportItem.id.desc())
            .tuples()
        )
        for entity, record_id, action, before, after in items:
            if action == "updated":
                _restore(ctx, entity, record_id, before or {}, after or {}, report)
        created: dict[str, list[int]] = {}
        for entity, record_id, action, _, after in items:
            if action == "created":  # a bulk insert keeps the ids of a whole chunk in one item
                created.setdefault(entity, []).extend((after or {}).get("ids") or [record_id])
        for entity in ("note", "task", "deal", "lead", "contact", "company"):
            if entity in created:
                report.removed[_label(entity)] = _remove(tx, entity, created[entity])
        for entity in ("tag", "stage"):
            if entity in created:
                report.removed[_label(entity)] = _remove_unused(ctx, entity, created[entity], report)
        ImportBatch.update(reverted_at=tx.now).where(ImportBatch.id == batch_id).execute()
        tx.log("import.reverted", "import", batch_id)
    return report


def _label(entity: str) -> str:
    return {"company": "companies"}.get(entity, f"{entity}s")


def _restore(ctx: Context, entity: str, record_id: int, before: dict[str, Any], after: dict[str, Any], report: RevertReport) -> None:
    try:
        current = records.get(entity, record_id)
    except NotFound:
        report.kept.append(f"{entity} #{record_id} was deleted after the import")
        return
    stored = after.get("values", {})
    changes: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    for name, old in before.items():
        now = current.custom.get(name.removeprefix("custom.")) if name.startswith("custom.") else current.values.get(name)
        if to_json(now) != to_json(stored.get(name)):
            report.kept.append(f"{entity} #{record_id}: {name} was changed after the import")
            continue
        if name.startswith("custom."):
            custom[name.removeprefix("custom.")] = old
        else:
            changes[name] = old
    if changes or custom:
        records.update(ctx, entity, record_id, changes | ({"custom": custom} if custom else {}), version=current.version)
    for tag_id in after.get("tags", []):
        bulk.tag(ctx, entity, [record_id], tag_id, add=False)
    report.restored += 1


def _remove(tx: Any, entity: str, ids: list[int]) -> int:
    """Delete the records `ids` in bulk (hidden for record types that can be restored)."""
    removed = 0
    spec = spec_for(entity)
    model = spec.model
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        if spec.soft_delete:
            live = [row[0] for row in model.select(model.id).where(among(model.id, chunk), model.deleted_at.is_null()).tuples()]
            model.update({model.deleted_at: tx.now, model.version: model.version + 1}).where(among(model.id, live)).execute()
        else:
            live = [row[0] for row in model.select(model.id).where(among(model.id, chunk)).tuples()]
            model.delete().where(among(model.id, live)).execute()
        insert_rows(
            Event,
            [Event.at, Event.user, Event.kind, Event.entity, Event.record_id, Event.txn],
            [(tx.now, tx.ctx.user_id, "record.deleted", entity, record_id, tx.token) for record_id in live],
        )
        search_index.sync_many(entity, live)
        computed_fields.follow_up(entity, live)  # lookups of records made since that read these, as a delete does
        removed += len(live)
    return removed


def _tag_in_use(tag_id: int) -> bool:
    """Whether a live record still carries the tag."""
    for _, link, column, model in tag_admin.LINKS:
        query = link.select().join(model, on=column == model.id)
        if query.where(link.tag == tag_id, model.deleted_at.is_null()).exists():
            return True
    return False


def _remove_unused(ctx: Context, entity: str, ids: list[int], report: RevertReport) -> int:
    removed = 0
    for record_id in ids:
        try:
            current = records.get(entity, record_id)
        except NotFound:
            continue
        if entity == "tag" and _tag_in_use(record_id):
            report.kept.append(f"{entity} {current.title!r} is in use by other records")
            continue
        try:
            records.delete(ctx, entity, record_id, version=current.version)
        except ServiceError:
            report.kept.append(f"{entity} {current.title!r} is in use by other records")
            continue
        removed += 1
    return removed
