"""Query shapes the bulk services share, written past peewee's query builder where composing a
thousand values costs it longer than the database spends on them: a fast `IN` over ids, live rows
by a column's values, live rows a chunk at a time by id, multi-row inserts, and PostgreSQL's id
sequences moved past explicitly written ids."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from peewee import (
    SQL,
    AutoField,
    BigAutoField,
    BigIntegerField,
    CharField,
    Expression,
    ForeignKeyField,
    IntegerField,
    PostgresqlDatabase,
    TextField,
)

from crm_tui.models import JSONField, database


def among(field: Any, ids: Iterable[int]) -> Expression:
    """`field IN (ids)`, fast: peewee builds and binds a node per value of `in_(list)`, which costs
    more than the query itself at a thousand ids. The ids are written as integer literals: each
    went through int(), so nothing but digits and a sign can reach the SQL."""
    values = [int(value) for value in ids]
    if not values:
        return field.in_([])
    return field.in_(SQL(f"({', '.join(map(str, values))})"))


def live_chunks(model: Any, columns: list[Any], *, where: Expression | None = None, size: int = 1000) -> Iterator[list[tuple]]:
    """The live (not deleted) rows of `model` as tuples, id first, `size` at a time in id order;
    `where` narrows them further. Keyset paging: each chunk is one indexed range read."""
    condition = model.deleted_at.is_null() if where is None else (model.deleted_at.is_null() & where)
    after = 0
    while True:
        rows = list(
            model.select(model.id, *columns).where(condition, model.id > after).order_by(model.id).limit(size).tuples()
        )
        if not rows:
            return
        yield rows
        after = rows[-1][0]


def live_in(model: Any, column: str, values: list[str]) -> list[tuple[int, str]]:
    """(id, value) of the live rows whose `column` is one of `values`: plain SQL, since composing
    an IN list of a thousand values costs the query builder longer than the indexed lookup."""
    if not values:
        return []
    marks = ", ".join([database.param] * len(values))
    table = model._meta.table_name
    sql = f'SELECT id, "{column}" FROM "{table}" WHERE "{column}" IN ({marks}) AND deleted_at IS NULL ORDER BY id'
    return list(database.execute_sql(sql, values).fetchall())


_PLAIN = (CharField, TextField, IntegerField, BigIntegerField, ForeignKeyField, AutoField, BigAutoField)
"""Fields whose Python values both drivers take as they are (no db_value needed)."""


def insert_rows(model: Any, fields: list[Any], rows: list[tuple[Any, ...]], *, returning: bool = False) -> list[int]:
    """A multi-row INSERT built directly (peewee's query builder spends far longer composing 500
    rows than the database spends storing them); values go through each field's db_value.
    Returns the new ids, in the order of `rows`, when `returning`."""
    if not rows:
        return []
    param = database.param
    columns = ", ".join(f'"{field.column_name}"' for field in fields)
    group = "(" + ", ".join([param] * len(fields)) + ")"
    plain = [isinstance(field, _PLAIN) and not isinstance(field, JSONField) for field in fields]
    ids: list[int] = []
    step = min(1000, max(1, 30000 // len(fields)))  # within every driver's limit on parameters
    for start in range(0, len(rows), step):
        chunk = rows[start : start + step]
        if all(plain):
            params = [value for row in chunk for value in row]
        else:
            convert = [None if is_plain else field.db_value for field, is_plain in zip(fields, plain, strict=True)]
            params = [
                value if to_db is None else to_db(value) for row in chunk for to_db, value in zip(convert, row, strict=True)
            ]
        sql = f'INSERT INTO "{model._meta.table_name}" ({columns}) VALUES {", ".join([group] * len(chunk))}'
        if returning:
            ids += [row[0] for row in database.execute_sql(f"{sql} RETURNING id", params).fetchall()]
        else:
            database.execute_sql(sql, params)
    return ids


def reset_sequences(models: Iterable[Any]) -> None:
    """On PostgreSQL, move each model's id sequence past its table's ids (rows written with explicit
    ids do not advance it), so the next row gets max(id) + 1, or 1 in an empty table. SQLite needs nothing."""
    if not isinstance(database.obj, PostgresqlDatabase):
        return
    for model in models:
        table = model._meta.table_name
        database.execute_sql(
            f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM \"{table}\""
        )


def epoch_sql(column: str) -> str:
    """SQL text: whole seconds since 1970 of a timestamp column, the fraction dropped on both back
    ends (for trigger bodies and other hand-written SQL; report_sql.seconds is the query-builder twin)."""
    if isinstance(database.obj, PostgresqlDatabase):
        return f"CAST(FLOOR(EXTRACT(EPOCH FROM {column})) AS BIGINT)"
    return f"CAST(strftime('%s', {column}) AS INTEGER)"
