"""Record search for the command palette: ranked, prefix-as-you-type, over every record's name,
e-mail, phone, company and notes (the documents services.search_index keeps).

The query text is never handed to a full-text parser as typed: it is cut into words (letters and
digits only), and each word becomes a quoted prefix term, all of which must match. So quotes, `*`,
`-`, OR, NEAR or parentheses are plain text, and "jan do" finds Jane Doe.

Ranking: BM25 on SQLite (title x10, detail x4, body x1), ts_rank on PostgreSQL (weights A/B/D).
Only the newest RANK_WINDOW matches are ranked: ranking every match of "j" in a million contacts
takes over 100 ms, ranking 2,000 takes a few. A query that matches fewer than that (anything
past the first letters, in practice) is ranked in full; a very common prefix shows the best of
its most recently written matches.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from crm_tui.models import database
from crm_tui.services.search_index import FOLD_FROM, FOLD_TO, FTS_TABLE, is_postgres

RANK_WINDOW = 2000
"""How many of the newest matching documents are ranked (see the module docstring)."""

_MAX_WORDS = 8
_MAX_WORD = 40
_WORD = re.compile(r"[^\W_]+")
_PG_FOLD = str.maketrans(FOLD_FROM, FOLD_TO)
_LABELS = {"company": "Company", "contact": "Contact", "lead": "Lead", "deal": "Deal", "note": "Note"}
_EXCERPT = 80


@dataclass(frozen=True)
class SearchHit:
    """One record that matches, ready to show: "Jane Doe" / "Contact · jane@acme.com · Acme Corp".

    For a note, `title` is the record the note is on, `excerpt` the part of the note that matched,
    and `parent_entity` / `parent_id` that record, which is what the hit opens.
    """

    entity: str
    record_id: int
    title: str
    detail: str
    excerpt: str | None = None
    parent_entity: str | None = None
    parent_id: int | None = None

    @property
    def opens(self) -> tuple[str, int]:
        """The (entity, id) whose detail screen this hit opens."""
        if self.parent_entity is not None and self.parent_id is not None:
            return self.parent_entity, self.parent_id
        return self.entity, self.record_id


def words(query: str) -> list[str]:
    """The words of `query` that are searched for (letters and digits; at most eight)."""
    text = unicodedata.normalize("NFC", query)
    if is_postgres():
        text = text.translate(_PG_FOLD)  # the same folding the index's tsvector column applies
    return [word[:_MAX_WORD] for word in _WORD.findall(text)][:_MAX_WORDS]


_SQLITE = f"""
SELECT d.entity, d.record_id, d.target_entity, d.target_id, d.title, d.detail, d.body
FROM (SELECT rowid AS id, bm25({FTS_TABLE}, 10.0, 4.0, 1.0) AS score FROM {FTS_TABLE}
      WHERE {FTS_TABLE} MATCH ? ORDER BY rowid DESC LIMIT ?) AS m
JOIN search_doc d ON d.id = m.id
ORDER BY m.score, m.id DESC LIMIT ?"""

_POSTGRES = """
SELECT m.entity, m.record_id, m.target_entity, m.target_id, m.title, m.detail, m.body
FROM (SELECT * FROM search_doc WHERE tsv @@ to_tsquery('simple', %s) ORDER BY id DESC LIMIT %s) AS m
ORDER BY ts_rank(m.tsv, to_tsquery('simple', %s)) DESC, m.id DESC LIMIT %s"""


def search(query: str, *, limit: int = 20) -> list[SearchHit]:
    """The records best matching `query`, best first; [] for a query with no words.

    Any text is a valid query: nothing the user types can make it fail.
    """
    terms = words(query)
    if not terms:
        return []
    limit = max(1, min(limit, 100))
    if is_postgres():
        expression = " & ".join(f"{term}:*" for term in terms)
        rows = database.execute_sql(_POSTGRES, (expression, RANK_WINDOW, expression, limit)).fetchall()
    else:
        expression = " ".join(f'"{term}"*' for term in terms)  # a term holds no quote: see words()
        rows = database.execute_sql(_SQLITE, (expression, RANK_WINDOW, limit)).fetchall()
    parents = _parent_titles([(row[2], row[3]) for row in rows if row[0] == "note"])
    return [_hit(row, terms, parents) for row in rows]


def matching_records(entity: str, query: str) -> tuple[str, list[str]] | None:
    """SQL selecting the ids of the `entity` records whose document holds every word of `query`
    as a word prefix, with its parameters; None for a query with no words. The record lists' `/`
    filter uses it."""
    terms = words(query)
    if not terms:
        return None
    param = database.param
    if is_postgres():
        return (
            f"SELECT record_id FROM search_doc WHERE tsv @@ to_tsquery('simple', {param}) AND entity = {param}",
            [" & ".join(f"{term}:*" for term in terms), entity],
        )
    # CROSS JOIN keeps SQLite reading the full-text matches first: left to itself it walks every
    # document of the entity by the (entity, record_id) index and probes the matches (100x slower).
    return (
        (
            f"SELECT d.record_id FROM {FTS_TABLE} CROSS JOIN search_doc d ON d.id = {FTS_TABLE}.rowid "
            f"WHERE {FTS_TABLE} MATCH {param} AND d.entity = {param}"
        ),
        [" ".join(f'"{term}"*' for term in terms), entity],
    )


def _parent_titles(keys: list[tuple[str, int]]) -> dict[tuple[str, int], str]:
    """The titles of the records some notes are on (one query for all of them)."""
    if not keys:
        return {}
    param = database.param
    condition = " OR ".join(f"(entity = {param} AND record_id = {param})" for _ in keys)
    params = [value for key in keys for value in key]
    rows = database.execute_sql(f"SELECT entity, record_id, title FROM search_doc WHERE {condition}", params)
    return {(entity, record_id): title for entity, record_id, title in rows}


def _hit(row: tuple, terms: list[str], parents: dict[tuple[str, int], str]) -> SearchHit:
    entity, record_id, target_entity, target_id, title, detail, body = row
    if entity != "note":
        return SearchHit(entity, record_id, title, " · ".join(part for part in (_LABELS[entity], detail) if part))
    excerpt = excerpt_of(body, terms)
    parent = parents.get((target_entity, target_id)) or f"{_LABELS[target_entity]} #{target_id}"
    detail = f"Note on {_LABELS[target_entity].lower()} · {excerpt}"
    return SearchHit(entity, record_id, parent, detail, excerpt, target_entity, target_id)


def _fold_char(char: str) -> str:
    return unicodedata.normalize("NFKD", char.lower())[:1] or char


def excerpt_of(body: str, terms: list[str], width: int = _EXCERPT) -> str:
    """About `width` characters of `body` on one line, around the first word a term starts."""
    text = " ".join(body.split())
    folded = "".join(_fold_char(char) for char in text)  # same length as text: offsets carry over
    starts = [
        match.start()
        for term in terms
        if (match := re.search(r"(?<!\w)" + re.escape("".join(_fold_char(c) for c in term)), folded))
    ]
    at = min(starts, default=0)
    begin = max(0, at - width // 3)
    end = min(len(text), begin + width)
    begin = max(0, min(begin, end - width))
    return ("…" if begin else "") + text[begin:end].strip() + ("…" if end < len(text) else "")
