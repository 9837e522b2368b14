"""`crm users …` as an admin runs it (in a subprocess): people, roles, teams, keys, the sign-in
policy and field limits; a non-admin is refused. Checked in the database afterwards."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import asyncssh

from tests.test_cli import crm


def test_an_admin_manages_users_keys_policy_and_limits_and_others_cannot(tmp_path: Path) -> None:
    db = str(tmp_path / "team.sqlite3")

    def run(*args: str) -> tuple[int, str, str]:
        done = crm("--db", db, *args, home=tmp_path)
        return done.returncode, done.stdout, done.stderr

    assert run("users", "list")[0] == 0  # the first one in is the admin
    code, out, err = run("users", "add", "ben", "--name", "Ben [/] Okafor", "--role", "manager", "--team", "north")
    assert code == 0, err
    assert out.strip() == "added ben (Ben [/] Okafor) as manager"
    assert run("users", "set-team", "ben", "-")[0] == 0
    key = tmp_path / "ben.pub"
    key.write_text(asyncssh.generate_private_key("ssh-ed25519", comment="ben@laptop").export_public_key().decode())
    code, out, err = run("users", "add-key", "ben", str(key))
    assert code == 0 and out.startswith("added key SHA256:"), err
    assert run("users", "limit", "deal", "cost", "member", "hidden")[1].strip() == "deal.cost for members: hidden"
    code, out, _ = run("users", "policy", "--no-switch", "--closed")
    assert out.strip() == "--user: admins only; newcomers: closed"
    users = {row["login"]: row for row in json.loads(run("users", "list", "--json")[1])}
    assert (users["ben"]["role"], users["ben"]["team"], users["ben"]["keys"]) == ("manager", None, 1)

    # An admin may still act as someone else; that someone, a manager, changes no users.
    code, _, err = run("--user", "ben", "users", "set-role", "ben", "admin")
    assert code == 2 and "only an admin" in err
    code, _, err = run("--user", "stranger", "users", "list")
    assert code == 2 and "not a user of this workspace" in err
    assert run("users", "deactivate", "ben")[0] == 0
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT role, active FROM crm_user WHERE login = 'ben'").fetchone() == ("manager", 0)
        assert conn.execute("SELECT entity, field, role, access FROM field_access").fetchall() == [
            ("deal", "cost", "member", "hidden")
        ]
        assert conn.execute("SELECT COUNT(*) FROM user_key").fetchone() == (1,)
