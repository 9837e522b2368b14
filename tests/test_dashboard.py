"""The dashboard from the keyboard: filters (kept as the user's default), drill-downs into stuck
deals, refreshing when the workspace changes, and what it looks like at 120x35 and 80x24 on the
demo data with a frozen clock. Update the pictures with `--snapshot-update`, then look at them."""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import OptionList

from crm_tui.app import CrmApp
from crm_tui.screens.dashboard import PREFERENCE, DashboardScreen
from crm_tui.screens.dashboard_view import big_money
from crm_tui.screens.record_screen import RecordScreen
from crm_tui.services import preferences, reports
from crm_tui.services.workspace import Workspace
from crm_tui.widgets.charts import StatCard
from tests.board_fixtures import make_app, settle
from tests.conftest import FROZEN_NOW
from tests.helpers import make_deal


async def _open(pilot: Pilot) -> None:
    await settle(pilot)
    await pilot.press("f7")
    await settle(pilot)


def _digits(app: CrmApp, card: str) -> str:
    return app.screen.query_one(f"#card-{card}", StatCard).value


def test_dashboard_at_120_by_35(snap_compare, demo_app: CrmApp) -> None:
    assert snap_compare(demo_app, terminal_size=(120, 35), run_before=_open)


def test_dashboard_at_80_by_24(snap_compare, demo_app: CrmApp) -> None:
    assert snap_compare(demo_app, terminal_size=(80, 24), run_before=_open)


async def _choose(pilot: Pilot, key: str, steps: int) -> None:
    await pilot.press(key)
    await settle(pilot)
    await pilot.press("home", *["down"] * steps, "enter")
    await settle(pilot)


async def test_filters_change_every_figure_and_are_kept(demo_app: CrmApp, sqlite_workspace: Workspace) -> None:
    me = sqlite_workspace.ctx.user_id
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await _open(pilot)
        screen = demo_app.screen
        assert isinstance(screen, DashboardScreen)
        this_month = reports.stat_cards(reports.ReportFilter.for_period("this_month"))
        assert _digits(demo_app, "won") == big_money(this_month.won_value, "USD")[0]
        await _choose(pilot, "d", 1)  # last month
        last_month = reports.ReportFilter.for_period("last_month")
        assert _digits(demo_app, "won") == big_money(reports.stat_cards(last_month).won_value, "USD")[0]
        await _choose(pilot, "p", 1)  # the first pipeline
        pipeline = screen.choice["pipeline_id"]
        assert pipeline is not None
        filtered = reports.ReportFilter.for_period("last_month", pipeline_id=pipeline)
        assert _digits(demo_app, "open_count") == str(reports.stat_cards(filtered).open_count)
        assert preferences.get_preference(me, PREFERENCE)["period"] == "last_month"
        assert preferences.get_preference(me, PREFERENCE)["pipeline_id"] == pipeline
    again = make_app(sqlite_workspace.ctx)  # a new session starts from the saved filters
    async with again.run_test(size=(120, 35)) as pilot:
        await _open(pilot)
        assert again.screen.choice["period"] == "last_month" and again.screen.choice["pipeline_id"] == pipeline
    again.session.close()


async def test_enter_on_a_stuck_deal_opens_it(demo_app: CrmApp) -> None:
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await _open(pilot)
        screen = demo_app.screen
        stuck = screen.query_one("#stuck", OptionList)
        screen.set_focus(stuck)
        await pilot.pause()
        expected = next(deal for deals in screen.board.stuck.values() for deal in deals)
        await pilot.press("enter")  # no arrow key first: the first stuck deal is highlighted
        await settle(pilot)
        assert isinstance(demo_app.screen, RecordScreen) and demo_app.screen.record_id == expected.id


async def test_the_dashboard_follows_changes_within_a_second(demo_app: CrmApp, sqlite_workspace: Workspace) -> None:
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await _open(pilot)
        before = int(_digits(demo_app, "open_count"))
        make_deal(sqlite_workspace.ctx, "Brand new")
        await pilot.pause(1.5)
        await settle(pilot)
        assert int(_digits(demo_app, "open_count")) == before + 1


async def test_a_custom_period(demo_app: CrmApp) -> None:
    from datetime import datetime

    async with demo_app.run_test(size=(120, 35)) as pilot:
        await _open(pilot)
        await _choose(pilot, "d", 6)  # custom dates…
        keys = {"-": "minus", " ": "space"}
        await pilot.press(*[keys.get(ch, ch) for ch in "2026-10-01 2026-10-31"], "enter")
        await settle(pilot)
        screen = demo_app.screen
        assert screen.choice["period"] == "custom" and screen.choice["end"] == "2026-11-01T00:00:00"
        october = reports.ReportFilter(None, None, None, datetime(2026, 10, 1), datetime(2026, 11, 1))
        assert _digits(demo_app, "won") == big_money(reports.stat_cards(october).won_value, "USD")[0]
        assert "2026-10-01 – 2026-10-31" in str(screen.query_one("#filters").render())


async def test_enter_on_a_stage_bar_lists_its_deals_and_opens_one(demo_app: CrmApp) -> None:
    from crm_tui.models import Deal
    from crm_tui.screens.drill import DrillScreen
    from crm_tui.widgets.charts import HBars

    async with demo_app.run_test(size=(120, 35)) as pilot:
        await _open(pilot)
        screen = demo_app.screen
        chart = screen.query_one("#stages", HBars)
        screen.set_focus(chart)
        await pilot.press("home", "down", "enter")  # the second open stage
        await settle(pilot)
        drill = demo_app.screen
        assert isinstance(drill, DrillScreen)
        stage = screen.board.stages[1]
        live = Deal.select().where(Deal.stage == stage.stage_id, Deal.deleted_at.is_null())
        assert live.count() > 0 and len(drill.ids) == live.count()
        assert "deals" in str(drill.query_one("#drill-summary").render())
        largest = live.order_by(Deal.amount.desc(), Deal.id).first()
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(demo_app.screen, RecordScreen) and demo_app.screen.record_id == largest.id
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert demo_app.screen is screen


async def test_enter_on_this_months_won_column_lists_the_deals_won(demo_app: CrmApp) -> None:
    from crm_tui.models import Deal, Stage
    from crm_tui.screens.drill import DrillScreen
    from crm_tui.widgets.charts import Columns

    async with demo_app.run_test(size=(120, 35)) as pilot:
        await _open(pilot)
        screen = demo_app.screen
        screen.set_focus(screen.query_one("#months-won", Columns))
        await pilot.press("end", "enter")
        await settle(pilot)
        assert isinstance(demo_app.screen, DrillScreen)
        start = FROZEN_NOW.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        won = (
            Deal.select().join(Stage, on=(Deal.stage == Stage.id))
            .where(Stage.kind == "won", Deal.closed_at >= start, Deal.deleted_at.is_null())
        )  # fmt: skip
        assert won.count() > 0 and sorted(demo_app.screen.ids) == sorted(d.id for d in won)


def test_big_counts_fit_their_card_and_keep_the_exact_figure_below() -> None:
    from crm_tui.screens.dashboard_view import card_values
    from crm_tui.services.report_cards import StatCards, compare

    cards = StatCards(open_count=290_234, overdue_tasks=36_210, new_count=151_347, new_value={"USD": 10**9})
    values = card_values(cards, compare(cards, cards), "USD")
    assert values["open_count"][:3] == ("290k", "", "290,234 open now")
    assert values["overdue"][:3] == ("36210", "", "past due, not done")  # six digits still fit
    assert values["new"][2] == "151,347 deals"


async def test_a_change_made_in_another_mode_shows_when_the_dashboard_is_shown_again(demo_app: CrmApp) -> None:
    from crm_tui.models import Deal

    async with demo_app.run_test(size=(120, 35)) as pilot:
        await _open(pilot)
        before = {stage.stage_id: stage.count for stage in demo_app.screen.board.stages}
        await pilot.press("f2")  # the board: a deal moves on while the dashboard is not shown
        await settle(pilot)
        deal_id = demo_app.screen.selected().id
        stage_before = Deal.get_by_id(deal_id).stage_id
        await pilot.press("L")
        await pilot.pause(0.5)
        await settle(pilot)
        stage_after = Deal.get_by_id(deal_id).stage_id
        assert stage_after != stage_before
        await pilot.pause(1.1)  # past the dashboard's refresh gap
        await pilot.press("f7")
        await pilot.pause(0.3)
        await settle(pilot)
        after = {stage.stage_id: stage.count for stage in demo_app.screen.board.stages}
        assert after[stage_before] == before[stage_before] - 1
        assert after.get(stage_after, 0) == before.get(stage_after, 0) + (1 if stage_after in before else 0)
