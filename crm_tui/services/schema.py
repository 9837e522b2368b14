"""Creating a new workspace's tables and upgrading an older one, with a backup first.

A fresh database is created at the current schema version with the default "Sales" pipeline. An
older one is backed up (SQLite online backup API, or pg_dump) and then upgraded step by step inside
a migration context that cannot cascade-delete rows. A database from a newer crm-tui is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from peewee import PostgresqlDatabase
from playhouse.migrate import SchemaMigrator

from crm_tui import clock
from crm_tui.db import DatabaseError, Target, backup
from crm_tui.models import ALL_MODELS, Pipeline, Stage, WorkspaceSetting, database
from crm_tui.services import rollups, search_index
from crm_tui.services.migrations import CURRENT_VERSION, MIGRATIONS
from crm_tui.services.workspace_settings import DEFAULT_LOST_REASONS, put_setting

DEFAULT_PIPELINE = (
    "Sales",
    [
        ("Unqualified", 10, "open"),
        ("Qualification", 20, "open"),
        ("Writing Proposal", 40, "open"),
        ("Proposal Sent", 50, "open"),
        ("Negotiation", 70, "open"),
        ("Contract Sent for Signature", 90, "open"),
        ("Closed Won", 100, "won"),
        ("Closed Lost", 0, "lost"),
        ("N/A", 0, "closed"),
    ],
)
_SCHEMA_LOCK_KEY = 0x43524D  # "CRM": a PostgreSQL advisory lock id for schema changes


@dataclass(frozen=True)
class SchemaReport:
    """What opening the database did to its schema."""

    action: str  # "created", "upgraded" or "current"
    from_version: int | None
    to_version: int
    backup: Path | None = None


def read_version() -> int | None:
    """The schema version stored in the database, or None for an empty database."""
    if not database.table_exists("workspace_setting"):
        return None
    row = WorkspaceSetting.get_or_none(WorkspaceSetting.key == "schema_version")
    return None if row is None else int(row.value)


@contextmanager
def _schema_transaction(migrator: SchemaMigrator | None = None) -> Iterator[None]:
    """One transaction that other processes changing the schema wait for."""
    context = migrator.migration_context() if migrator is not None else database.atomic()
    with context:
        if isinstance(database.obj, PostgresqlDatabase):
            database.execute_sql("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK_KEY,))
        yield


def seed_pipeline(name: str, stages: list[tuple[str, int, str]], *, position: int = 0) -> int:
    """Insert a pipeline with its stages (no events: used when a workspace is created)."""
    now = clock.now()
    pipeline_id = Pipeline.insert(name=name, position=position, created_at=now, updated_at=now).execute()
    Stage.insert_many(
        [
            {
                "pipeline": pipeline_id,
                "name": stage_name,
                "position": index,
                "probability": probability,
                "kind": kind,
                "created_at": now,
                "updated_at": now,
            }
            for index, (stage_name, probability, kind) in enumerate(stages)
        ]
    ).execute()
    return pipeline_id


def create(*, currency: str = "USD") -> SchemaReport:
    """Create every table at the current version, with the default pipeline and settings."""
    with _schema_transaction():
        existing = read_version()
        if existing is not None:  # another process created it while we waited
            return SchemaReport("current", existing, existing)
        known = {model._meta.table_name for model in ALL_MODELS}
        foreign = sorted(name for name in set(database.get_tables()) - known if not (search_index.owns_table(name) or rollups.owns_table(name)))
        if foreign:
            raise DatabaseError(
                f"this database already holds other tables ({', '.join(foreign[:5])}); "
                "it is not a crm-tui workspace"
            )
        database.create_tables(ALL_MODELS)
        search_index.install()
        rollups.install()
        put_setting("schema_version", CURRENT_VERSION)
        put_setting("currency", currency)
        put_setting("lost_reasons", DEFAULT_LOST_REASONS)
        seed_pipeline(*DEFAULT_PIPELINE)
        rollups.rebuild()  # empty, but computed against the seeded stages
    return SchemaReport("created", None, CURRENT_VERSION)


def make_backup(target: Target, directory: Path, *, label: str, keep: int) -> Path:
    """Back the database up into `directory` and keep only the newest `keep` automatic backups."""
    stem = target.path.stem if target.path is not None else "postgresql"
    suffix = ".sqlite3" if target.kind == "sqlite" else ".pgdump"
    stamp = clock.now().strftime("%Y%m%dT%H%M%S%f")
    destination = directory / f"{stem}-{stamp}-{label}{suffix}"
    backup(target, destination)
    automatic = sorted(directory.glob(f"{stem}-*-before-v*{suffix}"))
    for old in automatic[:-keep]:
        old.unlink(missing_ok=True)
    return destination


def upgrade(
    target: Target,
    *,
    backup_dir: Path,
    keep: int = 10,
    skip_backup: bool = False,
    notice: Callable[[str], None] | None = None,
) -> SchemaReport:
    """Back up, then bring an older database to the current version, one step at a time.
    `notice` is told before the work starts (it can take minutes on a large workspace)."""
    start = read_version()
    if start is None:
        raise DatabaseError("this database has no crm-tui schema to upgrade")
    if start > CURRENT_VERSION:
        raise DatabaseError(
            f"this database is at schema version {start}, made by a newer crm-tui "
            f"(this one knows up to {CURRENT_VERSION}); upgrade crm-tui to open it"
        )
    if start == CURRENT_VERSION:
        return SchemaReport("current", start, start)
    if notice is not None:
        notice(
            f"upgrading the schema from version {start} to {CURRENT_VERSION}"
            + ("" if skip_backup else ", after a backup")
            + " (a large workspace takes a minute or two)…"
        )
    saved = None if skip_backup else make_backup(target, backup_dir, label=f"before-v{CURRENT_VERSION}", keep=keep)
    migrator = SchemaMigrator.from_database(database.obj)
    with _schema_transaction(migrator):
        version = read_version() or start  # another process may have upgraded meanwhile
        for step in range(version + 1, CURRENT_VERSION + 1):
            MIGRATIONS[step](migrator)
            put_setting("schema_version", step)
        if target.kind == "sqlite":
            broken = database.execute_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise DatabaseError(f"the upgrade would leave {len(broken)} broken references; nothing was changed")
    return SchemaReport("upgraded", start, CURRENT_VERSION, saved)


def ensure(
    target: Target,
    *,
    backup_dir: Path,
    keep: int = 10,
    currency: str = "USD",
    notice: Callable[[str], None] | None = None,
) -> SchemaReport:
    """Create the schema of an empty database or upgrade an older one (telling `notice` first);
    check a current one."""
    if read_version() is None:
        return create(currency=currency)
    return upgrade(target, backup_dir=backup_dir, keep=keep, notice=notice)
