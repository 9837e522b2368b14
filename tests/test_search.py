"""Record search: the index follows every write through the services, on both back ends; ranking,
prefixes, accents and hostile input; the v5 migration; the command palette."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from textual.pilot import Pilot

from crm_tui.app import CrmApp
from crm_tui.cli import main
from crm_tui.models import Deal, StageChange, WorkspaceSetting, database
from crm_tui.services import deals, demo, records, schema, search_index
from crm_tui.services.context import Context
from crm_tui.services.migrations import CURRENT_VERSION
from crm_tui.services.search import SearchHit, excerpt_of, search
from crm_tui.services.workspace import Workspace
from tests.board_fixtures import HOSTILE, settle
from tests.helpers import make_deal, stage_named

SIZE = (120, 35)


def found(query: str) -> list[tuple[str, int]]:
    """What `query` opens, best first."""
    return [hit.opens for hit in search(query)]


def check_fts() -> None:
    """On SQLite, the FTS5 index agrees with search_doc (the triggers kept it in step)."""
    if not search_index.is_postgres():
        database.execute_sql("INSERT INTO search_fts(search_fts, rank) VALUES ('integrity-check', 1)")


def docs() -> list[tuple]:
    """Every document, without its row id."""
    sql = "SELECT entity, record_id, target_entity, target_id, title, detail, body FROM search_doc ORDER BY 1, 2"
    return [tuple(row) for row in database.execute_sql(sql).fetchall()]


def acme_and_jane(ctx: Context) -> tuple[int, int]:
    acme = records.create(ctx, "company", {"name": "Acme Corp", "domain": "acme.com", "phone": "+1 555 123 4567"}).id
    jane = records.create(
        ctx, "contact", {"first_name": "Jane", "last_name": "Doe", "email": "jane@acme.com", "company_id": acme}
    ).id
    return acme, jane


def test_records_are_found_as_they_are_created_changed_deleted_and_restored(workspace: Workspace) -> None:
    ctx = workspace.ctx
    acme, jane = acme_and_jane(ctx)
    lead = records.create(ctx, "lead", {"first_name": "Lena", "last_name": "Park", "company_name": "Initech"}).id

    assert found("jan do") == [("contact", jane)]  # prefixes of each word, as you type
    assert found("JANE") == found("jane") == [("contact", jane)]
    assert found("jane@acme") == [("contact", jane)]  # e-mail, in its parts
    assert found("555 123") == [("company", acme)]  # phone
    assert found("initech") == [("lead", lead)]
    assert search("jane")[0] == SearchHit("contact", jane, "Jane Doe", "Contact · jane@acme.com · Acme Corp")

    records.update(ctx, "contact", jane, {"last_name": "Smith"}, version=1)
    assert found("jane doe") == []
    assert found("jane smi") == [("contact", jane)]

    records.delete(ctx, "contact", jane, version=2)
    assert found("jane") == []
    records.restore(ctx, "contact", jane)
    assert found("jane") == [("contact", jane)]
    records.delete(ctx, "lead", lead, version=1)
    assert found("lena") == []
    check_fts()


def test_a_company_rename_reaches_its_contacts_and_deals(workspace: Workspace) -> None:
    ctx = workspace.ctx
    acme, jane = acme_and_jane(ctx)
    deal = make_deal(ctx, "Renewal", company_id=acme, contact_id=jane).id
    assert search("renewal")[0].detail == "Deal · Acme Corp · Jane Doe"

    records.update(ctx, "company", acme, {"name": "Globex"}, version=1)

    assert set(found("globex")) == {("company", acme), ("contact", jane), ("deal", deal)}
    assert found("acme corp") == []
    assert search("renewal")[0].detail == "Deal · Globex · Jane Doe"
    records.delete(ctx, "company", acme, version=2)  # a deleted company leaves their detail lines
    assert found("globex") == []
    assert search("renewal")[0].detail == "Deal · Jane Doe"
    check_fts()


def test_a_note_is_found_by_its_text_and_opens_its_record(workspace: Workspace) -> None:
    ctx = workspace.ctx
    acme, jane = acme_and_jane(ctx)
    deal = make_deal(ctx, "Renewal", company_id=acme).id
    on_deal = records.create(
        ctx, "note", {"body": "Budget approved for the phased rollout", "deal_id": deal, "contact_id": jane}
    )
    records.create(ctx, "note", {"body": "Prefers calls after lunch", "company_id": acme})

    [hit] = search("phased roll")
    assert (hit.entity, hit.record_id, hit.opens) == ("note", on_deal.id, ("deal", deal))  # deal before contact
    assert hit.title == "Renewal" and hit.excerpt == "Budget approved for the phased rollout"
    assert hit.detail == "Note on deal · Budget approved for the phased rollout"
    assert found("lunch") == [("company", acme)]

    records.delete(ctx, "deal", deal, version=1)  # a note on a deleted record is hidden with it
    assert found("phased") == []
    records.restore(ctx, "deal", deal)
    assert found("phased") == [("deal", deal)]
    records.update(ctx, "note", on_deal.id, {"body": "Budget frozen"}, version=1)
    assert found("phased") == [] and found("frozen") == [("deal", deal)]
    records.delete(ctx, "note", on_deal.id, version=2)
    assert found("frozen") == []
    check_fts()


def test_a_name_match_ranks_above_a_mention_in_a_note(workspace: Workspace) -> None:
    ctx = workspace.ctx
    _, jane = acme_and_jane(ctx)
    other = records.create(ctx, "contact", {"first_name": "Omar", "last_name": "Haddad"}).id
    records.create(ctx, "note", {"body": "Omar said Jane Doe signs off on budgets", "contact_id": other})  # newer

    assert found("jane doe") == [("contact", jane), ("contact", other)]


def test_accents_and_case_are_folded(workspace: Workspace) -> None:
    emile = records.create(workspace.ctx, "contact", {"first_name": "Émile", "last_name": "Zoë"}).id
    for query in ("emile", "EMI", "émile zo", "zoe"):
        assert found(query) == [("contact", emile)], query


def test_hostile_text_is_found_and_returned_as_typed(workspace: Workspace) -> None:
    company = records.create(workspace.ctx, "company", {"name": HOSTILE}).id
    assert [hit.title for hit in search("acme corp")] == [HOSTILE]
    assert found('acme "corp" OR NEAR(x) -y*') == []  # syntax is plain text: every word must match
    assert found('"acme" (corp*)') == [("company", company)]


QUERY_PIECES = st.sampled_from(['"', "'", "*", "-", "+", "^", ":", "(", ")", "OR", "AND", "NOT", "NEAR", "NEAR/2",
                                "{", "}", "&", "|", "!", "<->", "\\", ",", ".", "@", " ", "ja", "acme", "²", "é", "\x00"])  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.one_of(st.text(), st.lists(QUERY_PIECES, max_size=12).map("".join)))
def test_any_text_is_a_query(workspace: Workspace, query: str) -> None:
    if not _has_company():  # hypothesis calls this many times with one workspace
        acme_and_jane(workspace.ctx)
    result = search(query)
    assert isinstance(result, list) and all(isinstance(hit, SearchHit) for hit in result)


def _has_company() -> bool:
    return database.execute_sql("SELECT COUNT(*) FROM company").fetchone()[0] > 0


def test_excerpt_is_cut_around_the_first_match() -> None:
    body = "Long preamble " * 10 + "then the Émile part, and more " * 5
    excerpt = excerpt_of(body, ["emile"], width=40)
    assert excerpt.startswith("…") and excerpt.endswith("…") and "Émile" in excerpt and len(excerpt) <= 42


def test_rebuild_makes_the_documents_the_services_made(workspace: Workspace) -> None:
    ctx = workspace.ctx
    acme, jane = acme_and_jane(ctx)
    deal = make_deal(ctx, "Renewal", company_id=acme, contact_id=jane).id
    records.create(ctx, "note", {"body": "Call back", "deal_id": deal})
    gone = records.create(ctx, "contact", {"first_name": "Gone", "email": "gone@x.io"}).id
    records.delete(ctx, "contact", gone, version=1)
    made = docs()

    assert search_index.rebuild() == len(made) == 4
    assert docs() == made
    check_fts()


def _search_schema() -> list[tuple]:
    """The index's schema objects, as the database describes them."""
    if not search_index.is_postgres():
        sql = "SELECT type, name, sql FROM sqlite_master WHERE tbl_name LIKE 'search%' ORDER BY name"
        return [tuple(row) for row in database.execute_sql(sql).fetchall()]
    columns = database.execute_sql(
        "SELECT column_name, data_type, is_nullable, column_default, generation_expression FROM information_schema.columns "
        "WHERE table_name = 'search_doc' AND table_schema = current_schema() ORDER BY column_name"
    )
    indexes = database.execute_sql(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'search_doc' AND schemaname = current_schema() "
        "ORDER BY indexname"
    )
    return [tuple(row) for row in columns.fetchall()] + [tuple(row) for row in indexes.fetchall()]


def test_the_v5_upgrade_makes_the_index_a_new_workspace_has(workspace: Workspace, tmp_path: Path) -> None:
    ctx = workspace.ctx
    acme, jane = acme_and_jane(ctx)
    deal = make_deal(ctx, "Renewal", company_id=acme, contact_id=jane).id
    records.create(ctx, "note", {"body": "Call back", "deal_id": deal})
    for stage in ("Proposal Sent", "Negotiation"):  # stays with an end, which v8 fills in again
        deals.move_deal(ctx, deal, stage_named(stage), from_stage_id=Deal.get_by_id(deal).stage_id)
    stays = list(StageChange.select(StageChange.id, StageChange.left_at).order_by(StageChange.id).tuples())
    assert [left is None for _, left in stays] == [False, False, True]
    created, made = _search_schema(), docs()
    # First v12's dashboard rollups, their triggers (which name columns dropped below) and the
    # deleted deals' index.
    from crm_tui.services import rollups

    for statement in rollups._ddl():
        if statement.startswith("DROP TRIGGER"):
            database.execute_sql(statement)
    for table in ("deal_day", "deal_open", "deal_source", "deal_reach", "deal_stay"):
        database.execute_sql(f"DROP TABLE {table}")
    database.execute_sql("DROP INDEX deal_deleted")
    # Back to v4: the index did not exist yet.
    for statement in (
        ("DROP TABLE search_doc CASCADE",)
        if search_index.is_postgres()
        else ("DROP TABLE search_fts", "DROP TABLE search_doc")  # the triggers go with their table
    ):
        database.execute_sql(statement)
    # The indexes of v6 and v7 and the column of v8, which the upgrade makes again.
    for index in ("deal_title", "lead_last_name_first_name", "deal_created_months", "deal_closed_months",
                  "stage_change_to_stage_id_at_deal_id_left_at"):  # fmt: skip
        database.execute_sql(f"DROP INDEX {index}")
    database.execute_sql('CREATE INDEX stage_change_to_stage_id_at ON stage_change ("to_stage_id", "at")')
    database.execute_sql("ALTER TABLE stage_change DROP COLUMN left_at")
    # And v9's automation columns.
    for index in ("automation_run_txn", "notification_user_id_key", "task_done_done_at", "task_assignee_id_done_done_at"):
        database.execute_sql(f"DROP INDEX {index}")
    for table, column in (("automation_rule", "fires_after"), ("notification", "key"),
                          *(("automation_run", c) for c in ("trigger", "entity", "record_id", "txn", "depth", "outcomes"))):  # fmt: skip
        database.execute_sql(f'ALTER TABLE {table} DROP COLUMN "{column}"')
    # And v10's import batches.
    database.execute_sql("DROP TABLE import_item")
    database.execute_sql("DROP TABLE import_batch")
    # And v11's team mode.
    database.execute_sql("DROP TABLE field_access")
    database.execute_sql("DROP TABLE user_key")
    database.execute_sql('ALTER TABLE crm_user DROP COLUMN "team"')
    WorkspaceSetting.update(value=4).where(WorkspaceSetting.key == "schema_version").execute()

    report = schema.upgrade(workspace.target, backup_dir=tmp_path, skip_backup=True)

    assert (report.from_version, report.to_version) == (4, CURRENT_VERSION)
    assert _search_schema() == created
    assert docs() == made
    assert found("jan do") == [("contact", jane), ("deal", deal)]  # the deal's contact is Jane Doe
    check_fts()
    assert list(StageChange.select(StageChange.id, StageChange.left_at).order_by(StageChange.id).tuples()) == stays


def test_the_index_tables_are_the_workspace_s_own(workspace: Workspace) -> None:
    assert all(
        search_index.owns_table(name) for name in ("search_doc", "search_fts", "search_fts_data", "search_fts_idx")
    )
    assert not search_index.owns_table("invoices")


def test_the_demo_workspace_is_searchable(workspace: Workspace) -> None:
    demo.generate(workspace.ctx, demo.DemoSizes(companies=4, contacts=12, leads=3, deals=6), seed=7)
    first = database.execute_sql("SELECT id, first_name, last_name FROM contact ORDER BY id LIMIT 1").fetchone()
    assert ("contact", first[0]) in found(f"{first[1]} {first[2]}")
    check_fts()


def test_crm_search_prints_the_hits(sqlite_workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    _, jane = acme_and_jane(sqlite_workspace.ctx)
    where = str(sqlite_workspace.target.path)

    assert main(["--db", where, "search", "jan", "do"]) == 0
    assert capsys.readouterr().out == f"contact  {jane:>7}  Jane Doe  (Contact · jane@acme.com · Acme Corp)\n"
    assert main(["--db", where, "search", "--json", "jane"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["opens"] == {"entity": "contact", "id": jane} and row["title"] == "Jane Doe"
    assert main(["--db", where, "search", "nobody"]) == 1


# -- the command palette ------------------------------------------------------------------------


async def test_the_palette_finds_a_record_and_opens_it(app: CrmApp, ids: dict[str, int]) -> None:
    opened: list[tuple[str, int]] = []
    app.open_record = lambda entity, record_id: opened.append((entity, record_id))  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause(0.2)
        await pilot.press(*"acme ren")
        prompts = await _prompts(pilot, "Acme renewal")
        assert prompts[0] == f"Acme renewal\nDeal · {HOSTILE}"  # record text shown as typed, never as markup
        await pilot.press("enter")
        await settle(pilot)
    assert opened == [("deal", ids["acme"])]


async def test_the_palette_shows_hostile_names_literally(app: CrmApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause(0.2)
        await pilot.press(*"corp")
        prompts = await _prompts(pilot, HOSTILE)
        assert f"{HOSTILE}\nCompany" in prompts
        await pilot.press("escape")


async def _prompts(pilot: Pilot, expected: str) -> list[str]:
    """The palette's options as plain text, once one starts with `expected`."""
    from textual.command import CommandList

    for _ in range(100):
        await pilot.pause(0.05)
        options = pilot.app.screen.query_one(CommandList)
        prompts = [options.get_option_at_index(i).prompt.plain for i in range(options.option_count)]
        if any(prompt.startswith(expected) for prompt in prompts):
            return [prompt for prompt in prompts if "\n" in prompt]
    raise AssertionError(f"no palette hit for {expected!r}")
