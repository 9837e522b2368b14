"""`crm serve --ssh [HOST:PORT]` and `crm serve --web [HOST:PORT]`: the app for a team, each
connection an app session of its own, signed in as the user the key (or the server) names."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from crm_tui.db import Target


def add_parser(sub: Any) -> None:
    """Add `crm serve` to the command line."""
    serve = sub.add_parser("serve", help="serve the app to a team over SSH (no shell accounts) or to browsers")
    how = serve.add_mutually_exclusive_group(required=True)
    how.add_argument("--ssh", nargs="?", const="", metavar="HOST:PORT",
                     help="a built-in SSH server; each public key signs in its user (default 127.0.0.1:2222)")  # fmt: skip
    how.add_argument("--web", nargs="?", const="", metavar="HOST:PORT",
                     help="the app in a browser through textual-serve (default 127.0.0.1:8000)")  # fmt: skip
    serve.add_argument("--idle-timeout", type=float, default=30, metavar="MINUTES",
                       help="close an SSH session after this long without a key press (default 30)")  # fmt: skip
    serve.add_argument("--token", metavar="TOKEN", help="web: the secret browsers must present (made up off loopback)")
    serve.add_argument("--public-url", metavar="URL", help="web: the URL browsers use, e.g. https://crm.example.com")


def missing(args: argparse.Namespace) -> str | None:
    """What is missing to serve as asked (the `serve` extra), said for the user; None when ready."""
    try:
        from crm_tui import serve_web  # noqa: F401
        if args.ssh is not None:
            from crm_tui import serve_ssh  # noqa: F401
    except ImportError as error:
        return f"serving needs its extra: pip install 'crm-tui[serve]' ({error.name} is missing)"
    return None


def run(args: argparse.Namespace, target: Target, login: str) -> int:
    """Serve `target` as asked until Ctrl+C (`missing` said everything is installed)."""
    from crm_tui.serve_address import SSH_PORT, WEB_PORT, ServeError, parse_bind

    try:
        host, port = parse_bind(args.ssh if args.ssh is not None else args.web, SSH_PORT if args.ssh is not None else WEB_PORT)
    except ServeError as error:
        print(f"crm: {error}", file=sys.stderr)
        return 2
    if args.ssh is not None:
        from crm_tui import serve_ssh

        return serve_ssh.run(target, host, port, idle_timeout=args.idle_timeout * 60)
    from crm_tui import serve_web

    where = target.url if target.kind == "postgresql" else str(target.path.resolve())  # type: ignore[union-attr]
    return serve_web.run(where or "", host, port, user=login, token=args.token, public_url=args.public_url)
