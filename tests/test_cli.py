"""The `crm` command as a user runs it (in a subprocess, with its own data directory)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from crm_tui.services.migrations import CURRENT_VERSION
from tests.test_migration import make_v1_database


def crm(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CRM_DATA_DIR": str(home / "data"), "CRM_CONFIG_DIR": str(home / "config")}
    env.pop("CRM_DB_URL", None)
    return subprocess.run([sys.executable, "-m", "crm_tui", *args], env=env, capture_output=True, text=True, timeout=120)


def test_demo_creates_its_workspace_once(tmp_path: Path) -> None:
    first = crm("demo", "--no-open", "--deals", "120", home=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "120 deals" in first.stderr
    demo_db = tmp_path / "data" / "demo.sqlite3"
    with sqlite3.connect(demo_db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM deal").fetchone() == (120,)
    again = crm("demo", "--no-open", home=tmp_path)
    assert again.returncode == 0 and "filling" not in again.stderr
    info = crm("--db", str(demo_db), "db", "info", home=tmp_path)
    assert "deals: 120" in info.stdout and f"schema version: {CURRENT_VERSION}" in info.stdout


def test_db_rebuild_rollups_repairs_the_dashboard_tables(tmp_path: Path) -> None:
    assert crm("demo", "--no-open", "--deals", "120", home=tmp_path).returncode == 0
    demo_db = tmp_path / "data" / "demo.sqlite3"
    report = ("--db", str(demo_db), "report", "won", "--period", "last_12_months", "--json")
    before = crm(*report, home=tmp_path)
    assert before.returncode == 0 and '"won_count": 0' not in before.stdout
    with sqlite3.connect(demo_db) as conn:  # damage: as if a tool had written the deals with the triggers off
        tables = ("deal_day", "deal_open", "deal_source", "deal_reach", "deal_stay")
        for table in tables:
            conn.execute(f"DELETE FROM {table}")
    assert crm(*report, home=tmp_path).stdout != before.stdout
    rebuilt = crm("--db", str(demo_db), "db", "rebuild-rollups", home=tmp_path)
    assert rebuilt.returncode == 0 and "rebuilt the dashboard rollups" in rebuilt.stdout, rebuilt.stderr
    assert crm(*report, home=tmp_path).stdout == before.stdout
    with sqlite3.connect(demo_db) as conn:
        assert all(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for table in tables)


def test_db_upgrade_and_backup(tmp_path: Path) -> None:
    from crm_tui import db

    old = tmp_path / "old.sqlite3"
    make_v1_database(db.parse_target(str(old)))
    upgraded = crm("--db", str(old), "db", "upgrade", home=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"from version 1 to {CURRENT_VERSION}" in upgraded.stdout
    assert f"crm: upgrading the schema from version 1 to {CURRENT_VERSION}, after a backup" in upgraded.stderr
    backups = list((tmp_path / "data" / "backups").glob(f"old-*-before-v{CURRENT_VERSION}.sqlite3"))
    assert len(backups) == 1
    saved = crm("--db", str(old), "db", "backup", str(tmp_path / "mine.sqlite3"), home=tmp_path)
    assert saved.returncode == 0 and (tmp_path / "mine.sqlite3").exists()
    with sqlite3.connect(tmp_path / "mine.sqlite3") as conn:
        assert conn.execute("SELECT COUNT(*) FROM stage_change").fetchone() == (40,)


def test_errors_are_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.toml").write_text("currency = 'EURO'\n")
    result = crm("db", "info", home=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("crm: ") and "currency" in result.stderr and "Traceback" not in result.stderr


def test_maintenance_commands_never_create_a_database(tmp_path: Path) -> None:
    missing = tmp_path / "typo" / "crm.sqlite3"
    for command in (("db", "info"), ("db", "upgrade"), ("formulas", "refresh"), ("search", "x")):
        result = crm("--db", str(missing), *command, home=tmp_path)
        assert result.returncode == 2 and "there is no database at" in result.stderr
    assert not missing.parent.exists()


def test_reset_throws_away_only_demo_workspaces(tmp_path: Path) -> None:
    precious = tmp_path / "precious.sqlite3"
    assert crm("--db", str(precious), "db", "info", home=tmp_path).returncode == 2  # nothing there yet
    from crm_tui import db
    from crm_tui.config import Settings
    from crm_tui.services import records
    from crm_tui.services.workspace import open_workspace

    workspace = open_workspace(db.parse_target(str(precious)), Settings(), login="alice")
    records.create(workspace.ctx, "company", {"name": "Keep me"})
    db.close()
    refused = crm("demo", "--db", str(precious), "--reset", "--no-open", home=tmp_path)
    assert refused.returncode == 2 and "is not a demo workspace" in refused.stderr
    with sqlite3.connect(precious) as conn:
        assert conn.execute("SELECT name FROM company").fetchall() == [("Keep me",)]
    made = crm("demo", "--db", str(tmp_path / "d.sqlite3"), "--deals", "30", "--no-open", home=tmp_path)
    assert made.returncode == 0, made.stderr
    again = crm("demo", "--db", str(tmp_path / "d.sqlite3"), "--reset", "--deals", "12", "--no-open", home=tmp_path)
    assert again.returncode == 0 and "12 deals" in again.stderr


def test_config_and_keys_listings(tmp_path: Path) -> None:
    assert "busy_timeout = 10.0" in crm("config", home=tmp_path).stdout
    keys = crm("keys", home=tmp_path).stdout
    assert "board.move_next" in keys and "shift+right,L" in keys
