"""How a deal card reads: title; company and tags; amount and owner; close date, days in stage
(stale in the warning colour), confidence stars and overdue tasks (error colour). Everything is
built as Content from safe text, never parsed as markup."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from textual.content import Content

from crm_tui.money import format_money
from crm_tui.services.board import DealCard, StageInfo
from crm_tui.text import safe_text

CARD_LINES = 4


def short_date(day: date, now: datetime) -> str:
    """"Dec 14" this year, "Feb 6 '27" another year."""
    text = f"{day:%b} {day.day}"
    return text if day.year == now.year else f"{text} '{day:%y}"


def days_in_stage(card: DealCard, now: datetime) -> int:
    """Whole days since the deal entered its stage."""
    return max(0, (now - card.stage_entered_at).days)


def is_stale(card: DealCard, stage: StageInfo, now: datetime) -> bool:
    """The deal has sat in an open stage longer than the stage's rot_days (the same rule as the
    board's "stale only" filter)."""
    return bool(stage.rot_days) and not stage.is_closed and now - card.stage_entered_at > timedelta(days=stage.rot_days or 0)


def _signals(card: DealCard, stage: StageInfo, now: datetime) -> Content:
    parts: list[Content] = []
    if card.expected_close is not None:
        late = not stage.is_closed and card.expected_close < now.date()
        parts.append(Content.styled(short_date(card.expected_close, now), "$text-warning" if late else "$text-muted"))
    days = days_in_stage(card, now)
    if is_stale(card, stage, now):
        parts.append(Content.styled(f"{days}d stale", "bold $text-warning"))
    else:
        parts.append(Content.styled(f"{days}d", "$text-muted"))
    if card.confidence:
        parts.append(Content.styled("★" * card.confidence + "☆" * (5 - card.confidence), "$text-accent"))
    if card.overdue_tasks:
        parts.append(Content.styled(f"⚑{card.overdue_tasks} overdue", "bold $text-error"))
    return Content(" · ").join(parts)


def card_content(card: DealCard, stage: StageInfo, now: datetime) -> Content:
    """The four lines of one card."""
    title = Content.styled(safe_text(card.title), "bold")
    company = Content.styled(safe_text(card.company) or "No company", "$text-muted" if card.company else "$text-disabled")
    tags = [Content.styled(f" #{safe_text(tag)}", "$text-primary") for tag in card.tags]
    amount = Content.styled(format_money(card.amount, card.currency), "$text-success")
    owner = Content.styled(safe_text(card.owner) or "Unassigned", "$text-muted")
    return Content("\n").join(
        [title, Content.assemble(company, *tags), Content.assemble(amount, "  ", owner), _signals(card, stage, now)]
    )
