"""Record lists in SQL: counts, sorts (standard and custom fields), quick filter, conditions,
periods, saved views and bulk actions, on both back ends."""

from __future__ import annotations

from datetime import date

import pytest

from crm_tui import clock
from crm_tui.models import DealTag, Event, Tag
from crm_tui.services import bulk, list_views, records
from crm_tui.services.errors import ServiceError
from crm_tui.services.list_fields import entity_list
from crm_tui.services.record_lists import Condition, ListQuery, count, page, parse_value, period_range
from crm_tui.services.workspace import Workspace
from tests.helpers import make_deal, stage_named


def _names(query: ListQuery, user_id: int | None = None) -> list[str]:
    return [row.values["name"] for row in page(query, 0, user_id)]


@pytest.fixture
def people(workspace: Workspace) -> dict[str, int]:
    ctx = workspace.ctx
    acme = records.create(ctx, "company", {"name": "Acme Corp", "industry": "Retail"}).id
    ids = {"acme": acme}
    for first, last, email in [("Zoe", "Adams", "zoe@acme.com"), ("ann", "Baker", None), ("Bob", "Clark", "bob@x.org")]:
        ids[first.lower()] = records.create(
            ctx, "contact", {"first_name": first, "last_name": last, "email": email, "company_id": acme if email else None}
        ).id
    return ids


def test_default_sort_is_by_last_name_and_counts_agree(workspace: Workspace, people: dict[str, int]) -> None:
    query = ListQuery("contact")
    assert count(query) == 3
    assert _names(query) == ["Zoe Adams", "ann Baker", "Bob Clark"]
    assert _names(ListQuery("contact", descending=True)) == ["Bob Clark", "ann Baker", "Zoe Adams"]


def test_sort_by_a_joined_column_puts_empty_values_last(workspace: Workspace, people: dict[str, int]) -> None:
    rows = page(ListQuery("contact", sort="company"), 0)
    assert [r.values["company"] for r in rows] == ["Acme Corp", "Acme Corp", None]
    assert [r.values["company"] for r in page(ListQuery("contact", sort="company", descending=True), 0)][-1] is None


def test_quick_filter_matches_names_emails_and_full_names(workspace: Workspace, people: dict[str, int]) -> None:
    assert _names(ListQuery("contact", text="x.org")) == ["Bob Clark"]
    assert _names(ListQuery("contact", text="Zoe Ad")) == ["Zoe Adams"]
    assert count(ListQuery("contact", text="nobody")) == 0


def test_quick_filter_goes_through_the_search_index(workspace: Workspace, people: dict[str, int]) -> None:
    # Word prefixes in any case, accents folded, the company's name too; counted like the page.
    assert _names(ListQuery("contact", text="ACM")) == ["Zoe Adams", "Bob Clark"]  # Bob works at Acme
    assert _names(ListQuery("contact", text="zoe acme")) == ["Zoe Adams"]
    assert _names(ListQuery("contact", text="bak")) == ["ann Baker"]
    records.update(workspace.ctx, "contact", people["ann"], {"last_name": "Bäcker"}, version=1)
    assert _names(ListQuery("contact", text="back")) == ["ann Bäcker"] and count(ListQuery("contact", text="back")) == 1
    assert count(ListQuery("contact", text="bak")) == 0  # the index follows the rename
    records.delete(workspace.ctx, "contact", people["zoe"], version=1)
    assert count(ListQuery("contact", text="acme")) == 1 and _names(ListQuery("contact", text="acme")) == ["Bob Clark"]
    # Text without words falls back to a substring match; a condition still combines with it.
    assert _names(ListQuery("contact", text="@")) == ["Bob Clark"]
    assert count(ListQuery("contact", text="b", conditions=(Condition("email", "not_empty"),))) == 1


def test_conditions_combine_with_and(workspace: Workspace, people: dict[str, int]) -> None:
    query = ListQuery("contact", conditions=(Condition("company", "is", "acme corp"), Condition("email", "contains", "zoe")))
    assert _names(query) == ["Zoe Adams"]
    assert _names(ListQuery("contact", conditions=(Condition("email", "empty"),))) == ["ann Baker"]


def test_deleted_records_leave_the_list_and_bulk_restore_brings_them_back(
    workspace: Workspace, people: dict[str, int]
) -> None:
    deleted = bulk.delete(workspace.ctx, "contact", [people["zoe"], people["bob"]])
    assert _names(ListQuery("contact")) == ["ann Baker"]
    bulk.restore(workspace.ctx, "contact", deleted)
    assert count(ListQuery("contact")) == 3


def test_owner_is_me_follows_the_reader(workspace: Workspace, people: dict[str, int]) -> None:
    bulk.set_owner(workspace.ctx, "contact", [people["ann"]], workspace.ctx.user_id)
    mine = ListQuery("contact", conditions=(Condition("owner", "is", "me"),))
    assert _names(mine, workspace.ctx.user_id) == ["ann Baker"]
    assert _names(mine, None) == []
    changes = Event.select().where(Event.entity == "contact", Event.record_id == people["ann"], Event.field == "owner_id")
    assert changes.count() == 1


def test_deals_filter_by_stage_kind_amount_and_close_period(workspace: Workspace) -> None:
    ctx = workspace.ctx
    today = clock.now().date()
    make_deal(ctx, "Small", amount=100_00, expected_close=today)
    make_deal(ctx, "Big", amount=90_000_00, expected_close=date(today.year + 2, 1, 1))
    make_deal(ctx, "Won one", stage="Closed Won", amount=5_00)
    big = ListQuery("deal", conditions=(Condition("amount", "gt", 1_000_00),))
    assert [r.values["title"] for r in page(big, 0)] == ["Big"]
    closing = ListQuery("deal", conditions=(Condition("expected_close", "within", "this_month"), Condition("status", "is", "open")))
    assert [r.values["title"] for r in page(closing, 0)] == ["Small"]
    by_amount = page(ListQuery("deal", sort="amount", descending=True), 0)
    assert [r.values["title"] for r in by_amount] == ["Big", "Small", "Won one"]
    assert by_amount[0].values["stage"] == "Qualification" and by_amount[2].values["status"] == "won"


def test_deals_filter_and_sort_by_the_probability_shown(workspace: Workspace) -> None:
    """Prob. shows the deal's own probability, else its stage's: the filter and the sort use the same."""
    ctx = workspace.ctx
    make_deal(ctx, "Early", stage="Qualification")  # the stage's 20%
    make_deal(ctx, "Late", stage="Negotiation")  # the stage's 70%
    make_deal(ctx, "Sure thing", stage="Qualification", probability=90)  # its own
    likely = ListQuery("deal", conditions=(Condition("probability", "ge", 50),))
    assert sorted(r.values["title"] for r in page(likely, 0)) == ["Late", "Sure thing"]
    ranked = page(ListQuery("deal", sort="probability", descending=True), 0)
    assert [(r.values["title"], r.values["probability"]) for r in ranked] == [("Sure thing", 90), ("Late", 70), ("Early", 20)]


def test_custom_fields_sort_and_filter_in_sql(workspace: Workspace, people: dict[str, int]) -> None:
    ctx = workspace.ctx
    records.create(ctx, "custom_field", {"entity": "contact", "key": "score", "label": "Score", "type": "number"})
    records.create(
        ctx, "custom_field", {"entity": "contact", "key": "tier", "label": "Tier", "type": "dropdown", "options": ["Gold", "Silver"]}
    )
    for name, score, tier in [("zoe", "7.5", "gold"), ("bob", "12", "Silver")]:
        snap = records.get("contact", people[name])
        records.update(ctx, "contact", snap.id, {"custom": {"score": score, "tier": tier}}, version=snap.version)
    assert _names(ListQuery("contact", sort="custom.score", descending=True)) == ["Bob Clark", "Zoe Adams", "ann Baker"]
    gold = ListQuery("contact", conditions=(Condition("custom.tier", "is", "Gold"),))
    rows = page(gold, 0)
    assert [r.values["name"] for r in rows] == ["Zoe Adams"] and rows[0].values["custom.tier"] == "Gold"
    assert count(ListQuery("contact", conditions=(Condition("custom.score", "empty"),))) == 1


def test_a_typed_filter_value_is_checked(workspace: Workspace) -> None:
    deals = entity_list("deal")
    assert parse_value(deals.column("amount"), "gt", "1,500.50") == 150050
    assert parse_value(deals.column("expected_close"), "within", "this month") == "this_month"
    assert parse_value(deals.column("owner"), "is", "me") == "me"
    with pytest.raises(ServiceError, match="not a period"):
        parse_value(deals.column("expected_close"), "within", "someday")
    with pytest.raises(ServiceError, match="one of"):
        parse_value(deals.column("status"), "is", "pending")


def test_periods_cover_whole_weeks_months_and_quarters() -> None:
    wednesday = date(2026, 11, 18)
    assert period_range("this_week", wednesday) == (date(2026, 11, 16), date(2026, 11, 23))
    assert period_range("last_month", wednesday) == (date(2026, 10, 1), date(2026, 11, 1))
    assert period_range("this_quarter", wednesday) == (date(2026, 10, 1), date(2027, 1, 1))
    assert period_range("next_month", date(2026, 12, 31)) == (date(2027, 1, 1), date(2027, 2, 1))


def test_saved_views_are_per_user_and_keep_filters_and_sort(workspace: Workspace, people: dict[str, int]) -> None:
    query = ListQuery("contact", text="a", conditions=(Condition("email", "not_empty"),), sort="email", descending=True)
    saved = list_views.save_view(workspace.ctx, "With email", query)
    found = [v for v in list_views.views("contact", workspace.ctx.user_id) if v.id == saved.id]
    assert found and found[0].query == query
    assert all(v.id != saved.id for v in list_views.views("contact", None))  # someone else's view
    names = [v.name for v in list_views.views("lead", workspace.ctx.user_id)]
    assert "Leads created this week" in names


def test_bulk_tag_and_move(workspace: Workspace) -> None:
    ctx = workspace.ctx
    a, b = make_deal(ctx, "A"), make_deal(ctx, "B")
    tag = records.create(ctx, "tag", {"name": "Hot"})
    assert bulk.tag(ctx, "deal", [a.id, b.id], tag.id) == 2
    assert bulk.tag(ctx, "deal", [a.id, b.id], tag.id) == 0  # already tagged
    assert DealTag.select().where(DealTag.tag == tag.id).count() == 2
    assert bulk.tag(ctx, "deal", [a.id], tag.id, add=False) == 1
    assert bulk.move_deals(ctx, [a.id, b.id], stage_named("Negotiation")) == 2
    assert {records.get("deal", i)["stage_id"] for i in (a.id, b.id)} == {stage_named("Negotiation")}
    assert Tag.select().count() == 1


@pytest.mark.parametrize("sort", ["name", "email", "company"])
@pytest.mark.parametrize("descending", [False, True])
def test_pages_read_from_the_end_match_pages_read_from_the_start(
    workspace: Workspace, people: dict[str, int], sort: str, descending: bool
) -> None:
    for n in range(9):
        records.create(workspace.ctx, "contact", {"last_name": f"Extra {n % 4}", "email": None if n % 3 else f"x{n}@y.org"})
    query = ListQuery("contact", sort=sort, descending=descending)
    total = count(query)
    forward = [row.id for row in page(query, 0, limit=total)]
    for offset in range(total):
        for limit in (1, 3, 5):
            from_end = [row.id for row in page(query, offset, limit=limit, total=total)]
            assert from_end == forward[offset : offset + limit], (offset, limit)
