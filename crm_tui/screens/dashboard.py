"""The dashboard (F7): how much will we close, where is it stuck, what is late. Stat cards with
their change against the previous period, month columns, stages, funnel, stage durations, the
stuck deals, the forecast, the activity feed and my tasks, for the filters on top (pipeline,
owner, tag, period; kept as the user's default). It reads everything in one worker call and
refreshes itself when the workspace changes, at most once a second."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from crm_tui import clock
from crm_tui.screens.base import RefreshAtMostOncePerGap, ReportsWorkerErrors, session_of
from crm_tui.screens.choice import ChoiceScreen
from crm_tui.screens.dashboard_view import (
    CARDS,
    card_values,
    duration_bars,
    forecast_bars,
    funnel_bars,
    group_share_bars,
    month_bars,
    share_bars,
    stage_bars,
    when,
)
from crm_tui.screens.drill import DrillScreen
from crm_tui.screens.text_prompt import TextPromptScreen
from crm_tui.services import board as board_service
from crm_tui.services import lookups, preferences, reports, workspace_settings
from crm_tui.services.record_lists import period_range
from crm_tui.services.session import Session
from crm_tui.text import safe_text
from crm_tui.widgets.charts import Chart, Columns, HBars, ShareBar, StatCard
from crm_tui.widgets.footer import BatchedFooter
from crm_tui.widgets.mode_tabs import ModeTabs

PERIODS = ("this_month", "last_month", "this_quarter", "last_quarter", "this_year", "last_12_months")
PREFERENCE = "dashboard.filter"


def parse_span(text: str) -> tuple[datetime, datetime] | None:
    """ "2026-01-01 2026-03-31" (or with "..", "to", "–") as [start, day after end), or None."""
    parts = [p for p in text.replace("..", " ").replace("–", " ").replace(" to ", " ").split() if p]
    if len(parts) != 2:
        return None
    try:
        first, last = (datetime.fromisoformat(p) for p in parts)
    except ValueError:
        return None
    return (first, last + timedelta(days=1)) if first <= last else None


class DashboardScreen(RefreshAtMostOncePerGap, ReportsWorkerErrors, Screen[None]):
    """The weighted pipeline at a glance."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "app.focus_next", "Charts", id="dashboard.next_chart"),
        Binding("r", "refresh", "Refresh", id="dashboard.refresh"),
        Binding("p", "pick_pipeline", "Pipeline", id="dashboard.pipeline"),
        Binding("o", "pick_owner", "Owner", id="dashboard.owner"),
        Binding("t", "pick_tag", "Tag", id="dashboard.tag"),
        Binding("d", "pick_period", "Period", id="dashboard.period"),
    ]
    DEFAULT_CSS = """
    DashboardScreen #filters { height: 1; padding: 0 1; background: $boost; }
    DashboardScreen #page { padding: 0 1; }
    DashboardScreen #cards { grid-size: 5; grid-gutter: 0 1; height: auto; grid-rows: 7; }
    DashboardScreen HBars, DashboardScreen Columns { margin-top: 1; }
    DashboardScreen .heading { margin-top: 1; text-style: bold; }
    DashboardScreen OptionList { height: auto; max-height: 12; border: none; padding: 0; }
    DashboardScreen OptionList:focus { background: $boost; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.choice: dict[str, Any] = {"pipeline_id": None, "owner_id": None, "tag_id": None, "period": "this_month"}
        self.names: dict[str, str] = {"pipeline": "all pipelines", "owner": "everyone", "tag": "any tag"}
        self.board: reports.Dashboard | None = None
        self.currency = "USD"
        self._opens: dict[str, list[tuple[str, int]]] = {}
        self._aside_session: Session | None = None
        # A new screen counts as styled with an older stylesheet, so switching to it re-reads every
        # stylesheet and restyles every screen of the app, twice (~50 ms): its widgets are styled
        # from the current stylesheet as they mount, so it is current. (A private Textual counter;
        # a later theme change still restyles this screen.)
        self._css_update_count = self.app._css_update_count

    def compose(self) -> ComposeResult:
        """Tabs, filters, then the page of cards and charts."""
        yield ModeTabs("dashboard")
        yield Static("", id="filters")
        with VerticalScroll(id="page"):
            with Grid(id="cards"):
                for card_id, title in CARDS:
                    yield StatCard(title, id=f"card-{card_id}")
            for chart in ("created", "won", "lost", "count"):
                yield Columns(id=f"months-{chart}")
            yield HBars(id="stages")
            yield ShareBar(id="share")
            yield HBars(id="share-tag")
            yield ShareBar(id="share-source")
            yield HBars(id="funnel")
            yield HBars(id="durations")
            yield Static("Stuck deals: the longest in their stage (enter opens)", classes="heading")
            yield OptionList(id="stuck")
            yield HBars(id="forecast")
            yield Static("Activity (enter opens)", classes="heading")
            yield OptionList(id="feed")
            yield Static("My tasks", classes="heading")
            yield OptionList(id="tasks")
        yield BatchedFooter()

    def on_mount(self) -> None:
        """Read the user's saved filters, then the figures."""
        self.load(first=True)

    def on_resize(self, event: events.Resize) -> None:
        """As many cards a row as fit at about 24 cells each (3 at 80 columns, 5 from 120)."""
        self.query_one("#cards", Grid).styles.grid_size_columns = max(2, min(5, event.size.width // 24))

    # -- reading ---------------------------------------------------------------------------------
    def _filter(self) -> reports.ReportFilter:
        choice = self.choice
        if choice["period"] == "custom":
            start = datetime.fromisoformat(choice["start"])
            end = datetime.fromisoformat(choice["end"])
        else:
            first, after = period_range(choice["period"], clock.now().date())
            start, end = datetime(first.year, first.month, first.day), datetime(after.year, after.month, after.day)
        return reports.ReportFilter(choice["pipeline_id"], choice["owner_id"], choice["tag_id"], start, end)

    @work(group="dashboard-read", exclusive=True, exit_on_error=False)
    async def load(self, *, first: bool = False) -> None:
        """Read every figure for the filters and draw it: the cards first, then everything else at
        once. The slowest figures (stage durations, then the shares by tag and by source) are read
        meanwhile on a second connection of the screen's own."""
        session = session_of(self)
        if first:
            saved = await session.call(preferences.get_preference, session.ctx.user_id, PREFERENCE, None)
            if isinstance(saved, dict):
                self.choice.update({k: v for k, v in saved.items() if k in self.choice or k in ("start", "end")})
            self.currency = await session.call(workspace_settings.currency)
            await self._name_choices()
        f = self._filter()
        aside = self._aside()
        pending: list[asyncio.Future[Any]] = [asyncio.ensure_future(aside.call(reports.board_durations, f))]
        try:
            cards = await session.call(reports.stat_cards, f)
            pending += [asyncio.ensure_future(aside.call(reports.share, f, by, totals=cards.open_value)) for by in ("tag", "source")]
            changes = await session.call(reports.card_changes, f, cards)
            self._draw_filters(f)
            self._draw_cards(cards, changes)
            board = await session.call(
                reports.dashboard, f, user_id=session.ctx.user_id, cards=cards, changes=changes, durations=False
            )
            durations, by_tag, by_source = await asyncio.gather(*pending)
        finally:
            for future in pending:  # a newer read replaced this one, or a read failed: the rest is dropped
                if not future.cancel() and not future.cancelled():
                    future.exception()  # seen: the failure reported is the one that ended this read
        self.board = replace(board, durations=durations)
        self.loaded_now()
        self._draw(self.board)
        self.query_one("#share-tag", HBars).show(
            f"Share of open value by tag (service line; a deal may have several, {self.currency})",
            group_share_bars(by_tag, self.currency, "tag"),
        )
        self.query_one("#share-source", ShareBar).show(
            f"Share of open value by source ({self.currency})", group_share_bars(by_source, self.currency, "source")
        )

    def _aside(self) -> Session:
        """The screen's second database connection (opened on the first read, closed with the screen)."""
        if self._aside_session is None:
            self._aside_session = session_of(self).sibling()
        return self._aside_session

    def on_unmount(self) -> None:
        """Close the second connection, on a thread: a read still running there ends first."""
        if self._aside_session is not None:
            threading.Thread(target=self._aside_session.close, name="crm-dashboard-close", daemon=True).start()
            self._aside_session = None

    async def _name_choices(self) -> None:
        session = session_of(self)
        choice = self.choice
        if choice["pipeline_id"]:
            pipelines = {p.id: p.name for p in await session.call(board_service.list_pipelines)}
            self.names["pipeline"] = pipelines.get(choice["pipeline_id"], "all pipelines")
        if choice["owner_id"]:
            users = {u.id: u.name for u in await session.call(lookups.users, active_only=False)}
            self.names["owner"] = "me" if choice["owner_id"] == session.ctx.user_id else users.get(choice["owner_id"], "?")
        if choice["tag_id"]:
            tags = {t.id: t.name for t in await session.call(lookups.tags)}
            self.names["tag"] = tags.get(choice["tag_id"], "any tag")

    def _draw_filters(self, f: reports.ReportFilter) -> None:
        period = "from" if self.choice["period"] == "custom" else self.choice["period"].replace("_", " ")
        span = f"{f.start:%Y-%m-%d} – {(f.end - timedelta(days=1)):%Y-%m-%d}"
        self.query_one("#filters", Static).update(
            Content.assemble(
                ("p ", "bold"), safe_text(self.names["pipeline"]), ("  o ", "bold"), safe_text(self.names["owner"]),
                ("  t ", "bold"), safe_text(self.names["tag"]), ("  d ", "bold"), f"{period} ({span})",
                (f"  · compared with the period before · {self.currency}", "dim"),
            )
        )

    def _draw_cards(self, cards: reports.StatCards, changes: reports.CardChanges) -> None:
        for card_id, (big, scale, foot, change, good_up) in card_values(cards, changes, self.currency).items():
            amount, unit = (change.amount, change.unit) if change is not None else (None, "%")
            self.query_one(f"#card-{card_id}", StatCard).show(big, foot, amount, scale=scale, good_when_up=good_up, unit=unit)

    def _draw(self, board: reports.Dashboard) -> None:
        self._draw_cards(board.cards, board.changes)
        money = f"({self.currency}, by month)"
        self.query_one("#months-created", Columns).show(f"Pipeline created {money}", month_bars(board, self.currency, "created"))
        self.query_one("#months-won", Columns).show(f"Won {money}", month_bars(board, self.currency, "won"))
        self.query_one("#months-lost", Columns).show(f"Lost {money}", month_bars(board, self.currency, "lost"))
        self.query_one("#months-count", Columns).show("New deals (count, by month)", month_bars(board, self.currency, "count"))
        self.query_one("#stages", HBars).show(f"Open value by stage ({self.currency})", stage_bars(board, self.currency))
        self.query_one("#share", ShareBar).show(f"Share of open value by stage ({self.currency})", share_bars(board, self.currency))
        self.query_one("#funnel", HBars).show("Funnel: deals created this period that reached each stage", funnel_bars(board))
        self.query_one("#durations", HBars).show("Days in each stage (average; median beside it)", duration_bars(board))
        self.query_one("#forecast", HBars).show(
            f"Forecast: weighted value by expected close ({self.currency})", forecast_bars(board, self.currency)
        )
        self._fill("stuck", self._stuck_lines(board))
        self._fill("feed", [
            (Content.assemble((f"{when(item.at)} {safe_text(item.who or '')} ", "dim"), safe_text(item.text)), (item.entity, item.record_id))
            for item in board.feed
        ])  # fmt: skip
        self._fill("tasks", self._task_lines(board))

    def _stuck_lines(self, board: reports.Dashboard) -> list[tuple[Content, tuple[str, int] | None]]:
        names = {d.stage_id: d.name for d in board.durations} | {s.stage_id: s.name for s in board.stages}
        lines = []
        for stage_id, deals in board.stuck.items():
            for deal in deals:
                text = Content.assemble((f"{deal.days:>4} d ", "bold"), safe_text(deal.title), (f"  in {safe_text(names.get(stage_id, ''))}", "dim"))
                lines.append((text, ("deal", deal.id)))
        return lines

    def _task_lines(self, board: reports.Dashboard) -> list[tuple[Content, tuple[str, int] | None]]:
        tasks = board.tasks
        if tasks is None:
            return []
        lines = []
        for group, items, style in (("overdue", tasks.overdue, "$text-error"), ("today", tasks.today, "$text-warning"),
                                    ("upcoming", tasks.upcoming, "")):  # fmt: skip
            for task in items:
                on_deal = f"  · {safe_text(task.deal_title)}" if task.deal_title else ""
                text = Content.assemble((f"{group:<9}{when(task.due_at)} ", style or "dim"), safe_text(task.title), (on_deal, "dim"))
                lines.append((text, ("deal", task.deal_id) if task.deal_id else None))
        return lines

    def _fill(self, name: str, lines: list[tuple[Content, tuple[str, int] | None]]) -> None:
        box = self.query_one(f"#{name}", OptionList)
        highlighted = box.highlighted
        box.clear_options()
        self._opens[name] = [opens for _, opens in lines]
        for text, _ in lines:
            box.add_option(Option(text))
        if not lines:
            box.add_option(Option(Content.styled("nothing here for these filters", "dim"), disabled=True))
        elif highlighted is not None:
            box.highlighted = min(highlighted, len(lines) - 1)
        else:  # enter opens at once when the list gets the focus, not after a first arrow key
            box.highlighted = next((i for i, (_, opens) in enumerate(lines) if opens is not None), 0)

    def on_chart_picked(self, message: Chart.Picked) -> None:
        """Enter on a bar: the deals behind it, read with the same filter."""
        if self.board is None or not isinstance(message.bar.key, tuple):
            return
        what, key = message.bar.key
        title = message.chart.chart_title.split(" (")[0]
        label = key if what in ("created", "won", "lost") else message.bar.label  # the month with its year
        self.app.push_screen(DrillScreen(f"{title}: {label}", self.board.filter, what, key))

    @on(OptionList.OptionSelected)
    def _open(self, event: OptionList.OptionSelected) -> None:
        opens = self._opens.get(event.option_list.id or "", [])
        if event.option_index < len(opens) and opens[event.option_index] is not None:
            entity, record_id = opens[event.option_index]
            self.app.open_record(entity, record_id)  # type: ignore[attr-defined]

    # -- refreshing ------------------------------------------------------------------------------
    def action_refresh(self) -> None:
        """Read everything again."""
        self.load()

    # -- filters ---------------------------------------------------------------------------------
    def _keep(self) -> None:
        session = session_of(self)
        self.run_worker(session.call(preferences.set_preference, session.ctx.user_id, PREFERENCE, dict(self.choice)),
                        group="dashboard-save", exit_on_error=False)  # fmt: skip
        self.load()

    @work(group="dashboard-dialog", exclusive=True, exit_on_error=False)
    async def action_pick_pipeline(self) -> None:
        """Choose the pipeline (or all)."""
        pipelines = await session_of(self).call(board_service.list_pipelines)
        options = [("all pipelines", None)] + [(p.name, p.id) for p in pipelines]
        await self._choose("pipeline", "Pipeline", options)

    @work(group="dashboard-dialog", exclusive=True, exit_on_error=False)
    async def action_pick_owner(self) -> None:
        """Choose whose deals: everyone, me, or one user."""
        session = session_of(self)
        users = await session.call(lookups.users)
        options = [("everyone", None), ("me", session.ctx.user_id)] + [(u.name, u.id) for u in users]
        await self._choose("owner", "Owner", options)

    @work(group="dashboard-dialog", exclusive=True, exit_on_error=False)
    async def action_pick_tag(self) -> None:
        """Choose a tag (or any)."""
        tags = await session_of(self).call(lookups.tags)
        await self._choose("tag", "Tag", [("any tag", None)] + [(t.name, t.id) for t in tags])

    @work(group="dashboard-dialog", exclusive=True, exit_on_error=False)
    async def action_pick_period(self) -> None:
        """Choose the period the cards and charts cover."""
        labels = [p.replace("_", " ") for p in PERIODS] + ["custom dates…"]
        current = PERIODS.index(self.choice["period"]) if self.choice["period"] in PERIODS else len(PERIODS)
        picked = await self.app.push_screen_wait(ChoiceScreen(Content("Period"), [Content(x) for x in labels], current=current))
        if picked is None:
            return
        if picked < len(PERIODS):
            self.choice["period"] = PERIODS[picked]
            self._keep()
            return
        typed = await self.app.push_screen_wait(
            TextPromptScreen(Content("From and to (inclusive)"), placeholder="2026-01-01 2026-03-31")
        )
        span = parse_span(typed or "")
        if span is None:
            if typed:
                self.notify("Type two dates like 2026-01-01 2026-03-31, the first before the second.", severity="warning")
            return
        self.choice.update(period="custom", start=span[0].isoformat(), end=span[1].isoformat())
        self._keep()

    async def _choose(self, name: str, question: str, options: list[tuple[str, int | None]]) -> None:
        current = next((i for i, (_, value) in enumerate(options) if value == self.choice[f"{name}_id"]), 0)
        choices = [Content(safe_text(label)) for label, _ in options]
        picked = await self.app.push_screen_wait(ChoiceScreen(Content(question), choices, current=current))
        if picked is None:
            return
        label, value = options[picked]
        self.choice[f"{name}_id"] = value
        self.names[name] = label
        self._keep()
