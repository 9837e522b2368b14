"""Triggers that keep a per-deal derived table (the funnel's `deal_reach`, the durations'
`deal_stay`) by recomputing one deal's rows whenever its stage history or the deal columns the
table copies change, in both back ends.

A table supplies `recompute(cond)`: the statements that replace the rows of the deals
`cond(column)` selects (a DELETE first, then the INSERT). `ddl()` turns that into triggers on
`stage_change` and `deal`; `refill()` runs it over every deal.
"""

from __future__ import annotations

from collections.abc import Callable

from crm_tui.models import database
from crm_tui.services.search_index import is_postgres

Recompute = Callable[[Callable[[str], str]], list[str]]
"""recompute(cond) -> SQL statements replacing the rows of the deals cond(column) selects."""


def _for(recompute: Recompute, condition: str) -> str:
    """The recompute statements, joined, for the deals `column <condition>` selects."""
    return "; ".join(recompute(lambda column: f"{column} {condition}"))


def ddl(prefix: str, table: str, recompute: Recompute, history: tuple[str, ...], deal: tuple[str, ...]) -> list[str]:
    """The statements that (re)create `prefix`'s triggers on this back end: a stage_change row
    written (its `history` columns, on update) or a deal written (its `deal` columns, on update)
    recomputes that deal; a history row moved to another deal (a merge) recomputes both; a deal
    deleted takes its `table` rows with it."""
    one = {alias: _for(recompute, f"= {alias}") for alias in ("NEW.deal_id", "OLD.deal_id", "NEW.id")}
    moved_from = _for(recompute, "= OLD.deal_id AND OLD.deal_id <> NEW.deal_id")
    gone = f"DELETE FROM {table} WHERE deal_id = OLD.id"
    if is_postgres():
        changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in deal)
        return [
            (
                f"CREATE OR REPLACE FUNCTION crm_{prefix}_history() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.deal_id <> NEW.deal_id) "
                f"THEN {one['OLD.deal_id']}; END IF; "
                f"IF TG_OP IN ('INSERT', 'UPDATE') THEN {one['NEW.deal_id']}; END IF; RETURN NULL; END $$"
            ),
            (
                f"CREATE OR REPLACE FUNCTION crm_{prefix}_deal() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"IF TG_OP = 'DELETE' THEN {gone}; RETURN OLD; END IF; {one['NEW.id']}; RETURN NULL; END $$"
            ),
            f"DROP TRIGGER IF EXISTS {prefix}_history ON stage_change",
            (
                f"CREATE TRIGGER {prefix}_history AFTER INSERT OR DELETE OR UPDATE OF {', '.join(history)} "
                f"ON stage_change FOR EACH ROW EXECUTE FUNCTION crm_{prefix}_history()"
            ),
            f"DROP TRIGGER IF EXISTS {prefix}_deal_ai ON deal",
            f"CREATE TRIGGER {prefix}_deal_ai AFTER INSERT ON deal FOR EACH ROW EXECUTE FUNCTION crm_{prefix}_deal()",
            f"DROP TRIGGER IF EXISTS {prefix}_deal_au ON deal",
            (
                f"CREATE TRIGGER {prefix}_deal_au AFTER UPDATE OF {', '.join(deal)} ON deal FOR EACH ROW "
                f"WHEN ({changed}) EXECUTE FUNCTION crm_{prefix}_deal()"
            ),
            f"DROP TRIGGER IF EXISTS {prefix}_deal_bd ON deal",
            f"CREATE TRIGGER {prefix}_deal_bd BEFORE DELETE ON deal FOR EACH ROW EXECUTE FUNCTION crm_{prefix}_deal()",
        ]
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in deal)
    names = ("sc_ai", "sc_ad", "sc_au", "deal_ai", "deal_au", "deal_bd")
    return [f"DROP TRIGGER IF EXISTS {prefix}_{name}" for name in names] + [
        f"CREATE TRIGGER {prefix}_sc_ai AFTER INSERT ON stage_change BEGIN {one['NEW.deal_id']}; END",
        f"CREATE TRIGGER {prefix}_sc_ad AFTER DELETE ON stage_change BEGIN {one['OLD.deal_id']}; END",
        (
            f"CREATE TRIGGER {prefix}_sc_au AFTER UPDATE OF {', '.join(history)} ON stage_change "
            f"BEGIN {moved_from}; {one['NEW.deal_id']}; END"
        ),
        f"CREATE TRIGGER {prefix}_deal_ai AFTER INSERT ON deal BEGIN {one['NEW.id']}; END",
        (
            f"CREATE TRIGGER {prefix}_deal_au AFTER UPDATE OF {', '.join(deal)} ON deal WHEN {changed} "
            f"BEGIN {one['NEW.id']}; END"
        ),
        f"CREATE TRIGGER {prefix}_deal_bd BEFORE DELETE ON deal BEGIN {gone}; END",
    ]


def refill(table: str, recompute: Recompute) -> None:
    """Recompute every deal's rows of `table` at once (inside a write transaction)."""
    database.execute_sql(f"DELETE FROM {table}")
    for statement in recompute(lambda column: "1 = 1")[1:]:
        database.execute_sql(statement)
