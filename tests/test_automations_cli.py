"""`crm automations` as a script or cron runs it: export, edit, import, enable, tick, runs, dry run."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.test_cli import crm


def test_export_edit_import_tick_and_the_run_log(tmp_path: Path) -> None:
    made = crm("demo", "--no-open", "--deals", "150", home=tmp_path)
    assert made.returncode == 0, made.stderr
    db = str(tmp_path / "data" / "demo.sqlite3")
    listed = crm("--db", db, "automations", "list", home=tmp_path)
    # The six built-in rules: the demo switches three on to show what they do, the rest wait.
    assert sorted(line[:3] for line in listed.stdout.splitlines()) == ["off"] * 3 + ["on "] * 3

    rules = tmp_path / "rules.toml"
    assert crm("--db", db, "automations", "export", "-o", str(rules), home=tmp_path).returncode == 0
    text = rules.read_text()
    assert text.count("[[rule]]") == 6
    text = text.replace("enabled = false", "enabled = true")
    text += '\n[[rule]]\nname = "Tag big deals"\nenabled = true\nconditions = [{ field = "amount", op = "gte", value = 1 }]\n'
    text += '[rule.trigger]\ntype = "deal_rotting"\ndays = 1\n[[rule.actions]]\ntype = "add_tag"\ntag = "stale"\n'
    rules.write_text(text)
    loaded = crm("--db", db, "automations", "import", str(rules), home=tmp_path)
    assert loaded.returncode == 0, loaded.stderr
    assert "1 added, 3 replaced, 3 unchanged" in loaded.stdout

    dry = crm("--db", db, "automations", "dry-run", "tag big deals", home=tmp_path)
    assert dry.returncode == 0 and "would add tag 'stale'" in dry.stdout and "nothing was changed" in dry.stdout
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM automation_run").fetchone() == (0,)

    tick = crm("--db", db, "automations", "tick", home=tmp_path)
    assert tick.returncode == 0, tick.stderr + tick.stdout
    with sqlite3.connect(db) as conn:
        runs = dict(conn.execute("SELECT r.name, COUNT(*) FROM automation_run x JOIN automation_rule r ON r.id = x.rule_id GROUP BY r.name"))
        stale = conn.execute("SELECT COUNT(*) FROM deal_tag JOIN tag ON tag.id = deal_tag.tag_id WHERE tag.name = 'stale'").fetchone()[0]
    assert runs["Tag big deals"] == stale > 0
    def tagged_runs() -> list[int]:
        with sqlite3.connect(db) as conn:
            query = "SELECT x.record_id FROM automation_run x JOIN automation_rule r ON r.id = x.rule_id WHERE r.name = ?"
            return [deal for (deal,) in conn.execute(query, ("Tag big deals",))]

    first = tagged_runs()
    again = crm("--db", db, "automations", "tick", home=tmp_path)
    assert again.returncode == 0, again.stderr
    # Once per episode, not every minute: a second tick runs only for a deal that went stale in
    # between (the demo's times are relative to its making, so one may cross the day meanwhile).
    later = tagged_runs()[len(first):]
    assert len(later) <= 1 and not set(later) & set(first)

    log = crm("--db", db, "automations", "runs", "--rule", "Tag big deals", "--limit", "2", home=tmp_path)
    assert log.stdout.count("done") == 2 and "tagged 'stale'" in log.stdout
    off = crm("--db", db, "automations", "disable", "TAG BIG DEALS", home=tmp_path)
    assert off.returncode == 0 and "off" in off.stdout
    missing = crm("--db", db, "automations", "enable", "nope", home=tmp_path)
    assert missing.returncode != 0 and "no rule called 'nope'" in missing.stderr
    broken = tmp_path / "broken.toml"
    broken.write_text('[[rule]]\nname = "x"\n[rule.trigger]\ntype = "sometimes"\n')
    refused = crm("--db", db, "automations", "import", str(broken), home=tmp_path)
    assert refused.returncode != 0 and "rule 1 (x)" in refused.stderr
