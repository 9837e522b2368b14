"""The unit of work: one write transaction, its event-log rows, and the events it publishes.

    with write(ctx) as tx:
        ... change rows ...
        tx.log("record.updated", "deal", deal_id, field="amount", old=1, new=2)
        tx.emit(RecordUpdated(...))

The rows and the log entries commit together. Events are handed to the bus only after the outermost
transaction has committed; if it rolls back, they are dropped. Nested `write` blocks join the outer
one (a savepoint), so a service can call another service.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from crm_tui import clock
from crm_tui.events import DomainEvent
from crm_tui.models import Event, database
from crm_tui.services import live, permissions
from crm_tui.services.context import Context
from crm_tui.services.permissions import Access

_local = threading.local()


def to_json(value: Any) -> str | None:
    """Encode a field value for the event log (dates as ISO text)."""
    if value is None:
        return None
    return json.dumps(value, default=_json_default, sort_keys=True, ensure_ascii=False)


def _json_default(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


class Txn:
    """An open write transaction: appends to the event log and queues events for after commit."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.token = secrets.token_hex(8)
        self.now = clock.now()
        self.pending: list[DomainEvent] = []
        self._access: Access | None = None
        self._judged: dict[tuple[str, int], bool] = {}
        self.notices: dict[int, int] = {}
        """Notices sent per user in this transaction (see team_notices)."""
        self.by_rule = False
        """An automation rule acts: its own actions say whom to tell."""
        self.memo: dict[Any, Any] = {}
        """What services read once per transaction (the custom field definitions): emptied when a
        custom field changes in it, or a savepoint of it rolls back."""

    @property
    def access(self) -> Access:
        """What the acting user may do, read once per transaction (afresh: writes never trust a
        reused copy)."""
        if self._access is None:
            self._access = permissions.load(self.ctx.user_id, derived=False)
        return self._access

    def log(
        self,
        kind: str,
        entity: str,
        record_id: int,
        *,
        field: str | None = None,
        old: Any = None,
        new: Any = None,
    ) -> int:
        """Append one row to the event log and return its id, once the acting user's role allows
        the change it records (see permissions.check_change)."""
        permissions.check_change(self.access, kind, entity, record_id, field, old, self._judged)
        self.wrote(entity)
        return Event.insert(
            at=self.now,
            user=self.ctx.user_id,
            kind=kind,
            entity=entity,
            record_id=record_id,
            field=field,
            old=to_json(old),
            new=to_json(new),
            txn=self.token,
        ).execute()

    def wrote(self, entity: str) -> None:
        """Rows of `entity` changed: what this transaction read once of them is read again."""
        if entity == "custom_field":
            self.memo.clear()

    def emit(self, event: DomainEvent) -> None:
        """Publish `event` on the session's bus once the transaction commits."""
        self.pending.append(replace(event, txn=self.token))


def open_txn() -> Txn | None:
    """The write transaction open on this thread, if any."""
    return getattr(_local, "txn", None)


@contextmanager
def write(ctx: Context) -> Iterator[Txn]:
    """Open (or join) a write transaction for `ctx`; see the module docstring."""
    outer: Txn | None = getattr(_local, "txn", None)
    if outer is not None:
        mark = len(outer.pending)
        try:
            with database.atomic():
                yield outer
        except BaseException:
            del outer.pending[mark:]  # the savepoint rolled back: so do its events
            outer.memo.clear()  # and what was read inside it
            raise
        return
    txn = Txn(ctx)
    _local.txn = txn
    try:
        with database.atomic():
            live.notify()  # other sessions wake when this commits (and not if it rolls back)
            txn.access  # noqa: B018 - read before anything changes: a write may change the writer's own role
            yield txn
    finally:
        _local.txn = None
    # Only reached when the transaction committed.
    for event in txn.pending:
        ctx.bus.publish(event)
