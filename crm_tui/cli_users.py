"""`crm users …`: an admin manages who uses the workspace, their roles, teams and SSH keys, the
sign-in policy and the fields hidden from or read-only for a role."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crm_tui.services.workspace import Workspace

ROLES = ("member", "manager", "admin")


def add_parser(sub: Any) -> None:
    """Add `crm users` to the command line."""
    users = sub.add_parser("users", help="users, roles, teams, SSH keys and field limits (admins)")
    act = users.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    listing = act.add_parser("list", help="every user with role, team and keys")
    listing.add_argument("--json", action="store_true", help="print JSON")
    add = act.add_parser("add", help="add a user")
    add.add_argument("login")
    add.add_argument("--name", help="display name (default: from the login)")
    add.add_argument("--role", choices=ROLES, default="member")
    add.add_argument("--email")
    add.add_argument("--team", help="team name (a manager manages their team)")
    role = act.add_parser("set-role", help="change a user's role")
    role.add_argument("login")
    role.add_argument("role", choices=ROLES)
    team = act.add_parser("set-team", help="put a user in a team ('-' for none)")
    team.add_argument("login")
    team.add_argument("team")
    rename = act.add_parser("rename", help="change a user's display name")
    rename.add_argument("login")
    rename.add_argument("name")
    for name, text in (("deactivate", "stop a user signing in (their records stay)"), ("activate", "let them in again")):
        act.add_parser(name, help=text).add_argument("login")
    key = act.add_parser("add-key", help="let a user in through `crm serve --ssh` with this public key")
    key.add_argument("login")
    key.add_argument("file", type=Path, help="an OpenSSH public key file (id_ed25519.pub)")
    key.add_argument("--name", default="", help="a name for the key (default: its comment)")
    keys = act.add_parser("keys", help="the SSH keys, of one user or everyone")
    keys.add_argument("login", nargs="?")
    drop = act.add_parser("remove-key", help="remove an SSH key by fingerprint or id")
    drop.add_argument("key")
    policy = act.add_parser("policy", help="show or change how people sign in")
    switch = policy.add_mutually_exclusive_group()
    switch.add_argument("--allow-switch", dest="switch", action="store_const", const=True, help="anyone may use --user")
    switch.add_argument("--no-switch", dest="switch", action="store_const", const=False, help="only admins may use --user")
    join = policy.add_mutually_exclusive_group()
    join.add_argument("--open", dest="join", action="store_const", const="open", help="newcomers join as members")
    join.add_argument("--closed", dest="join", action="store_const", const="closed", help="only users an admin added")
    limit = act.add_parser("limit", help="hide a field from a role, make it read-only, or lift the limit")
    limit.add_argument("entity", choices=("company", "contact", "lead", "deal"))
    limit.add_argument("field", help="a field name (cost, source, …) or custom.KEY")
    limit.add_argument("role", choices=("member", "manager"))
    limit.add_argument("access", choices=("hidden", "read", "none"))
    act.add_parser("limits", help="every field limit")


def run(args: argparse.Namespace, open_workspace: Callable[[], Workspace]) -> int:
    """Run `crm users ACTION`."""
    from crm_tui.services import ssh_keys, user_admin

    ctx = open_workspace().ctx
    command = args.users_command
    if command == "list":
        rows = user_admin.users()
        if args.json:
            print(json.dumps([row.__dict__ for row in rows], indent=2))
        else:
            _table(["login", "name", "role", "team", "active", "keys"],
                   [[r.login, r.name, r.role, r.team or "", "yes" if r.active else "no", str(r.keys)] for r in rows])  # fmt: skip
    elif command == "add":
        row = user_admin.add(ctx, args.login, name=args.name, role=args.role, email=args.email, team=args.team)
        print(f"added {row.login} ({row.name}) as {row.role}")
    elif command in ("set-role", "set-team", "rename", "deactivate", "activate"):
        changes = {
            "set-role": lambda: {"role": args.role},
            "set-team": lambda: {"team": None if args.team == "-" else args.team},
            "rename": lambda: {"name": args.name},
            "deactivate": lambda: {"active": False},
            "activate": lambda: {"active": True},
        }[command]()
        row = user_admin.change(ctx, args.login, **changes)
        print(f"{row.login}: {row.name}, {row.role}, team {row.team or '-'}, {'active' if row.active else 'deactivated'}")
    elif command == "add-key":
        info = ssh_keys.add_key(ctx, args.login, args.file.read_text(encoding="utf-8"), name=args.name)
        print(f"added key {info.fingerprint} for {args.login}")
    elif command == "keys":
        found = ssh_keys.keys(args.login)
        _table(["id", "login", "name", "fingerprint"], [[str(k.id), k.login, k.name, k.fingerprint] for k in found])
    elif command == "remove-key":
        ssh_keys.remove_key(ctx, args.key)
        print(f"removed key {args.key}")
    elif command == "policy":
        if args.switch is not None or args.join is not None:
            user_admin.set_policy(ctx, allow_switch=args.switch, join=args.join)
        now = user_admin.policy()
        print(f"--user: {'anyone' if now.allow_switch else 'admins only'}; newcomers: {now.join}")
    elif command == "limit":
        made = user_admin.set_limit(ctx, args.entity, args.field, args.role, None if args.access == "none" else args.access)
        print(f"{args.entity}.{args.field} for {args.role}s: {made.access if made else 'no limit'}")
    elif command == "limits":
        _table(["entity", "field", "role", "access"], [[x.entity, x.field, x.role, x.access] for x in user_admin.limits()])
    return 0


def _table(header: list[str], rows: list[list[str]]) -> None:
    """Print rows as aligned columns (nothing but the header when empty)."""
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows)]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip(), file=sys.stdout)
