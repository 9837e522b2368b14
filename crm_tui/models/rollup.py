"""The dashboard's deal rollups, kept up to date by database triggers: how many deals were created
and closed each day (`deal_day`), and the live deals by stage and expected close date
(`deal_open`), with their value, by pipeline, owner, currency and tag.

They are not part of ALL_MODELS: they hold no facts of their own (every row can be rebuilt from the
deals by `services.rollups.rebuild()`), and their triggers are back-end specific, so
`services.rollups.install()` creates them next to the record tables.
"""

from __future__ import annotations

from peewee import BigIntegerField, CharField, DateField, DateTimeField, IntegerField

from crm_tui.models.base import BaseModel


class DealDay(BaseModel):
    """One change to the day's figures: +1 when a deal starts counting in a group, -1 (with the
    same values) when it stops. Rows of one group add up; compaction folds them into one.

    `stage_id` is None for the "created" measure (`day` = the deal's creation day) and the deal's
    current stage for the "closed" one (`day` = its `closed_at` day; the report joins the stage for
    its kind, so a stage turned from won to lost moves its deals with it). `tag_id` 0 counts every
    deal; a tagged deal is counted again under each of its tags. `secs` is closed - created in
    whole seconds on closed rows, 0 on created ones.
    """

    day = DateField()
    stage_id = BigIntegerField(null=True)
    pipeline_id = BigIntegerField()
    owner_id = BigIntegerField(null=True)
    currency = CharField()
    tag_id = BigIntegerField(default=0)
    n = IntegerField()
    amount = BigIntegerField()
    secs = BigIntegerField(default=0)

    class Meta:
        table_name = "deal_day"
        indexes = (
            (("tag_id", "day", "stage_id", "pipeline_id", "owner_id", "currency", "n", "amount", "secs"), False),
        )


class DealOpen(BaseModel):
    """One change to the live deals of a group: +1 when a deal joins it, -1 (same values) when it
    leaves. The report keeps the rows of open stages (joining the stage for its kind and
    probability). `weighted` is SUM(amount x probability) of the deals with a probability of their
    own; `unweighted` is SUM(amount) of the others, which take their stage's probability."""

    stage_id = BigIntegerField()
    pipeline_id = BigIntegerField()
    owner_id = BigIntegerField(null=True)
    currency = CharField()
    expected_close = DateField(null=True)
    tag_id = BigIntegerField(default=0)
    n = IntegerField()
    amount = BigIntegerField()
    weighted = BigIntegerField()
    unweighted = BigIntegerField()

    class Meta:
        table_name = "deal_open"
        indexes = (
            (
                ("tag_id", "stage_id", "pipeline_id", "owner_id", "currency", "expected_close", "n", "amount", "weighted", "unweighted"),
                False,
            ),
        )


class DealReach(BaseModel):
    """How far a deal got in one pipeline: the furthest live open or won stage of that pipeline
    among its current stage and every stage its history names (`services.reach` keeps it), with
    the deal's creation time, owner and liveness copied so the funnel reads this table alone."""

    deal_id = BigIntegerField()
    pipeline_id = BigIntegerField()
    top_stage_id = BigIntegerField()
    created_at = DateTimeField()
    owner_id = BigIntegerField(null=True)
    live = IntegerField()

    class Meta:
        table_name = "deal_reach"
        indexes = (
            (("deal_id", "pipeline_id"), True),
            (("pipeline_id", "live", "created_at", "top_stage_id", "owner_id", "deal_id"), False),
        )


class DealStay(BaseModel):
    """One stay of a deal in a stage (`services.stays` keeps it): entered and length in whole
    seconds since 1970 (length None while the deal is still there), with the deal's owner and
    liveness copied so the stage-duration report reads this table alone."""

    deal_id = BigIntegerField()
    stage_id = BigIntegerField()
    entered = BigIntegerField()
    secs = BigIntegerField(null=True)
    owner_id = BigIntegerField(null=True)
    live = IntegerField()

    class Meta:
        table_name = "deal_stay"
        indexes = (
            (("deal_id",), False),
            (("stage_id", "live", "entered", "secs", "owner_id", "deal_id"), False),
        )


class DealSource(BaseModel):
    """Like DealOpen, by lead source instead of expected close date (the share by source): +1 when
    a live deal joins a group, -1 when it leaves; the report keeps open stages."""

    stage_id = BigIntegerField()
    pipeline_id = BigIntegerField()
    owner_id = BigIntegerField(null=True)
    currency = CharField()
    source = CharField(null=True)
    tag_id = BigIntegerField(default=0)
    n = IntegerField()
    amount = BigIntegerField()

    class Meta:
        table_name = "deal_source"
        indexes = ((("tag_id", "stage_id", "pipeline_id", "owner_id", "currency", "source", "n", "amount"), False),)
