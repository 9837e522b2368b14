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

from crm_tui.models import database
from crm_tui.services.search_index import is_postgres
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


def _moved_from() -> str:
    """In a history row's update trigger: the recompute of the deal it belonged to, only if it moved
    to another deal (a merge); otherwise recomputing NEW's deal is enough."""
    return "; ".join(_recompute(lambda column: f"{column} = OLD.deal_id AND OLD.deal_id <> NEW.deal_id"))


def _one(alias: str) -> str:
    return "; ".join(_recompute(lambda column: f"{column} = {alias}"))


_DEAL_WATCHED = ("stage_id", "stage_entered_at", "owner_id", "deleted_at")


def ddl() -> list[str]:
    """The statements that (re)create the stays triggers on this back end."""
    if is_postgres():
        changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in _DEAL_WATCHED)
        return [
            (
                "CREATE OR REPLACE FUNCTION crm_stay_history() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.deal_id <> NEW.deal_id) THEN {_one('OLD.deal_id')}; END IF; "
                f"IF TG_OP IN ('INSERT', 'UPDATE') THEN {_one('NEW.deal_id')}; END IF; RETURN NULL; END $$"
            ),
            (
                "CREATE OR REPLACE FUNCTION crm_stay_deal() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "IF TG_OP = 'DELETE' THEN DELETE FROM deal_stay WHERE deal_id = OLD.id; RETURN OLD; END IF; "
                f"{_one('NEW.id')}; RETURN NULL; END $$"
            ),
            "DROP TRIGGER IF EXISTS stay_history ON stage_change",
            (
                "CREATE TRIGGER stay_history AFTER INSERT OR DELETE OR UPDATE OF deal_id, to_stage_id, at, left_at "
                "ON stage_change FOR EACH ROW "
                "EXECUTE FUNCTION crm_stay_history()"
            ),
            "DROP TRIGGER IF EXISTS stay_deal_ai ON deal",
            "CREATE TRIGGER stay_deal_ai AFTER INSERT ON deal FOR EACH ROW EXECUTE FUNCTION crm_stay_deal()",
            "DROP TRIGGER IF EXISTS stay_deal_au ON deal",
            (
                f"CREATE TRIGGER stay_deal_au AFTER UPDATE OF {', '.join(_DEAL_WATCHED)} ON deal FOR EACH ROW "
                f"WHEN ({changed}) EXECUTE FUNCTION crm_stay_deal()"
            ),
            "DROP TRIGGER IF EXISTS stay_deal_bd ON deal",
            "CREATE TRIGGER stay_deal_bd BEFORE DELETE ON deal FOR EACH ROW EXECUTE FUNCTION crm_stay_deal()",
        ]
    names = ("stay_sc_ai", "stay_sc_ad", "stay_sc_au", "stay_deal_ai", "stay_deal_au", "stay_deal_bd")
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in _DEAL_WATCHED)
    return [f"DROP TRIGGER IF EXISTS {name}" for name in names] + [
        f"CREATE TRIGGER stay_sc_ai AFTER INSERT ON stage_change BEGIN {_one('NEW.deal_id')}; END",
        f"CREATE TRIGGER stay_sc_ad AFTER DELETE ON stage_change BEGIN {_one('OLD.deal_id')}; END",
        (
            "CREATE TRIGGER stay_sc_au AFTER UPDATE OF deal_id, to_stage_id, at, left_at ON stage_change "
            f"BEGIN {_moved_from()}; {_one('NEW.deal_id')}; END"
        ),
        f"CREATE TRIGGER stay_deal_ai AFTER INSERT ON deal BEGIN {_one('NEW.id')}; END",
        (
            f"CREATE TRIGGER stay_deal_au AFTER UPDATE OF {', '.join(_DEAL_WATCHED)} ON deal WHEN {changed} "
            f"BEGIN {_one('NEW.id')}; END"
        ),
        "CREATE TRIGGER stay_deal_bd BEFORE DELETE ON deal BEGIN DELETE FROM deal_stay WHERE deal_id = OLD.id; END",
    ]


def rebuild() -> None:
    """Recompute every deal's stays at once (inside a write transaction)."""
    database.execute_sql("DELETE FROM deal_stay")
    for statement in _recompute(lambda column: "1 = 1")[1:]:
        database.execute_sql(statement)
