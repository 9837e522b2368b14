"""One user's open workspace as the UI sees it: the service context and the database thread.

The UI never blocks on the database: `await session.call(fn, ...)` runs a service function on the
session's own database thread and resumes when it returns. One thread per session means one
connection, and writes from the UI are applied in the order the user made them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
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

    async def call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run `fn(*args, **kwargs)` on the database thread and return its result."""
        future = self._executor.submit(fn, *args, **kwargs)
        return await asyncio.wrap_future(future)

    def close(self) -> None:
        """Close the database thread's connection and stop the thread."""
        self._executor.submit(db.close).result()
        self._executor.shutdown(wait=True)
