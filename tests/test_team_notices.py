"""A record given to someone and an @mention in a note reach that person's inbox (and so their
open sessions as toasts); nobody is told of their own acts, and one import is no flood."""

from __future__ import annotations

from crm_tui.models import Notification
from crm_tui.services import bulk, notifications, records, user_admin
from crm_tui.services.context import Context
from crm_tui.services.team_notices import AT_MOST
from crm_tui.services.workspace import Workspace
from tests.helpers import make_deal


def _inbox(user_id: int) -> list[tuple[str, str | None, str | None, int | None]]:
    query = Notification.select().where(Notification.user == user_id).order_by(Notification.id)
    return [(n.title, n.body, n.entity, n.record_id) for n in query]


def test_assignments_and_mentions_notify_the_person(workspace: Workspace) -> None:
    admin = workspace.ctx
    mia = user_admin.add(admin, "mia", name="Mia Park")
    max_ = user_admin.add(admin, "max.b")
    deal = make_deal(admin, "Acme [/] renewal", owner_id=mia.id)
    records.update(admin, "deal", deal.id, {"owner_id": max_.id}, version=deal.version)
    records.create(admin, "task", {"title": "Call back", "assignee_id": mia.id, "deal_id": deal.id})
    body = "Ask @mia and @max.b about it; @nobody is not here, mail@mia.example neither"
    records.create(admin, "note", {"body": body, "deal_id": deal.id, "author_id": admin.user_id})

    assert _inbox(mia.id) == [
        (f"Deal given to you by {admin.login}: Acme [/] renewal", None, "deal", deal.id),
        (f"Task given to you by {admin.login}: Call back", None, "task", _inbox(mia.id)[1][3]),
        (f"{admin.login} mentioned you", body, "deal", deal.id),
    ]
    assert [title for title, *_ in _inbox(max_.id)] == [
        f"Deal given to you by {admin.login}: Acme [/] renewal", f"{admin.login} mentioned you"
    ]
    mine = Context(mia.id, mia.login)
    records.create(mine, "note", {"body": "note to self @mia", "deal_id": deal.id, "author_id": mia.id})
    assert len(_inbox(mia.id)) == 3 and notifications.unread_count(mia.id) == 3
    assert _inbox(admin.user_id) == []


def test_one_transaction_sends_one_person_a_bounded_number(workspace: Workspace) -> None:
    admin = workspace.ctx
    mia = user_admin.add(admin, "mia")
    ids = [make_deal(admin, f"Deal {n}").id for n in range(AT_MOST + 5)]
    assert bulk.set_owner(admin, "deal", ids, mia.id) == AT_MOST + 5
    assert len(_inbox(mia.id)) == AT_MOST
