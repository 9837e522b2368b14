"""The board at 1k, 10k and 100k open deals in one pipeline: start-up, moving a card, paging a
column, memory, and the column queries, each beside its baseline measured in the same run.

    python bench/board.py [--sizes 1000 10000 100000] [--runs 5]

Workspaces are made once with bench/generate.py (--open-pipeline) under bench/data/.
- start-up: `crm` in a 120x35 pseudo-terminal, launch to the first column's deal count drawn,
  beside an empty Textual app drawing one word (same terminal, same run, interleaved);
- move: shift+right to the moved card selected in its new column, and to the next frame drawn;
- page: PageDown in the longest column to every card on screen loaded, and to the frame drawn;
- memory: resident size of the `crm` process after opening and after End in the longest column;
- queries: the board's column reads through the service beside the same SQL on bare sqlite3.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from startup import EMPTY_APP, board_marker, raw_board_queries, service_board_queries, time_to_text, timed, upgrade  # noqa: E402


def workspace(deals: int) -> Path:
    """The benchmark workspace of `deals` open deals, made on first use."""
    path = HERE / "data" / f"open-{deals // 1000}k.sqlite3"
    if not path.exists():
        from generate import make

        path.parent.mkdir(parents=True, exist_ok=True)
        print(f"generating {path} ({deals:,} open deals), once…", file=sys.stderr)
        make(path, deals, open_pipeline=True)
    upgrade(path)
    return path


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def memory(path: Path, env: dict[str, str]) -> tuple[float, float]:
    """RSS after the board opens, and after End in its longest column (all of it scrolled)."""
    import pty
    import select
    import subprocess

    from startup import ANSI

    leader, follower = pty.openpty()
    import fcntl
    import struct
    import termios

    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 35, 120, 0, 0))
    process = subprocess.Popen([sys.executable, "-m", "crm_tui", "--db", str(path)], stdin=follower, stdout=follower,
                               stderr=follower, env=env, start_new_session=True)  # fmt: skip
    os.close(follower)
    marker, seen = board_marker(path).encode(), b""
    try:
        deadline = time.monotonic() + 30
        while marker not in ANSI.sub(b"", seen) and time.monotonic() < deadline:
            if select.select([leader], [], [], 0.05)[0]:
                seen += os.read(leader, 65536)
        time.sleep(1.0)
        opened = rss_mb(process.pid)
        os.write(leader, b"G")  # End of the focused (longest) column
        drain_until = time.monotonic() + 2.0
        while time.monotonic() < drain_until:
            if select.select([leader], [], [], 0.05)[0]:
                os.read(leader, 65536)
        return opened, rss_mb(process.pid)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
        os.close(leader)


async def interaction(path: Path, runs: int) -> dict[str, list[float]]:
    """Move and page timings, in the app driven in-process by Pilot."""
    from crm_tui import db
    from crm_tui.app import CrmApp
    from crm_tui.config import Settings
    from crm_tui.services.session import Session
    from crm_tui.services.workspace import open_workspace
    from crm_tui.widgets.card_list import ROW

    workspace_ = open_workspace(db.parse_target(str(path)), Settings(), login="bench")
    app = CrmApp(Session(workspace_.ctx, where=str(path)))
    results: dict[str, list[float]] = {"move_state": [], "move_frame": [], "page_state": [], "page_frame": []}
    async with app.run_test(size=(120, 35)) as pilot:
        await _idle(app, pilot)
        screen = app.screen
        longest = max(screen._columns(), key=lambda column: column.cards.count)
        screen._focus_stage(longest.stage.id)
        await pilot.pause()
        for _ in range(runs):
            card = screen.selected()
            target = screen.pipeline.neighbour(card.stage_id, 1) or screen.pipeline.neighbour(card.stage_id, -1)
            step = 1 if target.id != screen.pipeline.neighbour(card.stage_id, -1) else -1
            started = time.perf_counter()
            key = asyncio.create_task(pilot.press("L" if step == 1 else "H"))  # Pilot waits for idle: don't
            while not (screen.selected() is not None and screen.selected().id == card.id and screen.selected().stage_id == target.id):
                await asyncio.sleep(0.0005)
            results["move_state"].append(time.perf_counter() - started)
            await _next_frame(app)
            results["move_frame"].append(time.perf_counter() - started)
            await key
            await _idle(app, pilot)
            screen._focus_stage(longest.stage.id)
            await pilot.pause()
        for _ in range(runs):
            cards = longest.cards
            before = cards.cursor
            started = time.perf_counter()
            key = asyncio.create_task(pilot.press("pagedown"))
            while cards.cursor == before:
                await asyncio.sleep(0.0005)
            rows = cards.scrollable_content_region.height // ROW + 1
            while any(cards.card_at(i) is None for i in range(cards.scroll_offset.y // ROW, min(cards.count, cards.scroll_offset.y // ROW + rows))):
                await asyncio.sleep(0.0005)
            results["page_state"].append(time.perf_counter() - started)
            await _next_frame(app)
            results["page_frame"].append(time.perf_counter() - started)
            await key
    app.session.close()
    db.close()
    return results


async def _next_frame(app) -> None:  # noqa: ANN001
    """Wait until the screen has drawn what changed (its pending update has been composed).

    This peeks at two private Screen attributes: the bench measures a frame, which no public API
    reports. (Pilot.pause would add its own wait for the app to go idle.)"""
    screen = app.screen
    while screen._dirty_widgets or screen._layout_required:  # the next frame is still to come
        await asyncio.sleep(0.0005)
    await asyncio.sleep(0)


async def _idle(app, pilot) -> None:  # noqa: ANN001
    for _ in range(400):
        await pilot.pause()
        if all(w.is_finished or w.group == "app-poll" for w in app.workers) and getattr(app.screen, "_refresh_timer", None) is None:
            return
        await asyncio.sleep(0.01)


def fmt(samples: list[float], unit: float = 1000.0, suffix: str = "ms") -> str:
    """median (best–worst)."""
    return f"{statistics.median(samples) * unit:7.1f} {suffix} ({min(samples) * unit:.1f}–{max(samples) * unit:.1f})"


def main() -> None:
    """Command-line entry."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="crm-bench-"))
    env = {**os.environ, "TERM": "xterm-256color", "CRM_DATA_DIR": str(home / "data"),
           "CRM_CONFIG_DIR": str(home / "config"), "CRM_USER": "bench"}  # fmt: skip
    env.pop("CRM_DB_URL", None)
    (home / "empty_app.py").write_text(EMPTY_APP)
    empty = [sys.executable, str(home / "empty_app.py")]
    rows = []
    for size in args.sizes:
        path = workspace(size)
        crm = [sys.executable, "-m", "crm_tui", "--db", str(path)]
        marker = board_marker(path)
        time_to_text(crm, marker, env)  # warm the file cache for both
        time_to_text(empty, "ready-to-go", env)
        baseline, start = [], []
        for _ in range(args.runs):
            baseline.append(time_to_text(empty, "ready-to-go", env))
            start.append(time_to_text(crm, marker, env))
        opened, scrolled = memory(path, env)
        timings = asyncio.run(interaction(path, args.runs))
        from crm_tui import db

        db.connect(db.parse_target(str(path)))
        raw = timed(lambda: raw_board_queries(path), args.runs * 4)
        service = timed(lambda: service_board_queries(path), args.runs * 4)
        db.close()
        with sqlite3.connect(path) as conn:
            (open_deals,) = conn.execute("SELECT COUNT(*) FROM deal").fetchone()
        rows.append((size, open_deals, baseline, start, timings, opened, scrolled, raw, service))

    print(f"\n120x35 terminal, {args.runs} runs each; median (best–worst)\n")
    for size, open_deals, baseline, start, timings, opened, scrolled, raw, service in rows:
        print(f"{open_deals:,} open deals in one pipeline")
        print(f"  start-up, empty Textual app (baseline)   {fmt(baseline)}")
        print(f"  start-up, crm board with its data        {fmt(start)}")
        print(f"  move a card: key to card selected there  {fmt(timings['move_state'])}")
        print(f"  move a card: key to frame drawn          {fmt(timings['move_frame'])}")
        print(f"  page down: key to cards on screen loaded {fmt(timings['page_state'])}")
        print(f"  page down: key to frame drawn            {fmt(timings['page_frame'])}")
        print(f"  memory: board open / after End           {opened:7.1f} MB / {scrolled:.1f} MB")
        print(f"  board reads, raw sqlite3 (baseline)      {fmt(raw)}")
        print(f"  board reads, crm service                 {fmt(service)}")
        print()


if __name__ == "__main__":
    main()
