"""The funnel's reach table, `deal_reach`: for each deal and pipeline, the furthest live open or
won stage of that pipeline the deal is in or ever was in (its current stage and every stage its
history names), so the funnel counts deals by their furthest stage from one index instead of
reading every deal's history.

Kept by triggers in both back ends: any write to a deal's stage history, its stage, creation time,
owner or deletion recomputes that deal's rows from its history (a few rows), inside the writing
transaction. "Furthest" depends on the stages' order and kinds, which the triggers do not watch:
the table records the stages it was computed against (a signature), the funnel reads it only while
the signature matches, and otherwise reads the history directly until `heal()` (the scheduler's
housekeeping, a few thousand deals per transaction) has recomputed every deal. `rollups.install()`
creates the table and triggers with the other rollups.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable

from crm_tui.models import Stage, WorkspaceSetting, database
from crm_tui.services import deal_triggers
from crm_tui.services.workspace_settings import get_setting, put_setting

WON_RANK = 1_000_000
"""Won stages rank after every open stage (as report_flow's funnel ranks them)."""
CHUNK = 5_000
"""Deals recomputed per transaction by `heal`."""
_SIGNATURE = "rollups.deal_reach.stages"
_PASS = "rollups.deal_reach.pass"
_RANK = f"CASE WHEN s.kind = 'won' THEN s.position + {WON_RANK} ELSE s.position END"


def _recompute(cond: Callable[[str], str]) -> list[str]:
    """SQL: replace the reach rows of the deals `cond(column)` selects."""
    visits = (
        f"SELECT d.id AS deal_id, d.stage_id AS stage_id FROM deal d WHERE {cond('d.id')} "
        f"UNION SELECT sc.deal_id, sc.to_stage_id FROM stage_change sc WHERE {cond('sc.deal_id')} "
        f"UNION SELECT sc.deal_id, sc.from_stage_id FROM stage_change sc "
        f"WHERE {cond('sc.deal_id')} AND sc.from_stage_id IS NOT NULL"
    )
    ranked = (
        f"SELECT v.deal_id AS deal_id, s.pipeline_id AS pipeline_id, s.id AS stage_id, ROW_NUMBER() OVER "
        f"(PARTITION BY v.deal_id, s.pipeline_id ORDER BY {_RANK} DESC, s.id) AS rn FROM ({visits}) v "
        "JOIN stage s ON s.id = v.stage_id WHERE s.deleted_at IS NULL AND s.kind IN ('open', 'won')"
    )
    return [
        f"DELETE FROM deal_reach WHERE {cond('deal_id')}",
        # Upserted: on PostgreSQL a healing pass and a user's save may recompute the same deal at once.
        (
            "INSERT INTO deal_reach (deal_id, pipeline_id, top_stage_id, created_at, owner_id, live) "
            "SELECT r.deal_id, r.pipeline_id, r.stage_id, d.created_at, d.owner_id, "
            f"CASE WHEN d.deleted_at IS NULL THEN 1 ELSE 0 END FROM ({ranked}) r JOIN deal d ON d.id = r.deal_id "
            "WHERE r.rn = 1 ON CONFLICT (deal_id, pipeline_id) DO UPDATE SET top_stage_id = excluded.top_stage_id, "
            "created_at = excluded.created_at, owner_id = excluded.owner_id, live = excluded.live"
        ),
    ]


_DEAL_WATCHED = ("stage_id", "created_at", "owner_id", "deleted_at")


def ddl() -> list[str]:
    """The statements that (re)create the reach triggers on this back end (rollups.install runs them)."""
    return deal_triggers.ddl("reach", "deal_reach", _recompute, ("deal_id", "to_stage_id", "from_stage_id"), _DEAL_WATCHED)


def signature() -> str:
    """A digest of every stage's pipeline, position, kind and liveness: what "furthest" depends on."""
    rows = Stage.select(Stage.id, Stage.pipeline, Stage.position, Stage.kind, Stage.deleted_at).order_by(Stage.id)
    # Plain values, the same from either back end: a workspace copied to PostgreSQL stays fresh.
    shape = [
        [int(sid), int(pipeline), int(position), kind, gone is None]
        for sid, pipeline, position, kind, gone in rows.tuples()
    ]
    return hashlib.sha1(json.dumps(shape).encode()).hexdigest()


def fresh() -> bool:
    """Whether the table was computed against the stages as they are now."""
    return get_setting(_SIGNATURE) == signature()


def rebuild() -> None:
    """Recompute every deal's rows at once (inside a write transaction): a new or upgraded workspace."""
    deal_triggers.refill("deal_reach", _recompute)
    put_setting(_SIGNATURE, signature())
    _end_pass()


def _end_pass() -> None:
    WorkspaceSetting.delete().where(WorkspaceSetting.key == _PASS).execute()


def heal(budget: float = 2.0) -> bool:
    """After the stages changed, recompute the deals CHUNK at a time (a transaction each), one
    chunk and then more for up to `budget` seconds, carrying on from where the last call stopped; True when the table is
    fresh again. Deals written meanwhile are recomputed by the triggers against the new stages."""
    current = signature()
    if get_setting(_SIGNATURE) == current:
        return True
    # Deals made after the pass began were computed by the triggers against these stages already.
    last = database.execute_sql("SELECT MAX(id) FROM deal").fetchone()[0] or 0
    state = get_setting(_PASS) or {"signature": current, "next": 0, "last": last}
    started = time.monotonic()
    mark = database.obj.param
    while True:  # at least one chunk per call, then as many as the budget allows
        with database.atomic():
            upto = database.execute_sql(
                f"SELECT MAX(id) FROM (SELECT id FROM deal WHERE id >= {mark} AND id <= {mark} ORDER BY id LIMIT {CHUNK}) x",
                (state["next"], state["last"]),
            ).fetchone()[0]
            if upto is None:  # every deal recomputed: fresh as of the stages the pass began with
                put_setting(_SIGNATURE, state["signature"])
                _end_pass()
                return state["signature"] == current
            low, high = int(state["next"]), int(upto)
            for statement in _recompute(lambda column, low=low, high=high: f"{column} BETWEEN {low} AND {high}"):
                database.execute_sql(statement)
            state = {**state, "next": high + 1}
            put_setting(_PASS, state)
        if time.monotonic() - started >= budget:
            return False
