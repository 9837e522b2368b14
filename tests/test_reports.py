"""The dashboard reports (crm_tui/services/reports.py) against figures worked out in plain Python.

A small fixed dataset is built through the services with the clock frozen at every step, so every
time is exact. Each report is then compared with a reference computed here, in Python, from the
same rows (read whole: the dataset is tiny), and a few figures are also written out by hand so the
reference itself is checked. Runs on SQLite and, with CRM_TEST_PG_URL, on PostgreSQL: the same
expected values on both back ends.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest

from crm_tui import clock
from crm_tui.models import Deal, DealTag, Stage, StageChange, Task
from crm_tui.services import board, bulk, deals, pipelines, records, reports, timeline
from crm_tui.services.reports import Change, ReportFilter
from crm_tui.services.workspace import Workspace
from tests.helpers import make_deal, stage_named

NOW = datetime(2026, 11, 20, 9, 30)
NOVEMBER = ReportFilter(None, None, None, datetime(2026, 11, 1), datetime(2026, 12, 1))
OCTOBER = ReportFilter(None, None, None, datetime(2026, 10, 1), datetime(2026, 11, 1))
YEAR = ReportFilter(None, None, None, datetime(2026, 1, 1), datetime(2027, 1, 1))
DAY = 86_400


@dataclass
class Data:
    """Ids of the fixed dataset."""

    alice: int
    bob: int
    enterprise: int
    sales: int
    partners: int
    deal: dict[str, int]
    task: dict[str, int]


def at(moment: datetime) -> None:
    clock.freeze(moment)


def _deal(ws: Workspace, when: datetime, title: str, stage: int, amount: int, **values: object) -> int:
    at(when)
    return records.create(ws.ctx, "deal", {"title": title, "stage_id": stage, "amount": amount, **values}).id


def _move(ws: Workspace, when: datetime, deal_id: int, to: str, reason: str | None = None) -> None:
    at(when)
    current = Deal.get_by_id(deal_id).stage_id
    deals.move_deal(ws.ctx, deal_id, stage_named(to), from_stage_id=current, lost_reason=reason)


def build(ws: Workspace) -> Data:
    """The dataset (NOW = 2026-11-20 09:30): see each line."""
    ctx = ws.ctx
    at(datetime(2026, 8, 1, 9))
    bob = records.create(ctx, "user", {"login": "bob", "name": "Bob"}).id
    enterprise = records.create(ctx, "tag", {"name": "Enterprise"}).id
    partners = pipelines.add_pipeline(ctx, "Partners").id
    partner_new = next(p for p in board.list_pipelines() if p.id == partners).stages[0].id
    s = stage_named
    alice = ctx.user_id
    d: dict[str, int] = {}
    # Won in November after two stages: cycle 56 d 7 h.
    d["won_nov"] = _deal(ws, datetime(2026, 9, 10, 8), "Won Nov", s("Qualification"), 120_000, owner_id=alice)
    _move(ws, datetime(2026, 10, 1, 12), d["won_nov"], "Proposal Sent")
    _move(ws, datetime(2026, 11, 5, 15), d["won_nov"], "Closed Won")
    # Won in October (the previous period).
    d["won_oct"] = _deal(ws, datetime(2026, 10, 2, 9), "Won Oct", s("Unqualified"), 50_000, owner_id=alice)
    _move(ws, datetime(2026, 10, 25, 17), d["won_oct"], "Closed Won")
    # Lost in November.
    d["lost_nov"] = _deal(ws, datetime(2026, 11, 2, 10), "Lost Nov", s("Qualification"), 30_000, source="web")
    _move(ws, datetime(2026, 11, 6, 11), d["lost_nov"], "Negotiation")
    _move(ws, datetime(2026, 11, 10, 16), d["lost_nov"], "Closed Lost", "Price")
    # Lost in October, reopened in November: open now, back in Qualification.
    d["reopened"] = _deal(ws, datetime(2026, 10, 15, 10), "Reopened", s("Qualification"), 80_000, currency="EUR")
    _move(ws, datetime(2026, 10, 20, 10), d["reopened"], "Proposal Sent")
    _move(ws, datetime(2026, 10, 28, 10), d["reopened"], "Closed Lost", "Timing")
    _move(ws, datetime(2026, 11, 3, 9), d["reopened"], "Qualification")
    # Open with its own probability (33 instead of Negotiation's 70), Bob's, tagged.
    d["override"] = _deal(
        ws, datetime(2026, 11, 8, 14), "Override", s("Negotiation"), 33_333,
        probability=33, owner_id=bob, source="web", expected_close=date(2026, 12, 15),
    )  # fmt: skip
    # Open in euros, expected close already passed, tagged.
    d["eur_open"] = _deal(
        ws, datetime(2026, 11, 12, 8, 30), "EUR open", s("Proposal Sent"), 12_345,
        currency="EUR", source="referral", expected_close=date(2026, 11, 10),
    )  # fmt: skip
    # Open without any history rows (as imported data may be).
    d["no_history"] = _deal(
        ws, datetime(2026, 11, 15, 12), "No history", s("Writing Proposal"), 99_999, expected_close=date(2027, 8, 1)
    )
    StageChange.delete().where(StageChange.deal == d["no_history"]).execute()
    # Created straight into the last open stage, won in November, in euros, Bob's.
    d["won_eur"] = _deal(ws, datetime(2026, 11, 1), "Won EUR", s("Contract Sent for Signature"), 200_000,
                         currency="EUR", owner_id=bob)  # fmt: skip
    _move(ws, datetime(2026, 11, 18, 18), d["won_eur"], "Closed Won")
    # Deleted: never counts anywhere.
    d["deleted"] = _deal(ws, datetime(2026, 11, 3, 8), "Deleted", s("Qualification"), 1_000_000, owner_id=alice)
    # In the second pipeline.
    d["partner"] = _deal(ws, datetime(2026, 11, 11, 11), "Partner", partner_new, 7_000, expected_close=date(2027, 1, 20))
    # Closed as N/A in August.
    d["na"] = _deal(ws, datetime(2026, 8, 1, 10), "N/A", s("Qualification"), 5_000)
    _move(ws, datetime(2026, 8, 20, 10), d["na"], "N/A")
    at(datetime(2026, 11, 4, 9))
    bulk.tag(ctx, "deal", [d["override"], d["eur_open"]], enterprise)
    t: dict[str, int] = {}

    def task(name: str, due: datetime | None, assignee: int, deal: str | None = None) -> None:
        t[name] = timeline.add_task(ctx, "deal", d[deal], name, due, assignee, []) if deal else records.create(
            ctx, "task", {"title": name, "due_at": due, "assignee_id": assignee}
        ).id

    at(datetime(2026, 11, 4, 10))
    task("overdue", datetime(2026, 11, 19, 10), alice, "override")
    task("today", datetime(2026, 11, 20, 15), alice)
    task("upcoming", datetime(2026, 11, 25, 9), alice, "eur_open")
    task("done", datetime(2026, 11, 10, 9), alice)
    task("bob overdue", datetime(2026, 11, 18, 9), bob)
    task("on deleted deal", datetime(2026, 11, 10, 9), alice, "deleted")
    task("undated", None, alice)
    at(datetime(2026, 11, 19, 9))
    records.update(ctx, "task", t["done"], {"done": True}, version=1)
    timeline.add_activity(ctx, "deal", d["override"], "note", "Asked for a discount")
    at(datetime(2026, 11, 19, 10))
    records.delete(ctx, "deal", d["deleted"], version=Deal.get_by_id(d["deleted"]).version)
    at(NOW)
    sales = board.list_pipelines()[0].id
    return Data(alice, bob, enterprise, sales, partners, d, t)


@pytest.fixture
def data(workspace: Workspace) -> Data:
    return build(workspace)


# --- the reference: every figure again, in plain Python over all rows --------------------------


class Rows:
    """Every live deal, stage, history row and tag link, read whole."""

    def __init__(self) -> None:
        self.stages = {s.id: s for s in Stage.select()}
        self.deals = list(Deal.select().where(Deal.deleted_at.is_null()).order_by(Deal.id))
        self.history: dict[int, list[StageChange]] = defaultdict(list)
        for change in StageChange.select().order_by(StageChange.at, StageChange.id):
            self.history[change.deal_id].append(change)
        self.tags: dict[int, set[int]] = defaultdict(set)
        for link in DealTag.select():
            self.tags[link.deal_id].add(link.tag_id)

    def kind(self, deal: Deal) -> str:
        return self.stages[deal.stage_id].kind

    def matching(self, f: ReportFilter, *, pipeline: bool = True) -> list[Deal]:
        return [
            d
            for d in self.deals
            if (not pipeline or f.pipeline_id is None or d.pipeline_id == f.pipeline_id)
            and (f.owner_id is None or d.owner_id == f.owner_id)
            and (f.tag_id is None or f.tag_id in self.tags[d.id])
        ]

    def chance(self, deal: Deal) -> int:
        return deal.probability if deal.probability is not None else self.stages[deal.stage_id].probability


def by_currency(deals: list[Deal]) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for d in deals:
        out[d.currency] += d.amount
    return dict(sorted(out.items()))


def weighted(rows: Rows, deals: list[Deal]) -> dict[str, int]:
    """Exact products summed per currency, then one rounding down: the documented convention."""
    out: dict[str, int] = defaultdict(int)
    for d in deals:
        out[d.currency] += d.amount * rows.chance(d)
    return {code: total // 100 for code, total in sorted(out.items())}


def ref_cards(rows: Rows, f: ReportFilter) -> dict[str, object]:
    deals = rows.matching(f)
    opened = [d for d in deals if rows.kind(d) == "open"]

    def closed(kind: str) -> list[Deal]:
        return [d for d in deals if rows.kind(d) == kind and d.closed_at and f.start <= d.closed_at < f.end]

    won, lost = closed("won"), closed("lost")
    new = [d for d in deals if f.start <= d.created_at < f.end]
    won_value, lost_value = by_currency(won), by_currency(lost)
    counts: dict[str, int] = defaultdict(int)
    for d in won:
        counts[d.currency] += 1
    rates = {}
    for code in sorted({*won_value, *lost_value}):
        total = won_value.get(code, 0) + lost_value.get(code, 0)
        rates[code] = 100 * won_value.get(code, 0) / total if total else None
    cycle = sum(int((d.closed_at - d.created_at).total_seconds()) for d in won)
    return {
        "open_count": len(opened),
        "open_value": by_currency(opened),
        "weighted_value": weighted(rows, opened),
        "won_count": len(won),
        "won_value": won_value,
        "lost_count": len(lost),
        "lost_value": lost_value,
        "new_count": len(new),
        "new_value": by_currency(new),
        "avg_won": {code: value // counts[code] for code, value in won_value.items()},
        "cycle_days": cycle / len(won) / DAY if won else None,
        "win_rate_count": 100 * len(won) / (len(won) + len(lost)) if won or lost else None,
        "win_rate_value": rates,
    }


def funnel_steps(rows: Rows, pipeline_id: int) -> list[Stage]:
    steps = [s for s in rows.stages.values() if s.pipeline_id == pipeline_id and s.kind in ("open", "won")]
    return sorted(steps, key=lambda s: (s.kind == "won", s.position, s.id))


def ref_funnel(rows: Rows, pipeline_id: int, f: ReportFilter) -> list[int]:
    steps = funnel_steps(rows, pipeline_id)
    rank = {s.id: i for i, s in enumerate(steps)}
    reached = [0] * len(steps)
    for d in rows.matching(f, pipeline=False):
        if not f.start <= d.created_at < f.end:
            continue
        visited = {d.stage_id} | {c.to_stage_id for c in rows.history[d.id]}
        visited |= {c.from_stage_id for c in rows.history[d.id] if c.from_stage_id}
        ranks = [rank[s] for s in visited if s in rank]
        for i in range(max(ranks) + 1 if ranks else 0):
            reached[i] += 1
    return reached


def ref_spells(rows: Rows, pipeline_id: int, f: ReportFilter, now: datetime) -> dict[int, list[tuple[int, bool]]]:
    """Seconds of every stay in each open stage of the pipeline begun in the period, and if ongoing."""
    spells: dict[int, list[tuple[int, bool]]] = defaultdict(list)
    for d in rows.matching(f, pipeline=False):
        history = rows.history[d.id]
        stays = (
            [(c.to_stage_id, c.at, history[i + 1].at if i + 1 < len(history) else None) for i, c in enumerate(history)]
            if history
            else [(d.stage_id, d.stage_entered_at, None)]
        )
        for stage_id, start, end in stays:
            stage = rows.stages[stage_id]
            if stage.pipeline_id == pipeline_id and stage.kind == "open" and f.start <= start < f.end:
                spells[stage_id].append((int(((end or now) - start).total_seconds()), end is None))
    return spells


def month_list(last: date, months: int) -> list[date]:
    out = [date(last.year, last.month, 1)]
    while len(out) < months:
        first = out[0]
        out.insert(0, (first - timedelta(days=1)).replace(day=1))
    return out


# --- the tests ---------------------------------------------------------------------------------


FILTERS = {
    "all": lambda data: NOVEMBER,
    "bob": lambda data: ReportFilter(None, data.bob, None, NOVEMBER.start, NOVEMBER.end),
    "tag": lambda data: ReportFilter(None, None, data.enterprise, NOVEMBER.start, NOVEMBER.end),
    "sales": lambda data: ReportFilter(data.sales, None, None, NOVEMBER.start, NOVEMBER.end),
    "partners": lambda data: ReportFilter(data.partners, None, None, NOVEMBER.start, NOVEMBER.end),
    "october": lambda data: OCTOBER,
    "year": lambda data: YEAR,
}


@pytest.mark.parametrize("name", FILTERS)
def test_stat_cards_match_the_reference(data: Data, name: str) -> None:
    f = FILTERS[name](data)
    cards = reports.stat_cards(f)
    expected = ref_cards(Rows(), f)
    assert {key: getattr(cards, key) for key in expected} == expected


def test_stat_cards_by_hand(data: Data) -> None:
    cards = reports.stat_cards(NOVEMBER)
    # Open: reopened (EUR 80,000 x 20), override (USD 33,333 x 33, its own), eur_open (EUR 12,345 x 50),
    # no_history (USD 99,999 x 40), partner (USD 7,000 x 10). Products summed, then rounded down
    # once: USD 5,169,949 / 100 = 51,699 (rounding each deal first would give 51,698).
    assert cards.open_count == 5
    assert cards.open_value == {"EUR": 92_345, "USD": 140_332}
    assert cards.weighted_value == {"EUR": 22_172, "USD": 51_699}
    assert (cards.won_count, cards.won_value) == (2, {"EUR": 200_000, "USD": 120_000})
    assert (cards.lost_count, cards.lost_value) == (1, {"USD": 30_000})
    assert cards.win_rate_count == pytest.approx(200 / 3)
    assert cards.win_rate_value == {"EUR": 100.0, "USD": 80.0}
    assert cards.avg_won == {"EUR": 200_000, "USD": 120_000}
    # 56 d 7 h and 17 d 18 h: 37 d 30 min on average.
    assert cards.cycle_days == pytest.approx(37 + 0.5 / 24)
    assert (cards.new_count, cards.new_value) == (6, {"EUR": 212_345, "USD": 170_332})
    # Alice's on the override deal and Bob's; not the done one, nor the one on the deleted deal.
    assert cards.overdue_tasks == 2


def test_overdue_tasks_follow_owner_and_pipeline(data: Data) -> None:
    assert reports.stat_cards(ReportFilter(None, data.alice, None, NOVEMBER.start, NOVEMBER.end)).overdue_tasks == 1
    assert reports.stat_cards(ReportFilter(data.sales, None, None, NOVEMBER.start, NOVEMBER.end)).overdue_tasks == 1
    assert reports.stat_cards(ReportFilter(data.partners, None, None, NOVEMBER.start, NOVEMBER.end)).overdue_tasks == 0


def test_a_reopened_deal_is_neither_lost_in_october_nor_closed(data: Data) -> None:
    october = reports.stat_cards(OCTOBER)
    assert (october.won_count, october.lost_count, october.lost_value) == (1, 0, {})
    assert october.new_count == 2  # won_oct and reopened


def test_changes_against_the_previous_period(data: Data) -> None:
    assert NOVEMBER.previous() == OCTOBER
    changes = reports.card_changes(NOVEMBER)
    assert changes.won_count == Change(100.0)  # 1 -> 2
    assert changes.won_value["USD"] == Change(140.0)  # 50,000 -> 120,000
    assert changes.won_value["EUR"] == Change(None)  # nothing won in euros in October
    assert changes.lost_count == Change(None)  # none lost in October
    assert changes.new_count == Change(200.0)  # 2 -> 6
    assert changes.win_rate_count.unit == "pts" and changes.win_rate_count.amount == pytest.approx(200 / 3 - 100)
    assert changes.won_count.text() == "▲ 100.0%" and changes.win_rate_count.text() == "▼ 33.3 pts"
    assert Change(None).text() == "—" and reports.change(5, 0) == Change(None) and reports.change(3, 4).arrow == "▼"


def test_previous_periods() -> None:
    quarter = ReportFilter(None, None, None, datetime(2026, 10, 1), datetime(2027, 1, 1))
    assert quarter.previous().start == datetime(2026, 7, 1) and quarter.previous().end == datetime(2026, 10, 1)
    week = ReportFilter(None, None, None, datetime(2026, 11, 16), datetime(2026, 11, 23))
    assert (week.previous().start, week.previous().end) == (datetime(2026, 11, 9), datetime(2026, 11, 16))
    march = ReportFilter(None, None, None, datetime(2026, 3, 1), datetime(2026, 4, 1))
    assert march.previous().start == datetime(2026, 2, 1)
    named = ReportFilter.for_period("this_month", today=date(2026, 11, 20), owner_id=3)
    assert (named.start, named.end, named.owner_id) == (NOVEMBER.start, NOVEMBER.end, 3)
    with pytest.raises(Exception, match="must end after"):
        ReportFilter(None, None, None, NOVEMBER.end, NOVEMBER.start)


@pytest.mark.parametrize("name", ["all", "bob", "sales"])
def test_monthly_buckets_match_the_reference(data: Data, name: str) -> None:
    f = FILTERS[name](data)
    rows = Rows()
    deals = rows.matching(f)
    result = reports.monthly(f)
    assert [m.month for m in result] == month_list(date(2026, 11, 1), 12)
    for month in result:
        def inside(moment: datetime | None, m: date = month.month) -> bool:
            return moment is not None and (moment.year, moment.month) == (m.year, m.month)

        created = [d for d in deals if inside(d.created_at)]
        won = [d for d in deals if rows.kind(d) == "won" and inside(d.closed_at)]
        lost = [d for d in deals if rows.kind(d) == "lost" and inside(d.closed_at)]
        assert (month.created_count, month.created_value) == (len(created), by_currency(created))
        assert (month.won_count, month.won_value, month.lost_count, month.lost_value) == (
            len(won), by_currency(won), len(lost), by_currency(lost),
        )  # fmt: skip
    by_month = {m.month: m for m in reports.monthly(NOVEMBER, months=4)}
    assert list(by_month) == [date(2026, 8, 1), date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)]
    assert by_month[date(2026, 10, 1)].won_value == {"USD": 50_000}
    assert by_month[date(2026, 10, 1)].lost_count == 0  # reopened since
    assert by_month[date(2026, 11, 1)].created_count == 6


@pytest.mark.parametrize("name", ["all", "bob", "tag", "partners"])
def test_by_stage_and_shares_match_the_reference(data: Data, name: str) -> None:
    f = FILTERS[name](data)
    rows = Rows()
    opened = [d for d in rows.matching(f) if rows.kind(d) == "open"]
    stages = reports.by_stage(f)
    expected_ids = [
        s.id
        for p in board.list_pipelines()
        if f.pipeline_id in (None, p.id)
        for s in p.stages
        if s.kind == "open"
    ]
    assert [s.stage_id for s in stages] == expected_ids
    for row in stages:
        here = [d for d in opened if d.stage_id == row.stage_id]
        assert (row.count, row.value, row.weighted) == (len(here), by_currency(here), weighted(rows, here))
    total = by_currency(opened)
    for by, key in (("stage", lambda d: [d.stage_id]), ("source", lambda d: [d.source]),
                    ("tag", lambda d: sorted(rows.tags[d.id]) or [None])):  # fmt: skip
        groups: dict[object, list[Deal]] = defaultdict(list)
        for d in opened:
            for k in key(d):
                groups[k].append(d)
        result = {row.key: row for row in reports.share(f, by)}
        assert set(result) == set(groups)
        for k, members in groups.items():
            value = by_currency(members)
            assert (result[k].count, result[k].value) == (len(members), value)
            assert result[k].share == {c: 100 * v / total[c] for c, v in value.items() if total[c]}


def test_shares_by_hand(data: Data) -> None:
    tags = {row.label: row for row in reports.share(NOVEMBER, "tag")}
    assert tags["Enterprise"].value == {"EUR": 12_345, "USD": 33_333}
    assert tags["(no tag)"].count == 3
    assert tags["Enterprise"].share["USD"] == pytest.approx(100 * 33_333 / 140_332)
    sources = [row.label for row in reports.share(NOVEMBER, "source")]
    assert sources == ["(no source)", "referral", "web"]  # 3 deals, then 1 each by name
    with pytest.raises(Exception, match="cannot group"):
        reports.share(NOVEMBER, "owner")


@pytest.mark.parametrize("name", ["year", "all", "bob", "october"])
def test_funnel_matches_the_reference(data: Data, name: str) -> None:
    f = FILTERS[name](data)
    steps = reports.funnel(data.sales, f)
    reached = ref_funnel(Rows(), data.sales, f)
    assert [s.reached for s in steps] == reached
    for i, step in enumerate(steps):
        following = reached[i + 1] if i + 1 < len(reached) else None
        assert step.conversion == (100 * following / reached[i] if following is not None and reached[i] else None)


def test_funnel_by_hand(data: Data) -> None:
    steps = reports.funnel(data.sales, YEAR)
    assert [s.name for s in steps][-1] == "Closed Won"
    # won_nov, won_oct, won_eur reach every step; lost_nov reached Negotiation; reopened reached
    # Proposal Sent (once, though it went through Qualification twice); override Negotiation;
    # eur_open Proposal Sent; no_history (no rows) Writing Proposal; na Qualification.
    assert [s.reached for s in steps] == [9, 9, 8, 7, 5, 3, 3]
    assert steps[3].conversion == pytest.approx(100 * 5 / 7)
    assert steps[-1].conversion is None
    partners = reports.funnel(data.partners, YEAR)
    assert [(s.name, s.reached) for s in partners] == [("New", 1), ("Won", 0)]


@pytest.mark.parametrize("name", ["year", "all", "bob", "october"])
def test_stage_durations_match_the_reference(data: Data, name: str) -> None:
    f = FILTERS[name](data)
    spells = ref_spells(Rows(), data.sales, f, NOW)
    for row in reports.stage_durations(data.sales, f):
        seconds = [s for s, _ in spells.get(row.stage_id, [])]
        assert row.spells == len(seconds)
        assert row.ongoing == sum(ongoing for _, ongoing in spells.get(row.stage_id, []))
        assert row.average_days == (sum(seconds) / len(seconds) / DAY if seconds else None)
        assert row.median_days == (statistics.median(seconds) / DAY if seconds else None)


def test_stage_durations_by_hand(data: Data) -> None:
    rows = {row.name: row for row in reports.stage_durations(data.sales, YEAR)}
    # Qualification: 21 d 4 h, 4 d 1 h, 5 d, 19 d, and the reopened deal's 17 d 30 min so far.
    qualification = rows["Qualification"]
    assert (qualification.spells, qualification.ongoing) == (5, 1)
    assert qualification.median_days == pytest.approx(17 + 0.5 / 24)
    assert qualification.average_days == pytest.approx((21 + 4 / 24 + 4 + 1 / 24 + 5 + 19 + 17 + 0.5 / 24) / 5)
    # Negotiation: 4 d 5 h and 11 d 19 h 30 min (still there): the median of two is their mean.
    assert rows["Negotiation"].median_days == pytest.approx((16 + 0.5 / 24) / 2)
    # Writing Proposal: only the deal without history, since it was created (stage_entered_at).
    assert (rows["Writing Proposal"].spells, rows["Writing Proposal"].ongoing) == (1, 1)
    assert rows["Writing Proposal"].average_days == pytest.approx(4 + 21.5 / 24)
    assert rows["Unqualified"].average_days == pytest.approx(23 + 8 / 24)


def test_stuck_deals(data: Data) -> None:
    rows = Rows()
    found = reports.stuck(data.sales, per_stage=1)
    assert list(found) == [s.id for s in board.list_pipelines()[0].stages if s.kind == "open"]
    for stage_id, items in found.items():
        here = sorted((d for d in rows.deals if d.stage_id == stage_id), key=lambda d: (d.stage_entered_at, d.id))[:1]
        assert [(i.id, i.days, i.entered_at) for i in items] == [
            (d.id, int((NOW - d.stage_entered_at).total_seconds()) // DAY, d.stage_entered_at) for d in here
        ]
    assert [i.title for i in found[stage_named("Qualification")]] == ["Reopened"]
    bob = ReportFilter(None, data.bob, None, NOVEMBER.start, NOVEMBER.end)
    assert sum(len(v) for v in reports.stuck(data.sales, f=bob).values()) == 1


def test_forecast(data: Data) -> None:
    buckets = reports.forecast(NOVEMBER, today=NOW.date())
    assert [b.key for b in buckets] == [
        "overdue", "2026-11", "2026-12", "2027-01", "2027-02", "2027-03", "2027-04", "later", "undated",
    ]  # fmt: skip
    found = {b.key: (b.count, b.value, b.weighted) for b in buckets if b.count}
    assert found == {
        "overdue": (1, {"EUR": 12_345}, {"EUR": 6172}),
        "2026-12": (1, {"USD": 33_333}, {"USD": 10_999}),
        "2027-01": (1, {"USD": 7_000}, {"USD": 700}),
        "later": (1, {"USD": 99_999}, {"USD": 39_999}),
        "undated": (1, {"EUR": 80_000}, {"EUR": 16_000}),
    }
    assert buckets[2].month == date(2026, 12, 1) and buckets[0].month is None
    rows = Rows()
    opened = [d for d in rows.deals if rows.kind(d) == "open"]
    assert sum(b.count for b in buckets) == len(opened)
    bob = reports.forecast(ReportFilter(None, data.bob, None, NOVEMBER.start, NOVEMBER.end), today=NOW.date())
    assert [(b.key, b.count) for b in bob if b.count] == [("2026-12", 1)]


def test_activity_feed(data: Data) -> None:
    feed = reports.activity_feed()
    kinds = [(item.kind, item.text) for item in feed]
    assert kinds[:3] == [
        ("note", "note on Override: Asked for a discount"),
        ("task_done", "completed done"),
        ("closed", "closed N/A as N/A"),  # recorded after the others, though dated August
    ]
    assert ("won", "won Won EUR") in kinds
    assert ("reopened", "reopened Reopened in Qualification") in kinds
    assert ("lost", "lost Lost Nov") in kinds
    assert ("moved", "moved Won Nov: Qualification → Proposal Sent") in kinds
    assert ("created", "created deal Partner") in kinds
    assert [item.event_id for item in feed] == sorted((item.event_id for item in feed), reverse=True)
    assert all(item.who == "Alice" for item in feed)
    assert len(reports.activity_feed(limit=5)) == 5
    assert reports.activity_feed(user_id=data.bob) == []
    note = feed[0]
    assert (note.entity, note.record_id, note.at) == ("deal", data.deal["override"], datetime(2026, 11, 19, 9))


def test_my_tasks(data: Data) -> None:
    mine = reports.my_tasks(data.alice, now=NOW)
    assert [t.title for t in mine.overdue] == ["overdue"]
    assert [t.title for t in mine.today] == ["today"]
    assert [(t.title, t.deal_title) for t in mine.upcoming] == [("upcoming", "EUR open")]
    assert (mine.overdue_count, mine.today_count, mine.upcoming_count) == (1, 1, 1)
    assert mine.overdue[0].due_at == datetime(2026, 11, 19, 10) and mine.overdue[0].deal_id == data.deal["override"]
    # The user's day ends earlier (a time zone east of UTC): the afternoon task is tomorrow's.
    early = reports.my_tasks(data.alice, now=NOW, day_end=datetime(2026, 11, 20, 12))
    assert (early.today_count, early.upcoming_count) == (0, 2)
    limited = reports.my_tasks(data.alice, now=NOW, day_end=datetime(2026, 11, 20, 12), limit=1)
    assert (len(limited.upcoming), limited.upcoming_count) == (1, 2)
    assert reports.my_tasks(data.bob, now=NOW).overdue_count == 1
    assert Task.select().where(Task.assignee == data.alice).count() == 6


def test_dashboard_reads_everything(data: Data) -> None:
    view = reports.dashboard(NOVEMBER, user_id=data.alice, now=NOW)
    assert view.pipeline_id == data.sales
    assert view.cards == reports.stat_cards(NOVEMBER, now=NOW)
    assert len(view.months) == 12 and len(view.funnel) == 7 and view.tasks is not None


def test_an_empty_workspace_gives_empty_reports(workspace: Workspace) -> None:
    clock.freeze(NOW)
    sales = board.list_pipelines()[0].id
    cards = reports.stat_cards(NOVEMBER)
    assert cards == reports.StatCards()
    assert cards.win_rate_count is None and cards.cycle_days is None and cards.weighted_value == {}
    changes = reports.card_changes(NOVEMBER)
    assert changes.won_count == Change(None) and changes.won_value == {}
    assert all(m.created_count == 0 and m.won_value == {} for m in reports.monthly(NOVEMBER))
    assert all(s.count == 0 and s.value == {} for s in reports.by_stage(NOVEMBER))
    assert reports.share(NOVEMBER, "tag") == [] and reports.share(NOVEMBER, "stage") == []
    assert all(s.reached == 0 and s.conversion is None for s in reports.funnel(sales, YEAR))
    assert all(d.average_days is None and d.median_days is None for d in reports.stage_durations(sales, YEAR))
    assert all(v == [] for v in reports.stuck(sales).values())
    assert all(b.count == 0 for b in reports.forecast(NOVEMBER))
    assert reports.activity_feed() == []
    assert reports.my_tasks(workspace.ctx.user_id) == reports.MyTasks()
    assert reports.dashboard(NOVEMBER, user_id=workspace.ctx.user_id).funnel[0].reached == 0


def test_crm_report_prints_the_dashboard_numbers(sqlite_workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    import csv as csv_module
    import io
    import json as json_module

    from crm_tui.cli import main

    ctx = sqlite_workspace.ctx
    make_deal(ctx, "Big", amount=1_000_000)
    make_deal(ctx, "Small", amount=250_050, probability=50)
    where = str(sqlite_workspace.target.path)
    assert main(["--db", where, "report", "pipeline", "--json"]) == 0
    rows = json_module.loads(capsys.readouterr().out)
    expected = reports.by_stage(reports.ReportFilter.for_period("this_month"))
    assert [(r["stage"], r["deals"]) for r in rows] == [(s.name, s.count) for s in expected if s.count]
    qualification = next(r for r in rows if r["deals"])
    assert qualification["value"] == "12500.50" and qualification["currency"] == "USD"
    assert main(["--db", where, "report", "won", "--csv", "--period", "last_month"]) == 0
    table = list(csv_module.reader(io.StringIO(capsys.readouterr().out)))
    assert table[0][:3] == ["currency", "won_deals", "won_value"]
    assert main(["--db", where, "report", "forecast"]) == 0
    assert "weighted" in capsys.readouterr().out
    assert main(["--db", where, "report", "pipeline", "--pipeline", "Nope"]) == 2
    assert "there is no pipeline 'Nope'" in capsys.readouterr().err
