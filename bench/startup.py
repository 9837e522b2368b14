"""Start-up to first frame of the board on a large workspace, next to an empty Textual app.

    python bench/startup.py [--deals 100000] [--runs 5] [--db bench/data/board-100k.sqlite3]

Both programs run the same way in the same run: as a child process in a real pseudo-terminal
(120x35), timed from launch until the expected text is on the screen. For `crm` that text is the
first column's deal count, which appears only once the board has read its data; for the empty
app it is a fixed word. A second table times the board's queries against the same SQL run on a
bare sqlite3 connection. The workspace is generated on first use and reused after.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import re
import select
import signal
import sqlite3
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ANSI = re.compile(rb"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[PX^_][^\x1b]*\x1b\\|.)")
EMPTY_APP = textwrap.dedent(
    """
    from textual.app import App
    from textual.widgets import Static

    class Empty(App):
        def compose(self):
            yield Static("ready-to-go")

    Empty().run()
    """
)


def time_to_text(command: list[str], marker: str, env: dict[str, str], timeout: float = 30.0) -> float:
    """Seconds from launching `command` in a 120x35 pty until `marker` is drawn."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 35, 120, 0, 0))
    started = time.perf_counter()
    process = subprocess.Popen(command, stdin=follower, stdout=follower, stderr=follower, env=env, start_new_session=True)
    os.close(follower)
    seen = b""
    try:
        while time.perf_counter() - started < timeout:
            ready, _, _ = select.select([leader], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:
                    break
                seen += chunk
                if marker.encode() in ANSI.sub(b"", seen):
                    return time.perf_counter() - started
            elif process.poll() is not None:
                break
        raise RuntimeError(f"{marker!r} never appeared; the screen showed: {ANSI.sub(b'', seen)[-400:]!r}")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
        os.close(leader)


def upgrade(path: Path) -> None:
    """Bring a workspace made by an older crm-tui to this schema (the raw SQL below expects it)."""
    subprocess.run([sys.executable, "-m", "crm_tui", "--db", str(path), "db", "upgrade", "--skip-backup"], check=True, capture_output=True)


def board_marker(path: Path) -> str:
    """The deal count the first non-empty column of the first pipeline will show."""
    with sqlite3.connect(path) as conn:
        stage_ids = [row[0] for row in conn.execute(
            "SELECT id FROM stage WHERE deleted_at IS NULL AND pipeline_id = (SELECT id FROM pipeline"
            " WHERE deleted_at IS NULL ORDER BY position, id LIMIT 1) ORDER BY position, id"
        )]  # fmt: skip
        for stage_id in stage_ids:
            (count,) = conn.execute("SELECT COUNT(*) FROM deal WHERE stage_id = ? AND deleted_at IS NULL", (stage_id,)).fetchone()
            if count:
                return f"{count:,} deals"
    raise RuntimeError("the benchmark workspace has no deals")


def raw_board_queries(path: Path) -> None:
    """The board's reads as plain SQL on a bare sqlite3 connection (the floor): the totals, then
    per column a window of 30 cards with company and owner, their tags and overdue tasks."""
    with sqlite3.connect(path) as conn:
        (pipeline,) = conn.execute("SELECT id FROM pipeline WHERE deleted_at IS NULL ORDER BY position, id LIMIT 1").fetchone()
        stages = [row[0] for row in conn.execute(
            "SELECT id FROM stage WHERE pipeline_id = ? AND deleted_at IS NULL ORDER BY position", (pipeline,)
        )]  # fmt: skip
        conn.execute(
            "SELECT stage_id, currency, COUNT(id), SUM(amount), SUM(CASE WHEN probability IS NULL THEN amount ELSE 0 END),"
            " SUM(amount * COALESCE(probability, 0)) FROM deal WHERE pipeline_id = ? AND deleted_at IS NULL"
            " GROUP BY stage_id, currency",
            (pipeline,),
        ).fetchall()
        for stage in stages:
            rows = conn.execute(
                "SELECT d.id, d.version, d.stage_id, d.title, c.name, u.name, d.amount, d.currency, d.expected_close,"
                " d.stage_entered_at, d.probability, d.confidence FROM deal d LEFT JOIN company c ON d.company_id = c.id"
                " LEFT JOIN crm_user u ON d.owner_id = u.id WHERE d.id IN (SELECT id FROM deal WHERE stage_id = ?"
                " AND deleted_at IS NULL ORDER BY stage_entered_at DESC, id DESC LIMIT 30)"
                " ORDER BY d.stage_entered_at DESC, d.id DESC",
                (stage,),
            ).fetchall()
            ids = ",".join(str(row[0]) for row in rows) or "0"
            conn.execute(f"SELECT dt.deal_id, t.name FROM deal_tag dt JOIN tag t ON t.id = dt.tag_id WHERE dt.deal_id IN ({ids})").fetchall()
            conn.execute(
                f"SELECT deal_id, COUNT(id) FROM task WHERE deal_id IN ({ids}) AND done = 0 AND due_at < ? GROUP BY deal_id",
                ("2026-11-22",),
            ).fetchall()


def service_board_queries(path: Path) -> None:
    """The same reads through crm-tui's board service (Peewee, dataclasses)."""
    from crm_tui.services import board

    board.load_board()


def timed(fn, runs: int) -> list[float]:  # noqa: ANN001
    """Wall-clock seconds of `runs` calls."""
    results = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        results.append(time.perf_counter() - started)
    return results


def row(name: str, samples: list[float], unit: float = 1.0, suffix: str = "s") -> str:
    """One table row: median, best and worst."""
    fmt = (lambda v: f"{v * unit:8.1f} {suffix}") if unit != 1.0 else (lambda v: f"{v:8.3f} {suffix}")
    return f"{name:44} {fmt(statistics.median(samples))} {fmt(min(samples))} {fmt(max(samples))}"


def main() -> None:
    """Command-line entry."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--db", type=Path, help="workspace to use (default: bench/data/board-<deals>.sqlite3)")
    args = parser.parse_args()

    path = args.db or HERE / "data" / f"board-{args.deals // 1000}k.sqlite3"
    if not path.exists():
        sys.path.insert(0, str(HERE))
        from generate import make

        path.parent.mkdir(parents=True, exist_ok=True)
        print(f"generating {path} ({args.deals:,} deals), once…", file=sys.stderr)
        make(path, args.deals)

    upgrade(path)
    home = Path(tempfile.mkdtemp(prefix="crm-bench-"))
    env = {**os.environ, "TERM": "xterm-256color", "CRM_DATA_DIR": str(home / "data"),
           "CRM_CONFIG_DIR": str(home / "config"), "CRM_USER": "bench"}  # fmt: skip
    env.pop("CRM_DB_URL", None)
    empty_app = home / "empty_app.py"
    empty_app.write_text(EMPTY_APP)
    crm = [sys.executable, "-m", "crm_tui", "--db", str(path)]
    marker = board_marker(path)
    time_to_text(crm, marker, env)  # warm the OS file cache for both, so neither pays for a cold disk
    time_to_text([sys.executable, str(empty_app)], "ready-to-go", env)

    baseline, board = [], []
    for _ in range(args.runs):  # interleaved, so machine noise hits both alike
        baseline.append(time_to_text([sys.executable, str(empty_app)], "ready-to-go", env))
        board.append(time_to_text(crm, marker, env))

    from crm_tui import db as crm_db

    crm_db.connect(crm_db.parse_target(str(path)))
    with sqlite3.connect(path) as conn:
        (deals,) = conn.execute("SELECT COUNT(*) FROM deal").fetchone()
    raw = timed(lambda: raw_board_queries(path), args.runs * 4)
    service = timed(lambda: service_board_queries(path), args.runs * 4)
    crm_db.close()

    print(f"\nworkspace: {path} ({deals:,} deals), {args.runs} runs, 120x35 pseudo-terminal\n")
    print(f"{'start-up to first frame with data':44} {'median':>10} {'best':>10} {'worst':>10}")
    print(row("empty Textual app (baseline)", baseline))
    print(row("crm board (first column's count drawn)", board))
    print(f"{'  crm minus baseline':44} {statistics.median(board) - statistics.median(baseline):8.3f} s")
    print(f"\n{'board reads (totals + first page per column)':44} {'median':>10} {'best':>10} {'worst':>10}")
    print(row("raw sqlite3, same SQL (baseline)", raw, 1000, "ms"))
    print(row("crm board service (Peewee)", service, 1000, "ms"))


if __name__ == "__main__":
    main()
