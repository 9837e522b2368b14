"""Drill-down: the deals behind each bar add up to the bar, for every chart and filter, on the
fixed dataset of test_reports (SQLite, and PostgreSQL with CRM_TEST_PG_URL)."""

from __future__ import annotations

import pytest

from crm_tui.models import Deal
from crm_tui.services import reports
from crm_tui.services.errors import ServiceError
from crm_tui.services.workspace import Workspace
from tests.test_reports import FILTERS, NOW, Data, build


@pytest.fixture
def data(workspace: Workspace) -> Data:
    return build(workspace)


def _adds_up(page: reports.DrillPage, count: int, value: reports.Money) -> None:
    assert page.total == count == len(page.rows)
    assert {k: v for k, v in page.value.items() if v} == {k: v for k, v in value.items() if v}
    assert all(Deal.get_by_id(row.id).deleted_at is None for row in page.rows)


@pytest.mark.parametrize("name", ["all", "bob", "tag", "partners"])
def test_each_month_column_opens_its_deals(data: Data, name: str) -> None:
    f = FILTERS[name](data)
    for month in reports.monthly(f):
        key = f"{month.month:%Y-%m}"
        _adds_up(reports.deals_behind(f, "created", key), month.created_count, month.created_value)
        _adds_up(reports.deals_behind(f, "won", key), month.won_count, month.won_value)
        _adds_up(reports.deals_behind(f, "lost", key), month.lost_count, month.lost_value)


@pytest.mark.parametrize("name", ["all", "bob", "tag", "sales"])
def test_each_stage_tag_and_source_opens_its_deals(data: Data, name: str) -> None:
    f = FILTERS[name](data)
    for stage in reports.by_stage(f):
        _adds_up(reports.deals_behind(f, "stage", stage.stage_id), stage.count, stage.value)
        stuck = reports.deals_behind(f, "stuck", stage.stage_id)
        assert [r.id for r in stuck.rows] == [
            d.id for d in sorted(stuck.rows, key=lambda r: (r.at, r.id))
        ], "longest in the stage first"
    for by in ("tag", "source"):
        for row in reports.share(f, by):
            _adds_up(reports.deals_behind(f, by, row.key), row.count, row.value)


def test_each_forecast_bucket_opens_its_deals(data: Data) -> None:
    f = FILTERS["all"](data)
    for bucket in reports.forecast(f, today=NOW.date()):
        _adds_up(reports.deals_behind(f, "forecast", bucket.key, today=NOW.date()), bucket.count, bucket.value)


def test_largest_first_and_the_limit(data: Data) -> None:
    f = FILTERS["year"](data)
    page = reports.deals_behind(f, "created", "2026-11", limit=2)
    every = reports.deals_behind(f, "created", "2026-11")
    assert page.total == every.total > 2 and len(page.rows) == 2
    assert [r.amount for r in every.rows] == sorted((r.amount for r in every.rows), reverse=True)
    assert page.rows == every.rows[:2]


def test_bad_drills_are_refused(data: Data) -> None:
    with pytest.raises(ServiceError):
        reports.deals_behind(FILTERS["all"](data), "colour", 1)
    with pytest.raises(ServiceError):
        reports.deals_behind(FILTERS["all"](data), "won", "November")
