"""Copying a SQLite workspace into an empty PostgreSQL database (`crm db copy --to URL`): the move
a team makes when one person's file becomes everyone's server.

Two databases are open at once. The models' proxy is bound to the destination (`db.connect`), so
the schema is made by the same `schema.create()` a new workspace gets and every check below runs
through the models' own database. The source is read through a plain read-only `sqlite3`
connection, never through the proxy: it is only read, by column name, and binding the models to
it would leave them pointing at the wrong database. One read transaction on the source gives a
consistent snapshot even while someone keeps working in it.

Everything happens in one destination transaction (PostgreSQL's DDL is transactional): the tables,
the rows, the search index, the sequences and the verification. Any failure rolls it all back and
leaves the destination as empty as it was.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from peewee import BooleanField, DateField, DateTimeField, ForeignKeyField, PeeweeException

from crm_tui import db
from crm_tui.db import DatabaseError, Target
from crm_tui.models import ALL_MODELS, BaseModel, database
from crm_tui.models.search import SearchDoc
from crm_tui.services import schema, sql_util
from crm_tui.services.migrations import CURRENT_VERSION

CHUNK = 5000
"""Rows read from the source per fetch (and between progress reports)."""

Progress = Callable[[int, int], None]
"""Called as (rows copied, total rows) while copying."""

COPIED: tuple[type[BaseModel], ...] = (*ALL_MODELS, SearchDoc)
"""What is copied, in order: every table parents first, then the search index's documents."""


@dataclass(frozen=True)
class TableCount:
    """One table's rows in the source and in the destination after the copy."""

    table: str
    source: int
    copied: int


@dataclass(frozen=True)
class CopyReport:
    """What a copy did: per-table counts (equal on both sides, or it would have raised)."""

    source: str
    destination: str
    schema_version: int
    tables: tuple[TableCount, ...]
    deal_amounts: int
    """The sum of every deal's amount (minor units, all currencies), equal on both sides."""
    seconds: float

    @property
    def rows(self) -> int:
        """How many rows were copied in all."""
        return sum(count.copied for count in self.tables)


def copy_workspace(source: Target, dest: Target, *, progress: Progress | None = None) -> CopyReport:
    """Copy the SQLite workspace `source` into the empty PostgreSQL database `dest`, keeping every
    id, then check that both hold the same rows; raises DatabaseError (and leaves `dest` empty)
    if anything is wrong. The models stay bound to `dest` afterwards."""
    started = time.perf_counter()
    if source.kind != "sqlite" or source.path is None:
        raise DatabaseError("the copy reads a SQLite workspace: give its file with --db")
    if dest.kind != "postgresql":
        raise DatabaseError(
            "the copy writes into PostgreSQL: give a postgresql:// URL (for another SQLite file, use crm db backup)"
        )
    _check_order()
    reader = _open_source(source)
    try:
        version = _check_source(reader, source)
        counts, amounts = _measure(reader.execute)
        db.connect(dest)
        try:
            with database.atomic():
                _check_empty(dest)
                made = schema.create()
                if made.action != "created":  # another process made a workspace there meanwhile
                    raise DatabaseError(f"{dest.describe()} became a workspace as the copy began; nothing was copied")
                _clear()
                _copy_rows(reader, sum(count for count, _ in counts.values()), progress)
                sql_util.reset_sequences(COPIED)
                tables = _verify(counts, amounts)
        except _failures() as error:  # the transaction is rolled back by now
            raise DatabaseError(f"the copy failed, so nothing was kept in {dest.describe()}: {error}") from error
    finally:
        reader.close()
    return CopyReport(source.describe(), dest.describe(), version, tables, amounts, time.perf_counter() - started)


def _failures() -> tuple[type[Exception], ...]:
    """What a failed read or write raises: peewee's errors, the driver's own (COPY talks to psycopg
    directly) and sqlite3's. Only evaluated when something was raised."""
    import psycopg  # installed: db.connect checked

    return (PeeweeException, psycopg.Error, sqlite3.Error)


# -- the source ------------------------------------------------------------------------------------


def _open_source(source: Target) -> sqlite3.Connection:
    """A read-only connection holding one read transaction: a snapshot of the workspace."""
    assert source.path is not None
    if not source.path.is_file():
        raise DatabaseError(f"there is no database at {source.describe()}")
    try:
        reader = sqlite3.connect(f"{source.path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
        reader.execute("BEGIN")
        reader.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()  # takes the snapshot now
    except sqlite3.Error as error:
        raise DatabaseError(f"cannot read {source.describe()}: {error}") from error
    return reader


def _check_source(reader: sqlite3.Connection, source: Target) -> int:
    """The source's schema version, after checking it is a current crm-tui workspace whose tables
    hold exactly the models' columns and no broken references."""
    where = source.describe()
    tables = {name for (name,) in reader.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "workspace_setting" not in tables:
        raise DatabaseError(f"{where} is not a crm-tui workspace")
    row = reader.execute("SELECT value FROM workspace_setting WHERE key = 'schema_version'").fetchone()
    try:
        version = int(json.loads(row[0]))
    except (TypeError, ValueError) as error:
        raise DatabaseError(f"{where} has no readable schema version; it is not a crm-tui workspace") from error
    if version < CURRENT_VERSION:
        # The copy never writes to its source: the upgrade (with its backup) is the user's own step.
        raise DatabaseError(
            f"{where} is at schema version {version}; this crm-tui copies version {CURRENT_VERSION}. "
            f"Run `crm --db {where} db upgrade` first (it backs the file up), then copy again"
        )
    if version > CURRENT_VERSION:
        raise DatabaseError(
            f"{where} is at schema version {version}, made by a newer crm-tui; upgrade crm-tui to copy it"
        )
    for model in COPIED:
        table = model._meta.table_name
        if table not in tables:
            raise DatabaseError(f"{where} has no {table} table although it says version {version}; it cannot be copied")
        found = {name for _, name, *_ in reader.execute(f'PRAGMA table_info("{table}")')}
        expected = {field.column_name for field in model._meta.sorted_fields}
        if found != expected:
            missing, unknown = sorted(expected - found), sorted(found - expected)
            raise DatabaseError(
                f"{where}: the {table} table does not match version {version} "
                f"(missing: {', '.join(missing) or 'none'}; unknown, which the copy would lose: {', '.join(unknown) or 'none'})"
            )
    broken = reader.execute("PRAGMA foreign_key_check").fetchall()
    if broken:
        table, rowid, parent, _ = broken[0]
        raise DatabaseError(
            f"{where} has {len(broken)} row{'s' if len(broken) != 1 else ''} pointing at rows that do not exist (first: {table} #{rowid} -> {parent}); "
            "PostgreSQL would refuse them, so nothing was copied"
        )
    return version


def _measure(execute: Callable[[str], Any]) -> tuple[dict[str, tuple[int, int]], int]:
    """(row count, sum of ids) of every copied table, and the sum of deal amounts, through either
    side's `execute`: the id sum catches a copy that kept the count but not the ids."""
    counts = {
        model._meta.table_name: tuple(execute(f'SELECT COUNT(*), COALESCE(SUM(id), 0) FROM "{model._meta.table_name}"').fetchone())
        for model in COPIED
    }
    return counts, execute("SELECT COALESCE(SUM(amount), 0) FROM deal").fetchone()[0]


def _check_order() -> None:
    """Every foreign key points at a table copied earlier: PostgreSQL checks each row as it
    arrives (peewee's constraints are not deferrable), so a parent must be there first. A plain
    id column (lead.converted_deal_id, custom_value.record_id) is not a constraint and may point
    anywhere."""
    seen: set[type[BaseModel]] = set()
    for model in COPIED:
        for field in model._meta.sorted_fields:
            if isinstance(field, ForeignKeyField) and field.rel_model not in seen:
                raise DatabaseError(
                    f"cannot copy {model._meta.table_name} before {field.rel_model._meta.table_name} "
                    "(a reference to itself or to a later table): the copy order needs a change"
                )
        seen.add(model)


# -- the destination -------------------------------------------------------------------------------


def _check_empty(dest: Target) -> None:
    """Refuse a destination holding any table: a copy never overwrites or mixes in data."""
    tables = database.get_tables()
    if not tables:
        return
    if "workspace_setting" in tables:
        version = schema.read_version()
        deals = database.execute_sql("SELECT COUNT(*) FROM deal").fetchone()[0] if "deal" in tables else 0
        found = f"a crm-tui workspace (schema version {version}, {deals:,} deals, {len(tables)} tables)"
    else:
        listed = ", ".join(tables[:8]) + (f" and {len(tables) - 8} more" if len(tables) > 8 else "")
        found = f"{len(tables)} table{'s' if len(tables) != 1 else ''} ({listed})"
    raise DatabaseError(
        f"{dest.describe()} is not empty: it holds {found}. The copy only fills an empty database; nothing was changed"
    )


def _clear() -> None:
    """Drop the rows `schema.create()` seeds (settings, the default pipeline): the source's own
    rows replace them. The tables, indexes and search machinery stay as a new workspace has them."""
    for model in reversed(COPIED):
        database.execute_sql(f'DELETE FROM "{model._meta.table_name}"')


def _boolean(value: Any) -> Any:
    """SQLite keeps booleans as 0/1; PostgreSQL wants true/false."""
    return bool(value) if isinstance(value, int) else value


def _timestamp(value: Any) -> Any:
    """Stored as text on SQLite; a datetime for PostgreSQL. An offset is folded into naive UTC
    (PostgreSQL's `timestamp` input would silently drop it)."""
    if not isinstance(value, str):
        return value
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value  # PostgreSQL parses it or refuses it, and the copy rolls back
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _date(value: Any) -> Any:
    """A date stored as text (possibly with a time) to a date."""
    if not isinstance(value, str):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        moment = _timestamp(value)
        return moment.date() if isinstance(moment, datetime) else value


def _converters(model: type[BaseModel]) -> list[tuple[int, Callable[[Any], Any]]]:
    """(column position, conversion) for the columns whose SQLite value PostgreSQL reads differently;
    every other value (numbers, text, JSON text) goes across as it is."""
    kinds: tuple[tuple[type, Callable[[Any], Any]], ...] = (
        (BooleanField, _boolean),
        (DateTimeField, _timestamp),
        (DateField, _date),
    )
    found = []
    for position, field in enumerate(model._meta.sorted_fields):
        for kind, convert in kinds:
            if isinstance(field, kind):
                found.append((position, convert))
                break
    return found


def _copy_rows(reader: sqlite3.Connection, total: int, progress: Progress | None) -> None:
    """Stream every table through COPY FROM STDIN, CHUNK rows per read. COPY rather than INSERTs:
    it is PostgreSQL's bulk-load path (about ten times faster than multi-row INSERTs here), and
    the destination is always PostgreSQL."""
    done = 0
    report = progress or (lambda done, total: None)
    report(0, total)
    for model in COPIED:
        table = model._meta.table_name
        columns = ", ".join(f'"{field.column_name}"' for field in model._meta.sorted_fields)
        convert = _converters(model)
        rows = reader.execute(f'SELECT {columns} FROM "{table}" ORDER BY id')
        with database.cursor() as cursor, cursor.copy(f'COPY "{table}" ({columns}) FROM STDIN') as copy:
            while chunk := rows.fetchmany(CHUNK):
                for row in _converted(chunk, convert):
                    copy.write_row(row)
                done += len(chunk)
                report(done, total)


def _converted(chunk: list[tuple[Any, ...]], convert: list[tuple[int, Callable[[Any], Any]]]) -> Iterable[Any]:
    if not convert:
        return chunk
    out = []
    for row in chunk:
        values = list(row)
        for position, to_pg in convert:
            values[position] = to_pg(values[position])
        out.append(values)
    return out


def _verify(counts: dict[str, tuple[int, int]], amounts: int) -> tuple[TableCount, ...]:
    """Count (and sum the ids of) every table on the destination; any difference raises."""
    tables, wrong = [], []
    copied_counts, copied_amounts = _measure(database.execute_sql)
    for model in COPIED:
        table = model._meta.table_name
        source, copied = counts[table][0], copied_counts[table][0]
        tables.append(TableCount(table, source, copied))
        if copied_counts[table] != counts[table]:
            wrong.append(f"{table} ({source:,} rows in the source, {copied:,} copied)")
    if copied_amounts != amounts:
        wrong.append(f"deal amounts ({amounts:,} in the source, {copied_amounts:,} copied)")
    if schema.read_version() != CURRENT_VERSION:
        wrong.append("the schema version setting")
    if wrong:
        raise DatabaseError("the copy does not match its source, so nothing was kept: " + "; ".join(wrong))
    return tuple(tables)
