"""The dashboard as the user sees it at 1M deals: F7 to every card and chart filled and drawn,
and `r` (refresh) once loaded, beside an empty Textual app doing the same in the same run.

    python bench/dashboard_ui.py [--deals 1000000] [--runs 5] [--sizes 120x35 200x60] [--quiet 11]
                                 [--screenshot /tmp/dash_bench/dashboard-120x35.svg]

The real app (CrmApp on bench/data/deals-<n>k.sqlite3, opened with open_workspace as the `bench`
user, as bench/reports.py does) runs headless under Textual's Pilot at each terminal size. Start-up
is not timed: the app opens on the board, waits --quiet seconds (so the timers that fire once
after start, automations 3 s, formulas 5 s, reminders 10 s, are behind it) and settles. Then per
run the dashboard mode is dropped (so F7 builds a new DashboardScreen, as the first F7 of a
session does), F2/F7 are pressed, and the clock runs from F7 to:
- screen: the DashboardScreen is current and its empty skeleton has been drawn;
- cards: all ten stat cards hold a number (their value is no longer "-") and are drawn;
- charts: the screen holds reports.dashboard()'s result (months, stages, funnel, durations,
  stuck, forecast, feed, tasks are filled in the same call) and it is drawn;
- all: the screen's `dashboard-read` worker (load(), which ends with the two share charts) has
  finished in state SUCCESS and the screen has drawn everything it changed.
"drawn" means the frame after which the screen and none of its widgets needs layout or repaint;
its time is that of the last frame the app composed (App._display is wrapped to note it; headless,
so the ANSI encoding and the terminal write, a few ms at these sizes, are not counted). Charts
below the fold are filled but only drawn when scrolled to. `r` is timed the same way to its new
worker's end. One warm-up open per size is printed apart (the first may read a cold disk).

Baselines, same run, same size: an empty Textual app switching (F7) to a new screen of ten
Static "cards" and six Static "charts" filled in on_mount, and `r` refilling them; and the
dashboard's own service calls made as load() makes them (on the session's database thread, the
slowest beside them on a second connection) with no UI ("queries only"). Other calls that ran on the database thread during a load (the app's change
poll, once a second on SQLite) are counted beside the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from textual.app import App, ComposeResult
from textual.containers import Grid, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

POLL = 0.002
"""Seconds between looks at the screen (the figures are ~1 s: 2 ms is fine and costs the loop little)."""


# -- frames ----------------------------------------------------------------------------------------
class Frames:
    """Notes when the app composes a frame (wraps App._display: no public API reports frames)."""

    def __init__(self, app: App) -> None:
        self.last = 0.0
        original = app._display

        def display(screen: Screen, renderable: Any) -> None:
            if renderable is not None:
                self.last = time.perf_counter()
            original(screen, renderable)

        app._display = display  # type: ignore[method-assign]


def _quiescent(screen: Screen) -> bool:
    """Nothing on the screen waits to be laid out or painted."""
    if screen._layout_required or screen._scroll_required or screen._repaint_required or screen._dirty_widgets:
        return False
    return not any(w._repaint_required or w._layout_required or w._recompose_required for w in screen.walk_children())


async def drawn(frames: Frames, screen: Screen, since: float) -> float:
    """When the frame showing what changed up to `since` was composed (`since` if nothing needed drawing)."""
    while not _quiescent(screen):
        await asyncio.sleep(POLL)
    return max(frames.last, since)


async def until(condition: Callable[[], bool], timeout: float = 60.0) -> float:
    """Poll `condition` until true; the moment it was seen true."""
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the screen did not get there in time")
        await asyncio.sleep(POLL)
    return time.perf_counter()


async def settle(app: App, pilot: Any) -> None:
    """No worker busy (the change poll aside) and no refresh waiting."""
    for _ in range(2000):
        await pilot.pause()
        busy = [w for w in app.workers if not w.is_finished and w.group != "app-poll"]
        if not busy and all(getattr(s, "_refresh_timer", None) is None for s in app.screen_stack):
            return
        await asyncio.sleep(0.02)
    raise TimeoutError("the app did not settle")


# -- the baseline app ------------------------------------------------------------------------------
class _Home(Screen):
    def compose(self) -> ComposeResult:
        yield Static("home")


class _Cards(Screen):
    """Ten cards and six charts of plain Statics, filled on mount and on `r`."""

    BINDINGS: ClassVar = [("r", "fill", "Refresh")]
    DEFAULT_CSS = (
        "_Cards Grid { grid-size: 5; height: auto; grid-rows: 7; } _Cards .card { border: round $foreground 25%; }"
    )

    def __init__(self) -> None:
        super().__init__()
        self.filled = 0

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            with Grid():
                for i in range(10):
                    yield Static("-", classes="card", id=f"c{i}")
            for i in range(6):
                yield Static("", classes="chart", id=f"h{i}")
        yield Footer()

    def on_mount(self) -> None:
        self.action_fill()

    def action_fill(self) -> None:
        self.filled += 1
        for i in range(10):
            self.query_one(f"#c{i}", Static).update(f"Card {i}\n{(i + 1) * 123_457 * self.filled:,}")
        for i in range(6):
            self.query_one(f"#h{i}", Static).update("\n".join(f"row {j} " + "█" * (j * 3 + i) for j in range(8)))


class Empty(App):
    """An empty Textual app with a home screen and a cards screen (F2/F7 switch, as in crm)."""

    MODES: ClassVar = {"home": _Home, "cards": _Cards}
    DEFAULT_MODE = "home"
    BINDINGS: ClassVar = [("f2", "switch_mode('home')", "Home"), ("f7", "switch_mode('cards')", "Cards")]


# -- one timed open --------------------------------------------------------------------------------
async def reopen(app: App, pilot: Any, mode: str, factory: Callable[[], Screen], home_key: str) -> None:
    """Back to the home mode, and forget the `mode` screen so the next switch builds it anew."""
    if app.current_mode == mode:
        await pilot.press(home_key)
        await settle(app, pilot)
    if mode in app._screen_stacks:  # installed by an earlier switch
        await app.remove_mode(mode)
        app.add_mode(mode, factory)
    await settle(app, pilot)


def _dashboard_worker(app: App, screen: Screen) -> Any:
    return next(
        (w for w in app.workers if w.node is screen and w.group == "dashboard-read" and not w.is_finished), None
    )


def _cards_filled(screen: Screen) -> bool:
    from crm_tui.widgets.charts import StatCard

    return all(card.value != "-" for card in screen.query(StatCard))


async def open_dashboard(app: App, pilot: Any, frames: Frames) -> dict[str, float]:
    """F7 to screen / cards / charts / all drawn, in seconds from the key."""
    from crm_tui.screens.dashboard import DashboardScreen

    started = time.perf_counter()
    key = asyncio.create_task(pilot.press("f7"))  # Pilot waits for idle after the key: don't
    await until(lambda: isinstance(app.screen, DashboardScreen))
    screen = app.screen
    worker = None

    def have_worker() -> bool:
        nonlocal worker
        worker = worker or _dashboard_worker(app, screen)
        return worker is not None or screen.board is not None

    seen = {"screen": await drawn(frames, screen, await until(have_worker))}
    seen["cards"] = await drawn(frames, screen, await until(lambda: _cards_filled(screen)))
    seen["charts"] = await drawn(frames, screen, await until(lambda: screen.board is not None))
    if worker is None:
        raise RuntimeError("the dashboard's read worker was never seen running")
    seen["all"] = await drawn(frames, screen, await until(lambda: worker.is_finished))
    if worker.state.name != "SUCCESS":
        raise RuntimeError(f"the dashboard's read ended {worker.state.name}: {worker.error!r}")
    await key
    return {name: moment - started for name, moment in seen.items()}


async def refresh_dashboard(app: App, pilot: Any, frames: Frames) -> float:
    """`r` on a loaded dashboard to its new read finished and drawn."""
    screen = app.screen
    started = time.perf_counter()
    key = asyncio.create_task(pilot.press("r"))
    await until(lambda: _dashboard_worker(app, screen) is not None)
    worker = _dashboard_worker(app, screen)
    done = await drawn(frames, screen, await until(lambda: worker.is_finished))
    if worker.state.name != "SUCCESS":
        raise RuntimeError(f"the refresh ended {worker.state.name}: {worker.error!r}")
    await key
    return done - started


class CallLog:
    """Which service functions ran on the session's database thread, and for how long (on the thread)."""

    def __init__(self, session: Any) -> None:
        self.calls: list[tuple[str, float]] = []
        original = session.call

        async def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
            @functools.wraps(fn)
            def timed(*a: Any, **k: Any) -> Any:  # timed on the database thread: queueing not counted
                began = time.perf_counter()
                try:
                    return fn(*a, **k)
                finally:
                    self.calls.append((fn.__name__, time.perf_counter() - began))

            return await original(timed, *args, **kwargs)

        session.call = call


DASHBOARD_CALLS = {"stat_cards", "card_changes", "dashboard", "share", "get_preference", "currency"}
"""What DashboardScreen.load() calls on the database thread (by function name)."""


def content_check(screen: Any) -> str:
    """What each chart and list holds, to see that nothing came out empty."""
    from textual.widgets import OptionList

    from crm_tui.widgets.charts import Chart, StatCard

    empty = [c.id for c in screen.query(Chart) if not c.bars]
    lists = {o.id: o.option_count for o in screen.query(OptionList)}
    cards = {c.id.removeprefix("card-"): c.value for c in screen.query(StatCard)}
    return f"cards: {cards}\n  charts without bars: {empty or 'none'}; list rows: {lists}; filter: {screen.choice}"


async def crm_at(
    ctx: Any, path: Path, size: tuple[int, int], runs: int, quiet: float, shot: Path | None
) -> dict[str, Any]:
    """The dashboard timings at one terminal size."""
    from crm_tui.app import CrmApp
    from crm_tui.screens.dashboard import DashboardScreen
    from crm_tui.services import reports
    from crm_tui.services.session import Session

    app = CrmApp(Session(ctx, where=str(path)))
    out: dict[str, Any] = {"open": [], "refresh": [], "others": []}
    async with app.run_test(size=size) as pilot:
        frames, log = Frames(app), CallLog(app.session)
        await asyncio.sleep(quiet)  # past the one-off timers after start
        await settle(app, pilot)
        for run in range(runs + 1):
            await reopen(app, pilot, "dashboard", DashboardScreen, "f2")
            before = len(log.calls)
            times = await open_dashboard(app, pilot, frames)
            others = [(name, t) for name, t in log.calls[before:] if name not in DASHBOARD_CALLS]
            if run == 0:
                out["warmup"] = times
                out["check"] = content_check(app.screen)
                if shot is not None:
                    await settle(app, pilot)
                    app.save_screenshot(filename=shot.name, path=str(shot.parent))
            else:
                out["open"].append(times)
                out["others"].append(others)
        await settle(app, pilot)
        for _ in range(runs):
            out["refresh"].append(await refresh_dashboard(app, pilot, frames))
            await settle(app, pilot)
        # The same service calls load() makes, on the same two connections (the slowest read on the
        # second one meanwhile), no UI.
        screen, session = app.screen, app.session
        f, me, aside = screen._filter(), session.ctx.user_id, session.sibling()
        queries = []
        for _ in range(runs):
            began = time.perf_counter()
            durations = asyncio.ensure_future(aside.call(reports.board_durations, f))
            cards = await session.call(reports.stat_cards, f)
            shares = [asyncio.ensure_future(aside.call(reports.share, f, by, totals=cards.open_value)) for by in ("tag", "source")]
            changes = await session.call(reports.card_changes, f, cards)
            await session.call(reports.dashboard, f, user_id=me, cards=cards, changes=changes, durations=False)
            await asyncio.gather(durations, *shares)
            queries.append(time.perf_counter() - began)
        aside.close()
        out["queries"] = queries
    app.session.close()
    return out


async def empty_at(size: tuple[int, int], runs: int) -> dict[str, list[float]]:
    """The baseline app: F7 to the cards screen drawn, and `r` refilled and drawn."""
    app = Empty()
    out: dict[str, list[float]] = {"open": [], "refresh": []}
    async with app.run_test(size=size) as pilot:
        frames = Frames(app)
        await settle(app, pilot)
        for run in range(runs + 1):
            await reopen(app, pilot, "cards", _Cards, "f2")
            started = time.perf_counter()
            key = asyncio.create_task(pilot.press("f7"))
            await until(lambda: isinstance(app.screen, _Cards) and app.screen.filled >= 1)
            done = await drawn(frames, app.screen, time.perf_counter())
            await key
            if run:
                out["open"].append(done - started)
        await settle(app, pilot)
        for _ in range(runs):
            screen, count = app.screen, app.screen.filled
            started = time.perf_counter()
            key = asyncio.create_task(pilot.press("r"))
            await until(lambda screen=screen, count=count: screen.filled > count)
            done = await drawn(frames, screen, time.perf_counter())
            await key
            out["refresh"].append(done - started)
            await settle(app, pilot)
    return out


# -- report ----------------------------------------------------------------------------------------
def fmt(samples: list[float]) -> str:
    """Median and worst, in ms."""
    return f"{statistics.median(samples) * 1000:8.0f} ms {max(samples) * 1000:8.0f} ms"


def report(size: tuple[int, int], crm: dict[str, Any], empty: dict[str, list[float]]) -> None:
    """The table for one terminal size."""
    print(f"\n{size[0]}x{size[1]}, {len(crm['open'])} runs{'':25} {'median':>11} {'worst':>11}")
    print(f"  {'empty app: F7 to 16 Statics drawn (baseline)':48} {fmt(empty['open'])}")
    for stage, label in (("screen", "skeleton drawn"), ("cards", "10 stat cards drawn"),
                         ("charts", "charts and lists drawn"), ("all", "everything drawn (the figure)")):  # fmt: skip
        print(f"  {'crm: F7 to ' + label:48} {fmt([t[stage] for t in crm['open']])}")
    print(f"  {'  queries only, same calls, no UI (baseline)':48} {fmt(crm['queries'])}")
    print(f"  {'empty app: r to refilled and drawn (baseline)':48} {fmt(empty['refresh'])}")
    print(f"  {'crm: r to everything drawn':48} {fmt(crm['refresh'])}")
    warm = crm["warmup"]
    print(
        f"  warm-up open (first, maybe cold cache): cards {warm['cards'] * 1000:.0f} ms, all {warm['all'] * 1000:.0f} ms"
    )
    others = [call for run in crm["others"] for call in run]
    names = sorted({name for name, _ in others})
    print(f"  other calls on the database thread during the timed opens: {len(others)} ({', '.join(names) or 'none'}),"
          f" {sum(t for _, t in others) * 1000:.0f} ms in all")  # fmt: skip
    print(f"  {crm['check']}")


def main() -> None:
    """Command-line entry."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", nargs="+", default=["120x35", "200x60"], help="terminal sizes, WxH")
    parser.add_argument("--quiet", type=float, default=11.0, help="seconds to let the app's start-up timers pass")
    parser.add_argument("--screenshot", type=Path, help="SVG of the first dashboard at the first size")
    parser.add_argument("--db", type=Path, help="workspace (default bench/data/deals-<n>k.sqlite3)")
    args = parser.parse_args()

    from bench.lists import deals_workspace, row_counts
    from bench.startup import upgrade
    from crm_tui import db
    from crm_tui.config import Settings
    from crm_tui.services.workspace import open_workspace

    path = args.db or deals_workspace(args.deals)
    upgrade(path)  # a no-op when current; never a 5 GB backup from open_workspace
    workspace = open_workspace(db.parse_target(str(path)), Settings(), login="bench")
    with sqlite3.connect(path) as conn:
        events = conn.execute("SELECT COUNT(*) FROM event").fetchone()[0]
    print(f"workspace: {path.name}: {row_counts(path, ['deal'])}, {events:,} events; headless Pilot; user bench")
    for index, text in enumerate(args.sizes):
        size = tuple(int(n) for n in text.lower().split("x"))
        shot = args.screenshot if index == 0 else None
        if shot is not None:
            shot.parent.mkdir(parents=True, exist_ok=True)
        empty = asyncio.run(empty_at(size, args.runs))
        crm = asyncio.run(crm_at(workspace.ctx, path, size, args.runs, args.quiet, shot))
        report(size, crm, empty)
    db.close()


if __name__ == "__main__":
    main()
