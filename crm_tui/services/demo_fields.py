"""The demo workspace's custom fields, so a newcomer sees each kind at work: a dropdown on
companies (filled in), and on deals a lookup of it, a lookup of the company's industry and a
formula. Values are written in bulk; the computed ones by the same code that keeps them true."""

from __future__ import annotations

import random

from crm_tui.models import Company, CustomValue
from crm_tui.services import records
from crm_tui.services.context import Context

TIERS = ("Gold", "Silver", "Bronze")


def add(ctx: Context, rng: random.Random) -> None:
    """Add the demo fields and fill them (inside the generator's transaction)."""
    tier = records.create(
        ctx, "custom_field",
        {"entity": "company", "key": "tier", "label": "Tier", "type": "dropdown", "options": list(TIERS)},
    )  # fmt: skip
    ids = [row[0] for row in Company.select(Company.id).order_by(Company.id).tuples()]
    rows = [(tier.id, company_id, rng.choices(TIERS, weights=(1, 3, 4))[0]) for company_id in ids]
    for start in range(0, len(rows), 1000):
        CustomValue.insert_many(
            rows[start : start + 1000], fields=[CustomValue.field, CustomValue.record_id, CustomValue.text]
        ).execute()
    for position, (key, label, kind, extra) in enumerate(
        [
            ("account_tier", "Account tier", "lookup", {"lookup_path": ["company", "tier"]}),
            ("industry", "Industry", "lookup", {"lookup_path": ["company", "industry"]}),
            ("days_open", "Days open", "formula", {"formula": "today() - created"}),
        ]
    ):
        data = {"entity": "deal", "key": key, "label": label, "type": kind, "position": position, **extra}
        records.create(ctx, "custom_field", data)
