"""The automation engine: reads the event log, fires the matching rules once each, and checks the
time-based triggers.

Exactly once: a run starts by inserting its AutomationRun row, unique on (rule, key), in the same
transaction as every change its actions make. Another process doing the same run waits on that
row and then finds it taken, so it does nothing; a run whose action fails rolls back whole, and
its failure is recorded under the same key, so it is not retried forever. A failure of the
database itself that passes (SQLite busy, a PostgreSQL deadlock, serialization failure or lock
time-out) records nothing: the pass stops before that event, says so in `deferred`, and the next
pass runs it again.

Chains: the run's writes carry its transaction token, which the run row keeps. An event with that
token was caused by the run, so the rule it fires is one level deeper; deeper than `max_depth`, or
the same rule fired again on the same record, the run is stopped and logged instead.

Webhooks and email are sent after the run's transaction has committed; their outcome is written
onto the run afterwards ("done" or "failed" with the error). The user's own change is never
touched: the engine only ever runs after it committed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from peewee import IntegrityError

from crm_tui import clock
from crm_tui.config import SmtpSettings
from crm_tui.models import AutomationRule, AutomationRun, User, database
from crm_tui.schemas.automation import OUTBOUND, TIME_TRIGGERS, Rule
from crm_tui.services import automation_time, reach, rollups
from crm_tui.services.automation_actions import Outbound, apply, outbound_request
from crm_tui.services.automation_match import conditions_hold, happenings, prompted, record_view, trigger_matches
from crm_tui.services.automation_outbound import OutboundError, post_json, send_mail
from crm_tui.services.automation_rules import enabled_rules
from crm_tui.services.changes import latest_event_id
from crm_tui.services.context import Context
from crm_tui.services.search_index import is_postgres
from crm_tui.services.unit import write
from crm_tui.services.workspace_settings import get_setting, put_setting

log = logging.getLogger(__name__)

MAX_DEPTH = 5
"""How many rules may fire one another in a chain before the engine stops it."""
BATCH = 500
"""Event-log rows read per pass."""
LATE_COMMIT = timedelta(seconds=30)
"""On PostgreSQL an event with a lower id can commit after a higher one: the read position stays
this far behind the newest events, which are read again (a run already made is not made twice)."""
CURSOR = "automation.cursor"


@dataclass(frozen=True)
class RunResult:
    """One run the engine made (or stopped, or failed)."""

    rule_id: int
    rule: str
    key: str
    status: str
    entity: str
    record_id: int
    outcomes: list[str] = field(default_factory=list)
    error: str | None = None


class TransientFailure(Exception):
    """The database refused a run for a moment (busy, deadlock, serialization): try it again later."""


_TRANSIENT_STATES = frozenset({"40001", "40P01", "55P03"})
"""PostgreSQL: serialization failure, deadlock detected, lock not available."""


def is_transient(error: BaseException) -> bool:
    """Whether `error` (or what it wraps) is a database failure that passes if tried again."""
    seen: BaseException | None = error
    for _ in range(5):  # peewee wraps the driver's error in .orig; Python chains it in __cause__
        if seen is None:
            return False
        if getattr(seen, "sqlstate", None) in _TRANSIENT_STATES:
            return True
        text = str(seen).lower()
        if type(seen).__name__ == "OperationalError" and ("database is locked" in text or "database is busy" in text):
            return True
        seen = getattr(seen, "orig", None) or seen.__cause__ or seen.__context__
    return False


PASS_LOCK = 0x63726D01
"""The PostgreSQL advisory lock one session's event pass holds ("crm" 1)."""


@dataclass
class Engine:
    """The engine for one session: `ctx` acts where a rule has no author; `smtp` sends email."""

    ctx: Context
    smtp: SmtpSettings | None = None
    max_depth: int = MAX_DEPTH
    sleep: Any = None
    """Injected wait for outbound retries (tests); None waits for real."""

    deferred: bool = False
    """The last pass left events for later (another session's pass was under way on PostgreSQL, or
    the database was busy): try again shortly."""

    def process_events(self, *, now: datetime | None = None, limit: int = BATCH) -> list[RunResult]:
        """Fire the event-triggered rules for every event logged since the last pass.

        On PostgreSQL one session's pass runs at a time (an advisory lock; the others skip and say
        so in `deferred`): every commit wakes every session, and all of them reading the same
        events and racing for the same runs made saves wait (bench/sessions.py: p95 250-700 ms
        at 16 sessions, 40 ms with one pass at a time)."""
        self.deferred = False
        if not is_postgres():
            return self._process_events(now=now, limit=limit)
        if not database.execute_sql("SELECT pg_try_advisory_lock(%s)", (PASS_LOCK,)).fetchone()[0]:
            self.deferred = True
            return []
        try:
            return self._process_events(now=now, limit=limit)
        finally:
            database.execute_sql("SELECT pg_advisory_unlock(%s)", (PASS_LOCK,))

    def _process_events(self, *, now: datetime | None, limit: int) -> list[RunResult]:
        now = now or clock.now()
        rules = [(rid, rule, after) for rid, rule, after in enabled_rules() if rule.trigger.type not in TIME_TRIGGERS]
        stored = get_setting(CURSOR)
        newest = latest_event_id()
        if not rules:
            # Nothing reacts to events: keep the read position at the newest, so enabling a rule
            # later does not replay what happened before.
            if stored != newest:
                put_setting(CURSOR, newest)
            return []
        cursor = int(stored) if stored is not None else min(after for _, _, after in rules)
        results: list[RunResult] = []
        while True:
            items, last = happenings(cursor, limit)
            if last == cursor:
                return results
            settled = last
            for item in prompted(items):
                try:
                    results.extend(self._fire_all(rules, item, now))
                except TransientFailure:
                    # Read again from this event next pass; its runs already made are not made twice.
                    self.deferred = True
                    last = newest = settled = item.event_id - 1
                    break
            if is_postgres():
                recent = [item.event_id for item in items if item.at >= now - LATE_COMMIT]
                settled = min([settled, *(event_id - 1 for event_id in recent)])
            if stored is None or settled > int(stored):
                if not self._keep_cursor(settled):
                    return results
                stored = settled
            if last >= newest:
                return results
            cursor = last

    def _keep_cursor(self, settled: int) -> bool:
        """Store the read position; a busy database leaves it where it was (the runs made are
        not made again) and defers the rest of the pass."""
        try:
            put_setting(CURSOR, settled)
        except Exception as error:
            if not is_transient(error):
                raise
            self.deferred = True
            return False
        return True

    def _fire_all(self, rules: list[tuple[int, Rule, int]], item: Any, now: datetime) -> list[RunResult]:
        """The runs one happening makes: each rule whose trigger it matches, fired once."""
        made = []
        for rule_id, rule, fires_after in rules:
            if item.event_id > fires_after and trigger_matches(rule.trigger, item):
                result = self.fire(
                    rule_id, rule, key=f"event:{item.event_id}", entity=item.entity, record_id=item.record_id,
                    event_id=item.event_id, txn=item.txn, fallback=item.values or None, now=now,
                )  # fmt: skip
                if result is not None:
                    made.append(result)
        return made

    def check_time(self, *, now: datetime | None = None) -> list[RunResult]:
        """Fire the time-based rules for every record whose condition holds now (once per episode);
        a run the database refused for a moment is left for the next check, which finds it due again."""
        now = now or clock.now()
        results: list[RunResult] = []
        for rule_id, rule, _ in enabled_rules():
            if rule.trigger.type not in TIME_TRIGGERS:
                continue
            for entity, record_id, key in automation_time.due(rule_id, rule.trigger, now):
                try:
                    made = self.fire(rule_id, rule, key=key, entity=entity, record_id=record_id, event_id=None, txn="", now=now)
                except TransientFailure:
                    self.deferred = True
                    return results
                if made is not None:
                    results.append(made)
        return results

    def tick(self, *, now: datetime | None = None) -> list[RunResult]:
        """One scheduler pass: new events, the time-based rules, then housekeeping."""
        events = self.process_events(now=now)  # resets `deferred`; check_time only ever sets it
        timed = self.check_time(now=now)
        self._housekeeping()
        return events + timed

    def _housekeeping(self) -> None:
        """Fold the dashboard rollups' appended rows once there are enough, and carry on
        recomputing the funnel's reach table after a stage change (short writes that wait for the
        next tick when the database is busy)."""
        try:
            rollups.compact_if_due()
            reach.heal()
        except Exception as error:
            if not is_transient(error):
                raise
            log.info("rollup compaction waits for a busy database: %s", error)

    def fire(
        self,
        rule_id: int,
        rule: Rule,
        *,
        key: str,
        entity: str,
        record_id: int,
        event_id: int | None,
        txn: str,
        now: datetime,
        fallback: dict[str, Any] | None = None,
    ) -> RunResult | None:
        """Run `rule` on one record for one event (or episode) `key`, unless it ran already, the
        record is gone, or the conditions do not hold (then None)."""
        if AutomationRun.select().where(AutomationRun.rule == rule_id, AutomationRun.key == key).exists():
            return None
        view = record_view(entity, record_id, fallback)
        if view is None or not conditions_hold(rule.conditions, view):
            return None
        depth, stop = 1, None
        cause = AutomationRun.get_or_none(AutomationRun.txn == txn) if txn else None
        if cause is not None:
            depth = cause.depth + 1
            if cause.rule_id == rule_id and cause.entity == entity and cause.record_id == record_id:
                stop = "stopped: the rule re-triggered itself on the same record"
            elif depth > self.max_depth:
                stop = f"stopped: a chain of rules deeper than {self.max_depth}"
        base = {"rule_id": rule_id, "rule": rule.name, "key": key, "entity": entity, "record_id": record_id}
        if stop is not None:
            self._record(rule_id, rule, key, entity, record_id, event_id, depth, "stopped", [], stop)
            return RunResult(**base, status="stopped", error=stop)
        actor = self._actor(rule_id)
        pending: list[Outbound] = []
        try:
            with write(actor) as tx:
                tx.by_rule = True
                try:
                    with database.atomic():
                        run_id = AutomationRun.insert(
                            rule=rule_id, key=key, event=event_id, trigger=rule.trigger.type, entity=entity,
                            record_id=record_id, txn=tx.token, depth=depth, status="running", started_at=tx.now,
                        ).execute()  # fmt: skip
                except IntegrityError:
                    return None  # another process made this run meanwhile
                outcomes: list[str] = []
                for action in rule.actions:
                    if action.type in OUTBOUND:
                        pending.append(outbound_request(action, view))
                        outcomes.append(f"{action.type}: to send")
                        continue
                    outcomes.append(apply(actor, action, view, rule_id=rule_id, now=now, event_id=event_id))
                    view = record_view(entity, record_id, fallback) or view
                AutomationRun.update(
                    status="sending" if pending else "done", outcomes=outcomes, finished_at=tx.now
                ).where(AutomationRun.id == run_id).execute()
        except Exception as error:  # any failure of a rule is recorded (or retried), never raised at the user
            if is_transient(error):
                log.info("automation %r on %s #%s waits for a busy database: %s", rule.name, entity, record_id, error)
                raise TransientFailure(str(error)) from error
            message = f"{type(error).__name__}: {error}" if not str(error).startswith(type(error).__name__) else str(error)
            log.warning("automation %r failed on %s #%s: %s", rule.name, entity, record_id, message)
            self._record(rule_id, rule, key, entity, record_id, event_id, depth, "failed", [], message)
            return RunResult(**base, status="failed", error=message)
        if pending:
            return self._send(run_id, base, outcomes, pending, view, event_id)
        return RunResult(**base, status="done", outcomes=outcomes)

    def _actor(self, rule_id: int) -> Context:
        """The rule's author acts (the event log names them); else whoever runs the engine."""
        author = (
            User.select(User.id, User.login)
            .join(AutomationRule, on=(AutomationRule.created_by == User.id))
            .where(AutomationRule.id == rule_id, User.active == True)
            .tuples()
            .first()
        )
        if author is None:
            return self.ctx
        return Context(author[0], author[1], bus=self.ctx.bus)

    def _record(self, rule_id: int, rule: Rule, key: str, entity: str, record_id: int, event_id: int | None,
                depth: int, status: str, outcomes: list[str], error: str | None) -> None:  # fmt: skip
        try:
            with write(self.ctx) as tx:
                AutomationRun.insert(
                    rule=rule_id, key=key, event=event_id, trigger=rule.trigger.type, entity=entity, record_id=record_id,
                    txn="", depth=depth, status=status, started_at=tx.now, finished_at=tx.now, outcomes=outcomes, error=error,
                ).on_conflict_ignore().execute()  # fmt: skip
        except Exception:
            log.exception("could not record the automation run %s of rule %s", key, rule_id)

    def _send(self, run_id: int, base: dict[str, Any], outcomes: list[str], pending: list[Outbound],
              view: dict[str, Any], event_id: int | None) -> RunResult:  # fmt: skip
        errors: list[str] = []
        done = [line for line in outcomes if not line.endswith(": to send")]
        kwargs = {"sleep": self.sleep} if self.sleep is not None else {}
        for request in pending:
            try:
                if request.kind == "webhook":
                    payload = {"rule": base["rule"], "event_id": event_id, "key": base["key"], "entity": base["entity"],
                               "record_id": base["record_id"], "record": _plain(view)}  # fmt: skip
                    done.append(post_json(request.to[0], payload, timeout=request.action.timeout, retries=request.action.retries, **kwargs))
                else:
                    done.append(send_mail(self.smtp, request.to, request.subject, request.body, **kwargs))
            except OutboundError as error:
                errors.append(str(error))
                done.append(f"{request.kind} failed: {error}")
        status = "failed" if errors else "done"
        with write(self.ctx) as tx:
            AutomationRun.update(status=status, outcomes=done, error="; ".join(errors) or None, finished_at=tx.now).where(
                AutomationRun.id == run_id
            ).execute()
        return RunResult(**base, status=status, outcomes=done, error="; ".join(errors) or None)


def _plain(view: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in view.items() if key not in ("version", "owner_user_id")}
