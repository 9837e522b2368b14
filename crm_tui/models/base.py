"""The database handle every model is bound to, and the base classes of the models.

`database` is a proxy: `crm_tui.db.connect()` points it at a SQLite or PostgreSQL database chosen
at run time, so models never know which back end they are on.
"""

from __future__ import annotations

import json
from typing import Any

from peewee import (
    BigAutoField,
    DatabaseProxy,
    DateTimeField,
    IntegerField,
    Model,
    TextField,
)

from crm_tui import clock

database = DatabaseProxy()


class JSONField(TextField):
    """A JSON document stored as text, so it behaves the same on SQLite and PostgreSQL."""

    def db_value(self, value: Any) -> str | None:
        """Serialise to compact JSON."""
        if value is None:
            return None
        return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)

    def python_value(self, value: str | None) -> Any:
        """Parse stored JSON."""
        if value is None:
            return None
        return json.loads(value)


class BaseModel(Model):
    """Every table: bound to the proxy, with an explicit snake_case table name."""

    id = BigAutoField()

    class Meta:
        database = database
        legacy_table_names = False


class VersionedModel(BaseModel):
    """An editable record: creation and update times and a `version` for optimistic concurrency.

    Services update a row with `WHERE id = ? AND version = ?`; zero rows means someone else saved
    first.
    """

    created_at = DateTimeField(default=clock.now)
    updated_at = DateTimeField(default=clock.now)
    version = IntegerField(default=1)


class SoftDeleteModel(VersionedModel):
    """A record that is hidden rather than erased when deleted, so a delete can be undone."""

    deleted_at = DateTimeField(null=True)
