"""Make a benchmark workspace with the demo generator (the same one `crm demo` uses).

    python bench/generate.py bench.sqlite3 --deals 100000

Companies, contacts and leads scale with the deals. Prints how long it took and what it made.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from crm_tui import db
from crm_tui.config import Settings
from crm_tui.services import demo
from crm_tui.services.workspace import open_workspace


def make(path: Path, deals: int, seed: int = 2026, *, open_pipeline: bool = False) -> dict[str, int]:
    """Create `path` (which must not exist) holding `deals` deals; returns the row counts.

    `open_pipeline`: every deal open and in one pipeline (the board's worst case)."""
    if path.exists():
        raise SystemExit(f"{path} exists; remove it or choose another path")
    workspace = open_workspace(db.parse_target(str(path)), Settings(), login="bench")
    sizes = demo.DemoSizes().scaled_to(deals)

    def progress(step: str, done: int, total: int) -> None:
        print(f"\r  {step}: {done:,}/{total:,}\033[K", end="", file=sys.stderr, flush=True)

    counts = demo.generate(workspace.ctx, sizes, seed=seed, progress=progress, open_pipeline=open_pipeline)
    db.close()
    print(file=sys.stderr)
    return counts


def main() -> None:
    """Command-line entry."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--open-pipeline", action="store_true", help="every deal open, all in one pipeline")
    args = parser.parse_args()
    started = time.perf_counter()
    counts = make(args.path, args.deals, args.seed, open_pipeline=args.open_pipeline)
    seconds = time.perf_counter() - started
    print(f"made {args.path} in {seconds:.1f} s: " + ", ".join(f"{n:,} {name}" for name, n in counts.items()))


if __name__ == "__main__":
    main()
