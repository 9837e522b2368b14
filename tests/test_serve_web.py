"""`crm serve --web`: the bind policy, the token guard on every route, and a real served app.

Nothing here binds anything but 127.0.0.1: the off-loopback policy is a function of the host string,
so an app built for "0.0.0.0" is exercised through aiohttp's test server on loopback.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from crm_tui import serve_web
from crm_tui.serve_web import SERVER_KEY, ServeError, build_app

TOKEN = "abcdefghijklmnopqrstuvwx-123"
COOKIE = f"crm_token_{serve_web.DEFAULT_PORT}"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.9.8.7", True),
        ("::1", True),
        ("[::1]", True),
        ("::ffff:127.0.0.1", True),
        ("localhost", True),
        ("LocalHost.", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.5", False),
        ("crm.example.com", False),
        ("", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert serve_web.is_loopback(host) is loopback


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, ("127.0.0.1", 8000)),
        ("", ("127.0.0.1", 8000)),
        ("0.0.0.0:9000", ("0.0.0.0", 9000)),
        ("localhost", ("localhost", 8000)),
        (":8080", ("127.0.0.1", 8080)),
        ("8080", ("127.0.0.1", 8080)),
        ("[::1]:8443", ("::1", 8443)),
        ("[::]", ("::", 8000)),
        ("::1", ("::1", 8000)),
    ],
)
def test_parse_bind(text: str | None, expected: tuple[str, int]) -> None:
    assert serve_web.parse_bind(text) == expected


@pytest.mark.parametrize("text", ["host:0", "host:70000", "host:http", "[::1", "[::1]8000"])
def test_parse_bind_refuses_bad_addresses(text: str) -> None:
    with pytest.raises(ServeError):
        serve_web.parse_bind(text)


def test_token_policy() -> None:
    assert serve_web.resolve_token("127.0.0.1", None) is None
    assert serve_web.resolve_token("localhost", TOKEN) == TOKEN  # an explicit token is honoured on loopback too
    generated = serve_web.resolve_token("0.0.0.0", None)
    assert generated is not None and len(generated) >= 32
    assert serve_web.resolve_token("0.0.0.0", None) != generated
    for bad in ("short", "has space in it 1234", "semi;colon;cookie;breaker"):
        with pytest.raises(ServeError):
            serve_web.resolve_token("0.0.0.0", bad)
    with pytest.raises(ServeError):
        build_app("crm.sqlite3", "0.0.0.0", 8000)  # off loopback, no token: refused, never served open


def test_command_and_environment() -> None:
    assert serve_web.app_command("/data/crm.db", "alice") == [
        sys.executable, "-m", "crm_tui", "--db", "/data/crm.db", "--user", "alice",
    ]  # fmt: skip
    assert serve_web.app_command("postgresql://u:pw@h/db") == [sys.executable, "-m", "crm_tui"]  # no password in argv
    assert serve_web.child_environment({}, None, "postgresql://u:pw@h/db") == {"CRM_DB_URL": "postgresql://u:pw@h/db"}
    base = {"PATH": "/bin", "CRM_SERVED_USER": "mallory"}
    assert serve_web.child_environment(base, "alice") == {"PATH": "/bin", "CRM_SERVED_USER": "alice"}
    assert serve_web.child_environment(base, None) == {"PATH": "/bin"}  # a stale one is never inherited


async def _client(app: aiohttp.web.Application) -> TestClient:
    client = TestClient(TestServer(app))  # binds 127.0.0.1
    await client.start_server()
    return client


@pytest.fixture
async def open_client(tmp_path: Path) -> AsyncIterator[TestClient]:
    """A client of an app built for 0.0.0.0 (so it demands TOKEN), served on loopback."""
    client = await _client(build_app(str(tmp_path / "crm.sqlite3"), "0.0.0.0", user="alice", token=TOKEN))
    yield client
    await client.close()


async def test_off_loopback_every_route_needs_the_token(open_client: TestClient) -> None:
    for path in ("/", "/static/js/textual.js", "/static/css/xterm.css", "/download/anything"):
        response = await open_client.get(path)
        assert response.status == 403, path
        assert response.content_type == "text/plain"
        assert "token" in await response.text()
    for query in ("?token=wrong-token-wrong-token", f"?token={TOKEN}x"):
        assert (await open_client.get("/" + query)).status == 403
    assert (await open_client.get("/", headers={"Cookie": f"{COOKIE}=nope-nope-nope-nope"})).status == 403
    assert (await open_client.get("/", headers={"Cookie": f"other_cookie={TOKEN}"})).status == 403


async def test_token_in_query_sets_cookie_and_leaves_the_address_bar(open_client: TestClient) -> None:
    response = await open_client.get(f"/?fontsize=20&token={TOKEN}", allow_redirects=False)
    assert response.status == 200
    header = response.headers["Set-Cookie"]
    assert header.startswith(f"{COOKIE}={TOKEN};")
    assert "HttpOnly" in header and "SameSite=Strict" in header and "Path=/" in header
    body = await response.text()
    assert 'location.replace("./?fontsize=20")' in body  # the same URL, without the token
    assert TOKEN not in body
    asset = await open_client.get(f"/static/js/textual.js?token={TOKEN}")
    assert asset.status == 200 and 'location.replace("textual.js")' in await asset.text()
    assert TOKEN not in body
    assert response.headers["Cache-Control"] == "no-store"


async def test_the_cookie_alone_then_opens_every_route(open_client: TestClient) -> None:
    cookie = {"Cookie": f"{COOKIE}={TOKEN}"}
    page = await open_client.get("/?fontsize=20", headers=cookie)
    assert page.status == 200
    html = await page.text()
    port = open_client.server.port
    # The page's URLs point back where the browser reached us, not at the 0.0.0.0 bind address.
    assert f'data-session-websocket-url="ws://127.0.0.1:{port}/ws"' in html
    assert f'src="http://127.0.0.1:{port}/static/js/textual.js"' in html
    assert 'data-font-size="20"' in html
    assert page.headers["X-Frame-Options"] == "DENY"
    for asset in re.findall(rf'(?:src|href)="http://127\.0\.0\.1:{port}(/static/[^"]+)"', html):
        assert (await open_client.get(asset, headers=cookie)).status == 200, asset
    assert (await open_client.get("/static/", headers=cookie)).status == 403  # no directory listing


async def test_websocket_refused_without_the_token(open_client: TestClient) -> None:
    for url in ("/ws", "/ws?token=wrong-token-wrong-token"):
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await open_client.ws_connect(url)
        assert refused.value.status == 403
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await open_client.ws_connect("/ws", headers={"Cookie": f"{COOKIE}={TOKEN}", "Origin": "https://evil.example"})
    assert refused.value.status == 403
    assert not open_client.server.app[SERVER_KEY].sessions  # no app process was started


async def test_loopback_serves_without_a_token_but_only_to_loopback_names(tmp_path: Path) -> None:
    client = await _client(build_app(str(tmp_path / "crm.sqlite3")))
    try:
        page = await client.get("/")
        assert page.status == 200
        assert "Set-Cookie" not in page.headers
        assert (await client.get("/static/js/textual.js")).status == 200
        assert (await client.get("/", headers={"Host": f"localhost:{client.server.port}"})).status == 200
        # A DNS-rebinding page reaches 127.0.0.1 under its own name; it is turned away.
        assert (await client.get("/", headers={"Host": "evil.example"})).status == 403
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await client.ws_connect("/ws", headers={"Origin": "http://evil.example"})
        assert refused.value.status == 403
    finally:
        await client.close()


async def test_a_browser_session_runs_the_crm_app_as_the_user(tmp_path: Path) -> None:
    database = tmp_path / "crm.sqlite3"
    client = await _client(build_app(str(database), user="alice", token=TOKEN))
    server = client.server.app[SERVER_KEY]
    try:
        origin = f"http://127.0.0.1:{client.server.port}"
        ws = await client.ws_connect(f"/ws?token={TOKEN}&width=100&height=30", headers={"Origin": origin})
        received = b""
        async with asyncio.timeout(20):
            while len(received) < 1000:  # a first full screen, not just the terminal set-up
                message = await ws.receive()
                assert message.type == aiohttp.WSMsgType.BINARY, message
                received += message.data
        ((_, session),) = server.sessions
        process = session._process
        if Path(f"/proc/{process.pid}").exists():
            cmdline = Path(f"/proc/{process.pid}/cmdline").read_bytes().split(b"\0")[:-1]
            assert cmdline == [a.encode() for a in serve_web.app_command(str(database), "alice")]
            assert b"CRM_SERVED_USER=alice" in Path(f"/proc/{process.pid}/environ").read_bytes().split(b"\0")
        await ws.close()
    finally:
        await client.close()  # waits for the handler, which stops the child
    assert process.returncode == 0  # it quit when asked, it was not killed
    assert not server.sessions
    with sqlite3.connect(database) as conn:  # the child opened this workspace and signed alice in
        assert conn.execute("SELECT role FROM crm_user WHERE login = 'alice'").fetchone() == ("admin",)
