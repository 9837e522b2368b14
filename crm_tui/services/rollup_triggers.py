"""The triggers that keep the dashboard's rollups (services/rollups.py) in both back ends.

On `deal`: a row inserted adds the rows it counts as, a row deleted (before it goes, while its tags
are still there) takes them away, and an update of a column the rollup watches does both. On
`deal_tag`: a tag added or removed adds or takes away the deal's rows under that tag, and moves the
deal in or out of UNTAGGED when it was its first or last tag. SQLite runs row triggers as each row
changes, so a row trigger can tell a first or last tag by counting; PostgreSQL runs them after the
whole statement, so there a statement-level trigger compares each deal's tags before and after.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crm_tui.services.search_index import is_postgres

if TYPE_CHECKING:
    from crm_tui.services.rollups import Rollup

UNTAGGED = -1
"""The tag id under which a deal without tags is counted (tag 0 counts every deal)."""


def _deal_rows(r: Rollup, alias: str, sign: str) -> str:
    """The rows of the deal NEW or OLD, under tag 0 and each of its tags (or UNTAGGED)."""
    tags = (
        f"SELECT 0 AS tag_id UNION ALL SELECT tag_id FROM deal_tag WHERE deal_id = {alias}.id "
        f"UNION ALL SELECT {UNTAGGED} WHERE NOT EXISTS (SELECT 1 FROM deal_tag WHERE deal_id = {alias}.id)"
    )
    return f"{r.insert} SELECT {r.rows(alias, 't.tag_id', sign)} FROM ({tags}) t{r.measures} WHERE {r.counts(alias)}"


def _tag_only(r: Rollup, alias: str, sign: str) -> str:
    """The rows of one deal_tag row (NEW or OLD): its deal under its tag, if the deal is live."""
    return f"{r.insert} SELECT {r.rows('d', alias + '.tag_id', sign)} FROM deal d{r.measures} WHERE d.id = {alias}.deal_id AND {r.counts('d')}"


def _pg_untagged(r: Rollup) -> list[str]:
    """PostgreSQL: after each statement on deal_tag, a deal whose tags went from none to some
    loses its UNTAGGED rows, and one whose tags went to none gets them back. A statement-level
    trigger over the statement's rows: PostgreSQL runs row triggers after the whole statement, so
    a row trigger would see a deal's final tag count, not the one before its own row."""
    changes = {
        "insert": "SELECT deal_id, 1 AS added, 0 AS removed FROM new_rows",
        "delete": "SELECT deal_id, 0 AS added, 1 AS removed FROM old_rows",
        "update": "SELECT deal_id, 1 AS added, 0 AS removed FROM new_rows UNION ALL SELECT deal_id, 0, 1 FROM old_rows",
    }
    tables = {
        "insert": "NEW TABLE AS new_rows",
        "delete": "OLD TABLE AS old_rows",
        "update": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
    }
    statements = []
    for event, rows in changes.items():
        counted = (
            "SELECT x.deal_id, SUM(x.added) - SUM(x.removed) AS delta, "
            f"(SELECT COUNT(*) FROM deal_tag y WHERE y.deal_id = x.deal_id) AS after_n FROM ({rows}) x GROUP BY x.deal_id"
        )
        signs = (
            "SELECT g.deal_id, CASE WHEN g.after_n > 0 AND g.after_n - g.delta = 0 THEN -1 "
            f"WHEN g.after_n = 0 AND g.after_n - g.delta > 0 THEN 1 ELSE 0 END AS sign FROM ({counted}) g"
        )
        fill = (
            f"{r.insert} SELECT {r.rows('d', str(UNTAGGED), 's.sign')} FROM deal d{r.measures}, ({signs}) s "
            f"WHERE d.id = s.deal_id AND s.sign <> 0 AND {r.counts('d')}"
        )
        name = f"{r.table}_untag_{event[0]}"
        statements += [
            f"CREATE OR REPLACE FUNCTION crm_{name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {fill}; RETURN NULL; END $$",
            f"DROP TRIGGER IF EXISTS {name} ON deal_tag",
            (
                f"CREATE TRIGGER {name} AFTER {event.upper()} ON deal_tag REFERENCING {tables[event]} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION crm_{name}()"
            ),
        ]
    return statements


def _tag_rows(r: Rollup, alias: str, sign: str, moved: str = "") -> str:
    """SQLite (row triggers run as each row changes): the rows of one deal_tag row (NEW or OLD,
    `sign` +1 or -1): its deal under its tag, if the deal is live; and the deal's UNTAGGED rows
    taken away when this was its first tag (NEW) or put back when it was its last (OLD). `moved`,
    in an update, limits that to a row that changed deal."""
    left = "1" if sign == "1" else "0"  # the deal's tags after this row came (1: it was the first) or went (0)
    untagged = "-1" if sign == "1" else "1"
    return (
        f"{_tag_only(r, alias, sign)}; "
        f"{r.insert} SELECT {r.rows('d', str(UNTAGGED), untagged)} FROM deal d{r.measures} "
        f"WHERE d.id = {alias}.deal_id AND {r.counts('d')} "
        f"AND (SELECT COUNT(*) FROM deal_tag x WHERE x.deal_id = d.id) = {left}{moved}"
    )


_MOVED = " AND OLD.deal_id <> NEW.deal_id"


def _sqlite_ddl(r: Rollup) -> list[str]:
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in r.watched)
    t = r.table
    drops = [f"DROP TRIGGER IF EXISTS {t}_{suffix}" for suffix in ("ai", "bd", "au", "tag_ai", "tag_ad", "tag_au")]
    return drops + [
        f"CREATE TRIGGER {t}_ai AFTER INSERT ON deal BEGIN {_deal_rows(r, 'NEW', '1')}; END",
        # Before the row goes, while its deal_tag rows (deleted by the cascade) are still there.
        f"CREATE TRIGGER {t}_bd BEFORE DELETE ON deal BEGIN {_deal_rows(r, 'OLD', '-1')}; END",
        (
            f"CREATE TRIGGER {t}_au AFTER UPDATE OF {', '.join(r.watched)} ON deal WHEN {changed} "
            f"BEGIN {_deal_rows(r, 'OLD', '-1')}; {_deal_rows(r, 'NEW', '1')}; END"
        ),
        f"CREATE TRIGGER {t}_tag_ai AFTER INSERT ON deal_tag BEGIN {_tag_rows(r, 'NEW', '1')}; END",
        f"CREATE TRIGGER {t}_tag_ad AFTER DELETE ON deal_tag BEGIN {_tag_rows(r, 'OLD', '-1')}; END",
        (
            f"CREATE TRIGGER {t}_tag_au AFTER UPDATE ON deal_tag "
            f"BEGIN {_tag_rows(r, 'OLD', '-1', _MOVED)}; {_tag_rows(r, 'NEW', '1', _MOVED)}; END"
        ),
    ]


def _postgres_ddl(r: Rollup) -> list[str]:
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in r.watched)
    t = r.table
    return [
        (
            f"CREATE OR REPLACE FUNCTION crm_{t}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF TG_OP IN ('UPDATE', 'DELETE') THEN {_deal_rows(r, 'OLD', '-1')}; END IF; "
            f"IF TG_OP IN ('INSERT', 'UPDATE') THEN {_deal_rows(r, 'NEW', '1')}; END IF; "
            "IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NULL; END $$"
        ),
        (
            f"CREATE OR REPLACE FUNCTION crm_{t}_tag() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            # One tag change per deal at a time: two transactions adding a deal's first tags at once
            # must not both take its UNTAGGED rows away (each would count its own tag alone).
            "IF TG_OP IN ('UPDATE', 'DELETE') THEN PERFORM 1 FROM deal WHERE id = OLD.deal_id FOR UPDATE; END IF; "
            "IF TG_OP IN ('INSERT', 'UPDATE') THEN PERFORM 1 FROM deal WHERE id = NEW.deal_id FOR UPDATE; END IF; "
            f"IF TG_OP IN ('UPDATE', 'DELETE') THEN {_tag_only(r, 'OLD', '-1')}; END IF; "
            f"IF TG_OP IN ('INSERT', 'UPDATE') THEN {_tag_only(r, 'NEW', '1')}; END IF; "
            "RETURN NULL; END $$"
        ),
        *_pg_untagged(r),
        f"DROP TRIGGER IF EXISTS {t}_ai ON deal",
        f"CREATE TRIGGER {t}_ai AFTER INSERT ON deal FOR EACH ROW EXECUTE FUNCTION crm_{t}()",
        f"DROP TRIGGER IF EXISTS {t}_bd ON deal",
        f"CREATE TRIGGER {t}_bd BEFORE DELETE ON deal FOR EACH ROW EXECUTE FUNCTION crm_{t}()",
        f"DROP TRIGGER IF EXISTS {t}_au ON deal",
        (
            f"CREATE TRIGGER {t}_au AFTER UPDATE OF {', '.join(r.watched)} ON deal FOR EACH ROW "
            f"WHEN ({changed}) EXECUTE FUNCTION crm_{t}()"
        ),
        f"DROP TRIGGER IF EXISTS {t}_tag ON deal_tag",
        f"CREATE TRIGGER {t}_tag AFTER INSERT OR UPDATE OR DELETE ON deal_tag FOR EACH ROW EXECUTE FUNCTION crm_{t}_tag()",
    ]


def ddl(r: Rollup) -> list[str]:
    """The statements that (re)create rollup `r`'s triggers on this back end."""
    return _postgres_ddl(r) if is_postgres() else _sqlite_ddl(r)
