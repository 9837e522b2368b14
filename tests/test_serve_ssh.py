"""`crm serve --ssh`: a real SSH client signs in with a key, drives the board, and leaves no process.

Each session runs the real app in a child process on a pseudo-terminal, so these tests read the
bytes the app draws and check the database afterwards.
"""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import asyncssh
import pytest

from crm_tui import db, locations, serve_ssh
from crm_tui.db import Target, parse_target
from crm_tui.models import Deal, Event
from crm_tui.services import ssh_keys
from crm_tui.services.errors import ServiceError
from crm_tui.services.workspace import Workspace
from tests.helpers import make_deal, stage_named

WAIT = 30.0  # generous: a session starts a whole app


@asynccontextmanager
async def _serving(target: Target, tmp_path: Path, **options: float) -> AsyncIterator[serve_ssh.SshServer]:
    """The server on a free port; afterwards no app runs and no callback of the loop failed."""
    loop = asyncio.get_running_loop()
    failures: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _, context: failures.append(context))
    server, _ = await serve_ssh.start_server(target, port=0, host_key_path=tmp_path / "host_key", **options)
    try:
        yield server
    finally:
        await server.close()
        loop.set_exception_handler(None)
    assert server.child_pids() == []
    assert failures == []


async def _connect(server: serve_ssh.SshServer, key: asyncssh.SSHKey) -> asyncssh.SSHClientConnection:
    return await asyncssh.connect(
        "127.0.0.1", server.port, username="anyone", client_keys=[key], known_hosts=None, agent_path=None, config=None
    )


async def _read_until(process: asyncssh.SSHClientProcess, marker: bytes) -> bytes:
    seen = b""
    while marker not in seen:
        chunk = await asyncio.wait_for(process.stdout.read(65536), WAIT)
        assert chunk, f"the session ended before {marker!r} was drawn: {seen[-300:]!r}"
        seen += chunk
    return seen


async def _settle(process: asyncssh.SSHClientProcess, quiet: float = 0.5) -> None:
    """Read until the app has drawn nothing for `quiet` seconds (it is then waiting for keys)."""
    while True:
        try:
            await asyncio.wait_for(process.stdout.read(65536), quiet)
        except TimeoutError:
            return


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def _until(check: Callable[[], bool], what: str) -> None:
    for _ in range(int(WAIT / 0.1)):
        if check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting until {what}")


@pytest.fixture
def alice_key(workspace: Workspace) -> asyncssh.SSHKey:
    """A client key registered to alice, the workspace's admin."""
    key = asyncssh.generate_private_key("ssh-ed25519", comment="alice@laptop")
    ssh_keys.add_key(workspace.ctx, "alice", key.export_public_key().decode())
    return key


async def test_a_session_moves_a_deal_as_the_keys_owner(
    workspace: Workspace, alice_key: asyncssh.SSHKey, tmp_path: Path
) -> None:
    deal = make_deal(workspace.ctx, "Zeta rollout", "Qualification")
    db.close()  # the test's own reads reconnect later; the server and the app have their own
    async with _serving(workspace.target, tmp_path) as server, await _connect(server, alice_key) as conn:
        process = await conn.create_process(term_type="xterm-256color", term_size=(120, 35), encoding=None)
        await _read_until(process, b"Zeta rollout")
        await _settle(process)
        (pid,) = server.child_pids()
        environ = Path(f"/proc/{pid}/environ")
        if environ.exists():  # Linux: the app was told whom it serves, and on which terminal
            variables = environ.read_bytes().split(b"\0")
            assert b"CRM_SERVED_USER=alice" in variables and b"TERM=xterm-256color" in variables

        process.stdin.write(b"L")  # the focused card, one stage on
        moved_to = stage_named("Writing Proposal")
        await _until(lambda: Deal.get_by_id(deal.id).stage_id == moved_to, "the deal moved")

        process.stdin.write(b"\x11")  # ctrl+q quits the app, which ends the session
        await asyncio.wait_for(process.wait(), WAIT)
        assert process.exit_status == 0
        await _until(lambda: _gone(pid), "the app's process is gone")
    event = Event.get(Event.kind == "deal.stage_changed", Event.record_id == deal.id)
    assert event.user_id == workspace.ctx.user_id  # alice's, because her key signed in


async def test_an_unknown_key_is_refused(workspace: Workspace, alice_key: asyncssh.SSHKey, tmp_path: Path) -> None:
    db.close()
    stranger = asyncssh.generate_private_key("ssh-ed25519")
    async with _serving(workspace.target, tmp_path) as server:
        with pytest.raises(asyncssh.PermissionDenied):
            await _connect(server, stranger)
        assert server.child_pids() == []


async def test_an_idle_session_is_told_and_closed(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519")
    ssh_keys.add_key(sqlite_workspace.ctx, "alice", key.export_public_key().decode())
    db.close()
    async with (
        _serving(sqlite_workspace.target, tmp_path, idle_timeout=2.0) as server,
        await _connect(server, key) as conn,
    ):
        process = await conn.create_process(term_type="xterm", term_size=(100, 30), encoding=None)
        for _ in range(8):  # key presses keep it open past the limit ("r" reads the board again)
            process.stdin.write(b"r")
            await asyncio.sleep(0.4)
        assert process.exit_status is None and len(server.child_pids()) == 1
        output = await asyncio.wait_for(process.stdout.read(), WAIT)  # then nothing: to the end of the session
        await asyncio.wait_for(process.wait(), WAIT)
        assert process.exit_status == serve_ssh.EXIT_IDLE
        assert b"closed after 2 seconds without a key press" in output
        assert output.rfind(b"\x1b[?1049l") > output.rfind(b"\x1b[?1049h")  # the terminal is given back
        assert server.child_pids() == []


async def test_a_disconnect_leaves_no_process(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519")
    ssh_keys.add_key(sqlite_workspace.ctx, "alice", key.export_public_key().decode())
    make_deal(sqlite_workspace.ctx, "Omega deal")
    db.close()
    async with _serving(sqlite_workspace.target, tmp_path) as server:
        conn = await _connect(server, key)
        process = await conn.create_process(term_type="xterm-256color", term_size=(120, 35), encoding=None)
        await _read_until(process, b"Omega deal")
        (pid,) = server.child_pids()
        conn.abort()  # as a dropped network would
        await _until(lambda: not server.child_pids() and _gone(pid), "the app was stopped and reaped")


async def test_stopping_the_server_ends_its_sessions(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519")
    ssh_keys.add_key(sqlite_workspace.ctx, "alice", key.export_public_key().decode())
    make_deal(sqlite_workspace.ctx, "Omega deal")
    db.close()
    server, _ = await serve_ssh.start_server(sqlite_workspace.target, port=0, host_key_path=tmp_path / "host_key")
    async with await _connect(server, key) as conn:
        process = await conn.create_process(term_type="xterm-256color", term_size=(120, 35), encoding=None)
        await _read_until(process, b"Omega deal")
        (pid,) = server.child_pids()
        await server.close()  # returns once the app is reaped
        assert _gone(pid) and server.child_pids() == []
        output = await asyncio.wait_for(process.stdout.read(), WAIT)
        assert b"the server is shutting down" in output
        await asyncio.wait_for(process.wait(), WAIT)
        assert process.exit_status == 1


async def test_only_a_terminal_session_is_served(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519")
    ssh_keys.add_key(sqlite_workspace.ctx, "alice", key.export_public_key().decode())
    db.close()
    async with _serving(sqlite_workspace.target, tmp_path) as server, await _connect(server, key) as conn:
        with pytest.raises(asyncssh.ChannelOpenError):
            await conn.run("cat /etc/passwd")  # no commands
        with pytest.raises(asyncssh.ChannelOpenError):
            await conn.start_sftp_client()  # no subsystems
        with pytest.raises(asyncssh.ChannelOpenError):
            await conn.open_connection("127.0.0.1", server.port)  # no forwarding
        with pytest.raises(asyncssh.ChannelListenError):
            await conn.forward_remote_port("127.0.0.1", 0, "127.0.0.1", 22)
        result = await asyncio.wait_for(conn.run(), WAIT)  # a shell without a terminal
        assert result.exit_status == 1 and "needs a terminal" in str(result.stdout)
        assert server.child_pids() == []


def test_the_host_key_is_made_once_private_and_kept(tmp_path: Path) -> None:
    key, path = serve_ssh.load_host_key()
    assert path == locations.data_dir() / serve_ssh.HOST_KEY_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again, _ = serve_ssh.load_host_key()
    assert again.get_fingerprint("sha256") == key.get_fingerprint("sha256")
    path.chmod(0o644)
    with pytest.raises(ServiceError, match="chmod 600"):
        serve_ssh.load_host_key()


async def test_a_missing_workspace_is_not_created(tmp_path: Path) -> None:
    target = parse_target(str(tmp_path / "nothing.sqlite3"))
    with pytest.raises(ServiceError, match="no workspace"):
        await serve_ssh.start_server(target, port=0, host_key_path=tmp_path / "host_key")
    assert not (tmp_path / "nothing.sqlite3").exists()


def test_the_app_gets_the_clients_terminal_not_the_servers() -> None:
    server_env = {"PATH": "/bin", "SSH_AUTH_SOCK": "/tmp/agent", "CRM_USER": "root", "COLORTERM": "truecolor",
                  "TMUX": "x", "CRM_DATA_DIR": "/data"}  # fmt: skip
    env = serve_ssh.child_environment(server_env, "xterm-256color", {"COLORTERM": "truecolor", "EVIL": "1"})
    assert env["TERM"] == "xterm-256color" and env["COLORTERM"] == "truecolor" and env["CRM_DATA_DIR"] == "/data"
    assert not {"SSH_AUTH_SOCK", "CRM_USER", "TMUX", "EVIL"} & set(env)
    assert "COLORTERM" not in serve_ssh.child_environment(server_env, "xterm-256color", {})
    assert serve_ssh.child_environment({}, "xterm-kitty", {})["COLORTERM"] == "truecolor"
    assert serve_ssh.child_environment({}, "bad term;rm", {})["TERM"] == "xterm-256color"


def test_a_postgresql_password_stays_out_of_the_command_line() -> None:
    url = "postgresql://crm:secret@db.example/crm"
    argv, extra = serve_ssh.app_command(parse_target(url), "alice")
    assert "secret" not in " ".join(argv) and argv[-2:] == ["--user", "alice"]
    assert extra == {"CRM_SERVED_USER": "alice", "CRM_DB_URL": url}
    argv, extra = serve_ssh.app_command(parse_target("/srv/crm.sqlite3"), "bob")
    assert argv[argv.index("--db") + 1] == "/srv/crm.sqlite3" and extra == {"CRM_SERVED_USER": "bob"}
