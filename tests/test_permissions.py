"""Roles and field limits, enforced in the services: whatever writes (a form, the board, bulk
actions, imports, automations, the CLI) and whatever shows fields (forms, lists, exports, timelines,
import targets) obeys the acting user's role. On both back ends."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from crm_tui.config import Settings
from crm_tui.models import Deal, Event, FieldAccess, User
from crm_tui.services import (
    bulk,
    custom_field_admin,
    deals,
    export,
    import_columns,
    list_fields,
    permissions,
    pipelines,
    record_form,
    records,
    timeline,
    user_admin,
)
from crm_tui.services.context import Context
from crm_tui.services.errors import ServiceError
from crm_tui.services.export import ExportRequest
from crm_tui.services.permissions import PermissionDenied
from crm_tui.services.workspace import Workspace, open_workspace
from tests.helpers import make_deal, stage_named


def _user(admin: Context, login: str, role: str = "member", team: str | None = None) -> Context:
    row = user_admin.add(admin, login, role=role, team=team)
    return Context(row.id, row.login)


@pytest.fixture
def team(workspace: Workspace) -> dict[str, Context]:
    admin = workspace.ctx
    return {
        "admin": admin,
        "mia": _user(admin, "mia"),
        "max": _user(admin, "max"),
        "otto": _user(admin, "otto", "manager", team="north"),
        "nina": _user(admin, "nina", team="north"),
        "sam": _user(admin, "sam", team="south"),
        "boss": _user(admin, "boss", "manager"),
    }


def _amount(deal_id: int) -> int:
    return Deal.get_by_id(deal_id).amount


def test_a_member_edits_their_own_and_unassigned_records_and_only_reads_the_rest(team: dict[str, Context]) -> None:
    mine = make_deal(team["admin"], "Mine", owner_id=team["mia"].user_id)
    free = make_deal(team["admin"], "Nobody's")
    theirs = make_deal(team["admin"], "Max's", owner_id=team["max"].user_id)
    mia = team["mia"]

    records.update(mia, "deal", mine.id, {"amount": 100}, version=mine.version)
    records.update(mia, "deal", free.id, {"amount": 200}, version=free.version)
    with pytest.raises(PermissionDenied, match="belongs to someone else"):
        records.update(mia, "deal", theirs.id, {"amount": 300}, version=theirs.version)
    with pytest.raises(PermissionDenied):
        deals.move_deal(mia, theirs.id, stage_named("Proposal Sent"), from_stage_id=theirs["stage_id"])
    with pytest.raises(PermissionDenied):
        records.delete(mia, "deal", theirs.id, version=theirs.version)
    with pytest.raises(PermissionDenied):  # a bulk action is all or nothing
        bulk.set_owner(mia, "deal", [free.id, theirs.id], mia.user_id)
    with pytest.raises(PermissionDenied):  # taking someone's record is changing it
        records.update(mia, "deal", theirs.id, {"owner_id": mia.user_id}, version=theirs.version)

    assert (_amount(mine.id), _amount(free.id), _amount(theirs.id)) == (100, 200, theirs["amount"])
    assert Deal.get_by_id(theirs.id).stage_id == theirs["stage_id"] and Deal.get_by_id(free.id).owner_id is None
    # Giving one's own record away is allowed; afterwards it is read-only to its former owner.
    records.update(mia, "deal", mine.id, {"owner_id": team["max"].user_id}, version=records.get("deal", mine.id).version)
    with pytest.raises(PermissionDenied):
        records.update(mia, "deal", mine.id, {"amount": 1}, version=records.get("deal", mine.id).version)
    refused = Event.select().where(Event.user == mia.user_id, Event.entity == "deal", Event.record_id == theirs.id).count()
    assert refused == 0  # nothing the refusals tried reached the log


def test_a_manager_edits_their_team_and_one_without_a_team_edits_everyone(team: dict[str, Context]) -> None:
    nina_s = make_deal(team["admin"], "Nina's", owner_id=team["nina"].user_id)
    sam_s = make_deal(team["admin"], "Sam's", owner_id=team["sam"].user_id)
    records.update(team["otto"], "deal", nina_s.id, {"amount": 5}, version=nina_s.version)
    with pytest.raises(PermissionDenied):
        records.update(team["otto"], "deal", sam_s.id, {"amount": 5}, version=sam_s.version)
    records.update(team["boss"], "deal", sam_s.id, {"amount": 7}, version=sam_s.version)
    assert (_amount(nina_s.id), _amount(sam_s.id)) == (5, 7)


def test_only_an_admin_changes_settings_and_users(team: dict[str, Context]) -> None:
    for ctx in (team["mia"], team["otto"]):
        with pytest.raises(PermissionDenied, match="only an admin"):
            pipelines.add_pipeline(ctx, "Side deals")
        with pytest.raises(PermissionDenied):
            custom_field_admin.add_field(ctx, "deal", "Margin", "currency")
        with pytest.raises(PermissionDenied):
            user_admin.change(ctx, "max", role="admin")
        with pytest.raises(PermissionDenied):
            user_admin.set_limit(ctx, "deal", "cost", "member", "hidden")
        with pytest.raises(PermissionDenied):
            user_admin.set_policy(ctx, join="closed")
    assert User.get(User.login == "max").role == "member" and FieldAccess.select().count() == 0
    assert user_admin.policy().join == "open"
    with pytest.raises(ServiceError, match="only admin"):
        user_admin.change(team["admin"], team["admin"].login, role="member")  # the last admin stays one


def test_a_hidden_field_is_absent_from_forms_lists_exports_imports_and_timelines(team: dict[str, Context]) -> None:
    admin, mia = team["admin"], team["mia"]
    custom_field_admin.add_field(admin, "deal", "Margin", "currency")
    deal = make_deal(admin, "Secret margins", owner_id=mia.user_id, cost=40_000, custom={"margin": 9_900})
    records.update(admin, "deal", deal.id, {"cost": 41_000}, version=deal.version)
    user_admin.set_limit(admin, "deal", "cost", "member", "hidden")
    user_admin.set_limit(admin, "deal", "custom.margin", "member", "hidden")
    user_admin.set_limit(admin, "deal", "probability", "member", "read")

    def outlets() -> dict[str, object]:
        form = record_form.read_form("deal", deal.id)
        out = io.StringIO()
        export.write_export(ExportRequest("deal", "json", None, "all", mia.user_id), out)
        return {
            "form": {f.key: f.editor for f in form.fields},
            "columns": [c.key for c in list_fields.entity_list("deal").columns],
            "export": json.loads(out.getvalue())[0],
            "targets": [t.key for t in import_columns.targets("deal")],
            "timeline": " ".join(item.text for item in timeline.timeline("deal", deal.id)),
        }

    with permissions.acting(admin.user_id):
        seen = outlets()
    assert "cost" in seen["form"] and "custom.margin" in seen["columns"] and seen["export"]["custom.margin"] == 99.0
    assert "cost: $400 → $410" in seen["timeline"]  # money as money, not minor units
    with permissions.acting(mia.user_id):
        seen = outlets()
    assert "cost" not in seen["form"] and "custom.margin" not in seen["form"]
    assert seen["form"]["probability"] == "readonly" and seen["form"]["amount"] == "money"
    assert "custom.margin" not in seen["columns"] and "probability" in seen["columns"]
    assert "cost" not in seen["export"] and "custom.margin" not in seen["export"] and seen["export"]["title"] == "Secret margins"
    assert not {"cost", "custom.margin", "probability"} & set(seen["targets"]) and "amount" in seen["targets"]
    assert "cost" not in seen["timeline"] and "$410" not in seen["timeline"]
    # Writing what one cannot see or change is refused, whichever way it comes.
    current = records.get("deal", deal.id)
    for change in ({"cost": 1}, {"probability": 50}, {"custom": {"margin": 1}}):
        with pytest.raises(PermissionDenied, match="cannot change"):
            records.update(mia, "deal", deal.id, change, version=current.version)
    with pytest.raises(PermissionDenied):
        records.create(mia, "deal", {"title": "New", "stage_id": stage_named("Qualification"), "cost": 5})
    # A `crm` command filters for the user it signed in (open_workspace sets the process's user).
    permissions.set_process_user(mia.user_id)
    try:
        assert "custom.margin" not in [c.key for c in list_fields.entity_list("deal").columns]
    finally:
        permissions.set_process_user(admin.user_id)
    assert "custom.margin" in [c.key for c in list_fields.entity_list("deal").columns]
    records.update(mia, "deal", deal.id, {"amount": 123}, version=current.version)  # the rest stays editable
    stored = Deal.get_by_id(deal.id)
    assert (stored.cost, stored.probability, stored.amount) == (41_000, None, 123)


def test_fields_that_name_or_total_a_record_cannot_be_hidden(team: dict[str, Context]) -> None:
    with pytest.raises(ServiceError, match="cannot be hidden"):
        user_admin.set_limit(team["admin"], "deal", "amount", "member", "hidden")
    user_admin.set_limit(team["admin"], "deal", "owner", "member", "read")  # read-only is fine
    assert user_admin.limits()[0].field == "owner_id"
    with pytest.raises(PermissionDenied):
        records.update(team["mia"], "deal", make_deal(team["admin"]).id, {"owner_id": team["mia"].user_id}, version=1)


def test_the_sign_in_policy(workspace: Workspace, team: dict[str, Context], monkeypatch: pytest.MonkeyPatch) -> None:
    target = workspace.target
    monkeypatch.setattr("crm_tui.services.users.os_login", lambda: "mia")
    assert open_workspace(target, Settings(), login="max").ctx.login == "max"  # switching is allowed at first
    assert open_workspace(target, Settings(), login="newbie").ctx.login == "newbie"  # and newcomers join
    user_admin.set_policy(team["admin"], allow_switch=False, join="closed")
    with pytest.raises(ServiceError, match="signs you in as your login 'mia'"):
        open_workspace(target, Settings(), login="max")
    monkeypatch.setenv("CRM_SERVED_USER", "max")  # what `crm serve` vouches for
    assert open_workspace(target, Settings(), login="max").ctx.login == "max"
    monkeypatch.delenv("CRM_SERVED_USER")
    monkeypatch.setattr("crm_tui.services.users.os_login", lambda: "stranger")
    with pytest.raises(ServiceError, match="not a user of this workspace"):
        open_workspace(target, Settings())
    user_admin.change(team["admin"], "mia", active=False)
    monkeypatch.setattr("crm_tui.services.users.os_login", lambda: "mia")
    with pytest.raises(ServiceError, match="deactivated"):
        open_workspace(target, Settings())


def test_a_served_session_reaches_no_files_on_the_server(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crm_tui.services.import_read import read_table

    source = tmp_path / "people.csv"
    source.write_text("first_name\nAnn\n", encoding="utf-8")
    assert read_table(source).rows  # readable from one's own command line
    monkeypatch.setenv("CRM_SERVED_USER", workspace.ctx.login)  # what `crm serve` sets for its sessions
    with pytest.raises(PermissionDenied, match="served session"):
        read_table(source)
    with pytest.raises(PermissionDenied, match="served session"):
        export.export_file(ExportRequest("deal", "csv"), tmp_path / "deals.csv")
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".csv") == ["people.csv"]


def test_an_automation_tells_each_reader_only_what_their_role_may_see(team: dict[str, Context]) -> None:
    from crm_tui.models import Note, Notification, Task
    from crm_tui.services.automation_engine import Engine
    from tests.test_automations import add_rule

    admin, mia = team["admin"], team["mia"]
    user_admin.set_limit(admin, "deal", "cost", "member", "hidden")
    add_rule(
        admin, {"type": "record_created", "entity": "deal"},
        {"type": "notify", "to": ["owner", f"user:{admin.login}"], "title": "{title}: cost {cost}"},
    )  # fmt: skip
    custom_field_admin.add_field(admin, "deal", "Profit", "formula", formula="amount - cost")
    add_rule(
        admin, {"type": "record_created", "entity": "deal"},
        {"type": "add_note", "body": "{title} costs {cost}, profit {custom.profit}"},
        {"type": "create_task", "title": "Check {title} at {cost}"},
        name="Shared texts",
    )  # fmt: skip
    deal = make_deal(admin, "Margins", owner_id=mia.user_id, cost=40_000)
    Engine(admin).tick()
    got = {n.user_id: n.title for n in Notification.select().where(Notification.title.startswith("Margins"))}
    assert got == {mia.user_id: "Margins: cost ", admin.user_id: "Margins: cost $400"}
    # A note or a task is read by everyone who reads the deal: it shows no field any role hides.
    assert [n.body for n in Note.select().where(Note.deal == deal.id)] == ["Margins costs , profit"]
    assert [t.title for t in Task.select().where(Task.deal == deal.id)] == ["Check Margins at"]


def test_a_limit_changed_while_a_thread_reads_the_old_ones_is_not_kept(
    team: dict[str, Context], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app's database thread may read a member's limits just before an admin changes them: what
    it read serves that one call, and the next call reads the new limits, not a copy kept for
    seconds. (The board's quick form once left the owner editable this way.)"""
    admin, mia = team["admin"], team["mia"]
    real_load = permissions.load

    def overtaken(user_id: int) -> permissions.Access:
        found = real_load(user_id)
        if user_id == mia.user_id:  # she got the old limits; the admin's change lands now
            monkeypatch.setattr(permissions, "load", real_load)
            user_admin.set_limit(admin, "deal", "owner_id", "member", "read")
        return found

    permissions.forget()
    monkeypatch.setattr(permissions, "load", overtaken)
    assert "owner_id" not in permissions.access_of(mia.user_id).read_only("deal")
    assert "owner_id" in permissions.access_of(mia.user_id).read_only("deal")


def test_a_formula_or_lookup_that_reads_a_hidden_field_is_hidden_with_it(team: dict[str, Context]) -> None:
    """`amount - cost` would tell a member the cost their role hides; a deal's lookup of a
    company's hidden field would show it on every deal. Both are hidden from that role, as is a
    formula over such a field, and a manager (no limits) still sees them all."""
    admin, mia, otto = team["admin"], team["mia"], team["otto"]
    custom_field_admin.add_field(admin, "company", "Credit line", "currency")
    custom_field_admin.add_field(admin, "deal", "Profit", "formula", formula="amount - cost")
    custom_field_admin.add_field(admin, "deal", "Double profit", "formula", formula="profit * 2")
    custom_field_admin.add_field(admin, "deal", "Account credit", "lookup", lookup_path=["company", "credit_line"])
    custom_field_admin.add_field(admin, "deal", "Weighted", "formula", formula="amount * 2")
    deal = make_deal(admin, "Margins", owner_id=mia.user_id, amount=100_000, cost=40_000)
    with permissions.acting(mia.user_id):
        before = [c.key for c in list_fields.entity_list("deal").columns]
    assert {"custom.profit", "custom.double_profit", "custom.account_credit"} <= set(before)
    user_admin.set_limit(admin, "deal", "cost", "member", "hidden")
    user_admin.set_limit(admin, "company", "custom.credit_line", "member", "hidden")
    hidden = {"custom.profit", "custom.double_profit", "custom.account_credit"}
    with permissions.acting(mia.user_id):
        columns = {c.key for c in list_fields.entity_list("deal").columns}
        form = {f.key for f in record_form.read_form("deal", deal.id).fields}
        out = io.StringIO()
        export.write_export(ExportRequest("deal", "json", None, "all", mia.user_id), out)
        exported = json.loads(out.getvalue())[0]
    assert not hidden & columns and "custom.weighted" in columns  # what reads only visible fields stays
    assert not hidden & form and "custom.weighted" in form
    assert not hidden & exported.keys() and exported["title"] == "Margins"
    with permissions.acting(otto.user_id):
        assert hidden <= {c.key for c in list_fields.entity_list("deal").columns}
    # A formula added later over the hidden field is hidden at once, not after the access is re-read.
    custom_field_admin.add_field(admin, "deal", "Cost share", "formula", formula="cost / amount")
    with permissions.acting(mia.user_id):
        assert "custom.cost_share" not in {c.key for c in list_fields.entity_list("deal").columns}


def test_notes_and_tasks_belong_to_who_wrote_or_holds_them(team: dict[str, Context]) -> None:
    """A member changes or deletes their own notes and tasks (and ones nobody holds) and only reads
    the rest; a manager also their team's. Anyone may add one to a record they can read."""
    from crm_tui.models import Note, Task
    from crm_tui.services import tasks

    admin, mia, max_, otto, nina, sam = (team[name] for name in ("admin", "mia", "max", "otto", "nina", "sam"))
    deal = make_deal(admin, "Shared account", owner_id=max_.user_id)

    def note(ctx: Context, body: str, author: int | None) -> int:
        return records.create(ctx, "note", {"body": body, "deal_id": deal.id, "author_id": author}).id

    def task(ctx: Context, title: str, assignee: int | None) -> int:
        return tasks.create_task(ctx, title, None, assignee, deal_id=deal.id).id

    def version(entity: str, record_id: int) -> int:
        return records.get(entity, record_id).version

    theirs, mine, rules = note(admin, "Admin's", admin.user_id), note(mia, "Mia's", mia.user_id), note(admin, "Rule's", None)
    with pytest.raises(PermissionDenied, match="someone else's"):
        records.update(mia, "note", theirs, {"body": "rewritten"}, version=version("note", theirs))
    with pytest.raises(PermissionDenied, match="someone else's"):
        records.delete(mia, "note", theirs, version=version("note", theirs))
    records.update(mia, "note", mine, {"body": "Mia's, edited"}, version=version("note", mine))
    records.update(mia, "note", rules, {"body": "Rule's, edited"}, version=version("note", rules))
    records.delete(mia, "note", mine, version=version("note", mine))
    assert Note.get_by_id(theirs).body == "Admin's" and not Note.select().where(Note.id == mine).exists()

    for_max, for_nina, for_sam = task(admin, "Max's", max_.user_id), task(admin, "Nina's", nina.user_id), task(admin, "Sam's", sam.user_id)
    given_by_mia, open_to_all = task(mia, "Mia asks Max", max_.user_id), task(admin, "Anyone", None)
    with pytest.raises(PermissionDenied, match="someone else's"):
        tasks.complete(mia, for_max, version=version("task", for_max))
    tasks.complete(max_, for_max, version=version("task", for_max))  # the assignee
    tasks.complete(mia, given_by_mia, version=version("task", given_by_mia))  # who gave it
    tasks.complete(mia, open_to_all, version=version("task", open_to_all))  # nobody's
    tasks.complete(otto, for_nina, version=version("task", for_nina))  # his team's
    with pytest.raises(PermissionDenied):
        tasks.complete(otto, for_sam, version=version("task", for_sam))  # another team's
    done = {t.title for t in Task.select().where(Task.done == True)}
    assert done == {"Max's", "Mia asks Max", "Anyone", "Nina's"}


def test_a_member_cannot_preview_rules_revert_others_imports_clean_up_tags_or_sign_for_others(
    team: dict[str, Context],
) -> None:
    """Each of these once let a member reach past their role: a rule's dry run filled {cost} from
    every deal; reverting an admin's import deleted the admin's records; merging tags re-tagged
    everyone's deals; a note imported with another author became that person's."""
    from crm_tui.models import Contact, Note, Tag
    from crm_tui.services import automation_log, automation_rules, import_batches, tag_admin
    from crm_tui.services.import_engine import ImportRequest, run_import
    from crm_tui.services.import_read import read_bytes

    admin, mia = team["admin"], team["mia"]
    deal = make_deal(admin, "Margins", owner_id=mia.user_id, cost=40_000)
    rule = automation_rules.parse({
        "name": "Probe", "enabled": True, "trigger": {"type": "record_created", "entity": "deal"},
        "conditions": [], "actions": [{"type": "add_note", "body": "cost {cost}"}],
    })  # fmt: skip
    with permissions.acting(mia.user_id), pytest.raises(PermissionDenied, match="only an admin can preview a rule"):
        automation_log.dry_run(rule)
    with permissions.acting(admin.user_id):
        assert "cost $400" in automation_log.dry_run(rule).hits[0].would[0]

    def run(ctx: Context, entity: str, data: bytes) -> int | None:
        table = read_bytes(data)
        request = ImportRequest(entity, dict(enumerate(import_columns.suggest(entity, table.header).values())), file_name="x.csv", mode="partial")
        with permissions.acting(ctx.user_id):
            return run_import(ctx, table, request).batch_id

    batch = run(admin, "contact", b"First name,Last name,Email\nAda,Lovelace,ada@example.com\n")
    with pytest.raises(PermissionDenied, match="only they or an admin"):
        import_batches.revert(mia, batch)
    assert Contact.get(Contact.email == "ada@example.com").deleted_at is None

    run(mia, "note", f"Body,Author,Deal\nSigned by admin?,{admin.login},Margins\nMine,{mia.login},Margins\n".encode())
    assert [(n.body, n.author_id) for n in Note.select().where(Note.deal == deal.id)] == [("Mine", mia.user_id)]
    with pytest.raises(PermissionDenied, match="own name"):
        records.create(mia, "note", {"body": "forged", "deal_id": deal.id, "author_id": admin.user_id})

    one, two = (records.create(admin, "tag", {"name": name}).id for name in ("Consulting", "Enterprise"))
    for attempt in (lambda: tag_admin.merge_tags(mia, one, two), lambda: tag_admin.rename(mia, one, "Mine"),
                    lambda: tag_admin.delete_unused(mia)):  # fmt: skip
        with pytest.raises(PermissionDenied, match="only an admin"):
            attempt()
    assert {t.name for t in Tag.select()} == {"Consulting", "Enterprise"}
