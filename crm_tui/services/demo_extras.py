"""What the demo workspace gets after the bulk rows, done through the services like a user would.

The generator in `demo` inserts its rows directly; these extras go through `records` and
`automation_rules` instead: a few records typed twice (for "Find duplicates"), the built-in
rules the demo switches on, and one field limit (deal costs hidden from members).
"""

from __future__ import annotations

import random

from crm_tui.models import Company, Contact
from crm_tui.services import permissions, records, user_admin
from crm_tui.services.context import Context

DEMO_RULES = ("Follow up when a proposal is sent", "Tell the owner and managers when a deal is won", "Kickoff tasks when a deal is won")
"""Built-in rules the demo switches on: moving a deal shows what automations do."""


def add(ctx: Context, rng: random.Random) -> None:
    """Plant the duplicates (drawn from `rng`), switch the demo rules on and keep deal costs from
    members (`crm --user ben demo` shows a member's view), inside the caller's transaction."""
    _plant_duplicates(ctx, rng)
    _switch_on_rules(ctx)
    if permissions.load(ctx.user_id).admin:
        user_admin.set_limit(ctx, "deal", "cost", "member", "hidden")


def _plant_duplicates(ctx: Context, rng: random.Random) -> None:
    """A few records typed twice, as every real CRM has: "Find duplicates" shows them to a newcomer."""
    people = list(
        Contact.select(Contact.first_name, Contact.last_name, Contact.email, Contact.company, Contact.owner)
        .where(Contact.company.is_null(False), Contact.email.is_null(False))
        .order_by(Contact.id)
        .limit(200)
        .tuples()
    )
    for number, (first, last, email, company_id, owner_id) in enumerate(rng.sample(people, min(4, len(people)))):
        typo = last[:-2] + last[-1] + last[-2] if len(last) > 3 else last  # two letters swapped
        again = email if number == 0 else email.replace("@", "1@")  # the same address, or another
        records.create(ctx, "contact", {"first_name": first, "last_name": typo, "email": again, "company_id": company_id,
                                        "owner_id": owner_id})  # fmt: skip
    companies = list(Company.select(Company.name).where(Company.name.endswith(" GmbH")).order_by(Company.id).limit(50).tuples())
    for (name,) in rng.sample(companies, min(2, len(companies))):
        records.create(ctx, "company", {"name": name.upper()})


def _switch_on_rules(ctx: Context) -> None:
    from crm_tui.services import automation_rules  # the demo is the only generator that needs them

    for row in automation_rules.list_rules():
        if row.name in DEMO_RULES and not row.enabled:
            automation_rules.set_enabled(ctx, row.id, True, version=row.version)
