"""Pipelines, their stages, deals and the stage history."""

from __future__ import annotations

from peewee import (
    SQL,
    BigIntegerField,
    CharField,
    DateField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    SmallIntegerField,
)

from crm_tui import clock
from crm_tui.models.base import BaseModel, SoftDeleteModel
from crm_tui.models.people import User
from crm_tui.models.records import Company, Contact

STAGE_KINDS = ("open", "won", "lost", "closed")
"""`closed` is closed-other: neither won nor lost (e.g. N/A)."""


class Pipeline(SoftDeleteModel):
    """A sales process: an ordered set of stages. Deleting one archives it, so the stage history
    of its deals keeps its names."""

    name = CharField()
    position = IntegerField(default=0)


Pipeline.add_index(Pipeline.index(Pipeline.name, unique=True, name="pipeline_live_name").where(SQL("deleted_at IS NULL")))


class Stage(SoftDeleteModel):
    """A step of a pipeline with the probability that a deal in it is won. Deleting one archives
    it (after its deals have moved elsewhere), so history keeps its name."""

    pipeline = ForeignKeyField(Pipeline, backref="stages", on_delete="CASCADE")
    name = CharField()
    position = IntegerField(default=0)
    probability = SmallIntegerField(default=0)
    kind = CharField(default="open")
    rot_days = IntegerField(null=True)

    class Meta:
        indexes = ((("pipeline", "position"), False),)


Stage.add_index(
    Stage.index(Stage.pipeline, Stage.name, unique=True, name="stage_live_name").where(SQL("deleted_at IS NULL"))
)


class Deal(SoftDeleteModel):
    """An opportunity moving through a pipeline. Amounts are integer minor units of `currency`."""

    title = CharField(index=True)  # the deals list opens sorted by title
    company = ForeignKeyField(Company, null=True, on_delete="SET NULL", index=True)
    contact = ForeignKeyField(Contact, null=True, on_delete="SET NULL", index=True)
    pipeline = ForeignKeyField(Pipeline, on_delete="RESTRICT")
    stage = ForeignKeyField(Stage, on_delete="RESTRICT")
    amount = BigIntegerField(default=0)
    cost = BigIntegerField(null=True)
    currency = CharField(max_length=3)
    probability = SmallIntegerField(null=True)
    confidence = SmallIntegerField(null=True)
    expected_close = DateField(null=True, index=True)
    source = CharField(null=True)
    lost_reason = CharField(null=True)
    owner = ForeignKeyField(User, null=True, on_delete="SET NULL", index=True)
    stage_entered_at = DateTimeField(default=clock.now)
    closed_at = DateTimeField(null=True)


# The board pages a column by (stage, stage_entered_at, id) and sums a pipeline's columns from a
# covering index (with the expected close date and source, for the forecast and shares), both over live deals only.
Deal.add_index(
    Deal.index(Deal.stage, Deal.stage_entered_at, Deal.id, name="deal_board_page").where(
        SQL("deleted_at IS NULL")
    )
)
Deal.add_index(
    Deal.index(
        Deal.pipeline, Deal.stage, Deal.currency, Deal.amount, Deal.probability, Deal.expected_close, Deal.source,
        name="deal_board_totals",
    ).where(SQL("deleted_at IS NULL"))
)
# The few deleted deals, so a count over tasks (by their own indexes) can take away those on deleted
# deals instead of looking up every task's deal.
Deal.add_index(Deal.index(Deal.id, name="deal_deleted").where(SQL("deleted_at IS NOT NULL")))
# The dashboard's months and period cards: deals created and closed per month, per currency (and
# the sales cycle, created to closed), read from the index alone. Not partial: its queries keep SQLite off the board's partial indexes (see report_sql).
Deal.add_index(Deal.index(Deal.created_at, Deal.currency, Deal.amount, Deal.deleted_at, name="deal_created_months"))
Deal.add_index(
    Deal.index(
        Deal.closed_at, Deal.stage, Deal.currency, Deal.amount, Deal.deleted_at, Deal.created_at, name="deal_closed_months"
    )
)


class StageChange(BaseModel):
    """One move of a deal between stages: the history behind durations, cycles and funnels."""

    deal = ForeignKeyField(Deal, backref="stage_changes", on_delete="CASCADE")
    from_stage = ForeignKeyField(Stage, null=True, on_delete="SET NULL")
    to_stage = ForeignKeyField(Stage, on_delete="RESTRICT")
    at = DateTimeField(default=clock.now)
    user = ForeignKeyField(User, null=True, on_delete="SET NULL")
    left_at = DateTimeField(null=True)
    """When the deal left the stage this change entered (its next change's `at`); NULL while it is
    still there. Written with the next change (services/stage_history.py)."""

    class Meta:
        # (to_stage, at, deal, left_at): stage durations read each stay from the index alone.
        indexes = ((("deal", "at"), False), (("to_stage", "at", "deal", "left_at"), False))
