"""Waking other sessions when a change commits.

On PostgreSQL every write transaction sends a NOTIFY on `crm_events` (delivered only if it commits)
and each open app LISTENs on a connection of its own, so a change reaches every session at once;
the app then reads the event log as it does on SQLite, where it polls once a second instead.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from crm_tui.models import database
from crm_tui.services.search_index import is_postgres

CHANNEL = "crm_events"
BURST = 0.2
"""Seconds a wake waits for more commits of the same burst (a bulk edit wakes the app once)."""
log = logging.getLogger(__name__)


def notify() -> None:
    """Tell the listening sessions that this transaction changed something (sent at commit)."""
    if is_postgres():
        database.execute_sql("SELECT pg_notify(%s, '')", (CHANNEL,))


class Listener:
    """A thread with its own PostgreSQL connection that calls `wake()` when a change commits
    anywhere (several changes close together wake it once)."""

    def __init__(self, wake: Callable[[], None]) -> None:
        self.wake = wake
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> bool:
        """Start listening; False on SQLite (there is nothing to listen to: poll instead)."""
        if not is_postgres():
            return False
        db = database.obj
        self._thread = threading.Thread(
            target=self._run, args=(db.database, dict(db.connect_params)), name="crm-listen", daemon=True
        )
        self._thread.start()
        return True

    def stop(self) -> None:
        """Stop listening (within a second)."""
        self._stop.set()

    def _run(self, dsn: str, params: dict[str, object]) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(dsn, autocommit=True, **params) as conn:  # type: ignore[arg-type]
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.wake()  # anything missed while (re)connecting is read now
                    while not self._stop.is_set():
                        if any(True for _ in conn.notifies(timeout=1.0, stop_after=1)):
                            self._stop.wait(BURST)
                            for _ in conn.notifies(timeout=0.01):  # a burst of commits wakes once
                                pass
                            self.wake()
            except Exception:  # the server went away: the poll still runs; try again shortly
                log.warning("listening for changes failed; retrying", exc_info=True)
                self._stop.wait(5.0)
