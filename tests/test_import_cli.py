"""`crm import` as a script runs it: summaries, exit codes, the rejected-rows file, revert and
saved mappings (in a subprocess, with its own data directory)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.test_cli import crm

DATA = Path(__file__).parent / "data" / "import"


def _count(db: Path, sql: str) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchone()[0]


def test_import_prints_the_summary_and_revert_undoes_it(tmp_path: Path) -> None:
    db = tmp_path / "w.sqlite3"
    done = crm("--db", str(db), "import", "deals", str(DATA / "pipedrive-deals.csv"), home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "7 rows: 7 were created, 0 updated, 0 skipped, 0 rejected." in done.stdout
    assert "Deal - Title" in done.stderr and "-> title" in done.stderr  # the mapping is shown
    assert _count(db, "SELECT COUNT(*) FROM deal") == 7
    assert _count(db, "SELECT COUNT(*) FROM event WHERE kind = 'import.automations'") == 0  # the rules stay quiet
    listed = crm("--db", str(db), "import", "list", home=tmp_path)
    assert "#1" in listed.stdout and "pipedrive-deals.csv" in listed.stdout and "7 created" in listed.stdout
    reverted = crm("--db", str(db), "import", "revert", "1", home=tmp_path)
    assert reverted.returncode == 0 and "removed" in reverted.stdout
    assert _count(db, "SELECT COUNT(*) FROM deal WHERE deleted_at IS NULL") == 0


def test_all_or_nothing_exits_1_and_partial_writes_the_rejected_rows(tmp_path: Path) -> None:
    db = tmp_path / "w.sqlite3"
    source = tmp_path / "people.csv"
    source.write_text("Name,Email\nAda Lovelace,ada@example.com\nBad Mail,nope\n", encoding="utf-8")
    refused = crm("--db", str(db), "import", "contacts", str(source), home=tmp_path)
    assert refused.returncode == 1
    assert "line 3: rejected: Email: is not an email address" in refused.stdout
    assert _count(db, "SELECT COUNT(*) FROM contact") == 0
    partial = crm("--db", str(db), "import", "contacts", str(source), "--mode", "partial", home=tmp_path)
    assert partial.returncode == 0 and _count(db, "SELECT COUNT(*) FROM contact") == 1
    rejected = Path(f"{source}.rejected.csv").read_text(encoding="utf-8").splitlines()
    assert rejected[0] == "Name,Email,Reason" and rejected[1].startswith("Bad Mail,nope,line 3: Email:")


def test_dry_run_and_unreadable_files(tmp_path: Path) -> None:
    db = tmp_path / "w.sqlite3"
    dry = crm("--db", str(db), "import", "contacts", str(DATA / "hubspot-contacts.csv"), "--dry-run", home=tmp_path)
    assert dry.returncode == 0 and "Dry run: nothing was stored." in dry.stdout
    assert _count(db, "SELECT COUNT(*) FROM contact") == 0
    broken = crm("--db", str(db), "import", "contacts", str(DATA / "unterminated-quote.csv"), home=tmp_path)
    assert broken.returncode == 2 and "line 5" in broken.stderr
    missing = crm("--db", str(db), "import", "contacts", str(tmp_path / "nope.csv"), home=tmp_path)
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    wrong = crm("--db", str(db), "import", "giraffes", str(DATA / "hubspot-contacts.csv"), home=tmp_path)
    assert wrong.returncode == 2 and "ENTITY is one of" in wrong.stderr


def test_map_overrides_and_saved_mappings(tmp_path: Path) -> None:
    db = tmp_path / "w.sqlite3"
    source = tmp_path / "odd.csv"
    source.write_text("Who,Mail,Misc\nAda Lovelace,ada@example.com,x\n", encoding="utf-8")
    done = crm("--db", str(db), "import", "contacts", str(source), "--map", "Who=full_name", "--map", "Mail=email",
               "--save-mapping", "odd", home=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Saved the mapping as 'odd'" in done.stdout
    again = tmp_path / "odd2.csv"
    again.write_text("Mail,Who\ngrace@navy.example,Grace Hopper\n", encoding="utf-8")
    reused = crm("--db", str(db), "import", "contacts", str(again), "--mapping", "odd", home=tmp_path)
    assert reused.returncode == 0, reused.stdout + reused.stderr
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT last_name, email FROM contact ORDER BY id").fetchall() == [
            ("Lovelace", "ada@example.com"),
            ("Hopper", "grace@navy.example"),
        ]
    unknown = crm("--db", str(db), "import", "contacts", str(again), "--map", "Mail=shoe_size", home=tmp_path)
    assert unknown.returncode == 2 and "not a field" in unknown.stderr


def test_automations_run_on_an_import_only_with_the_flag(tmp_path: Path) -> None:
    db = tmp_path / "w.sqlite3"
    source = tmp_path / "companies.csv"
    source.write_text("Name\nGlobex\n", encoding="utf-8")
    done = crm("--db", str(db), "import", "companies", str(source), "--automations", home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert _count(db, "SELECT COUNT(*) FROM event WHERE kind = 'import.automations'") == 1
