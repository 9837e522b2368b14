"""The search index's documents: one row per searchable record, derived from the records.

`search_doc` is not part of ALL_MODELS: it holds no facts of its own (every row can be rebuilt from
the records by `services.search_index.rebuild()`), and its full-text machinery (an FTS5 table on
SQLite, a generated tsvector column on PostgreSQL) is back-end specific, so
`services.search_index.install()` creates it next to the record tables.
"""

from __future__ import annotations

from peewee import BigIntegerField, CharField, TextField

from crm_tui.models.base import BaseModel


class SearchDoc(BaseModel):
    """The searchable text of one company, contact, lead, deal or note.

    `target_entity` / `target_id` is the record a hit opens: the row itself, or for a note the
    record the note is on. `title` and `detail` are shown; `body` is only searched.
    """

    entity = CharField()
    record_id = BigIntegerField()
    target_entity = CharField()
    target_id = BigIntegerField()
    title = TextField(default="")
    detail = TextField(default="")
    body = TextField(default="")

    class Meta:
        table_name = "search_doc"
        # sync finds a record's document by (entity, record_id); a note's hit finds its record's.
        indexes = ((("entity", "record_id"), True),)
