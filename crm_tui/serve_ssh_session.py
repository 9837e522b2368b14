"""One `crm serve --ssh` session: a pseudo-terminal, the app on it, and the bytes relayed between.

serve_ssh signs a client in and hands each terminal channel it opens to an `AppSession`, which
starts `python -m crm_tui --db TARGET --user LOGIN` on a fresh pty, relays bytes and window sizes
with backpressure both ways, ends the session after `idle_timeout` seconds without input, and
always stops and reaps the app (hang up, then terminate, then kill).

It knows its server only through `SessionHost` rather than importing serve_ssh, so that the server
module can import this one without a cycle.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import re
import signal
import struct
import sys
import termios
from collections.abc import Mapping
from typing import Any, Protocol

import asyncssh

from crm_tui.db import Target
from crm_tui.services.permissions import SERVED_USER_ENV

# The server's logger, not one of this module's own: `serve_ssh.run` puts its handler there, and
# the session lines belong in the same log as the sign-ins.
log = logging.getLogger("crm_tui.serve_ssh")

EXIT_IDLE = 124  # as `timeout(1)`: the session was ended, not finished
HANGUP_GRACE = 3.0  # seconds an app gets after SIGHUP, then again after SIGTERM
_NAME = re.compile(r"[A-Za-z0-9._+-]{1,64}")
_TRUECOLOR_TERMS = {"xterm-kitty", "xterm-ghostty", "alacritty", "foot", "wezterm", "contour"}
# What describes the operator's own terminal or session, wrong for a remote client.
_NOT_INHERITED = {"CRM_USER", "CRM_DB_URL", SERVED_USER_ENV, "COLORTERM", "COLUMNS", "LINES", "TERM_PROGRAM",
                  "TERM_PROGRAM_VERSION", "VTE_VERSION", "WT_SESSION", "LC_TERMINAL", "LC_TERMINAL_VERSION",
                  "TMUX", "TMUX_PANE", "STY", "WINDOWID", "DISPLAY", "WAYLAND_DISPLAY"}  # fmt: skip
_NOT_INHERITED_PREFIXES = ("SSH_", "KITTY_", "ITERM_", "KONSOLE_", "GHOSTTY_")
_FROM_CLIENT = ("COLORTERM", "TERM_PROGRAM", "TERM_PROGRAM_VERSION", "LC_TERMINAL", "LC_TERMINAL_VERSION")
# What a killed app could not undo: alternate screen, mouse and focus reporting, bracketed paste,
# the kitty keyboard protocol, a hidden cursor, colours.
_RESET = (
    b"\x1b[?1049l\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?1015l"
    b"\x1b[?1004l\x1b[?2004l\x1b[<u\x1b[?25h\x1b[0m\r\n"
)
# Made a session leader by start_new_session, the child takes its pty as controlling terminal (so
# the kernel sends it SIGWINCH and SIGHUP), then becomes the app. A tiny interpreter does it before
# exec because a preexec_fn is unsafe in a process with threads.
_CONTROLLING_TTY = (
    "import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); os.execv(sys.argv[1], sys.argv[1:])"
)


def app_command(target: Target, login: str) -> tuple[list[str], dict[str, str]]:
    """The argv of one session's app, and what it adds to the environment (a PostgreSQL URL goes
    there rather than in argv, which every user of the machine can read with `ps`)."""
    argv = [sys.executable, "-m", "crm_tui"]
    extra = {SERVED_USER_ENV: login}
    if target.kind == "sqlite" and target.path is not None:
        argv += ["--db", str(target.path.absolute())]
    else:
        extra["CRM_DB_URL"] = target.url or ""
    return argv + ["--user", login], extra


def child_environment(base: Mapping[str, str], term_type: str | None, client_env: Mapping[str, str]) -> dict[str, str]:
    """The server's environment without what describes its own terminal, plus the client's terminal."""
    env = {k: v for k, v in base.items() if k not in _NOT_INHERITED and not k.startswith(_NOT_INHERITED_PREFIXES)}
    term = env["TERM"] = term_type if term_type and _NAME.fullmatch(term_type) else "xterm-256color"
    env |= {k: v for k, v in client_env.items() if k in _FROM_CLIENT and _NAME.fullmatch(v)}
    # Unless the terminal is known for 24-bit colour, Textual draws in 256, which every terminal shows.
    if env.get("COLORTERM") not in ("truecolor", "24bit"):
        env.pop("COLORTERM", None)
        if term in _TRUECOLOR_TERMS or term.endswith("-direct") or env.get("LC_TERMINAL") == "iTerm2":
            env["COLORTERM"] = "truecolor"
    env["PYTHONUTF8"] = "1"  # the app speaks UTF-8 to the client whatever locale the server runs in
    return env


class SessionHost(Protocol):
    """What a session needs of its server (`serve_ssh.SshServer`): the workspace, the idle limit,
    and the set of live sessions, which a session joins when its app starts and leaves once reaped."""

    target: Target
    idle_timeout: float
    sessions: set[AppSession]


class AppSession(asyncssh.SSHServerSession):
    """One channel: a pseudo-terminal, the app on it, and the bytes and sizes relayed between.

    Only a shell with a terminal is accepted (the base class refuses commands, subsystems and
    breaks). The pty's two directions are asyncio pipe transports, which buffer and push back: a
    slow client pauses the reading of the app's output, an app that does not read pauses the channel.
    """

    def __init__(self, server: SessionHost, login: str, peer: str) -> None:
        self.server, self.login, self.peer = server, login, peer
        self.chan: Any = None
        self.term_type: str | None = None
        self.size = (80, 24, 0, 0)
        self.child: asyncio.subprocess.Process | None = None
        self.ending: str | None = None
        """Why the session ends early: "idle", "disconnect", "shutdown" or "error"."""
        self._loop = asyncio.get_running_loop()
        self.finished: asyncio.Future[None] = self._loop.create_future()
        self._master: int | None = None
        self._output: asyncio.ReadTransport | None = None
        self._input: asyncio.WriteTransport | None = None
        self._early_input = bytearray()  # typed before the app was started
        self.output_done = asyncio.Event()
        """Set when nothing holds the pty's other end any more: the app has drawn its last."""
        self._last_input = self._loop.time()
        self._idle: asyncio.TimerHandle | None = None
        self._stopping: asyncio.Task[None] | None = None
        self._task: asyncio.Task[None] | None = None

    def connection_made(self, chan: Any) -> None:
        """Keep the channel."""
        self.chan = chan

    def pty_requested(self, term_type: str, term_size: tuple[int, int, int, int], term_modes: Any) -> bool:
        """Accept a terminal; the app's pty takes its type and size."""
        self.term_type, self.size = term_type or "xterm-256color", term_size
        return True

    def shell_requested(self) -> bool:
        """The shell is the app."""
        return True

    def session_started(self) -> None:
        """Start the app, or explain that it needs a terminal."""
        if self.term_type is None:
            self.chan.write(b"crm needs a terminal: connect with ssh -t\r\n")
            self.chan.exit(1)
            self.finished.set_result(None)
            return
        self.server.sessions.add(self)
        self._task = self._loop.create_task(self._run())  # kept: the loop holds tasks only weakly

    def terminal_size_changed(self, width: int, height: int, pixwidth: int, pixheight: int) -> None:
        """Resize the pty; the kernel tells the app (SIGWINCH)."""
        self.size = (width, height, pixwidth, pixheight)
        if self._master is not None:
            _set_size(self._master, self.size)

    def data_received(self, data: bytes, datatype: Any) -> None:
        """Keys from the client go to the app, and the idle clock starts again."""
        self._last_input = self._loop.time()
        if self._input is None:
            self._early_input += data
        elif not self._input.is_closing():
            self._input.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        """The client is gone (or sent EOF): stop the app."""
        self.end("disconnect")

    def pause_writing(self) -> None:
        """The client is slow: stop reading the app's output until it catches up."""
        if self._output is not None and not self._output.is_closing():
            self._output.pause_reading()

    def resume_writing(self) -> None:
        """The client caught up."""
        if self._output is not None and not self._output.is_closing():
            self._output.resume_reading()

    def end(self, reason: str) -> None:
        """End the session early: hang up on the app (then terminate, then kill it)."""
        self.ending = self.ending or reason
        if self.child is not None and self._stopping is None:
            self._stopping = self._loop.create_task(_stop(self.child))

    async def _run(self) -> None:
        try:
            child = await self._spawn()
            status = await child.wait()
            with contextlib.suppress(TimeoutError):  # what it wrote last may still be in the pty
                await asyncio.wait_for(self.output_done.wait(), 2.0)
            self._finish(status)
        except Exception:
            log.exception("%s: the session failed", self.login)
            self._finish(1)
        finally:
            if self.child is not None and self.child.returncode is None:
                self.end("error")  # never leave an app behind
            self._close_pty()
            if self._stopping is not None:
                await self._stopping
            self.server.sessions.discard(self)
            self.finished.set_result(None)

    async def _spawn(self) -> asyncio.subprocess.Process:
        argv, extra = app_command(self.server.target, self.login)
        env = child_environment(os.environ, self.term_type, self.chan.get_environment()) | extra
        master, slave = os.openpty()
        try:
            _set_size(slave, self.size)
            self.child = child = await asyncio.create_subprocess_exec(
                sys.executable, "-c", _CONTROLLING_TTY, *argv,
                stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True,
            )  # fmt: skip
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)  # else the pty never reports the app's end
        self._master = master
        log.info("%s: started the app (pid %d) for %s", self.login, child.pid, self.peer)
        if self.ending is not None:  # the client left while the app was starting
            self.end(self.ending)
        loop = self._loop
        self._output, _ = await loop.connect_read_pipe(lambda: _PtyOutput(self), os.fdopen(os.dup(master), "rb", 0))
        self._input, _ = await loop.connect_write_pipe(lambda: _PtyInput(self.chan), os.fdopen(os.dup(master), "wb", 0))
        self._input.write(bytes(self._early_input))
        self._idle = self._loop.call_later(self.server.idle_timeout, self._check_idle)
        return child

    def _finish(self, status: int) -> None:
        if self.ending == "disconnect":
            return
        message = _RESET if self.ending is not None or status < 0 else b""
        if self.ending == "idle":
            limit = self.server.idle_timeout
            message += f"crm: closed after {_duration(limit)} without a key press\r\n".encode()
            status = EXIT_IDLE
        elif self.ending is not None:
            message += b"crm: the server is shutting down\r\n" if self.ending == "shutdown" else b""
            status = 1
        with contextlib.suppress(OSError):  # the channel closed meanwhile
            self.chan.write(message)
            self.chan.exit(status if status >= 0 else 128 - status)

    def _check_idle(self) -> None:
        left = self._last_input + self.server.idle_timeout - self._loop.time()
        if left > 0:
            self._idle = self._loop.call_later(left, self._check_idle)
        elif self.ending is None:
            log.info("%s: closing an idle session from %s", self.login, self.peer)
            self.end("idle")

    def _close_pty(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
        for transport in (self._output, self._input):
            if transport is not None:
                transport.close()  # left set: later keys are dropped, not buffered
        if self._master is not None:
            os.close(self._master)
            self._master = None


class _PtyOutput(asyncio.Protocol):
    """What the app draws, to the client."""

    def __init__(self, session: AppSession) -> None:
        self.session = session

    def data_received(self, data: bytes) -> None:
        """Relay, unless the client is gone."""
        if self.session.ending != "disconnect":
            with contextlib.suppress(OSError):
                self.session.chan.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        """Nothing holds the pty's other end any more (EIO): the app has finished drawing."""
        self.session.output_done.set()


class _PtyInput(asyncio.Protocol):
    """Keys to the app; while the pty is full, the SSH window holds the client back."""

    def __init__(self, chan: Any) -> None:
        self.chan = chan

    def pause_writing(self) -> None:
        """The app is not reading."""
        self.chan.pause_reading()

    def resume_writing(self) -> None:
        """It reads again."""
        self.chan.resume_reading()


def _set_size(fd: int, size: tuple[int, int, int, int]) -> None:
    width, height, pixwidth, pixheight = size
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", height or 24, width or 80, pixwidth, pixheight))


def _duration(seconds: float) -> str:
    return f"{seconds / 60:g} minutes" if seconds >= 120 else f"{seconds:g} seconds"


async def _stop(child: asyncio.subprocess.Process) -> None:
    """Hang up on `child`'s process group, then terminate it, then kill it; return once reaped."""
    for sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGKILL):
        if child.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, sig)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(child.wait(), HANGUP_GRACE)
            return
        log.warning("app pid %d did not stop on %s", child.pid, signal.Signals(sig).name)
    await child.wait()
