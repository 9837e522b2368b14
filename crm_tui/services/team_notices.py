"""Telling teammates: a record given to someone (owner, assignee) and an `@login` in a note reach
that person's inbox, and so their open sessions as toasts. Nobody is told about their own acts."""

from __future__ import annotations

import re
from typing import Any

from crm_tui.models import User
from crm_tui.services import notifications
from crm_tui.services.unit import Txn

ASSIGNEES = ("owner_id", "assignee_id")
PARENTS = ("deal", "contact", "company", "lead")
"""What a note may be on, in the order its link is chosen (as the timeline does)."""
MENTION = re.compile(r"(?<![\w.@])@([A-Za-z0-9][A-Za-z0-9._-]*)")
AT_MOST = 20
"""Notices one transaction sends one person (an import of 5,000 deals is no 5,000 toasts)."""


def after_change(tx: Txn, entity: str, label: str, record_id: int, title: str, changes: dict[str, Any]) -> None:
    """Tell whoever a created or changed record was given to, and whoever its note mentions (not
    when an automation acts: a rule has its own "notify" action)."""
    if tx.by_rule:
        return
    me = tx.ctx.user_id
    for name in ASSIGNEES:
        user = changes.get(name)
        if user is not None and user != me:
            _send(tx, user, f"{label} given to you by {tx.ctx.login}: {title}", None, entity, record_id)
    body = changes.get("body")
    if entity == "note" and isinstance(body, str) and "@" in body:
        logins = set(MENTION.findall(body))
        parent = next(((name, changes[f"{name}_id"]) for name in PARENTS if changes.get(f"{name}_id")), ("note", record_id))
        if logins:
            found = User.select(User.id).where(User.login.in_(sorted(logins)), User.active == True)
            for (user,) in found.tuples():
                if user != me:
                    _send(tx, user, f"{tx.ctx.login} mentioned you", body[:300], *parent)


def _send(tx: Txn, user_id: int, title: str, body: str | None, entity: str, record_id: int) -> None:
    sent = tx.notices.get(user_id, 0)
    if sent < AT_MOST:
        tx.notices[user_id] = sent + 1
        notifications.send(tx.ctx, [user_id], title, body=body, entity=entity, record_id=record_id)
