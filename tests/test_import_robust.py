"""The importer against hostile input and hard stops: arbitrary bytes and CSV never crash it, an
all-or-nothing import never stores part of a batch, and a process killed mid-import leaves a sound
database holding the whole batch or none of it. Plus a 100,000-row file, end to end."""

from __future__ import annotations

import csv
import io
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm_tui.models import Contact, ImportBatch
from crm_tui.services import import_columns
from crm_tui.services.import_engine import ImportRequest, run_import
from crm_tui.services.import_read import ReadError, read_bytes, read_table
from crm_tui.services.workspace import Workspace

_SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
_HEADERS = ["Name", "Email", "Phone", "Company", "Tags", "Title", "Whatever"]


def _attempt(workspace: Workspace, data: bytes) -> None:
    """Import `data` as contacts, all or nothing; check the outcome is whole or nothing."""
    before = (Contact.select().count(), ImportBatch.select().count())
    try:
        table = read_bytes(data)
    except ReadError:
        return
    mapping = import_columns.suggest("contact", table.header) or {0: "full_name"}
    result = run_import(workspace.ctx, table, ImportRequest("contact", mapping, on_duplicate="create"))
    after = (Contact.select().count(), ImportBatch.select().count())
    if result.stored:
        assert after == (before[0] + result.created, before[1] + 1)
        assert not result.rejected
    else:
        assert after == before
        assert result.rejected or result.total == 0 or not any(mapping.values())


@_SETTINGS
@given(st.binary(max_size=600))
def test_arbitrary_bytes_never_crash_the_importer(sqlite_workspace: Workspace, data: bytes) -> None:
    _attempt(sqlite_workspace, data)


_cell = st.one_of(
    st.text(max_size=30),
    st.emails().map(str),
    st.sampled_from(["", "=1+1", "'=x", "-3", "ACME [/] Corp", "a;b,c", "+1 (555) 010-2030", "Zoë Ünïcode"]),
)


@_SETTINGS
@given(
    header=st.lists(st.sampled_from(_HEADERS), min_size=1, max_size=5, unique=True),
    rows=st.lists(st.lists(_cell, min_size=0, max_size=6), max_size=12),
    delimiter=st.sampled_from([",", ";", "\t"]),
)
def test_arbitrary_csv_is_stored_whole_or_not_at_all(
    sqlite_workspace: Workspace, header: list[str], rows: list[list[str]], delimiter: str
) -> None:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    _attempt(sqlite_workspace, out.getvalue().encode("utf-8"))


def test_a_tag_no_tag_may_be_named_rejects_its_row(sqlite_workspace: Workspace) -> None:
    # Found by the test above: a control character in a tag failed the whole import as the tag was made.
    table = read_bytes(b"Name,Tags\nAnn Lee,\x1b\nBob Ray,vip\n")
    result = run_import(sqlite_workspace.ctx, table, ImportRequest("contact", {0: "full_name", 1: "tags"}, mode="partial"))
    assert result.stored and result.created == 1 and len(result.rejected) == 1
    assert "control character" in str(result.rejected[0]) and Contact.get().last_name == "Ray"


def _big_file(path: Path, rows: int) -> Path:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["First Name", "Last Name", "Email", "Phone", "Company", "Job Title", "Tags"])
        for i in range(rows):
            writer.writerow([f"Ann{i}", f"Lee{i % 997}", f"ann{i}@firm{i % 300}.example", f"+1 555 {i % 10000:04d}",
                             f"Firm {i % 300}", "Buyer", "import; east" if i % 2 else "import"])  # fmt: skip
    return path


def test_a_100k_row_file_imports_completely(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    table = read_table(_big_file(tmp_path / "big.csv", 100_000))
    request = ImportRequest("contact", import_columns.suggest("contact", table.header))
    result = run_import(sqlite_workspace.ctx, table, request)
    assert result.stored and result.created == 100_000 and not result.rejected
    assert Contact.select().count() == 100_000
    assert result.related == {"company": 300, "tag": 2}
    last = Contact.get(Contact.email == "ann99999@firm99.example")
    assert (last.first_name, last.company.name) == ("Ann99999", "Firm 99")


def test_a_killed_import_leaves_all_or_nothing(tmp_path: Path) -> None:
    """SIGKILL an import process at random moments, 20 times: the database passes its integrity
    check and holds each batch whole or not at all."""
    source = _big_file(tmp_path / "kill.csv", 8_000)
    db = tmp_path / "w.sqlite3"
    env = {**os.environ, "CRM_DATA_DIR": str(tmp_path / "data"), "CRM_CONFIG_DIR": str(tmp_path / "config")}
    env.pop("CRM_DB_URL", None)
    command = [sys.executable, "-m", "crm_tui", "--db", str(db), "import", "contacts", str(source), "--on-duplicate", "create"]
    made = subprocess.run(command, env=env, capture_output=True, timeout=300, check=False)
    assert made.returncode == 0, made.stderr  # it also makes the workspace
    rng = random.Random(7)
    finished = killed = 0
    for _ in range(20):
        with sqlite3.connect(db) as conn:
            before = conn.execute("SELECT COUNT(*) FROM contact").fetchone()[0]
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.2, 2.5))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            killed += 1
        finished += process.wait(timeout=300) == 0
        with sqlite3.connect(db) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            after = conn.execute("SELECT COUNT(*) FROM contact").fetchone()[0]
            batches = conn.execute("SELECT COUNT(*) FROM import_batch").fetchone()[0]
            items = conn.execute(
                "SELECT COALESCE(SUM(json_array_length(after, '$.ids')), 0) FROM import_item WHERE entity = 'contact'"
            ).fetchone()[0]
        assert after in (before, before + 8_000)
        assert after == 8_000 * batches == items
    assert killed > 0  # the test proved something: some imports really were cut short
