"""Tag clean-up: how much each tag is used, renaming, merging two tags and deleting unused ones.

Each change is one transaction with event-log rows on the tag ("record.updated" for a rename,
"tag.merged" and "record.deleted" for a merge, "record.deleted" per deleted tag). A merge moves the
links without a row per record: the records' tags keep their meaning, only the name they show
changes, so it is not a change automations should react to.

Tags are not in the search index and no service caches them, but two things name them and are
kept in step: automation rules name tags by name (add / remove a tag, "has" / "lacks" conditions),
so a rename or merge rewrites the rules that use the old name; saved views of deals filter by tag
id, so a merge points them at the target and a deleted tag is dropped from them. A tag that an
automation rule names is not "unused": the rule would make it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from peewee import fn

from crm_tui.events import RecordDeleted
from crm_tui.models import (
    TAG_LINKS,
    AutomationRule,
    SavedView,
    Tag,
)
from crm_tui.services import permissions, records
from crm_tui.services.context import Context
from crm_tui.services.errors import NotFound, ServiceError
from crm_tui.services.unit import Txn, write

LINKS = tuple(
    ("companies" if entity == "company" else f"{entity}s", link, getattr(link, column), getattr(link, column).rel_model)
    for entity, (link, column) in TAG_LINKS.items()
)
"""(usage column, link model, its record column, the record model) per taggable record type."""


@dataclass(frozen=True)
class TagUsage:
    """A tag and how many live records of each type carry it."""

    id: int
    name: str
    color: str | None
    companies: int
    contacts: int
    leads: int
    deals: int
    total: int


def tag_usage() -> list[TagUsage]:
    """Every tag with its counts on live records, by name; one query."""
    counts = []
    for name, link, column, model in LINKS:
        sub = (
            link.select(fn.COUNT(link.id))
            .join(model, on=(model.id == column))
            .where(link.tag == Tag.id, model.deleted_at.is_null())
        )
        counts.append(sub.alias(name))
    query = Tag.select(Tag.id, Tag.name, Tag.color, *counts).order_by(fn.LOWER(Tag.name), Tag.id)
    return [TagUsage(tid, name, color, *used, sum(used)) for tid, name, color, *used in query.tuples()]


def _tag(tag_id: int) -> Tag:
    tag = Tag.get_or_none(Tag.id == tag_id)
    if tag is None:
        raise NotFound("Tag", tag_id)
    return tag


def _rename_in_rules(tx: Txn, old: str, new: str) -> int:
    """Rewrite automation rules naming tag `old` (any case) to `new`; returns how many changed."""
    changed = 0
    for rule in AutomationRule.select():
        actions = [
            {**a, "tag": new} if a.get("type") in ("add_tag", "remove_tag") and str(a.get("tag", "")).casefold() == old.casefold() else a
            for a in rule.actions or []
        ]  # fmt: skip
        conditions = [
            {**c, "value": new} if c.get("field") == "tags" and str(c.get("value", "")).casefold() == old.casefold() else c
            for c in rule.conditions or []
        ]  # fmt: skip
        if actions == (rule.actions or []) and conditions == (rule.conditions or []):
            continue
        AutomationRule.update(
            actions=actions, conditions=conditions, version=AutomationRule.version + 1, updated_at=tx.now
        ).where(AutomationRule.id == rule.id).execute()
        for name, before, after in (("actions", rule.actions, actions), ("conditions", rule.conditions, conditions)):
            if before != after:
                tx.log("record.updated", "automation_rule", rule.id, field=name, old=before, new=after)
        changed += 1
    return changed


def _named_in_rules() -> set[str]:
    """The tag names (case-folded) automation rules add, remove or test for."""
    names = set()
    for actions, conditions in AutomationRule.select(AutomationRule.actions, AutomationRule.conditions).tuples():
        names |= {str(a.get("tag", "")).casefold() for a in actions or [] if a.get("type") in ("add_tag", "remove_tag")}
        names |= {str(c.get("value", "")).casefold() for c in conditions or [] if c.get("field") == "tags"}
    return names


def _replace_in_views(tx: Txn, old_id: int, new_id: int | None) -> None:
    """Saved views filtering by tag `old_id` filter by `new_id` instead (None: by neither)."""
    for view in SavedView.select().where(SavedView.entity == "deal"):
        ids = list((view.filters or {}).get("tag_ids") or [])
        if old_id not in ids:
            continue
        kept = list(dict.fromkeys(new_id if i == old_id else i for i in ids if new_id is not None or i != old_id))
        filters = {**view.filters, "tag_ids": kept} if kept else {k: v for k, v in view.filters.items() if k != "tag_ids"}
        SavedView.update(filters=filters, version=SavedView.version + 1, updated_at=tx.now).where(
            SavedView.id == view.id
        ).execute()
        tx.log("record.updated", "saved_view", view.id, field="filters", old=view.filters, new=filters)


def rename(ctx: Context, tag_id: int, new_name: str) -> None:
    """Rename a tag. A name another tag has (in any case) is refused: merge the two instead.
    Changing only the case of the tag's own name is allowed."""
    with write(ctx) as tx:
        permissions.require_admin(tx.access, "rename tags")  # a tag names records of everyone
        tag = _tag(tag_id)
        wanted = new_name.strip()
        clash = Tag.get_or_none(fn.LOWER(Tag.name) == wanted.lower(), Tag.id != tag_id)
        if clash is not None:
            raise ServiceError(
                f"there is already a tag {clash.name!r}; merge {tag.name!r} into it instead of renaming"
            )
        old = tag.name
        renamed = records.update(ctx, "tag", tag_id, {"name": wanted}, version=tag.version)
        if renamed.values["name"] != old:
            _rename_in_rules(tx, old, renamed.values["name"])


def merge_tags(ctx: Context, source_id: int, target_id: int) -> int:
    """Move every link of tag `source_id` to `target_id` (a record that has both keeps one link)
    and delete the source; returns how many links moved."""
    if source_id == target_id:
        raise ServiceError("a tag cannot be merged into itself")
    with write(ctx) as tx:
        permissions.require_admin(tx.access, "merge tags")
        source, target = _tag(source_id), _tag(target_id)
        moved = 0
        for _, link, column, _ in LINKS:
            has_target = link.select(column).where(link.tag == target_id)
            moved += link.update(tag=target_id).where(link.tag == source_id, column.not_in(has_target)).execute()
            link.delete().where(link.tag == source_id).execute()
        values = {"name": source.name, "color": source.color}
        Tag.delete().where(Tag.id == source_id).execute()
        _rename_in_rules(tx, source.name, target.name)
        _replace_in_views(tx, source_id, target_id)
        tx.log("tag.merged", "tag", target_id, old={"id": source_id, **values}, new={"links_moved": moved})
        _deleted(tx, source_id, values)
    return moved


def _deleted(tx: Txn, tag_id: int, values: dict[str, Any]) -> None:
    event_id = tx.log("record.deleted", "tag", tag_id, old=values)
    tx.emit(RecordDeleted(event_id=event_id, user_id=tx.ctx.user_id, at=tx.now, entity="tag", record_id=tag_id, values=values))


def delete_unused(ctx: Context) -> list[str]:
    """Delete the tags no live record carries and no automation rule names; returns their names.
    Links to deleted records go with them (a record restored later comes back without the tag)."""
    with write(ctx) as tx:
        permissions.require_admin(tx.access, "delete tags")
        named = _named_in_rules()
        unused = [(u.id, u.name, u.color) for u in tag_usage() if u.total == 0 and u.name.casefold() not in named]
        for tag_id, name, color in unused:
            for _, link, _, _ in LINKS:  # links to deleted records (not relying on ON DELETE CASCADE)
                link.delete().where(link.tag == tag_id).execute()
            Tag.delete().where(Tag.id == tag_id).execute()
            _replace_in_views(tx, tag_id, None)
            _deleted(tx, tag_id, {"name": name, "color": color})
    return [name for _, name, _ in unused]
