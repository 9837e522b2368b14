"""The stage-duration report's stays table, `deal_stay`: one row per stay of a deal in a stage
(each StageChange into it, or, for a deal without history, its current stage since
`stage_entered_at`), with the entry time and length in whole seconds and the deal's owner and
liveness copied, so the report reads one index instead of joining every stay to its deal.

Kept by triggers in both back ends: any write to a deal's history (a move sets the previous
stay's `left_at` and adds the next), its stage, entry time, owner or deletion recomputes that
deal's stays (a few rows), inside the writing transaction. `rollups.install()` creates the table
and triggers with the other rollups, and `rollups.rebuild()` fills it.
"""

from __future__ import annotations

from collections.abc import Callable

from crm_tui.services import deal_triggers
from crm_tui.services.sql_util import epoch_sql


def _recompute(cond: Callable[[str], str]) -> list[str]:
    """SQL: replace the stays of the deals `cond(column)` selects."""
    live = "CASE WHEN d.deleted_at IS NULL THEN 1 ELSE 0 END"
    return [
        f"DELETE FROM deal_stay WHERE {cond('deal_id')}",
        (
            "INSERT INTO deal_stay (deal_id, stage_id, entered, secs, owner_id, live) "
            f"SELECT sc.deal_id, sc.to_stage_id, {epoch_sql('sc.at')}, "
            f"CASE WHEN sc.left_at IS NULL THEN NULL ELSE {epoch_sql('sc.left_at')} - {epoch_sql('sc.at')} END, d.owner_id, {live} "
            f"FROM stage_change sc JOIN deal d ON d.id = sc.deal_id WHERE {cond('sc.deal_id')} "
            f"UNION ALL SELECT d.id, d.stage_id, {epoch_sql('d.stage_entered_at')}, NULL, d.owner_id, {live} FROM deal d "
            f"WHERE {cond('d.id')} AND d.stage_entered_at IS NOT NULL "
            "AND NOT EXISTS (SELECT 1 FROM stage_change x WHERE x.deal_id = d.id)"
        ),
    ]


_DEAL_WATCHED = ("stage_id", "stage_entered_at", "owner_id", "deleted_at")


def ddl() -> list[str]:
    """The statements that (re)create the stays triggers on this back end."""
    return deal_triggers.ddl("stay", "deal_stay", _recompute, ("deal_id", "to_stage_id", "at", "left_at"), _DEAL_WATCHED)


def rebuild() -> None:
    """Recompute every deal's stays at once (inside a write transaction)."""
    deal_triggers.refill("deal_stay", _recompute)
