"""Opening databases: targets, SQLite settings, backups."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from crm_tui import db
from crm_tui.db import DatabaseError, Target, parse_target
from crm_tui.models import database
from crm_tui.services import schema
from crm_tui.services.workspace import Workspace


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("crm.sqlite3", Target("sqlite", path=Path("crm.sqlite3"))),
        ("/data/team.db", Target("sqlite", path=Path("/data/team.db"))),
        ("sqlite:///relative.db", Target("sqlite", path=Path("relative.db"))),
        ("sqlite:////abs/path.db", Target("sqlite", path=Path("/abs/path.db"))),
        ("postgresql://u:secret@db:5433/crm", Target("postgresql", url="postgresql://u:secret@db:5433/crm")),
    ],
)
def test_parse_target(text: str, expected: Target) -> None:
    assert parse_target(text) == expected


def test_passwords_are_not_shown() -> None:
    assert parse_target("postgresql://u:secret@db:5433/crm").describe() == "postgresql://u@db:5433/crm"


@pytest.mark.parametrize("text", ["mysql://x/y", "sqlite:///:memory:"])
def test_unsupported_targets(text: str) -> None:
    with pytest.raises(DatabaseError):
        parse_target(text)


def test_sqlite_is_opened_for_several_writers(sqlite_workspace: Workspace) -> None:
    pragma = lambda name: database.execute_sql(f"PRAGMA {name}").fetchone()[0]  # noqa: E731
    assert pragma("journal_mode") == "wal"
    assert pragma("foreign_keys") == 1
    assert pragma("busy_timeout") == 10_000
    assert database.obj._lock_type == "IMMEDIATE"  # writers queue for the lock instead of failing


def test_a_mistyped_directory_is_reported_not_created(tmp_path: Path) -> None:
    target = parse_target(str(tmp_path / "typo" / "crm.sqlite3"))
    with pytest.raises(DatabaseError, match="does not exist"):
        db.connect(target)
    assert not (tmp_path / "typo").exists()
    db.connect(target, create_directory=True)  # the data directory's own files: made on first use
    assert target.path is not None and target.path.parent.is_dir()
    db.close()


def test_backups_never_overwrite(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite3"
    other.write_text("someone's file")
    with pytest.raises(DatabaseError, match="already exists"):
        db.backup(sqlite_workspace.target, other)
    assert other.read_text() == "someone's file"
    with pytest.raises(DatabaseError, match="already exists"):
        db.backup(sqlite_workspace.target, sqlite_workspace.target.path)


def test_backup_of_a_live_database_is_complete(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    from crm_tui.services import records

    records.create(sqlite_workspace.ctx, "company", {"name": "Acme"})
    # The write sits in the WAL, not yet in the main file: a file copy would miss it.
    copy = db.backup(sqlite_workspace.target, tmp_path / "backups" / "copy.sqlite3")
    with sqlite3.connect(copy) as saved:
        assert saved.execute("SELECT name FROM company").fetchall() == [("Acme",)]
        assert saved.execute("SELECT value FROM workspace_setting WHERE key='schema_version'").fetchone() == (
            str(schema.CURRENT_VERSION),
        )


def test_backup_of_a_missing_file_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="does not exist"):
        db.backup(parse_target(str(tmp_path / "nope.sqlite3")), tmp_path / "out.sqlite3")


def test_a_new_workspace_has_the_default_sales_pipeline(workspace: Workspace) -> None:
    from crm_tui.services.board import list_pipelines

    (sales,) = list_pipelines()
    assert sales.name == "Sales"
    assert [(s.name, s.probability, s.kind) for s in sales.stages] == [
        ("Unqualified", 10, "open"), ("Qualification", 20, "open"), ("Writing Proposal", 40, "open"),
        ("Proposal Sent", 50, "open"), ("Negotiation", 70, "open"), ("Contract Sent for Signature", 90, "open"),
        ("Closed Won", 100, "won"), ("Closed Lost", 0, "lost"), ("N/A", 0, "closed"),
    ]  # fmt: skip


def test_the_first_user_is_admin_and_later_ones_members(workspace: Workspace) -> None:
    from crm_tui.models import User
    from crm_tui.services.users import ensure_user

    assert User.get(User.login == "alice").role == "admin"
    ensure_user("bob")
    assert User.get(User.login == "bob").role == "member"
    assert ensure_user("alice")[0] == workspace.ctx.user_id
