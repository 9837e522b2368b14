"""Opening the database: a SQLite file (the default) or PostgreSQL, and backing it up.

`connect(target)` takes a path to a SQLite file (created if missing), a `sqlite:///path` URL or a
`postgresql://` URL, and binds every model to it. SQLite runs in WAL mode with foreign keys on, a
busy timeout, and write transactions that take the write lock up front (`BEGIN IMMEDIATE`), so that
several processes writing at once wait for each other instead of failing with "database is locked".
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from peewee import Database, PostgresqlDatabase, SqliteDatabase

from crm_tui.models.base import database


class DatabaseError(Exception):
    """The database cannot be opened or backed up; the message says what to do."""


@dataclass(frozen=True)
class Target:
    """A parsed database location."""

    kind: str  # "sqlite" or "postgresql"
    path: Path | None = None
    url: str | None = None

    def describe(self) -> str:
        """Where the data lives, for people (passwords hidden)."""
        if self.kind == "sqlite":
            path = str(self.path)
            home = str(Path.home())
            return "~" + path[len(home) :] if path.startswith(home + "/") else path
        parsed = urlparse(self.url or "")
        host = parsed.hostname or "localhost"
        port = f":{parsed.port}" if parsed.port else ""
        user = f"{parsed.username}@" if parsed.username else ""
        return f"postgresql://{user}{host}{port}{parsed.path}"


def parse_target(text: str | Path) -> Target:
    """Read `--db` / `CRM_DB_URL` / config text into a Target."""
    text = str(text)
    if text.startswith(("postgresql://", "postgres://")):
        return Target("postgresql", url=text)
    if text.startswith("sqlite://"):
        # As in SQLAlchemy and Peewee: sqlite:///relative.db, sqlite:////absolute/path.db
        path = unquote(text.removeprefix("sqlite:///") if text.startswith("sqlite:///") else text.removeprefix("sqlite://"))
        if path in ("", ":memory:"):
            raise DatabaseError(
                "an in-memory database is not supported (background threads could not see it); "
                "use a file path"
            )
        return Target("sqlite", path=Path(path).expanduser())
    if "://" in text:
        scheme = text.split("://", 1)[0]
        raise DatabaseError(f"unsupported database URL scheme {scheme!r}: use a file path, sqlite:/// or postgresql://")
    return Target("sqlite", path=Path(text).expanduser())


def connect(target: Target, *, busy_timeout: float = 10.0, create_directory: bool = False) -> Database:
    """Open `target`, bind the models to it and return the Peewee database.

    A SQLite file is created if missing, but its directory only with `create_directory` (for the
    default locations): a mistyped --db path is reported rather than quietly made.
    """
    db: Database
    if target.kind == "sqlite":
        assert target.path is not None
        if create_directory:
            try:
                target.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise DatabaseError(f"cannot create {target.path.parent}: {error.strerror}") from error
        elif not target.path.parent.is_dir():
            raise DatabaseError(f"the directory {target.path.parent} does not exist")
        db = SqliteDatabase(
            str(target.path),
            pragmas={
                "journal_mode": "wal",
                "foreign_keys": 1,
                "synchronous": "normal",
                "busy_timeout": int(busy_timeout * 1000),
                "cache_size": -32000,
            },
            timeout=busy_timeout,
            lock_type="IMMEDIATE",
        )
    else:
        try:
            import psycopg  # noqa: F401
        except ImportError as error:
            raise DatabaseError(
                "PostgreSQL support is not installed: pip install 'crm-tui[postgres]'"
            ) from error
        db = PostgresqlDatabase(target.url, prefer_psycopg3=True)
    try:
        db.connect()
    except Exception as error:  # the driver's own message is the useful part
        raise DatabaseError(f"cannot open {target.describe()}: {error}") from error
    database.initialize(db)
    return db


def close() -> None:
    """Close this thread's connection, if the proxy is bound and open."""
    if database.obj is not None and not database.is_closed():
        database.close()


def backup(target: Target, destination: Path) -> Path:
    """Write a consistent copy of the database to `destination` while it may be in use.

    SQLite uses the online backup API (never a file copy of a live WAL database); PostgreSQL uses
    `pg_dump --format=custom`.
    """
    if destination.exists():
        raise DatabaseError(f"{destination} already exists; a backup never overwrites a file, choose another name")
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DatabaseError(f"cannot create {destination.parent}: {error.strerror}") from error
    if target.kind == "sqlite":
        assert target.path is not None
        if not target.path.exists():
            raise DatabaseError(f"{target.path} does not exist")
        try:
            source = sqlite3.connect(f"file:{target.path}?mode=ro", uri=True)
            copy = sqlite3.connect(str(destination))
            try:
                source.backup(copy)
            finally:
                copy.close()
                source.close()
        except (sqlite3.Error, OSError) as error:
            destination.unlink(missing_ok=True)
            raise DatabaseError(f"cannot back up to {destination}: {error}") from error
        return destination
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise DatabaseError(
            "pg_dump is not on PATH, so PostgreSQL cannot be backed up; install the PostgreSQL "
            "client tools or back up by hand and pass --skip-backup"
        )
    # The password goes through the environment: other users of the machine can read arguments.
    parsed = urlparse(target.url or "")
    environment = dict(os.environ)
    if parsed.password:
        environment["PGPASSWORD"] = unquote(parsed.password)
        parsed = parsed._replace(netloc=parsed.netloc.replace(f":{parsed.password}@", "@", 1))
    result = subprocess.run(
        [pg_dump, "--format=custom", f"--file={destination}", parsed.geturl()],
        capture_output=True,
        text=True,
        check=False,
        env=environment,
    )
    if result.returncode != 0:
        raise DatabaseError(f"pg_dump failed: {result.stderr.strip()}")
    return destination
