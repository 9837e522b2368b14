"""Shared fixtures: an isolated home for every test, and a workspace on each back end.

Every service test runs on SQLite, and on PostgreSQL too when CRM_TEST_PG_URL points at a server
(`.ci/run` starts one); without it the PostgreSQL cases skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from crm_tui import clock, db
from crm_tui.app import CrmApp
from crm_tui.config import Settings
from crm_tui.db import Target, parse_target
from crm_tui.services.workspace import Workspace, open_workspace

PG_URL = os.environ.get("CRM_TEST_PG_URL")


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test reads or writes the real user's config or data."""
    monkeypatch.setenv("CRM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CRM_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv("CRM_DB_URL", raising=False)
    monkeypatch.delenv("CRM_USER", raising=False)
    yield tmp_path
    clock.freeze(None)


def _pg_schema_url(schema: str) -> str:
    assert PG_URL is not None
    separator = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{separator}options=-csearch_path%3D{schema}"


@pytest.fixture
def pg_target() -> Iterator[Target]:
    """A PostgreSQL target in a schema of its own, dropped afterwards."""
    if not PG_URL:
        pytest.skip("set CRM_TEST_PG_URL to run the PostgreSQL tests")
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield parse_target(_pg_schema_url(schema))
    finally:
        db.close()
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Target:
    """An empty database on each back end."""
    if request.param == "sqlite":
        return parse_target(str(tmp_path / "crm.sqlite3"))
    return request.getfixturevalue("pg_target")


@pytest.fixture
def sqlite_target(tmp_path: Path) -> Target:
    """An empty SQLite database file."""
    return parse_target(str(tmp_path / "crm.sqlite3"))


@pytest.fixture
def workspace(target: Target) -> Iterator[Workspace]:
    """A new workspace (default Sales pipeline) opened as user `alice`, on each back end."""
    opened = open_workspace(target, Settings(), login="alice")
    yield opened
    db.close()


@pytest.fixture
def sqlite_workspace(sqlite_target: Target) -> Iterator[Workspace]:
    """A new SQLite workspace opened as user `alice`."""
    opened = open_workspace(sqlite_target, Settings(), login="alice")
    yield opened
    db.close()


@pytest.fixture
def ids(sqlite_workspace: Workspace) -> dict[str, int]:
    """The small fixed board workspace (tests/board_fixtures.py) and its record ids."""
    from tests.board_fixtures import fill

    return fill(sqlite_workspace.ctx)


@pytest.fixture
def app(sqlite_workspace: Workspace, ids: dict[str, int]) -> Iterator[CrmApp]:
    """The app on that workspace, as alice."""
    from tests.board_fixtures import make_app

    crm = make_app(sqlite_workspace.ctx)
    yield crm
    crm.session.close()


FROZEN_NOW = datetime(2026, 11, 20, 9, 30, 0)
"""A fixed moment for tests whose output shows or orders by time."""


@pytest.fixture
def demo_app(sqlite_workspace: Workspace) -> Iterator[CrmApp]:
    """The app on the demo workspace (seed 2026) with the clock frozen at FROZEN_NOW: the data the
    snapshot and dashboard tests draw."""
    from crm_tui.services import demo
    from tests.board_fixtures import make_app  # it imports this module: read when first used

    demo.generate(sqlite_workspace.ctx, demo.DemoSizes(), seed=2026, now=FROZEN_NOW)
    clock.freeze(FROZEN_NOW)
    crm = make_app(sqlite_workspace.ctx)
    yield crm
    crm.session.close()
