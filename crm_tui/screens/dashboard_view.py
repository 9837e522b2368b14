"""How the dashboard's figures read: the cards' big numbers and foot lines, and the bars of each
chart, made from a reports.Dashboard. Pure functions, so they are tested without a screen."""

from __future__ import annotations

from datetime import datetime

from textual.content import Content

from crm_tui.money import exponent, format_money
from crm_tui.services.reports import CardChanges, Change, Dashboard, Money, StatCards
from crm_tui.widgets.charts import Bar, compact, scaled

CARDS = (
    ("open", "Open pipeline"), ("weighted", "Weighted pipeline"), ("won", "Won"), ("lost", "Lost"),
    ("win_rate", "Win rate"), ("avg_won", "Average deal won"), ("cycle", "Sales cycle (days)"),
    ("new", "New pipeline"), ("open_count", "Open deals"), ("overdue", "Overdue tasks"),
)  # fmt: skip
"""(id, title) of every stat card, in reading order."""


def major(minor: int, currency: str) -> float:
    """Minor units as major units (1250 USD cents -> 12.5)."""
    return minor / 10 ** exponent(currency)


def big_money(money: Money, currency: str) -> tuple[str, str]:
    """The card's big number in the workspace currency, and its scale: ("$412.3", "k")."""
    symbol = {"USD": "$", "GBP": "£", "EUR": "€"}.get(currency, "")
    number, word = scaled(major(money.get(currency, 0), currency))
    return f"{symbol}{number}", word


def other_currencies(money: Money, currency: str) -> str:
    """ "+ €1.2k EUR" for the figures in currencies other than the workspace's (never summed)."""
    rest = [f"{format_money(v, c, compact=True)}" for c, v in sorted(money.items()) if c != currency and v]
    return ("+ " + ", ".join(rest)) if rest else ""


def card_values(
    cards: StatCards, changes: CardChanges, currency: str
) -> dict[str, tuple[str, str, Content | str, Change | None, bool]]:
    """Card id -> (big number, its scale letter, foot, change, good when it goes up)."""

    def money(figure: Money, label: str, change: Change | None, good_up: bool = True) -> tuple:
        big, word = big_money(figure, currency)
        rest = other_currencies(figure, currency)
        return big, word, " · ".join(part for part in (label, rest) if part), change, good_up

    def count(n: int, label: str) -> tuple[str, str, str]:
        # Big digits fit six characters in a card at 80 columns: past that, 290k with the exact count below.
        if n < 100_000:
            return str(n), "", label
        return compact(n), "", f"{n:,} {label}"

    rate = cards.win_rate_count
    value_rate = cards.win_rate_value.get(currency)
    return {
        "open": money(cards.open_value, f"{cards.open_count:,} deals", None),
        "weighted": money(cards.weighted_value, "by probability", None),
        "won": money(cards.won_value, f"{cards.won_count:,} deals", changes.won_value.get(currency)),
        "lost": money(cards.lost_value, f"{cards.lost_count:,} deals", changes.lost_value.get(currency), False),
        "win_rate": (f"{rate:.0f}" if rate is not None else "-", "%",
                     f"count; by value {value_rate:.0f}%" if value_rate is not None else "by count", changes.win_rate_count, True),
        "avg_won": money(cards.avg_won, "per deal", changes.avg_won.get(currency)),
        "cycle": (f"{cards.cycle_days:.0f}" if cards.cycle_days is not None else "-", "days", "created to won",
                  changes.cycle_days, False),
        "new": money(cards.new_value, f"{cards.new_count:,} deals", changes.new_value.get(currency)),
        "open_count": (*count(cards.open_count, "open now"), None, True),
        "overdue": (*count(cards.overdue_tasks, "past due, not done"), None, False),
    }  # fmt: skip


def month_bars(board: Dashboard, currency: str, figure: str) -> list[Bar]:
    """One column per month: "created", "won" or "lost" value, or "count" of new deals; each opens
    that month's deals."""
    bars = []
    for month in board.months:
        label, key = month.month.strftime("%b"), month.month.strftime("%Y-%m")
        if figure == "count":
            bars.append(Bar(label, month.created_count, str(month.created_count), ("created", key)))
            continue
        minor = getattr(month, f"{figure}_value").get(currency, 0)
        value = major(minor, currency)
        bars.append(Bar(label, value, compact(value), (figure, key)))
    return bars


def stage_bars(board: Dashboard, currency: str) -> list[Bar]:
    """Open stages: bar = value, text = value and weighted value."""
    bars = []
    for stage in board.stages:
        value = major(stage.value.get(currency, 0), currency)
        weighted = major(stage.weighted.get(currency, 0), currency)
        bars.append(Bar(stage.name, value, f"{compact(value)} · weighted {compact(weighted)} · {stage.count}", ("stage", stage.stage_id)))
    return bars


def share_bars(board: Dashboard, currency: str) -> list[Bar]:
    """Each open stage's share of the open value, in percent (stages holding nothing left out)."""
    total = sum(stage.value.get(currency, 0) for stage in board.stages) or 1
    return [
        Bar(stage.name, 100 * value / total, f"{compact(major(value, currency))} · {stage.count:,} deals", ("stage", stage.stage_id))
        for stage in board.stages
        if (value := stage.value.get(currency, 0)) or stage.count
    ]


def group_share_bars(rows: list, currency: str, by: str, limit: int = 7) -> list[Bar]:
    """Share of the open value per tag or source. Sources split the pipeline, so the groups past
    `limit` are summed into one "other" bar and the shares add up to 100; tags overlap (a deal with
    two tags counts under both), so they are the `limit` largest alone, each with its percent."""
    if by == "source" and len(rows) == limit + 1:
        limit += 1  # one group alone is shown by name, not as "1 other"
    bars = []
    for row in rows[:limit]:
        share = row.share.get(currency, 0.0)
        text = f"{compact(major(row.value.get(currency, 0), currency))} · {row.count:,} deals"
        bars.append(Bar(row.label, share, f"{share:.0f}% · {text}" if by == "tag" else text, (by, row.key)))
    rest = rows[limit:]
    if rest and by == "source":
        share = sum(row.share.get(currency, 0.0) for row in rest)
        value = major(sum(row.value.get(currency, 0) for row in rest), currency)
        bars.append(Bar(f"{len(rest)} other", share, f"{compact(value)} · {sum(row.count for row in rest):,} deals"))
    return bars


def funnel_bars(board: Dashboard) -> list[Bar]:
    """How many deals reached each stage, and the share that went on to the next."""
    return [
        Bar(step.name, step.reached, f"{step.reached}" + (f" → {step.conversion:.0f}%" if step.conversion is not None else ""),
            ("stuck", step.stage_id) if step.kind == "open" else None)
        for step in board.funnel
    ]


def duration_bars(board: Dashboard) -> list[Bar]:
    """Average days in each stage (median beside it)."""
    return [
        Bar(d.name, d.average_days or 0, "—" if d.average_days is None else f"avg {d.average_days:.1f} d · median {d.median_days or 0:.1f} d",
            ("stuck", d.stage_id))
        for d in board.durations
    ]


def forecast_bars(board: Dashboard, currency: str) -> list[Bar]:
    """Weighted value of open deals by expected close month (overdue, next months, later, undated)."""
    names = {"overdue": "Past due", "later": "Later", "undated": "No date"}
    bars = []
    for bucket in board.forecast:
        label = names.get(bucket.key) or (bucket.month.strftime("%b %Y") if bucket.month else bucket.key)
        weighted = major(bucket.weighted.get(currency, 0), currency)
        bars.append(Bar(label, weighted, f"{compact(weighted)} · {bucket.count:,} deals", ("forecast", bucket.key)))
    return bars


def when(moment: datetime) -> str:
    """A short timestamp for feeds and task lists."""
    return f"{moment:%Y-%m-%d %H:%M}"
