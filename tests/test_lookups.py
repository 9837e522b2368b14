"""Lookup fields (one link, two links, a lookup of a lookup, over a custom reference) kept true as
the records they read change, sortable and filterable in SQL; formulas with today() refreshed
once a day; bad definitions refused with a message."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from crm_tui import clock
from crm_tui.models import CustomValue
from crm_tui.services import computed_fields, records
from crm_tui.services.errors import ValidationFailed
from crm_tui.services.record_lists import Condition, ListQuery, page
from crm_tui.services.workspace import Workspace
from tests.helpers import make_deal


def _field(ctx, entity: str, key: str, kind: str, **extra) -> None:
    records.create(ctx, "custom_field", {"entity": entity, "key": key, "label": key.replace("_", " ").title(), "type": kind, **extra})


def _custom(entity: str, record_id: int) -> dict:
    return records.get(entity, record_id).custom


@pytest.fixture
def chain(workspace: Workspace) -> dict[str, int]:
    ctx = workspace.ctx
    _field(ctx, "company", "tier", "dropdown", options=["Gold", "Silver"])
    _field(ctx, "contact", "company_tier", "lookup", lookup_path=["company", "tier"])
    _field(ctx, "deal", "account_tier", "lookup", lookup_path=["contact", "company", "tier"])
    _field(ctx, "deal", "tier_again", "lookup", lookup_path=["contact", "company_tier"])  # a lookup of a lookup
    _field(ctx, "deal", "partner", "reference", reference_entity="company")
    _field(ctx, "deal", "partner_industry", "lookup", lookup_path=["partner", "industry"])
    _field(ctx, "contact", "person", "lookup", lookup_path=["company", "name"])
    acme = records.create(ctx, "company", {"name": "Acme", "industry": "Retail", "custom": {"tier": "Gold"}}).id
    initech = records.create(ctx, "company", {"name": "Initech", "industry": "Software", "custom": {"tier": "Silver"}}).id
    jane = records.create(ctx, "contact", {"first_name": "Jane", "company_id": acme}).id
    bob = records.create(ctx, "contact", {"first_name": "Bob", "company_id": initech}).id
    big = make_deal(ctx, "Big", contact_id=jane, custom={"partner": initech}).id
    small = make_deal(ctx, "Small", contact_id=bob).id
    return {"acme": acme, "initech": initech, "jane": jane, "bob": bob, "big": big, "small": small}


def test_lookups_are_computed_when_a_record_is_saved(workspace: Workspace, chain: dict[str, int]) -> None:
    assert _custom("contact", chain["jane"]) == {"company_tier": "Gold", "person": "Acme"}
    assert _custom("deal", chain["big"]) == {
        "account_tier": "Gold", "tier_again": "Gold", "partner": chain["initech"], "partner_industry": "Software",
    }  # fmt: skip
    assert _custom("deal", chain["small"]) == {"account_tier": "Silver", "tier_again": "Silver"}


def test_lookups_follow_the_records_they_read(workspace: Workspace, chain: dict[str, int]) -> None:
    ctx = workspace.ctx
    acme = records.get("company", chain["acme"])
    records.update(ctx, "company", acme.id, {"custom": {"tier": "Silver"}, "name": "Acme Ltd"}, version=acme.version)
    assert _custom("contact", chain["jane"]) == {"company_tier": "Silver", "person": "Acme Ltd"}
    assert _custom("deal", chain["big"])["account_tier"] == "Silver"
    assert _custom("deal", chain["big"])["tier_again"] == "Silver"  # through the contact's lookup
    jane = records.get("contact", chain["jane"])
    records.update(ctx, "contact", jane.id, {"company_id": chain["initech"]}, version=jane.version)
    assert _custom("deal", chain["big"])["account_tier"] == "Silver" and _custom("contact", jane.id)["person"] == "Initech"
    initech = records.get("company", chain["initech"])
    records.delete(ctx, "company", initech.id, version=initech.version)
    assert "partner_industry" not in _custom("deal", chain["big"]) and "company_tier" not in _custom("contact", jane.id)
    records.restore(ctx, "company", initech.id)
    assert _custom("deal", chain["big"])["partner_industry"] == "Software"
    big = records.get("deal", chain["big"])
    records.update(ctx, "deal", big.id, {"custom": {"partner": chain["acme"]}}, version=big.version)
    assert _custom("deal", big.id)["partner_industry"] == "Retail"


def test_lookup_values_sort_and_filter_in_sql(workspace: Workspace, chain: dict[str, int]) -> None:
    titles = [row.values["title"] for row in page(ListQuery("deal", sort="custom.account_tier"), 0)]
    assert titles == ["Big", "Small"]  # Gold before Silver
    titles = [row.values["title"] for row in page(ListQuery("deal", sort="custom.account_tier", descending=True), 0)]
    assert titles == ["Small", "Big"]
    gold = ListQuery("deal", conditions=(Condition("custom.tier_again", "is", "Gold"),))
    assert [row.values["title"] for row in page(gold, 0)] == ["Big"]


def test_a_money_lookup_keeps_minor_units_and_sorts_as_a_number(workspace: Workspace) -> None:
    ctx = workspace.ctx
    records.create(ctx, "custom_field", {"entity": "contact", "key": "best", "label": "Best", "type": "reference", "reference_entity": "deal"})
    _field(ctx, "contact", "best_amount", "lookup", lookup_path=["best", "amount"])
    rich, poor = make_deal(ctx, "Rich", amount=900_000), make_deal(ctx, "Poor", amount=10_000)
    for name, deal in (("Ann", poor), ("Cy", rich)):
        records.create(ctx, "contact", {"first_name": name, "custom": {"best": deal.id}})
    rows = page(ListQuery("contact", sort="custom.best_amount", descending=True), 0)
    assert [(r.values["name"], r.values["custom.best_amount"]) for r in rows] == [("Cy", 900_000), ("Ann", 10_000)]
    over = ListQuery("contact", conditions=(Condition("custom.best_amount", "gt", 100_000),))
    assert [r.values["name"] for r in page(over, 0)] == ["Cy"]


def test_a_lookup_added_later_is_computed_for_every_record(workspace: Workspace, chain: dict[str, int]) -> None:
    _field(workspace.ctx, "deal", "industry", "lookup", lookup_path=["contact", "company", "industry"])
    assert _custom("deal", chain["big"])["industry"] == "Retail" and _custom("deal", chain["small"])["industry"] == "Software"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (["tier"], "needs a link and a field"),
        (["owner", "name"], "cannot follow 'owner'; a deal links by company, contact, partner"),
        (["company", "nothing"], "names no field 'nothing' of a company"),
        (["contact", "company", "owner", "name"], "follows more than 2 links"),
    ],
)
def test_a_lookup_path_that_does_not_resolve_is_refused(
    workspace: Workspace, chain: dict[str, int], path: list[str], message: str
) -> None:
    with pytest.raises(ValidationFailed) as failed:
        _field(workspace.ctx, "deal", "bad", "lookup", lookup_path=path)
    assert message in failed.value.errors["lookup_path"]


def test_a_formula_over_a_lookup_and_today_is_refreshed_once_a_day(workspace: Workspace, chain: dict[str, int]) -> None:
    ctx = workspace.ctx
    start = datetime(2026, 11, 2, 9, 0)
    clock.freeze(start)
    try:
        _field(ctx, "deal", "age", "formula", formula="today() - created")
        _field(ctx, "deal", "gold", "formula", formula='if(account_tier == "Gold", 1, 0)')
        made = make_deal(ctx, "Fresh", contact_id=chain["jane"])
        assert _custom("deal", made.id)["age"] == 0 and _custom("deal", made.id)["gold"] == 1
        assert computed_fields.refresh_dated(ctx) == 0  # adding the field computed them all
        clock.freeze(start + timedelta(days=3))
        assert computed_fields.refresh_dated(ctx) == 3  # Big, Small and Fresh
        assert _custom("deal", made.id)["age"] == Decimal(3)
        assert computed_fields.refresh_dated(ctx) == 0  # once a day
    finally:
        clock.freeze(None)


def test_a_bad_formula_is_refused_with_its_reason(workspace: Workspace) -> None:
    with pytest.raises(ValidationFailed) as failed:
        _field(workspace.ctx, "deal", "boom", "formula", formula="9**9**9")
    assert failed.value.errors["formula"]
    with pytest.raises(ValidationFailed) as failed:
        _field(workspace.ctx, "deal", "title", "text")
    assert failed.value.errors["key"] == "is the name of a standard deal field"
    assert CustomValue.select().count() == 0


def test_crm_formulas_refresh_for_cron(sqlite_workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    from crm_tui.cli import main

    ctx = sqlite_workspace.ctx
    clock.freeze(datetime(2026, 11, 2, 9, 0))
    try:
        _field(ctx, "deal", "age", "formula", formula="today() - created")
        deal = make_deal(ctx, "Fresh")
        clock.freeze(datetime(2026, 11, 12, 9, 0))
        where = str(sqlite_workspace.target.path)
        assert main(["--db", where, "formulas", "refresh"]) == 0
        assert capsys.readouterr().out == "1 record changed\n"
        assert _custom("deal", deal.id)["age"] == 10
        CustomValue.delete().execute()  # as a bulk load that bypassed the services would leave it
        assert main(["--db", where, "formulas", "refresh", "--all"]) == 0
        assert capsys.readouterr().out == "1 record changed\n" and _custom("deal", deal.id)["age"] == 10
    finally:
        clock.freeze(None)


def test_the_related_panel_shows_references_both_ways(workspace: Workspace, chain: dict[str, int]) -> None:
    from crm_tui.services.timeline import related

    deal_side = [(r.entity, r.id, r.detail) for r in related("deal", chain["big"])]
    assert ("company", chain["initech"], "Partner") in deal_side
    company_side = [(r.entity, r.id, r.detail) for r in related("company", chain["initech"])]
    assert ("deal", chain["big"], "deal · its Partner is this") in company_side


def test_a_company_lists_its_deals_with_their_stage(workspace: Workspace) -> None:
    from crm_tui.services.timeline import related
    from tests.helpers import make_deal, stage_named

    ctx = workspace.ctx
    company = records.create(ctx, "company", {"name": "Globex"}).id
    deal = make_deal(ctx, "Globex pilot", stage="Closed Won", company_id=company)
    assert stage_named("Closed Won") == deal["stage_id"]
    # The stage's name once came back under the name of the stage link and broke the whole panel.
    assert ("deal", deal.id, "deal · Closed Won") in [(r.entity, r.id, r.detail) for r in related("company", company)]
