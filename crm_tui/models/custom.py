"""Custom fields: their definitions per entity and their values per record."""

from __future__ import annotations

from peewee import BigIntegerField, BooleanField, CharField, DoubleField, ForeignKeyField, IntegerField, TextField

from crm_tui.models.base import BaseModel, JSONField, VersionedModel

FIELD_TYPES = (
    "text", "long_text", "number", "currency", "percent", "date", "datetime", "checkbox",
    "dropdown", "multi_select", "email", "phone", "url", "address", "rating", "user",
    "reference", "lookup", "formula", "auto_number",
)  # fmt: skip


class CustomField(VersionedModel):
    """A field a workspace adds to companies, contacts, leads or deals."""

    entity = CharField()
    key = CharField()
    label = CharField()
    type = CharField()
    required = BooleanField(default=False)
    options = JSONField(default=list)
    position = IntegerField(default=0)
    formula = TextField(null=True)
    reference_entity = CharField(null=True)
    lookup_path = JSONField(null=True)

    class Meta:
        indexes = ((("entity", "key"), True), (("entity", "position"), False))


class CustomValue(BaseModel):
    """One record's value of one custom field, in the column that sorts it correctly in SQL.

    Text-like types use `text`; currency (minor units), rating, checkbox, user, reference and
    auto-number use `integer`; number and percent use `real`; multi-select uses `json`. Dates are
    ISO text, which sorts chronologically.
    """

    field = ForeignKeyField(CustomField, backref="values", on_delete="CASCADE")
    record_id = BigIntegerField()
    text = TextField(null=True)
    integer = BigIntegerField(null=True)
    real = DoubleField(null=True)
    json = JSONField(null=True)

    class Meta:
        indexes = (
            (("field", "record_id"), True),
            (("field", "text"), False),
            (("field", "integer"), False),
            (("field", "real"), False),
        )
