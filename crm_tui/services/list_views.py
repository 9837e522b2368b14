"""The views a record list offers: built-in ones every workspace has, and saved ones (the user's
own and the shared ones), each a ListQuery plus how it is shown."""

from __future__ import annotations

from dataclasses import dataclass

from crm_tui.models import SavedView
from crm_tui.services import records
from crm_tui.services.context import Context
from crm_tui.services.errors import ServiceError
from crm_tui.services.list_fields import LABELS
from crm_tui.services.record_lists import Condition, ListQuery


@dataclass(frozen=True)
class ListView:
    """A named list: its query and display; `id` is None for a built-in view."""

    key: str
    name: str
    query: ListQuery
    display: str = "list"
    id: int | None = None
    version: int = 0
    shared: bool = False

    @property
    def builtin(self) -> bool:
        """Built-in views cannot be renamed or deleted."""
        return self.id is None


def _builtin(entity: str) -> list[ListView]:
    mine = Condition("owner", "is", "me")
    common = {
        "company": [
            ("mine", "My companies", (mine,)),
            (
                "new",
                "Added this month",
                (Condition("created_at", "within", "this_month"),),
            ),
        ],
        "contact": [
            ("mine", "My contacts", (mine,)),
            (
                "new",
                "Added this week",
                (Condition("created_at", "within", "this_week"),),
            ),
        ],
        "lead": [
            (
                "week",
                "Leads created this week",
                (Condition("created_at", "within", "this_week"),),
            ),
            ("new", "New leads", (Condition("status", "is", "new"),)),
            ("working", "Working leads", (Condition("status", "is", "working"),)),
            ("mine", "My leads", (mine,)),
        ],
        "deal": [
            ("mine_open", "My open deals", (mine, Condition("status", "is", "open"))),
            (
                "closing",
                "Deals closing this month",
                (
                    Condition("expected_close", "within", "this_month"),
                    Condition("status", "is", "open"),
                ),
            ),
            ("open", "Open deals", (Condition("status", "is", "open"),)),
            ("won", "Won deals", (Condition("status", "is", "won"),)),
        ],
    }[entity]
    plural = LABELS[entity][1].lower()
    views = [ListView("all", f"All {plural}", ListQuery(entity))]
    views += [ListView(key, name, ListQuery(entity, conditions=conditions)) for key, name, conditions in common]
    return views


def views(entity: str, user_id: int | None) -> list[ListView]:
    """The built-in views, then the saved list views the user may use (own and shared)."""
    query = (
        SavedView.select()
        .where(
            SavedView.entity == entity,
            (SavedView.owner == user_id) | SavedView.owner.is_null(),
        )
        .order_by(SavedView.position, SavedView.name)
    )
    saved = [
        ListView(
            f"saved:{row.id}",
            row.name,
            ListQuery.from_view(entity, row.filters or {}, row.sort or []),
            row.display,
            row.id,
            row.version,
            row.owner_id is None,
        )
        for row in query
        if (row.filters or {}).get("kind") == "list"  # deal views saved from the board filter differently
    ]
    return _builtin(entity) + saved


def save_view(
    ctx: Context,
    name: str,
    query: ListQuery,
    *,
    display: str = "list",
    shared: bool = False,
) -> ListView:
    """Save the list's filters and sort under `name` (replacing the user's view of that name)."""
    sort = [[query.sort, "desc" if query.descending else "asc"]] if query.sort else []
    data = {"entity": query.entity, "name": name, "filters": query.to_json(), "sort": sort, "display": display,
            "owner_id": None if shared else ctx.user_id}  # fmt: skip
    owner = SavedView.owner.is_null() if shared else SavedView.owner == ctx.user_id
    existing = SavedView.get_or_none(SavedView.entity == query.entity, SavedView.name == name.strip(), owner)
    if existing is not None:
        snap = records.update(ctx, "saved_view", existing.id, data, version=existing.version)
    else:
        snap = records.create(ctx, "saved_view", data)
    return ListView(f"saved:{snap.id}", snap["name"], query, display, snap.id, snap.version, shared)


def delete_view(ctx: Context, view: ListView) -> None:
    """Delete a saved view (built-in ones cannot be)."""
    if view.id is None:
        raise ServiceError(f"{view.name!r} is built in and cannot be deleted")
    records.delete(ctx, "saved_view", view.id, version=view.version)
