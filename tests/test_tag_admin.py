"""Tag clean-up: usage counts on live records, rename, merge two tags, delete the unused ones."""

from __future__ import annotations

import json

import pytest

from crm_tui.models import CompanyTag, ContactTag, DealTag, Event, LeadTag, SavedView, Tag
from crm_tui.services import records, tag_admin
from crm_tui.services.errors import ServiceError, ValidationFailed
from crm_tui.services.workspace import Workspace
from tests.helpers import make_deal


def _tag(workspace: Workspace, name: str) -> int:
    return records.create(workspace.ctx, "tag", {"name": name}).id


def _rule(workspace: Workspace, tag: str) -> int:
    return records.create(workspace.ctx, "automation_rule", {
        "name": f"tag {tag}", "trigger": {"type": "record_created", "entity": "deal"},
        "conditions": [{"field": "tags", "op": "lacks", "value": tag}], "actions": [{"type": "add_tag", "tag": tag}],
    }).id  # fmt: skip


def _usage() -> dict[str, tuple[int, int, int, int, int]]:
    return {u.name: (u.companies, u.contacts, u.leads, u.deals, u.total) for u in tag_admin.tag_usage()}


def test_usage_counts_live_records_only(workspace: Workspace) -> None:
    ctx = workspace.ctx
    vip, cold = _tag(workspace, "VIP"), _tag(workspace, "cold")
    acme = records.create(ctx, "company", {"name": "Acme"})
    ann = records.create(ctx, "contact", {"first_name": "Ann"})
    gone = records.create(ctx, "contact", {"first_name": "Gone"})
    lead = records.create(ctx, "lead", {"first_name": "Lee"})
    deal = make_deal(ctx)
    CompanyTag.insert(tag=vip, company=acme.id).execute()
    ContactTag.insert_many([(vip, ann.id), (vip, gone.id), (cold, gone.id)], fields=["tag", "contact"]).execute()
    LeadTag.insert(tag=vip, lead=lead.id).execute()
    DealTag.insert(tag=vip, deal=deal.id).execute()
    records.delete(ctx, "contact", gone.id, version=gone.version)

    assert _usage() == {"cold": (0, 0, 0, 0, 0), "VIP": (1, 1, 1, 1, 4)}  # by name, case-insensitively


def test_rename_refuses_a_name_in_use_and_rewrites_rules(workspace: Workspace) -> None:
    ctx = workspace.ctx
    vip, _ = _tag(workspace, "vip"), _tag(workspace, "Key account")
    rule = _rule(workspace, "VIP")

    with pytest.raises(ServiceError, match="merge"):
        tag_admin.rename(ctx, vip, "key ACCOUNT")
    with pytest.raises(ValidationFailed):
        tag_admin.rename(ctx, vip, "  ")
    tag_admin.rename(ctx, vip, "VIP")  # only the case changes: allowed
    tag_admin.rename(ctx, vip, "Gold")

    assert Tag.get_by_id(vip).name == "Gold"
    stored = records.get("automation_rule", rule)
    assert stored["actions"] == [{"type": "add_tag", "tag": "Gold"}]
    assert stored["conditions"][0]["value"] == "Gold"
    renames = Event.select().where(Event.entity == "tag", Event.record_id == vip, Event.field == "name").order_by(Event.id)
    assert [(json.loads(e.old), json.loads(e.new)) for e in renames] == [("vip", "VIP"), ("VIP", "Gold")]


def test_merge_moves_links_without_duplicates(workspace: Workspace) -> None:
    ctx = workspace.ctx
    source, target = _tag(workspace, "v.i.p"), _tag(workspace, "VIP")
    a = records.create(ctx, "contact", {"first_name": "A"}).id
    b = records.create(ctx, "contact", {"first_name": "B"}).id
    deal = make_deal(ctx).id
    ContactTag.insert_many([(source, a), (source, b), (target, b)], fields=["tag", "contact"]).execute()
    DealTag.insert(tag=source, deal=deal).execute()
    rule = _rule(workspace, "v.i.p")
    view = records.create(ctx, "saved_view", {"entity": "deal", "name": "Key", "filters": {"tag_ids": [source, target]}}).id

    moved = tag_admin.merge_tags(ctx, source, target)

    assert moved == 2  # a's contact link and the deal's; b had both
    assert Tag.get_or_none(Tag.id == source) is None
    assert sorted(ContactTag.select(ContactTag.contact, ContactTag.tag).tuples()) == [(a, target), (b, target)]
    assert [row.tag_id for row in DealTag.select()] == [target]
    assert records.get("automation_rule", rule)["actions"] == [{"type": "add_tag", "tag": "VIP"}]
    assert SavedView.get_by_id(view).filters == {"tag_ids": [target]}
    merged = Event.get(Event.kind == "tag.merged")
    assert merged.record_id == target and json.loads(merged.old)["name"] == "v.i.p"
    with pytest.raises(ServiceError):
        tag_admin.merge_tags(ctx, target, target)


def test_delete_unused_keeps_tags_in_use_or_named_by_rules(workspace: Workspace) -> None:
    ctx = workspace.ctx
    used, idle, ruled, hidden = (_tag(workspace, name) for name in ("Used", "Idle", "Ruled", "Hidden"))
    ann = records.create(ctx, "contact", {"first_name": "Ann"})
    gone = records.create(ctx, "company", {"name": "Gone"})
    ContactTag.insert(tag=used, contact=ann.id).execute()
    CompanyTag.insert(tag=hidden, company=gone.id).execute()
    records.delete(ctx, "company", gone.id, version=gone.version)
    _rule(workspace, "ruled")
    view = records.create(ctx, "saved_view", {"entity": "deal", "name": "Idle", "filters": {"tag_ids": [idle], "text": "x"}}).id

    deleted = tag_admin.delete_unused(ctx)

    assert sorted(deleted) == ["Hidden", "Idle"]
    assert sorted(t.id for t in Tag.select()) == sorted([used, ruled])
    assert CompanyTag.select().count() == 0
    assert SavedView.get_by_id(view).filters == {"text": "x"}
    assert Event.select().where(Event.kind == "record.deleted", Event.entity == "tag").count() == 2
    assert tag_admin.delete_unused(ctx) == []
