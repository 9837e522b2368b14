"""An import fires no automation rules unless it asks to: two years of history brought in from
another CRM must not send a follow-up, an e-mail or a webhook call per row."""

from __future__ import annotations

from crm_tui.models import AutomationRun, Note
from crm_tui.services.automation_engine import Engine
from crm_tui.services.workspace import Workspace
from tests.helpers import make_deal
from tests.test_automations import add_rule
from tests.test_import_engine import _run

DEALS = b"Title,Amount,Company\nNorth deal,100,Northwind\nSouth deal,200,Southwind\n"
COMPANIES = b"Name\nGlobex\n"


def test_an_import_fires_the_rules_only_when_asked(workspace: Workspace) -> None:
    ctx = workspace.ctx
    on_deal = add_rule(ctx, {"type": "record_created", "entity": "deal"}, {"type": "add_note", "body": "hello {title}"}, name="d")
    on_company = add_rule(ctx, {"type": "record_created", "entity": "company"}, {"type": "add_note", "body": "co {name}"}, name="c")
    engine = Engine(ctx)
    engine.tick()
    assert _run(workspace, "deal", DEALS).stored  # also makes the two companies it names
    assert _run(workspace, "company", COMPANIES).stored
    engine.tick()
    assert AutomationRun.select().count() == 0 and Note.select().count() == 0
    make_deal(ctx, "Typed by hand")  # the rules still react to what people do
    engine.tick()
    assert [run.rule_id for run in AutomationRun.select()] == [on_deal]
    assert _run(workspace, "deal", DEALS.replace(b"wind", b"star"), automations=True).stored
    engine.tick()
    fired = sorted(run.rule_id for run in AutomationRun.select())
    assert fired == sorted([on_deal, on_deal, on_deal, on_company, on_company])  # 2 deals and their 2 new companies
    assert Note.select().where(Note.body == "hello North deal").count() == 1
