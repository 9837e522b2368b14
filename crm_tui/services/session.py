"""One user's open workspace as the UI sees it: the service context and the database thread.

The UI never blocks on the database: `await session.call(fn, ...)` runs a service function on the
session's own database thread and resumes when it returns. One thread per session means one
connection, and writes from the UI are applied in the order the user made them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from peewee import PeeweeException as PeeweeError

from crm_tui import db
from crm_tui.services import permissions
from crm_tui.services.context import Context
from crm_tui.services.errors import StorageError

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")


class Session:
    """The service context plus a single database thread for the UI's calls."""

    def __init__(self, ctx: Context, *, where: str) -> None:
        self.ctx = ctx
        self.where = where
        """Where the data lives, for people (a path or a URL without its password)."""
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crm-db")
        self._preloaded: dict[str, Future[object]] = {}

    def sibling(self) -> Session:
        """A new session on the same context and data, with a database thread (and connection) of
        its own: for long jobs that must not hold up the calls of this one. Close it when done."""
        return Session(self.ctx, where=self.where)

    async def call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run `fn(*args, **kwargs)` on the database thread and return its result.

        A failure of the database itself comes back as StorageError (a ServiceError), so a screen
        shows it like any refusal instead of crashing.
        """
        future = self._executor.submit(_guarded, self.ctx.user_id, fn, *args, **kwargs)
        return await asyncio.wrap_future(future)

    def preload(self, key: str, fn: Callable[[], object]) -> None:
        """Start `fn()` on the database thread now, before the UI exists, so that the first screen
        finds its data ready (start-up overlaps the reading with importing Textual). Calls run in
        the order they were started; a key already preloaded is left as it is."""
        if key not in self._preloaded:
            self._preloaded[key] = self._executor.submit(_guarded, self.ctx.user_id, fn)

    async def take_preloaded(self, key: str, fn: Callable[[], T]) -> T:
        """The result of the `preload` under `key` if one was started, else `fn()` run now; once."""
        started = self._preloaded.pop(key, None)
        if started is not None:
            return await asyncio.wrap_future(started)  # type: ignore[return-value]
        return await self.call(fn)

    def close(self) -> None:
        """Close the database thread's connection and stop the thread."""
        self._executor.submit(db.close).result()
        self._executor.shutdown(wait=True)


def _guarded(acting_user: int, fn: Callable[..., T], /, *args: object, **kwargs: object) -> T:
    """Run `fn` with the reads filtered for `acting_user`; a database failure becomes StorageError."""
    try:
        with permissions.acting(acting_user):
            return fn(*args, **kwargs)
    except PeeweeError as error:
        log.exception("database error in %s", getattr(fn, "__name__", fn))
        if "locked" in str(error) or "busy" in str(error):
            raise StorageError("the database is busy (another crm is writing to it); nothing was changed, try again") from error
        raise StorageError(f"the database failed: {error}; nothing was changed") from error
