"""The record search index: its tables, keeping it in step with the records, and rebuilding it.

One `search_doc` row per live company, contact, lead and deal, and per note whose record is live.
Documents are made by SQL (`INSERT ... SELECT` from the record tables), so the same statements
serve one record (`sync`, called by the record services inside their write transaction) and the
whole workspace (`rebuild`, for the demo generator and bulk loads).

- SQLite: an external-content FTS5 table `search_fts` over search_doc(title, detail, body), kept in
  step by triggers. `unicode61 remove_diacritics 2` folds case and accents; `prefix='1 2'` adds
  prefix indexes for one- and two-letter prefixes, the ones that match most of a big workspace
  (at a million contacts: "j" 19 -> 6 ms and "j a" 39 -> 11 ms, for about 75 MB more index).
- PostgreSQL: a stored generated tsvector column (config 'simple', title weighted A, detail B,
  body D) with a GIN index. Accents are folded by `translate()` with a fixed table (FOLD_FROM ->
  FOLD_TO), not the unaccent extension: unaccent() is not IMMUTABLE, so a generated column cannot
  use it, and it is not installed everywhere. The same table folds the query (services.search).
"""

from __future__ import annotations

from peewee import PostgresqlDatabase

from crm_tui.models import database
from crm_tui.models.search import SearchDoc

FTS_TABLE = "search_fts"

_FOLDS = {
    "a": "àáâãäåāăąÀÁÂÃÄÅĀĂĄ", "c": "çćčÇĆČ", "d": "ďđĎĐ", "e": "èéêëēėęěÈÉÊËĒĖĘĚ", "g": "ğĞ",
    "i": "ìíîïīįıÌÍÎÏĪĮİ", "l": "łľĺŁĽĹ", "n": "ñńňÑŃŇ", "o": "òóôõöøōőÒÓÔÕÖØŌŐ", "r": "řŕŘŔ",
    "s": "śšşŚŠŞ", "t": "ťţŤŢ", "u": "ùúûüūůűųÙÚÛÜŪŮŰŲ", "y": "ýÿÝŸ", "z": "źżžŹŻŽ",
}  # fmt: skip
# Word separators PostgreSQL's parser would otherwise keep inside one token (an e-mail address,
# a host name, a URL, "555-1234"), so that "doe" and "acme" find jane.doe@acme.com.
_SEPARATORS = "@._-+/:'·"
FOLD_FROM = "".join(_FOLDS.values()) + _SEPARATORS
FOLD_TO = "".join(base * len(chars) for base, chars in _FOLDS.items()) + " " * len(_SEPARATORS)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _fold(column: str) -> str:
    return f"translate({column}, {_literal(FOLD_FROM)}, {_literal(FOLD_TO)})"


_SQLITE_DDL = (
    (
        f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(title, detail, body, content='search_doc', content_rowid='id', "
        "tokenize='unicode61 remove_diacritics 2', prefix='1 2')"
    ),
    (
        f"CREATE TRIGGER search_doc_ai AFTER INSERT ON search_doc BEGIN INSERT INTO {FTS_TABLE}(rowid, title, detail, body) "
        "VALUES (new.id, new.title, new.detail, new.body); END"
    ),
    (
        f"CREATE TRIGGER search_doc_ad AFTER DELETE ON search_doc BEGIN INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, title, "
        "detail, body) VALUES ('delete', old.id, old.title, old.detail, old.body); END"
    ),
    (
        f"CREATE TRIGGER search_doc_au AFTER UPDATE ON search_doc BEGIN INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, title, "
        "detail, body) VALUES ('delete', old.id, old.title, old.detail, old.body); INSERT INTO "
        f"{FTS_TABLE}(rowid, title, detail, body) VALUES (new.id, new.title, new.detail, new.body); END"
    ),
)
_POSTGRES_DDL = (
    (
        "ALTER TABLE search_doc ADD COLUMN tsv tsvector GENERATED ALWAYS AS ("
        f"setweight(to_tsvector('simple', {_fold('title')}), 'A') || "
        f"setweight(to_tsvector('simple', {_fold('detail')}), 'B') || "
        f"setweight(to_tsvector('simple', {_fold('body')}), 'D')) STORED"
    ),
    "CREATE INDEX search_doc_tsv ON search_doc USING gin (tsv)",
)


def is_postgres() -> bool:
    """True when the workspace is on PostgreSQL."""
    return isinstance(database.obj, PostgresqlDatabase)


def install() -> None:
    """Create the (empty) index of a new workspace: search_doc and its full-text machinery."""
    SearchDoc.create_table(safe=False)
    for statement in _POSTGRES_DDL if is_postgres() else _SQLITE_DDL:
        database.execute_sql(statement)


def owns_table(name: str) -> bool:
    """True for the index's tables, FTS5's shadow tables (search_fts_data, ...) included."""
    return name == SearchDoc._meta.table_name or name == FTS_TABLE or name.startswith(f"{FTS_TABLE}_")


# -- documents ------------------------------------------------------------------------------------


def _join(*parts: str) -> str:
    """SQL: the non-empty `parts` joined by " · " (NULLs and empty strings left out)."""
    pieces = " || ".join(f"COALESCE(NULLIF({part}, '') || ' · ', '')" for part in parts)
    return f"RTRIM({pieces}, ' ·')"


def _digits(column: str) -> str:
    """SQL: a phone number's digits alone, so "15551234" finds "+1 555-1234" (as "555 12" does)."""
    for char in " -+().":
        column = f"REPLACE({column}, '{char}', '')"
    return column


def _name(alias: str) -> str:
    return f"NULLIF(TRIM(COALESCE({alias}.first_name, '') || ' ' || COALESCE({alias}.last_name, '')), '')"


_NOTE_PARENTS = (
    ("deal", "deal", "d"),
    ("contact", "contact", "c"),
    ("company", "company", "co"),
    ("lead", "lead", "l"),
)
"""A note opens the first record it is on, in this order: (entity, table, alias)."""
_NOTE_TARGET = "CASE " + " ".join(f"WHEN n.{e}_id IS NOT NULL THEN '{e}'" for e, _, _ in _NOTE_PARENTS) + " END"
_NOTE_TARGET_ID = "COALESCE(" + ", ".join(f"n.{e}_id" for e, _, _ in _NOTE_PARENTS) + ")"

# Per entity: (SELECT list after the entity name, FROM clause, the WHERE that keeps live rows).
_DOCS: dict[str, tuple[str, str, str]] = {
    "company": (
        f"co.id, 'company', co.id, co.name, {_join('co.domain', 'co.phone')}, {_join('co.website', _digits('co.phone'))}",
        "company co",
        "co.deleted_at IS NULL",
    ),
    "contact": (
        (
            f"c.id, 'contact', c.id, COALESCE({_name('c')}, c.email, 'Contact #' || c.id), {_join('c.email', 'co.name')}, "
            f"{_join('c.phone', _digits('c.phone'), 'c.title')}"
        ),
        "contact c LEFT JOIN company co ON co.id = c.company_id AND co.deleted_at IS NULL",
        "c.deleted_at IS NULL",
    ),
    "lead": (
        (
            f"l.id, 'lead', l.id, COALESCE({_name('l')}, l.company_name, l.email, 'Lead #' || l.id), "
            f"{_join('l.email', 'l.company_name')}, {_join('l.phone', _digits('l.phone'), 'l.title')}"
        ),
        "lead l",
        "l.deleted_at IS NULL",
    ),
    "deal": (
        f"d.id, 'deal', d.id, d.title, {_join('co.name', _name('c'))}, ''",
        (
            "deal d LEFT JOIN company co ON co.id = d.company_id AND co.deleted_at IS NULL "
            "LEFT JOIN contact c ON c.id = d.contact_id AND c.deleted_at IS NULL"
        ),
        "d.deleted_at IS NULL",
    ),
    "note": (
        f"n.id, {_NOTE_TARGET}, {_NOTE_TARGET_ID}, '', '', n.body",
        "note n " + " ".join(f"LEFT JOIN {table} {a} ON {a}.id = n.{e}_id" for e, table, a in _NOTE_PARENTS),
        # A note on a deleted record is hidden with it (and comes back when it is restored).
        "CASE "
        + " ".join(f"WHEN n.{e}_id IS NOT NULL THEN {a}.deleted_at IS NULL" for e, _, a in _NOTE_PARENTS)
        + " ELSE FALSE END",
    ),
}
INDEXED = tuple(_DOCS)
"""The record types that have search documents."""
_ALIASES = {"company": "co", "contact": "c", "lead": "l", "deal": "d", "note": "n"}

_DEPENDENTS: dict[str, tuple[str, ...]] = {"company": ("contact", "deal"), "contact": ("deal",)}
"""Whose documents show this record's name: a company's contacts and deals, a contact's deals."""


def _insert(entity: str, where: str = "") -> str:
    select, tables, live = _DOCS[entity]
    # An upsert, not a plain insert: on PostgreSQL a note committed by another session between this
    # sync's DELETE and INSERT (each statement sees the newest commits) is already indexed.
    return (
        "INSERT INTO search_doc (entity, record_id, target_entity, target_id, title, detail, body) "
        f"SELECT '{entity}', {select} FROM {tables} WHERE {live}{f' AND {where}' if where else ''} "
        "ON CONFLICT (entity, record_id) DO UPDATE SET target_entity = excluded.target_entity, "
        "target_id = excluded.target_id, title = excluded.title, detail = excluded.detail, body = excluded.body"
    )


def _run(sql: str, *params: object) -> None:
    # The statements here hold no literal "?": each one is a parameter ("%s" on PostgreSQL).
    database.execute_sql(sql.replace("?", database.param), params)


def sync(entity: str, record_id: int) -> None:
    """Bring the index in step with one record just written (created, changed, deleted or
    restored): its own document, the documents that show its name, and its notes. Set-based SQL,
    a no-op for record types that are not searched. Call it inside the write transaction."""
    sync_many(entity, [record_id])


def sync_many(entity: str, record_ids: list[int], *, fresh: bool = False) -> None:
    """`sync` for many records at once (an import, a revert): set-based, a few statements per
    thousand records. `fresh` records were just created, so nothing else shows their names yet.
    Call it inside the write transaction."""
    if entity not in INDEXED or not record_ids:
        return
    dependents = [] if fresh else [*_DEPENDENTS.get(entity, ()), *(("note",) if entity != "note" else ())]
    for start in range(0, len(record_ids), 900):
        chunk = record_ids[start : start + 900]
        marks = ", ".join("?" * len(chunk))
        _run(f"DELETE FROM search_doc WHERE entity = ? AND record_id IN ({marks})", entity, *chunk)
        _run(_insert(entity, f"{_ALIASES[entity]}.id IN ({marks})"), *chunk)
        for dependent in dependents:
            _run(
                f"DELETE FROM search_doc WHERE entity = ? AND record_id IN "
                f"(SELECT id FROM {dependent} WHERE {entity}_id IN ({marks}))",
                dependent,
                *chunk,
            )
            _run(_insert(dependent, f"{_ALIASES[dependent]}.{entity}_id IN ({marks})"), *chunk)


def rebuild() -> int:
    """Remake every document from the records (one INSERT ... SELECT per record type); returns
    how many there are. For bulk loads that bypass the services, such as the demo generator."""
    with database.atomic():
        database.execute_sql("DELETE FROM search_doc")
        for entity in _DOCS:
            database.execute_sql(_insert(entity))
        if not is_postgres():
            # Merge the index's segments into one: bulk inserts leave many, and queries read each.
            database.execute_sql(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('optimize')")
    return SearchDoc.select().count()
