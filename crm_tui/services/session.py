"""One user's open workspace as the UI sees it: the service context and the database thread.

The UI never blocks on the database: `await session.call(fn, ...)` runs a service function on the
session's own database thread and resumes when it returns. One thread per session means one
connection, and writes from the UI are applied in the order the user made them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from crm_tui import db
from crm_tui.services.context import Context

P = ParamSpec("P")
T = TypeVar("T")


class Session:
    """The service context plus a single database thread for the UI's calls."""

    def __init__(self, ctx: Context, *, where: str) -> None:
        self.ctx = ctx
        self.where = where
        """Where the data lives, for people (a path or a URL without its password)."""
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crm-db")
        self._preloaded: dict[str, tuple[Callable[[], object], Future[object]]] = {}

    async def call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run `fn(*args, **kwargs)` on the database thread and return its result."""
        future = self._executor.submit(fn, *args, **kwargs)
        return await asyncio.wrap_future(future)

    def preload(self, key: str, fn: Callable[[], T]) -> None:
        """Start `fn()` on the database thread now, before the UI exists, so that the first screen
        finds its data ready (start-up overlaps the reading with importing Textual)."""
        self._preloaded[key] = (fn, self._executor.submit(fn))

    async def take_preloaded(self, key: str, fn: Callable[[], T]) -> T:
        """The result of `preload(key, fn)` if it was started, else `fn()` run now; used once."""
        started = self._preloaded.pop(key, None)
        if started is not None and started[0] is fn:
            return await asyncio.wrap_future(started[1])
        return await self.call(fn)

    def close(self) -> None:
        """Close the database thread's connection and stop the thread."""
        self._executor.submit(db.close).result()
        self._executor.shutdown(wait=True)
