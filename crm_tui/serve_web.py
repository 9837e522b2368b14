"""`crm serve --web`: the same app in a browser, through textual-serve.

Every browser session gets its own `python -m crm_tui --db TARGET [--user LOGIN]` process, spoken to
over a websocket. On a loopback address no token is needed (unless one is given); anywhere else every
request (page, static files, downloads, websocket) must carry a secret token, because whoever has
it acts as LOGIN. This module deliberately imports neither Textual nor the data layer: the server
process only relays bytes, each child opens the workspace itself.
"""

from __future__ import annotations

import asyncio
import hmac
import html
import json
import logging
import re
import secrets
import shlex
import signal
import sys
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import aiohttp_jinja2
import jinja2
from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

# The address rules live with the command line's; re-exported here for the web server's callers.
from crm_tui.serve_address import DEFAULT_HOST, WEB_PORT, ServeError, is_loopback, is_wildcard, netloc, parse_bind
from crm_tui.services.permissions import SERVED_USER_ENV

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "SERVER_KEY", "CrmWebServer", "ServeError", "app_command", "build_app",
           "child_environment", "is_loopback", "parse_bind", "resolve_token", "run"]  # fmt: skip

log = logging.getLogger("crm_tui.serve_web")

DEFAULT_PORT = WEB_PORT
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9._~-]{16,200}")
STOP_TIMEOUT = 5.0  # seconds a child gets to quit before it is killed

SERVER_KEY = web.AppKey("crm_web_server", "CrmWebServer")


def resolve_token(host: str, token: str | None) -> str | None:
    """The token the server will demand: the given one, a fresh one off loopback, else none."""
    if token is not None:
        if not TOKEN_PATTERN.fullmatch(token):
            raise ServeError("the token must be 16 to 200 characters from A-Z a-z 0-9 . _ ~ -")
        return token
    return None if is_loopback(host) else secrets.token_urlsafe(24)


def _is_url(target: str) -> bool:
    return target.startswith(("postgresql://", "postgres://"))


def app_command(target: str, user: str | None = None) -> list[str]:
    """The argv each browser session runs: this Python, the crm app, the workspace (a PostgreSQL
    URL goes in the environment instead: `ps` shows argv, and a URL may hold a password), the user."""
    argv = [sys.executable, "-m", "crm_tui"] + ([] if _is_url(target) else ["--db", target])
    if user:
        argv += ["--user", user]
    return argv


def child_environment(base: Mapping[str, str], user: str | None, target: str = "") -> dict[str, str]:
    """`base` with CRM_SERVED_USER set to `user`, or removed so a stale one is never inherited, and
    a PostgreSQL `target` as CRM_DB_URL."""
    env = dict(base)
    if _is_url(target):
        env["CRM_DB_URL"] = target
    if user:
        env[SERVED_USER_ENV] = user
    else:
        env.pop(SERVED_USER_ENV, None)
    return env


def _host_name(netloc: str) -> str:
    """The host part of a Host header or URL netloc, lower case, without port or brackets."""
    return (urlsplit(f"//{netloc}").hostname or "").lower()


class _AppSession(AppService):
    """One child process: started without a shell, with our environment, and always reaped."""

    def __init__(self, argv: list[str], user: str | None, target: str, **kwargs: Any) -> None:
        super().__init__(shlex.join(argv), **kwargs)
        self.argv = argv
        self.user = user
        self.target = target
        self._stopping: asyncio.Future[None] | None = None

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        # textual-serve copies os.environ; the served user must be set (or cleared) on top of it.
        return child_environment(super()._build_environment(width, height), self.user, self.target)

    async def _open_app_process(self, width: int = 80, height: int = 24) -> asyncio.subprocess.Process:
        # textual-serve runs a shell command; an argv needs no quoting and leaves no shell in between.
        self._process = process = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self._build_environment(width, height),
        )
        assert process.stdin is not None
        self._stdin = process.stdin
        return process

    async def run(self) -> None:
        """Relay the child's output; when it ends (quit or crash), end the browser session too."""
        await super().run()
        await self.remote_close()

    def stopping(self) -> asyncio.Future[None]:
        """The one task that stops this session: started on first call, shared by later callers."""
        if self._stopping is None:
            self._stopping = asyncio.ensure_future(self._stop())
        return self._stopping

    async def stop(self) -> None:
        """Stop the child; a caller cancelled meanwhile (a dropped connection) does not stop the stopping."""
        await asyncio.shield(self.stopping())

    async def _stop(self) -> None:
        process = self._process
        try:
            await asyncio.wait_for(super().stop(), STOP_TIMEOUT)
            if process is not None:
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
        except TimeoutError:
            log.warning("a served app did not quit in time; killing it")
        finally:
            # Also when cancelled (the event loop is closing): a served app must never outlive its session.
            if process is not None and process.returncode is None:
                process.kill()
        if process is not None:
            await process.wait()


class CrmWebServer(Server):
    """textual-serve's Server with a token check, an Origin check and a per-request public URL."""

    def __init__(
        self, target: str, host: str, port: int, *, user: str | None, token: str | None, public_url: str | None
    ) -> None:
        self.argv = app_command(target, user)
        self.target = target
        super().__init__(shlex.join(self.argv), host=host, port=port, title="crm-tui", public_url=public_url)
        # Server always invents a public URL; ours is only what the operator said, else the request's own.
        self.public_url = public_url.rstrip("/") if public_url else ""
        self.public_names = {_host_name(urlsplit(self.public_url).netloc)} if self.public_url else set()
        self.user = user
        self.token = token
        self.cookie_name = f"crm_token_{port}"  # cookies ignore ports: two servers on a host must not clash
        self.sessions: set[tuple[web.WebSocketResponse, _AppSession]] = set()

    async def _make_app(self) -> web.Application:
        return self.make_app()

    def make_app(self) -> web.Application:
        """The aiohttp application: textual-serve's routes (minus the static index) behind the guard."""
        app = web.Application(middlewares=[self._guard])
        app[SERVER_KEY] = self
        aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(self.templates_path))
        app.add_routes(
            [
                web.get("/", self.handle_index, name="index"),
                web.get("/ws", self.handle_websocket, name="websocket"),
                web.get("/download/{key}", self.handle_download, name="download"),
                web.static("/static", self.statics_path, show_index=False, name="static"),
            ]
        )
        app.on_response_prepare.append(self._harden)
        app.on_shutdown.append(self.on_shutdown)
        return app

    def _token_ok(self, given: str | None) -> bool:
        assert self.token is not None
        return given is not None and hmac.compare_digest(given.encode(), self.token.encode())

    @web.middleware
    async def _guard(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """Every route: token (or loopback Host), and for the websocket a same-origin page."""
        upgrade = request.headers.get("Upgrade", "").lower() == "websocket"
        if self.token is None:
            # Without a token, a DNS-rebinding page (Host: evil.example) must not reach the app.
            name = _host_name(request.host)
            if not (is_loopback(name) or name in self.public_names):
                return _forbidden("this server only answers to its loopback address")
        else:
            given = request.query.get("token")
            if given is not None:
                if not self._token_ok(given):
                    return _forbidden("wrong token")
                if not upgrade and request.method in ("GET", "HEAD"):
                    return self._sign_in(request)
            elif not self._token_ok(request.cookies.get(self.cookie_name)):
                return _forbidden("a token is needed: open the URL `crm serve --web` printed, with ?token=")
        if upgrade:
            origin = request.headers.get("Origin")
            # Browsers always send Origin on a websocket; another site's page must not drive the app.
            if origin is not None:
                name = _host_name(urlsplit(origin).netloc)
                if name != _host_name(request.host) and name not in self.public_names:
                    return _forbidden("cross-origin websocket refused")
        return await handler(request)

    def _sign_in(self, request: web.Request) -> web.Response:
        """Set the cookie and move to the URL without the token, so it leaves the address bar.

        A page, not a 302: a SameSite=Strict cookie is not sent on a redirect that began on another
        site (a link in a chat or mail), while a navigation started by our own page is same-site.
        """
        rest = request.rel_url.without_query_params("token")
        # Relative, so it also lands right behind a proxy that serves us under a sub-path.
        clean = (rest.name or "./") + (f"?{rest.query_string}" if rest.query_string else "")
        script_url = json.dumps(clean).replace("<", "\\u003c")
        body = (
            '<!DOCTYPE html><html><head><meta charset="utf-8">'
            f'<meta http-equiv="refresh" content="0; url={html.escape(clean)}"><title>crm-tui</title></head>'
            f"<body><script>location.replace({script_url});</script>"
            f'<p><a href="{html.escape(clean)}">Continue to crm-tui</a></p></body></html>'
        )
        response = web.Response(text=body, content_type="text/html")
        secure = request.secure or self.public_url.startswith("https:")
        assert self.token is not None
        response.set_cookie(self.cookie_name, self.token, httponly=True, samesite="Strict", secure=secure, path="/")
        response.headers["Cache-Control"] = "no-store"
        return response

    async def _harden(self, request: web.Request, response: web.StreamResponse) -> None:
        """No framing (clickjacking of a live session) and no token-bearing Referer."""
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
        response.headers.setdefault("Referrer-Policy", "no-referrer")

    def _base_url(self, request: web.Request) -> str:
        return self.public_url or f"{request.scheme}://{request.host}"

    async def handle_index(self, request: web.Request) -> web.Response:  # type: ignore[override]
        """The page: textual-serve's template, with URLs built from where the browser reached us."""
        base = self._base_url(request)
        ws_base = ("wss:" if base.startswith("https:") else "ws:") + base.split(":", 1)[1]
        context = {
            "font_size": to_int(request.query.get("fontsize", "16"), 16),
            "app_websocket_url": ws_base + str(request.app.router["websocket"].url_for()),
            "config": {"static": {"url": base + "/static/"}},
            "application": {"name": f"crm-tui — {self.user}" if self.user else "crm-tui"},
        }
        return aiohttp_jinja2.render_template("app_index.html", request, context)

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """One websocket, one child process; whichever ends first ends the other."""
        websocket = web.WebSocketResponse(heartbeat=15)
        width = to_int(request.query.get("width", "80"), 80)
        height = to_int(request.query.get("height", "24"), 24)
        await websocket.prepare(request)
        session = _AppSession(
            self.argv,
            self.user,
            self.target,
            write_bytes=websocket.send_bytes,
            write_str=websocket.send_str,
            close=websocket.close,
            download_manager=self.download_manager,
            debug=self.debug,
        )
        entry = (websocket, session)
        self.sessions.add(entry)
        try:
            await session.start(width, height)
            await self._process_messages(websocket, session)
        except Exception:
            log.exception("served app session failed")
        finally:
            # Listed until the child is gone, so a shutdown meanwhile still waits for it.
            session.stopping().add_done_callback(lambda _done: self.sessions.discard(entry))
            await session.stop()
        return websocket

    async def on_shutdown(self, app: web.Application) -> None:
        """Stop every child before aiohttp cancels the handlers; each stop also closes its websocket."""
        sessions = [session for _websocket, session in self.sessions]
        await asyncio.gather(*(session.stop() for session in sessions), return_exceptions=True)


def _forbidden(reason: str) -> web.Response:
    return web.Response(status=403, text=f"403 Forbidden: {reason}\n", content_type="text/plain")


def build_app(
    target: str,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    user: str | None = None,
    token: str | None = None,
    public_url: str | None = None,
) -> web.Application:
    """The aiohttp application serving the crm app; off loopback a token is mandatory."""
    if token is None and not is_loopback(host):
        raise ServeError(f"serving on {host} needs a token (see resolve_token)")
    if token is not None:
        resolve_token(host, token)  # validates it
    server = CrmWebServer(target, host, port, user=user, token=token, public_url=public_url)
    return server.make_app()


def _announce(host: str, port: int, user: str | None, token: str | None, public_url: str | None) -> None:
    base = (public_url or f"http://{netloc(host, port)}").rstrip("/")
    who = user or "the default user (config, $CRM_USER or the OS login)"
    err = sys.stderr
    if not is_loopback(host):
        where = f"port {port} of every address of this machine" if is_wildcard(host) else netloc(host, port)
        print(
            f"crm: WARNING: serving on {where}, not just to this machine. Anyone who can reach it "
            f"and has the token acts as {who}. Put it behind TLS (a reverse proxy "
            "with https, then --public-url) or an SSH tunnel; a plain http token can be sniffed.",
            file=err,
        )
        if is_wildcard(host):
            print(f"crm: replace {host} in the URL with this machine's address or name.", file=err)
    elif token is None:
        print(f"crm: serving on loopback without a token: every local user of this machine can act as {who}.", file=err)
        if public_url and not is_loopback(_host_name(urlsplit(public_url).netloc)):
            print("crm: WARNING: --public-url is not loopback; a proxy in front needs --token.", file=err)
    print(f"crm: each browser session runs the app as {who}. Press Ctrl+C to stop.", file=err)
    print(f"{base}/?token={token}" if token else f"{base}/", flush=True)


async def _serve(app: web.Application, host: str, port: int, announce: Callable[[], None]) -> None:
    """Bind, then announce (so a busy port prints no URL), then serve until SIGINT or SIGTERM."""
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=STOP_TIMEOUT + 5)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        announce()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(signum, stop.set)
            except (NotImplementedError, RuntimeError):  # Windows: Ctrl+C arrives as KeyboardInterrupt
                pass
        await stop.wait()
    finally:
        await runner.cleanup()  # runs on_shutdown: every child is asked to quit, then killed


def run(
    target: str,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    user: str | None = None,
    token: str | None = None,
    public_url: str | None = None,
) -> int:
    """Serve until Ctrl+C; 0 then, 2 (with a message) for a bad token or an address in use."""
    try:
        token = resolve_token(host, token)
        app = build_app(target, host, port, user=user, token=token, public_url=public_url)
    except ServeError as error:
        print(f"crm: {error}", file=sys.stderr)
        return 2
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, format="crm serve: %(message)s")
    try:
        asyncio.run(_serve(app, host, port, lambda: _announce(host, port, user, token, public_url)))
    except OSError as error:
        print(f"crm: cannot serve on {netloc(host, port)}: {error.strerror or error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0
