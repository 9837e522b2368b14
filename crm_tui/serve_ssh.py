"""`crm serve --ssh`: the app over SSH, one session per connection, with no shell accounts.

The server (asyncssh) accepts public keys only; the key decides who you are (`ssh_keys`), the SSH
user name is ignored. A session must ask for a terminal; it gets its own
`python -m crm_tui --db TARGET --user LOGIN` process on a fresh pseudo-terminal, and this process
only relays bytes and window sizes. Commands, subsystems (sftp, scp) and forwarding are refused. A
session with no input for `idle_timeout` seconds is ended; an app whose client went away is hung up
on, then terminated, then killed, and always reaped.

This module holds the server: its host key, sign-in by key and the listening loop; each session
(the pty, the app's process, the relaying) lives in serve_ssh_session, whose public names are
re-exported here so that callers keep one module to import.

Like serve_web, this module imports neither Textual nor the models: each app opens the workspace
itself, and the server keeps one database connection, on one thread, to look keys up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import stat
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncssh

from crm_tui import db, locations
from crm_tui.db import Target, parse_target
from crm_tui.serve_address import DEFAULT_HOST, SSH_PORT, is_wildcard, netloc
from crm_tui.serve_ssh_session import EXIT_IDLE, AppSession, app_command, child_environment
from crm_tui.services import schema, ssh_keys
from crm_tui.services.errors import ServiceError

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "EXIT_IDLE",
    "HOST_KEY_NAME",
    "IDLE_TIMEOUT",
    "LOGIN_TIMEOUT",
    "SESSIONS_PER_CONNECTION",
    "SshServer",
    "app_command",
    "child_environment",
    "load_host_key",
    "run",
    "start_server",
]

log = logging.getLogger("crm_tui.serve_ssh")

DEFAULT_PORT = SSH_PORT
IDLE_TIMEOUT = 1800.0
LOGIN_TIMEOUT = 60.0  # seconds a client has to authenticate
HOST_KEY_NAME = "ssh_host_ed25519_key"
SESSIONS_PER_CONNECTION = 4


def load_host_key(path: Path | None = None) -> tuple[asyncssh.SSHKey, Path]:
    """The server's ed25519 host key at `path` (default: in the data dir), made on first use."""
    path = path or locations.data_dir() / HOST_KEY_NAME
    with contextlib.suppress(FileNotFoundError):
        return _read_host_key(path), path
    locations.ensure_dir(path.parent)
    key = asyncssh.generate_private_key("ssh-ed25519", comment="crm-tui host key")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another server made it first: use theirs
        return _read_host_key(path), path
    with os.fdopen(fd, "wb") as handle:
        handle.write(key.export_private_key())
    log.info("made a new host key at %s", path)
    return key, path


def _read_host_key(path: Path) -> asyncssh.SSHKey:
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ServiceError(f"the host key {path} can be read by other users; run: chmod 600 {path}")
    try:
        return asyncssh.read_private_key(path)
    except (asyncssh.KeyImportError, ValueError) as error:
        raise ServiceError(f"cannot read the host key {path}: {error}") from error


class SshServer:
    """A running `crm serve --ssh`: its address, host key, live sessions and key lookups.

    Keys are looked up on a database thread of the server's own: a query never stalls the relaying
    of other sessions' bytes (PostgreSQL over a network, a SQLite checkpoint), and one thread keeps
    one connection for the server's lifetime.
    """

    def __init__(self, target: Target, host_key: asyncssh.SSHKey, host_key_path: Path, idle_timeout: float):
        self.target = target
        self.host_key = host_key
        self.fingerprint = host_key.get_fingerprint("sha256")
        """The host key's `SHA256:` fingerprint (what ssh shows on the first connection)."""
        self.host_key_path = host_key_path
        self.idle_timeout = idle_timeout
        self.sessions: set[AppSession] = set()
        self.connections: set[asyncssh.SSHServerConnection] = set()
        self.acceptor: asyncssh.SSHAcceptor | None = None
        self.registered_keys = 0
        """How many keys could sign in when the server started."""
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crm-ssh-db")
        self._closed = False

    @property
    def port(self) -> int:
        """The port it listens on (the one chosen, when started on port 0)."""
        assert self.acceptor is not None
        return self.acceptor.get_port()

    def child_pids(self) -> list[int]:
        """The process ids of the sessions' apps still running."""
        return [s.child.pid for s in self.sessions if s.child is not None and s.child.returncode is None]

    def open_database(self) -> None:
        """Connect (on the database thread) and check the workspace is there and current."""
        target = self.target
        if target.kind == "sqlite" and target.path is not None and not target.path.exists():
            raise ServiceError(f"there is no workspace at {target.describe()}; open it once with crm --db first")
        db.connect(target)
        version = schema.read_version()
        if version != schema.CURRENT_VERSION:
            found = "is empty" if version is None else f"is at schema version {version}"
            raise ServiceError(f"{target.describe()} {found}; this crm-tui needs version "
                               f"{schema.CURRENT_VERSION} (run crm db upgrade, or open it once with crm)")  # fmt: skip
        self.registered_keys = len(ssh_keys.keys())

    async def in_database(self, fn: Any, *args: Any) -> Any:
        """`fn(*args)` on the database thread."""
        return await asyncio.get_running_loop().run_in_executor(self._db, fn, *args)

    def login_for(self, fingerprint: str) -> str | None:
        """The login `fingerprint` signs in as, or None (also when the database fails)."""
        try:
            return ssh_keys.login_for_key(fingerprint)
        except Exception:  # refuse, and connect afresh next time (PostgreSQL may have restarted)
            log.exception("looking up an SSH key failed; refusing it")
            with contextlib.suppress(Exception):
                db.close()
            return None

    async def close(self) -> None:
        """Stop listening, end every session (their apps stopped and reaped), disconnect."""
        if self._closed:
            return
        self._closed = True
        if self.acceptor is not None:
            self.acceptor.close()
            await self.acceptor.wait_closed()
        sessions = list(self.sessions)
        for session in sessions:
            session.end("shutdown")
        await asyncio.gather(*(s.finished for s in sessions), return_exceptions=True)
        for conn in list(self.connections):
            conn.close()
        await self.in_database(db.close)
        self._db.shutdown(wait=True)


class _Connection(asyncssh.SSHServer):
    """One client connection: a registered public key, then up to a few app sessions.

    Passwords, keyboard-interactive and host-based sign-in and every kind of forwarding are off
    (asyncssh's defaults for an SSHServer, and switched off again in `start_server`).
    """

    def __init__(self, server: SshServer) -> None:
        self.server = server
        self.conn: Any = None
        self.login: str | None = None
        self.peer = "?"
        self.opened = 0

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        """Remember the connection (to close it at shutdown) and who is calling."""
        self.conn = conn
        self.server.connections.add(conn)
        self.peer = "{}:{}".format(*(conn.get_extra_info("peername") or ("?", 0))[:2])

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the connection; its sessions see their own channels close."""
        self.server.connections.discard(self.conn)

    def public_key_auth_supported(self) -> bool:
        """Public keys are the only way in."""
        return True

    async def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        """Accept a key registered to an active user; the key, not `username`, says who that is.

        asyncssh calls this for every key offered, and again right before checking the signature
        of the one that succeeds, so the login kept is that of the key that signed in.
        """
        fingerprint = key.get_fingerprint("sha256")
        login = await self.server.in_database(self.server.login_for, fingerprint)
        if login is None:
            log.info("refused key %s from %s", fingerprint, self.peer)
            return False
        self.login = login
        return True

    def auth_completed(self) -> None:
        """Log who signed in."""
        log.info("%s signed in from %s", self.login, self.peer)

    def session_requested(self) -> AppSession | bool:
        """A session for the signed-in user (a few per connection at most)."""
        if self.login is None or self.opened >= SESSIONS_PER_CONNECTION:
            return False
        self.opened += 1
        return AppSession(self.server, self.login, self.peer)


async def start_server(
    target: Target | str,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    idle_timeout: float = IDLE_TIMEOUT,
    host_key_path: Path | None = None,
    login_timeout: float = LOGIN_TIMEOUT,
) -> tuple[SshServer, str]:
    """Listen on `host:port` (0: any free port); return the server and its host key fingerprint."""
    target = parse_target(target) if isinstance(target, str) else target
    server = SshServer(target, *load_host_key(host_key_path), idle_timeout)
    try:
        await server.in_database(server.open_database)
        server.acceptor = await asyncssh.create_server(
            lambda: _Connection(server), host, port,
            server_host_keys=[server.host_key], server_version="crm-tui",
            public_key_auth=True, password_auth=False, kbdint_auth=False, host_based_auth=False, gss_host=None,
            agent_forwarding=False, x11_forwarding=False, allow_scp=False, allow_pty=True,
            line_editor=False, encoding=None, login_timeout=login_timeout,
            keepalive_interval=60, keepalive_count_max=3,  # a vanished client is noticed within minutes
        )  # fmt: skip
    except BaseException as error:
        await server.close()
        if isinstance(error, OSError):
            raise ServiceError(f"cannot listen on {netloc(host, port)}: {error.strerror or error}") from error
        raise
    return server, server.fingerprint


def run(
    target: Target | str, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *, idle_timeout: float = IDLE_TIMEOUT
) -> int:
    """Serve until Ctrl+C (or SIGTERM), saying where, with which host key and how to let people in."""
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
    return asyncio.run(_serve(target, host, port, idle_timeout))


async def _serve(target: Target | str, host: str, port: int, idle_timeout: float) -> int:
    server, fingerprint = await start_server(target, host, port, idle_timeout=idle_timeout)
    reach = "THIS-HOST" if is_wildcard(host) else host  # listening everywhere: any of its names
    say = [f"serving {server.target.describe()} over SSH on {netloc(host, server.port)}",
           f"host key {fingerprint} ({server.host_key_path})",
           "let someone in with: crm users add-key LOGIN THEIR_KEY.pub",
           f"they connect with: ssh -p {server.port} {reach}   (Ctrl+C stops the server)"]  # fmt: skip
    if server.registered_keys == 0:
        say.insert(2, "no user has a key yet, so nobody can sign in")
    print("\n".join(f"crm: {line}" for line in say), file=sys.stderr, flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        print(f"\ncrm: stopping; {len(server.sessions)} open session(s) closed", file=sys.stderr)
        await server.close()
    return 0
