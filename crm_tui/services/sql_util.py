"""Two query shapes the bulk services share: a fast `IN` over many ids, and reading a table's live
rows a chunk at a time by id."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from peewee import SQL, Expression


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
