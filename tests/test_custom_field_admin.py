"""The custom fields settings service: add (key from the label), change, reorder, remove with the
values kept in the event log, and the checks that keep definitions working."""

from __future__ import annotations

import json

import pytest

from crm_tui.models import Company, CustomField, CustomValue, Event
from crm_tui.services import custom_field_admin as admin
from crm_tui.services import custom_fields, records
from crm_tui.services.errors import ValidationFailed
from crm_tui.services.workspace import Workspace


def _keys(entity: str) -> list[str]:
    return [fd.key for fd in custom_fields.definitions(entity)]


def test_add_rename_reorder_and_remove(workspace: Workspace) -> None:
    ctx = workspace.ctx
    tier = admin.add_field(ctx, "company", "Tier", "dropdown", options=["Gold", "Silver"], required=True)
    renewal = admin.add_field(ctx, "company", "Renewal date", "date")
    again = admin.add_field(ctx, "company", "Renewal date", "text")
    assert _keys("company") == ["tier", "renewal_date", "renewal_date_2"] and tier.required
    admin.change_field(ctx, renewal.id, version=renewal.version, label="Renews on")
    assert custom_fields.definitions("company")[1].label == "Renews on"
    assert admin.move_field(ctx, again.id, -2) == 0
    assert _keys("company") == ["renewal_date_2", "tier", "renewal_date"]
    acme = records.create(ctx, "company", {"name": "Acme", "custom": {"tier": "gold", "renewal_date_2": "soon"}})
    rows = admin.fields("company")
    assert [(row.field.key, row.values) for row in rows] == [("renewal_date_2", 1), ("tier", 1), ("renewal_date", 0)]

    tier = custom_fields.definitions("company")[1]
    assert admin.remove_field(ctx, tier.id, version=tier.version) == 1
    assert _keys("company") == ["renewal_date_2", "renewal_date"]
    assert CustomValue.select().where(CustomValue.field == tier.id).count() == 0
    kept = Event.get(Event.kind == "custom_field.removed")
    assert json.loads(kept.old)["values"] == {str(acme.id): "Gold"}
    assert json.loads(kept.old)["definition"]["label"] == "Tier"


def test_an_option_still_in_use_cannot_be_dropped(workspace: Workspace) -> None:
    ctx = workspace.ctx
    tier = admin.add_field(ctx, "deal", "Tier", "dropdown", options=["Gold", "Silver"])
    from tests.helpers import make_deal

    make_deal(ctx, "Big", custom={"tier": "Gold"})
    with pytest.raises(ValidationFailed, match="records still hold 'Gold' \\(1\\)"):
        admin.change_field(ctx, tier.id, version=tier.version, options=["Silver"])
    changed = admin.change_field(ctx, tier.id, version=tier.version, options=["Gold", "Silver", "Bronze"])
    assert changed.options == ("Gold", "Silver", "Bronze")
    with pytest.raises(ValidationFailed, match="at most 500 options"):
        admin.change_field(ctx, tier.id, version=changed.version, options=[f"o{n}" for n in range(501)])


def test_a_changed_formula_is_recomputed_and_readers_are_listed(workspace: Workspace) -> None:
    ctx = workspace.ctx
    from tests.helpers import make_deal

    deal = make_deal(ctx, "Big", amount=100_000)
    cost = admin.add_field(ctx, "deal", "Cost price", "currency")
    profit = admin.add_field(ctx, "deal", "Profit", "formula", formula="amount - cost_price")
    records.update(ctx, "deal", deal.id, {"custom": {"cost_price": "400"}}, version=records.get("deal", deal.id).version)
    assert records.get("deal", deal.id).custom["profit"] == 600
    admin.change_field(ctx, profit.id, version=profit.version, formula="(amount - cost_price) * 2")
    assert records.get("deal", deal.id).custom["profit"] == 1200
    assert [row.used_by for row in admin.fields("deal")][0] == ("Profit",)
    cost = custom_fields.definitions("deal")[0]
    admin.remove_field(ctx, cost.id, version=cost.version)
    assert "profit" not in records.get("deal", deal.id).custom  # it reads a field that is gone
    with pytest.raises(ValidationFailed) as failed:
        admin.change_field(ctx, profit.id, version=CustomField.get_by_id(profit.id).version, formula="amount - cost_price")
    assert "cost_price" in failed.value.errors["formula"]


def test_held_choices_and_links_are_protected_and_auto_numbers_fill_in(workspace: Workspace) -> None:
    ctx = workspace.ctx
    regions = admin.add_field(ctx, "company", "Regions", "multi_select", options=["EU", "US"])
    parent = admin.add_field(ctx, "company", "Parent", "reference", reference_entity="company")
    first = records.create(ctx, "company", {"name": "Acme", "custom": {"regions": "EU, US"}})
    records.create(ctx, "company", {"name": "Initech", "custom": {"regions": "EU", "parent": first.id}})
    with pytest.raises(ValidationFailed, match="records still hold 'EU' \\(2\\)"):
        admin.change_field(ctx, regions.id, version=regions.version, options=["US"])
    with pytest.raises(ValidationFailed, match="cannot change while records link through it"):
        admin.change_field(ctx, parent.id, version=parent.version, reference_entity="deal")
    admin.add_field(ctx, "company", "Number", "auto_number")
    numbers = {row.name: records.get("company", row.id).custom["number"] for row in Company.select()}
    assert numbers == {"Acme": 1, "Initech": 2}
    assert records.create(ctx, "company", {"name": "Hooli"}).custom["number"] == 3


def test_definitions_are_read_once_per_transaction_and_follow_the_changes_made_in_it(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crm_tui.services.unit import write

    ctx = workspace.ctx
    admin.add_field(ctx, "company", "Tier", "text")
    reads: list[str] = []
    raw = custom_fields._raw
    monkeypatch.setattr(custom_fields, "_raw", lambda entity: reads.append(entity) or raw(entity))
    with write(ctx):
        assert _keys("company") == _keys("company") == ["tier"]
        assert reads == ["company"]  # a save asks about ten times: the table is read once
        region = admin.add_field(ctx, "company", "Region", "text")
        assert _keys("company") == ["tier", "region"]
        admin.move_field(ctx, region.id, -1)
        assert _keys("company") == ["region", "tier"]
        with pytest.raises(ValidationFailed), write(ctx):  # a savepoint that rolls back
            admin.add_field(ctx, "company", "Size", "text")
            assert _keys("company") == ["region", "tier", "size"]
            raise ValidationFailed("Company", {"size": "changed my mind"})
        assert _keys("company") == ["region", "tier"]
    assert _keys("company") == ["region", "tier"]
