"""The demo generator: deterministic, believable, and the right sizes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from peewee import fn

from crm_tui import db
from crm_tui.config import Settings
from crm_tui.db import parse_target
from crm_tui.models import Deal, Event, Pipeline, Stage, StageChange, Task
from crm_tui.services import demo
from crm_tui.services.errors import ServiceError
from crm_tui.services.workspace import Workspace, open_workspace
from tests.conftest import FROZEN_NOW

SMALL = demo.DemoSizes(companies=30, contacts=90, leads=20, deals=300)


def _dump(path: Path) -> list[tuple]:
    db.connect(parse_target(str(path)))
    rows = list(
        Deal.select(Deal.title, Deal.amount, Deal.stage, Deal.owner, Deal.stage_entered_at, Deal.closed_at)
        .order_by(Deal.id)
        .tuples()
    )
    rows += list(StageChange.select(StageChange.deal, StageChange.to_stage, StageChange.at).order_by(StageChange.id).tuples())
    db.close()
    return rows


def _make(path: Path, seed: int) -> None:
    workspace = open_workspace(parse_target(str(path)), Settings(), login="alice")
    demo.generate(workspace.ctx, SMALL, seed=seed, now=FROZEN_NOW)
    db.close()


def test_the_same_seed_gives_the_same_data(tmp_path: Path) -> None:
    _make(tmp_path / "a.sqlite3", seed=7)
    _make(tmp_path / "b.sqlite3", seed=7)
    _make(tmp_path / "c.sqlite3", seed=8)
    assert _dump(tmp_path / "a.sqlite3") == _dump(tmp_path / "b.sqlite3")
    assert _dump(tmp_path / "a.sqlite3") != _dump(tmp_path / "c.sqlite3")


def test_demo_data_looks_like_a_real_pipeline(workspace: Workspace) -> None:
    counts = demo.generate(workspace.ctx, SMALL, now=FROZEN_NOW)

    # Plus a few records typed twice (two companies, four contacts), for "Find duplicates" to show.
    assert (counts["companies"], counts["contacts"], counts["leads"], counts["deals"]) == (32, 94, 20, 300)
    assert Pipeline.select().count() == 2
    kinds = dict(
        Deal.select(Stage.kind, fn.COUNT(Deal.id))
        .join(Stage, on=(Deal.stage == Stage.id))
        .group_by(Stage.kind)
        .tuples()
    )
    assert kinds["open"] > 40 and kinds["won"] > 30 and kinds["lost"] > 30
    # Histories span the last 18 months and every deal's history ends in its current stage.
    oldest = StageChange.select(StageChange.at).order_by(StageChange.at).first().at
    assert (FROZEN_NOW - oldest).days > 365
    last_moves = {row.deal_id: row.to_stage_id for row in StageChange.select().order_by(StageChange.at, StageChange.id)}
    assert last_moves == {deal.id: deal.stage_id for deal in Deal.select()}
    # Some open deals are stale, some tasks overdue, lost deals have reasons, the log has the moves.
    stale = (
        Deal.select()
        .join(Stage, on=(Deal.stage == Stage.id))
        .where(Stage.kind == "open", Stage.rot_days.is_null(False))
        .where(Deal.stage_entered_at < FROZEN_NOW - timedelta(days=30))
        .count()
    )
    assert stale > 0
    assert Task.select().where(Task.done == False, Task.due_at < FROZEN_NOW).count() > 0  # noqa: E712
    assert Deal.select().join(Stage, on=(Deal.stage == Stage.id)).where(Stage.kind == "lost", Deal.lost_reason.is_null()).count() == 0
    assert Event.select().where(Event.kind == "deal.stage_changed").count() == StageChange.select().count() - 300


def test_the_generator_only_fills_an_empty_workspace(workspace: Workspace) -> None:
    demo.generate(workspace.ctx, demo.DemoSizes(companies=2, contacts=2, leads=0, deals=2), now=FROZEN_NOW)
    with pytest.raises(ServiceError, match="empty workspace"):
        demo.generate(workspace.ctx, SMALL, now=FROZEN_NOW)


def test_sizes_scale_with_deals() -> None:
    assert demo.DemoSizes().scaled_to(100_000) == demo.DemoSizes(companies=37_500, contacts=150_000, leads=25_000, deals=100_000)


def test_the_demo_has_duplicates_to_find(sqlite_workspace: Workspace) -> None:
    from crm_tui.services import dedupe

    demo.generate(sqlite_workspace.ctx, SMALL, now=FROZEN_NOW)
    assert len(dedupe.scan("contact")) >= 3 and len(dedupe.scan("company")) == 2
