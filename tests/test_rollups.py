"""The deal rollup (deal_day, kept by triggers) gives exactly the figures the deals give directly,
on both back ends, after any mix of writes: creations, moves to won and lost and back, edits of
amount, currency, owner and dates, soft and hard deletes, restores, tags added, removed and moved,
before and after compaction, and after a rebuild."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from crm_tui import clock
from crm_tui.models import Deal, DealTag, Pipeline, Stage, StageChange, Tag, User, database
from crm_tui.services import deals, reach, rollups
from crm_tui.services.report_cards import open_pipeline, period_figures
from crm_tui.services.report_flow import funnel, stage_durations
from crm_tui.services.report_pipeline import by_stage, forecast, monthly, share
from crm_tui.services.report_sql import ReportFilter
from crm_tui.services.workspace import Workspace
from tests.helpers import make_deal, stage_named

NOW = datetime(2026, 11, 20, 15, 30)


def folded() -> list[tuple]:
    """Both rollups' groups that count, whatever state of compaction they are in."""
    groups = []
    for r in rollups.ROLLUPS:
        cols, sums = ", ".join(r.keys), ", ".join(f"SUM({v})" for v in r.values)
        rows = database.execute_sql(
            f"SELECT '{r.table}', {cols}, {sums} FROM {r.table} GROUP BY {cols} HAVING SUM(n) <> 0"
        ).fetchall()
        groups += sorted(tuple(str(value) for value in row) for row in rows)
    return groups


def filters(tag_ids: list[int], owner_ids: list[int], pipeline_id: int) -> list[ReportFilter]:
    periods = [("this_month", None), ("last_month", None), ("this_year", None), ("last_12_months", None)]
    out = [ReportFilter.for_period(name, today=NOW.date()) for name, _ in periods]
    out += [ReportFilter.for_period("this_year", today=NOW.date(), tag_id=tag) for tag in tag_ids]
    out += [ReportFilter.for_period("last_12_months", today=NOW.date(), owner_id=owner) for owner in owner_ids]
    out.append(ReportFilter.for_period("this_year", today=NOW.date(), pipeline_id=pipeline_id, tag_id=tag_ids[0]))
    out.append(ReportFilter(None, None, None, datetime(2026, 3, 4), datetime(2026, 10, 9)))  # custom days
    return out


def figures(f: ReportFilter) -> tuple:
    pipelines = [pid for (pid,) in Pipeline.select(Pipeline.id).order_by(Pipeline.id).tuples()]
    return (
        period_figures(f), monthly(f), open_pipeline(f), by_stage(f), forecast(f, today=NOW.date()),
        [funnel(pid, f) for pid in pipelines],
        [stage_durations(pid, f, now=NOW) for pid in pipelines],
        share(f, "tag"), share(f, "source"),
    )  # fmt: skip


def assert_same_figures(cases: list[ReportFilter]) -> None:
    for f in cases:
        rolled = figures(f)
        with rollups.disabled():
            direct = figures(f)
        assert rolled == direct, f


def test_the_rollup_matches_the_deals_after_random_writes(workspace: Workspace) -> None:
    ctx = workspace.ctx
    clock.freeze(NOW)
    rng = random.Random(8)
    owners = [ctx.user_id] + [User.insert(login=f"u{n}", name=f"U{n}", role="member").execute() for n in range(2)]
    tags = [Tag.insert(name=f"t{n}", created_at=NOW, updated_at=NOW).execute() for n in range(3)]
    won, lost, open_stage = stage_named("Closed Won"), stage_named("Closed Lost"), stage_named("Qualification")
    other_pipeline = Pipeline.insert(name="Renewals", position=1, created_at=NOW, updated_at=NOW).execute()
    other_stage = Stage.insert(
        pipeline=other_pipeline, name="Ask", position=0, probability=50, kind="open", created_at=NOW, updated_at=NOW
    ).execute()
    made: list[int] = []
    for step in range(240):
        action = rng.choice(["create"] * 4 + ["move", "edit", "edit", "dates", "delete", "restore", "tag", "untag", "retag", "rehome", "purge", "pipe"])
        deal_id = rng.choice(made) if made else None
        if action == "create" or deal_id is None:
            close = rng.choice([None, NOW.date() + timedelta(days=rng.randrange(-60, 300))])
            snap = make_deal(
                ctx, f"deal {step}", amount=rng.randrange(0, 90_000), currency=rng.choice(["USD", "EUR"]), expected_close=close,
                source=rng.choice([None, "web", "referral"]),
            )
            made.append(snap.id)
        elif action == "move":
            deal = Deal.get_by_id(deal_id)
            target = rng.choice([won, lost, open_stage]) if deal.pipeline_id != other_pipeline else other_stage
            if deal.deleted_at is None and target != deal.stage_id:
                deals.move_deal(ctx, deal_id, target, from_stage_id=deal.stage_id, lost_reason="Price")
        elif action == "edit":
            # One column at a time: each watched column alone must move the deal's rows.
            field, value = rng.choice(
                [
                    ("amount", rng.randrange(0, 90_000)),
                    ("currency", rng.choice(["USD", "EUR", "GBP"])),
                    ("owner", rng.choice([*owners, None])),
                    ("probability", rng.choice([None, 0, 35, 80])),
                    ("source", rng.choice([None, "web", "fair"])),
                    ("expected_close", rng.choice([None, NOW.date() + timedelta(days=rng.randrange(-60, 300))])),
                ]
            )
            Deal.update({getattr(Deal, field): value}).where(Deal.id == deal_id).execute()
        elif action == "dates":
            created = NOW - timedelta(days=rng.randrange(0, 500), seconds=rng.randrange(86_400))
            closed = created + timedelta(days=rng.randrange(0, 90)) if rng.random() < 0.6 else None
            Deal.update(created_at=created, closed_at=closed).where(Deal.id == deal_id).execute()
        elif action == "delete":
            Deal.update(deleted_at=NOW).where(Deal.id == deal_id).execute()
        elif action == "restore":
            Deal.update(deleted_at=None).where(Deal.id == deal_id).execute()
        elif action == "tag":
            DealTag.insert(deal=deal_id, tag=rng.choice(tags)).on_conflict_ignore().execute()
        elif action == "untag":
            DealTag.delete().where(DealTag.deal == deal_id, DealTag.tag == rng.choice(tags)).execute()
        elif action == "retag":  # a merge moves the loser's tags to the survivor
            other = rng.choice(made)
            DealTag.update(deal=other).where(
                DealTag.deal == deal_id, DealTag.tag.not_in(DealTag.select(DealTag.tag).where(DealTag.deal == other))
            ).execute()
        elif action == "rehome":  # a history row moved to another deal (as a merge may do)
            row = StageChange.select(StageChange.id).where(StageChange.deal == deal_id).first()
            if row is not None:
                StageChange.update(deal=rng.choice(made)).where(StageChange.id == row.id).execute()
        elif action == "purge":  # hard delete: the cascade takes its tags along
            Deal.delete().where(Deal.id == deal_id).execute()
            made.remove(deal_id)
        elif action == "pipe":
            Deal.update(pipeline=other_pipeline, stage=other_stage).where(Deal.id == deal_id).execute()
    cases = filters(tags, owners, other_pipeline)
    for target in (won, lost):  # whatever the dice did, a tagged deal won and one lost this month
        closing = make_deal(ctx, "closing", amount=5_000, probability=60)
        DealTag.insert(deal=closing.id, tag=tags[0]).execute()
        deals.move_deal(ctx, closing.id, target, from_stage_id=open_stage, lost_reason="Price")
    # ... and the last one's stay in Qualification this month now belongs to another deal.
    first_stay = StageChange.select(StageChange.id).where(StageChange.deal == closing.id).order_by(StageChange.id).first()
    StageChange.update(deal=made[-1]).where(StageChange.id == first_stay.id).execute()
    assert any(period_figures(f).won_count and period_figures(f).lost_count for f in cases)  # the data covers both
    assert any(period_figures(f).new_count for f in cases if f.tag_id)
    assert sum(bucket.count for bucket in forecast(cases[0], today=NOW.date()) if bucket.key not in ("undated",)) > 5
    assert any(open_pipeline(f)[0] and open_pipeline(f)[2] for f in cases if f.tag_id)
    assert {row.key for row in share(cases[0], "tag")} >= {None, *tags[:1]}  # untagged deals and a tag
    assert {row.key for row in share(cases[0], "source")} >= {None, "web"}
    assert not reach.fresh()  # a pipeline and a stage were added after the reach table was computed
    assert_same_figures(cases)  # the funnel reads the history meanwhile
    assert reach.heal() and reach.fresh()
    assert_same_figures(cases)  # ... and the healed reach table now
    appended = folded()
    rollups.compact()
    assert folded() == appended
    rows = sum(database.execute_sql(f"SELECT COUNT(*) FROM {r.table}").fetchone()[0] for r in rollups.ROLLUPS)
    assert rows == len(appended)  # one row per group
    assert_same_figures(cases)
    with database.atomic():
        rollups.rebuild()
    assert folded() == appended


def test_a_period_that_does_not_start_at_midnight_reads_the_deals(workspace: Workspace) -> None:
    ctx = workspace.ctx
    clock.freeze(NOW)
    make_deal(ctx, "morning", amount=100)
    Deal.update(created_at=datetime(2026, 11, 20, 8, 0)).execute()
    f = ReportFilter(None, None, None, datetime(2026, 11, 20, 9, 0), datetime(2026, 11, 21))
    assert not rollups.usable(f.start, f.end)
    assert period_figures(f).new_count == 0  # created at 8:00, before the period's 9:00
    whole_day = ReportFilter(None, None, None, datetime(2026, 11, 20), datetime(2026, 11, 21))
    assert rollups.usable(whole_day.start, whole_day.end) and period_figures(whole_day).new_count == 1


def test_compaction_waits_for_enough_rows_and_keeps_the_figures(workspace: Workspace, monkeypatch) -> None:
    ctx = workspace.ctx
    clock.freeze(NOW)
    monkeypatch.setattr(rollups, "COMPACT_AFTER", 10)
    for n in range(3):
        make_deal(ctx, f"d{n}", amount=10)
    assert not rollups.compact_if_due()
    for n in range(12):
        make_deal(ctx, f"e{n}", amount=10)
    before = folded()
    assert rollups.compact_if_due()
    assert folded() == before
    assert database.execute_sql("SELECT COUNT(*) FROM deal_day").fetchone()[0] == len([g for g in before if g[0] == "deal_day"])
    f = ReportFilter.for_period("this_month", today=date(2026, 11, 20))
    assert period_figures(f).new_count == 15 and period_figures(f).new_value == {"USD": 150}


def test_reordered_stages_make_the_funnel_read_the_history_until_healed(workspace: Workspace, monkeypatch) -> None:
    ctx = workspace.ctx
    clock.freeze(NOW)
    names = ["Qualification", "Writing Proposal", "Proposal Sent", "Closed Won"]
    for n in range(30):
        deal = make_deal(ctx, f"d{n}", amount=100)
        for name in names[1 : 1 + n % 4]:
            deals.move_deal(ctx, deal.id, stage_named(name), from_stage_id=Deal.get_by_id(deal.id).stage_id)
    f = ReportFilter.for_period("this_month", today=NOW.date())
    pipeline_id = Stage.get_by_id(stage_named("Qualification")).pipeline_id
    assert reach.fresh()
    before = funnel(pipeline_id, f)
    assert [step.reached for step in before][:4] == [30, 30, 22, 14]
    # Swap two open stages: "furthest" changes meaning for the deals that visited them.
    first, second = Stage.get_by_id(stage_named("Writing Proposal")), Stage.get_by_id(stage_named("Proposal Sent"))
    Stage.update(position=second.position).where(Stage.id == first.id).execute()
    Stage.update(position=first.position).where(Stage.id == second.id).execute()
    assert not reach.fresh()
    with rollups.disabled():
        expected = funnel(pipeline_id, f)
    assert funnel(pipeline_id, f) == expected != before
    monkeypatch.setattr(reach, "CHUNK", 7)
    calls = 0
    while not reach.heal(budget=0):  # one chunk per call
        assert calls < 30
        calls += 1
        make_deal(ctx, f"meanwhile {calls}", amount=5)  # written during the pass: the trigger keeps it right
    assert calls >= 4 and reach.fresh()
    with rollups.disabled():
        expected = funnel(pipeline_id, f)
    assert funnel(pipeline_id, f) == expected
