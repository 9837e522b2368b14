"""Writing a planned import inside one write transaction, and remembering every record it created or
changed as an item of the batch (so it can be reverted).

Companies, contacts and leads are created in bulk: a multi-row INSERT ... RETURNING per 500 rows,
their custom values, tags, event-log rows and search documents in set-based statements. That is
what makes 100,000 contacts import in seconds. Deals, tasks and notes go through
`records.create` one by one, because they have rules (stage history, closing) worth keeping in
one place. Updates of duplicates go through `records.update`, so validation, versions and the
event log apply as for an edit by hand.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from crm_tui.models import TAG_LINKS, Event, ImportItem
from crm_tui.schemas.records import CompanyIn
from crm_tui.services import custom_fields, deals, pipelines, records, search_index
from crm_tui.services.entities import spec_for
from crm_tui.services.errors import ServiceError
from crm_tui.services.import_convert import Lookups, Pending, StageInfo, fold
from crm_tui.services.import_plan import Planned
from crm_tui.services.sql_util import insert_rows
from crm_tui.services.unit import Txn, to_json

BULK = ("company", "contact", "lead")
"""Record types created with multi-row inserts."""
CHUNK = 500


class Writer:
    """Stores one import's planned rows, creating what they refer to first."""

    def __init__(self, tx: Txn, entity: str, lookups: Lookups, batch_id: int) -> None:
        self.tx = tx
        self.entity = entity
        self.lookups = lookups
        self.batch_id = batch_id
        self.made: dict[tuple[str, str], int] = {}
        self.related: Counter[str] = Counter()
        self.items: list[tuple[str, int, str, Any, Any]] = []

    # -- what rows refer to ----------------------------------------------------------------------

    def resolve(self, value: Any) -> Any:
        """An id for a Pending record (created on first use); other values as they are."""
        if not isinstance(value, Pending):
            return value
        key = (value.kind, value.key)
        if key not in self.made:
            self.made[key] = self._create_pending(value)
            self.related[value.kind] += 1
        return self.made[key]

    def _create_pending(self, pending: Pending) -> int:
        ctx = self.tx.ctx
        if pending.kind == "tag":
            record_id = records.create(ctx, "tag", {"name": pending.key}).id
            self.lookups.tags[fold(pending.key)] = record_id
        elif pending.kind == "stage":
            pipeline_id = pending.get("pipeline_id")
            stage = pipelines.add_stage(ctx, pipeline_id, {"name": pending.get("name")})
            record_id = stage.id
            self.lookups.stages[pipeline_id][fold(pending.get("name"))] = StageInfo(stage.id, stage["name"], "open")
        elif pending.kind == "company":  # prepare() made every company the rows name; kept for safety
            values = _company_values(pending)
            record_id = self._insert("company", [values])[0]
            self.lookups.remember_company(values["name"], values.get("domain"), record_id)
            return record_id
        else:
            data = {name: self.resolve(value) for name, value in pending.data}
            record_id = records.create(ctx, "contact", data).id
            name = " ".join(part for part in (data.get("first_name"), data.get("last_name")) if part)
            self.lookups.remember_contact(name, data.get("email"), record_id)
        self.items.append((pending.kind, record_id, "created", None, None))
        return record_id

    # -- creating --------------------------------------------------------------------------------

    def create(self, planned: list[Planned], progress: Callable[[int, int], None] | None = None) -> list[Planned]:
        """Create the rows planned as new; returns the rows that failed (with their reason)."""
        failed: list[Planned] = []
        for start in range(0, len(planned), CHUNK):
            chunk = planned[start : start + CHUNK]
            if self.entity in BULK:
                self._create_bulk(chunk)
            else:
                failed += self._create_each(chunk)
            if progress is not None:
                progress(min(start + CHUNK, len(planned)), len(planned))
        return failed

    def _create_bulk(self, chunk: list[Planned]) -> None:
        full = [{**item.defaults, **{name: self.resolve(value) for name, value in item.values.items()}} for item in chunk]
        ids = self._insert(self.entity, full)
        self._custom(ids, chunk, full)
        self._tags(ids, chunk)

    def _insert(self, entity: str, full: list[dict[str, Any]]) -> list[int]:
        """Insert validated records of `entity` with their creation events and search documents."""
        spec = spec_for(entity)
        model = spec.model
        names = [name for name in spec.editable if name in spec.columns]
        now = self.tx.now
        given = {spec.columns[name] for name in names} | {model.created_at, model.updated_at, model.id}
        # Peewee applies the models' defaults (version = 1, ...) in Python, not in the table.
        defaults = {fld: value() if callable(value) else value for fld, value in model._meta.defaults.items() if fld not in given}
        rows = [tuple(values.get(name) for name in names) + (now, now, *defaults.values()) for values in full]
        fields = [spec.columns[name] for name in names] + [model.created_at, model.updated_at, *defaults]
        ids = insert_rows(model, fields, rows, returning=True)
        insert_rows(
            Event,
            [Event.at, Event.user, Event.kind, Event.entity, Event.record_id, Event.new, Event.txn],
            [
                (now, self.tx.ctx.user_id, "record.created", entity, record_id, to_json(values), self.tx.token)
                for record_id, values in zip(ids, full, strict=True)
            ],
        )
        search_index.sync_many(entity, ids, fresh=True)
        if ids:  # one item per chunk: 100,000 rows of items would cost a second for nothing
            self.items.append((entity, ids[0], "created", None, {"ids": ids}))
        return ids

    def prepare(self, planned: list[Planned]) -> None:
        """Create, in bulk, the companies the rows name that do not exist yet (a contact file often
        names thousands; one by one they would cost more than the contacts)."""
        wanted: dict[str, Pending] = {}
        for item in planned:
            if item.action in ("create", "update"):
                for pending in item.refs:
                    if pending.kind == "company":
                        wanted.setdefault(pending.key, pending)
        fresh = [pending for key, pending in wanted.items() if ("company", key) not in self.made]
        values = [_company_values(pending) for pending in fresh]
        for start in range(0, len(fresh), CHUNK):
            ids = self._insert("company", values[start : start + CHUNK])
            for pending, data, record_id in zip(fresh[start : start + CHUNK], values[start : start + CHUNK], ids, strict=True):
                self.made[("company", pending.key)] = record_id
                self.lookups.remember_company(data["name"], data.get("domain"), record_id)
        self.related["company"] += len(fresh)

    def _custom(self, ids: list[int], chunk: list[Planned], full: list[dict[str, Any]]) -> None:
        defs = custom_fields.definitions(self.entity)
        for fd in defs:
            given = {record_id: item.custom[fd.key] for record_id, item in zip(ids, chunk, strict=True) if fd.key in item.custom}
            if given:
                custom_fields.store_many(fd, given)
        if any(fd.read_only for fd in defs):  # auto numbers and formulas are worked out per record
            label = spec_for(self.entity).label
            for record_id, values in zip(ids, full, strict=True):
                custom_fields.apply(self.entity, label, record_id, {**values, "created_at": self.tx.now}, None, creating=True)

    def _tags(self, ids: list[int], chunk: list[Planned]) -> None:
        pairs = [(self.resolve(tag), record_id) for record_id, item in zip(ids, chunk, strict=True) for tag in item.tags]
        self._link(pairs, fresh=True)

    def _link(self, pairs: list[tuple[int, int]], *, fresh: bool = False) -> None:
        """Tag records; `fresh` ones were just created in bulk and their creation event lists
        nothing about tags, so no link can exist yet and no tag event is written."""
        if not pairs or self.entity not in TAG_LINKS:
            return
        link, column = TAG_LINKS[self.entity]
        pairs = list(dict.fromkeys(pairs))
        if fresh:
            insert_rows(link, [link.tag, getattr(link, column)], pairs)
            return
        link.insert_many(pairs, fields=[link.tag, getattr(link, column)]).on_conflict_ignore().execute()
        for tag_id, record_id in pairs:
            self.tx.log("tag.added", self.entity, record_id, field="tags", new=tag_id)

    def _create_each(self, chunk: list[Planned]) -> list[Planned]:
        failed = []
        for item in chunk:
            data = {name: self.resolve(value) for name, value in item.values.items()}
            if item.custom:
                data["custom"] = item.custom
            try:
                record_id = records.create(self.tx.ctx, self.entity, data).id
                if item.dates:
                    deals.backdate(record_id, **item.dates)
            except ServiceError as error:
                item.action, item.reason = "reject", str(error)
                failed.append(item)
                continue
            self._link([(self.resolve(tag), record_id) for tag in item.tags])
            self.items.append((self.entity, record_id, "created", None, None))
        return failed

    # -- updating --------------------------------------------------------------------------------

    def update(self, planned: list[Planned]) -> list[Planned]:
        """Apply the planned changes to the duplicates found; returns the rows that failed."""
        failed = []
        for item in planned:
            current = records.get(self.entity, item.existing or 0)
            changes = {name: self.resolve(value) for name, value in item.values.items()}
            before = {name: current.values.get(name) for name in changes}
            before |= {f"custom.{key}": current.custom.get(key) for key in item.custom}
            try:
                after = records.update(
                    self.tx.ctx, self.entity, current.id, changes | ({"custom": item.custom} if item.custom else {}),
                    version=item.version,
                )
            except ServiceError as error:
                item.action, item.reason = "reject", str(error)
                failed.append(item)
                continue
            tags = self._new_tags(current.id, [self.resolve(tag) for tag in item.tags])
            self._link([(tag_id, current.id) for tag_id in tags])
            stored = {name: after.values.get(name) for name in changes} | {
                f"custom.{key}": after.custom.get(key) for key in item.custom
            }
            self.items.append((self.entity, current.id, "updated", before, {"values": stored, "tags": tags}))
        return failed

    def _new_tags(self, record_id: int, tag_ids: list[int]) -> list[int]:
        if self.entity not in TAG_LINKS:
            return []
        link, column = TAG_LINKS[self.entity]
        query = link.select(link.tag).where(getattr(link, column) == record_id, link.tag.in_(tag_ids))
        have = {row[0] for row in query.tuples()}
        return [tag_id for tag_id in dict.fromkeys(tag_ids) if tag_id not in have]

    def save_items(self) -> None:
        """Write the batch's items (what revert will undo)."""
        rows = [(self.batch_id, entity, record_id, action, before, after) for entity, record_id, action, before, after in self.items]
        fields = [ImportItem.batch, ImportItem.entity, ImportItem.record_id, ImportItem.action, ImportItem.before, ImportItem.after]
        insert_rows(ImportItem, fields, rows)


def _company_values(pending: Pending) -> dict[str, Any]:
    """A new company's validated values (without the domain when it is unusable)."""
    data = {"name": pending.get("name"), "domain": pending.get("domain")}
    try:
        return CompanyIn.model_validate(data).model_dump()
    except ValidationError:
        return CompanyIn.model_validate({"name": data["name"]}).model_dump()
