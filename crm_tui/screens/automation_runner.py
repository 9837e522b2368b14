"""The app's scheduler for automations: rules run a moment after a change (this session's or
another's), and the time-based rules every minute, on a database thread of their own.

A thread of their own because a webhook or mail server can take seconds to answer: the session's
thread serves every screen, and must never wait on the network. Runs made in several sessions at
once are safe: each (rule, event) runs once (see services.automation_engine).
"""

from __future__ import annotations

import logging
from typing import Any

from textual import work

from crm_tui.config import SmtpSettings
from crm_tui.services.automation_engine import Engine
from crm_tui.services.errors import StorageError
from crm_tui.services.session import Session
from crm_tui.text import safe_text

log = logging.getLogger(__name__)

AUTOMATION_SECONDS = 60.0
"""How often the time-based rules (idle, rotting, overdue, close date passed) are checked."""
AUTOMATION_DELAY = 0.3
"""Seconds after a change before its rules run: a burst of changes is handled in one pass."""
DEFERRED_RETRY = 1.0
"""Seconds before a pass left to another session's (PostgreSQL) looks again for what it missed."""


class AutomationRunner:
    """Mixed into the app: call `start_automations` on mount, `automations_soon` on every change,
    and `stop_automations` on exit."""

    _engine_session: Session | None = None
    _engine: Engine | None = None
    _soon: Any = None

    def start_automations(self, session: Session, smtp: SmtpSettings | None) -> None:
        """Open the engine's own database thread and check the time-based rules every minute."""
        self._engine_session = session.sibling()
        self._engine = Engine(session.ctx, smtp=smtp)
        app: Any = self
        app.set_interval(AUTOMATION_SECONDS, lambda: self.run_automations(time_rules=True))
        app.set_timer(AUTOMATION_DELAY * 10, lambda: self.run_automations(time_rules=True))

    def automations_soon(self) -> None:
        """Run the event rules shortly (a change happened); repeated calls merge into one pass."""
        if self._engine is None:
            return
        app: Any = self
        if self._soon is not None:
            self._soon.stop()
        self._soon = app.set_timer(AUTOMATION_DELAY, lambda: self.run_automations(time_rules=False))

    @work(group="app-automations", exit_on_error=False)
    async def run_automations(self, *, time_rules: bool) -> None:
        """One pass of the engine; a failed run is said in a toast (the run log has the detail)."""
        engine, session = self._engine, self._engine_session
        if engine is None or session is None:
            return
        try:
            results = await session.call(engine.tick if time_rules else engine.process_events)
        except StorageError:
            log.warning("automation pass failed", exc_info=True)
            return
        app: Any = self
        if engine.deferred:  # another session's pass was under way: what it missed is read shortly
            app.set_timer(DEFERRED_RETRY, lambda: self.run_automations(time_rules=False))
        for result in results:
            if result.status == "failed":
                app.notify(
                    f"{safe_text(result.rule)} failed on {result.entity} #{result.record_id}: {safe_text(result.error or '')}",
                    title="Automation failed",
                    severity="warning",
                    markup=False,
                    timeout=10,
                )

    def stop_automations(self) -> None:
        """Close the engine's database thread."""
        if self._engine_session is not None:
            self._engine_session.close()
            self._engine_session = None
            self._engine = None
