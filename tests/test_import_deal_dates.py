"""Deals imported from another CRM keep when they were created and closed, so the dashboard's
months, won figures and sales cycle tell the team's history, not the day of the import."""

from __future__ import annotations

from datetime import datetime

from crm_tui.models import Deal, StageChange
from crm_tui.services import import_columns, reports, rollups
from crm_tui.services.import_engine import ImportRequest
from crm_tui.services.import_preview import preview
from crm_tui.services.import_read import read_bytes
from crm_tui.services.workspace import Workspace
from tests.conftest import FROZEN_NOW
from tests.test_import_engine import DATA, _run

PIPEDRIVE = (
    b"Deal - Title,Deal - Value,Deal - Currency,Deal - Status,Deal - Deal created,Deal - Won time,Deal - Expected close date\n"
    b"Old win,1200,USD,won,2026-03-02,2026-04-15 10:30,2026-04-01\n"
    b"Old loss,800,USD,lost,2026-05-01,,2026-06-20\n"
    b"Still open,500,USD,open,2026-09-09,,2027-01-01\n"
    b"Won without dates,300,USD,won,,,\n"
)


def _deals() -> dict[str, Deal]:
    return {deal.title: deal for deal in Deal.select()}


def _history(deal: Deal) -> list[tuple[datetime, datetime | None]]:
    return [(row.at, row.left_at) for row in StageChange.select().where(StageChange.deal == deal.id)]


def test_a_pipedrive_export_keeps_created_and_won_times(workspace: Workspace) -> None:
    table = read_bytes(PIPEDRIVE)
    mapping = import_columns.suggest("deal", table.header)
    assert mapping[4] == "created_at" and mapping[5] == "closed_at"
    result = _run(workspace, "deal", PIPEDRIVE)
    assert result.stored and result.created == 4, result.lines()
    deals = _deals()
    win = deals["Old win"]
    assert (win.created_at, win.closed_at, win.stage_entered_at) == (
        datetime(2026, 3, 2, 9), datetime(2026, 4, 15, 10, 30), datetime(2026, 4, 15, 10, 30)
    )
    assert _history(win) == [(datetime(2026, 4, 15, 10, 30), None)]
    # No closing time in the file: the expected close date (past) stands in, as HubSpot's "Close date" means.
    loss = deals["Old loss"]
    assert (loss.created_at, loss.closed_at) == (datetime(2026, 5, 1, 9), datetime(2026, 6, 20, 9))
    still = deals["Still open"]
    assert (still.created_at, still.closed_at, still.stage_entered_at) == (datetime(2026, 9, 9, 9), None, datetime(2026, 9, 9, 9))
    bare = deals["Won without dates"]
    assert bare.closed_at is not None and bare.closed_at == bare.created_at  # the import's own time, as before


def test_the_dashboard_counts_imported_history_in_its_own_months(workspace: Workspace) -> None:
    _run(workspace, "deal", PIPEDRIVE)
    april = reports.ReportFilter(None, None, None, datetime(2026, 4, 1), datetime(2026, 5, 1))
    cards = reports.stat_cards(april, now=FROZEN_NOW)
    assert cards.won_count == 1 and cards.won_value == {"USD": 120_000}
    assert round(cards.cycle_days or 0, 2) == round((datetime(2026, 4, 15, 10, 30) - datetime(2026, 3, 2, 9)).total_seconds() / 86400, 2)
    year = reports.ReportFilter(None, None, None, datetime(2026, 1, 1), datetime(2027, 1, 1))
    months = {month.month.month: month for month in reports.monthly(year)}
    assert months[3].created_value == {"USD": 120_000} and months[9].created_value == {"USD": 50_000}
    assert months[6].lost_value == {"USD": 80_000}
    pipeline = reports.board_pipeline(year)
    assert pipeline is not None
    kept = (reports.funnel(pipeline, year), reports.stage_durations(pipeline, year, now=FROZEN_NOW))
    assert sum(step.reached for step in kept[0]) > 0
    with rollups.disabled():  # the trigger-kept tables agree with the deals themselves
        assert reports.stat_cards(april, now=FROZEN_NOW) == cards
        assert {m.month.month: m for m in reports.monthly(year)} == months
        assert (reports.funnel(pipeline, year), reports.stage_durations(pipeline, year, now=FROZEN_NOW)) == kept


def test_a_hubspot_close_date_is_when_a_closed_deal_closed(workspace: Workspace) -> None:
    result = _run(workspace, "deal", DATA / "hubspot-deals.csv")
    assert result.stored, result.lines()
    deals = _deals()
    won = deals["BrightPath pilot"]
    assert won.stage.kind == "won"
    assert (won.created_at, won.closed_at) == (datetime(2025, 12, 5, 9), datetime(2026, 2, 10, 9))
    open_one = deals["Cyberdyne – security audit"]
    assert open_one.closed_at is None and open_one.expected_close.isoformat() == "2026-04-30"


def test_impossible_dates_reject_their_row_with_the_column_named(workspace: Workspace) -> None:
    data = (
        b"Title,Status,Created,Closed\n"
        b"Backwards,won,2026-05-01,2026-04-01\n"
        b"From the future,open,2030-01-01,\n"
        b"Open with a close,open,2026-01-01,2026-02-01\n"
    )
    result = _run(workspace, "deal", data, mode="partial")
    reasons = {line: reason for line, reason in ((row.line, row.reason) for row in result.rejected)}
    assert reasons == {2: "Closed: is before the deal was created", 3: "Created: is in the future"}
    assert any("open deals keep no close date" in text for text in result.warnings)
    assert _deals()["Open with a close"].closed_at is None


def test_the_preview_shows_the_dates(workspace: Workspace) -> None:
    table = read_bytes(PIPEDRIVE)
    request = ImportRequest("deal", import_columns.suggest("deal", table.header), file_name="x.csv")
    first = preview(table, request)[0]
    assert ("Created", "2026-03-02 09:00") in first.values and ("Closed", "2026-04-15 10:30") in first.values

