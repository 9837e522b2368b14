"""Where `crm serve` listens: reading `HOST:PORT`, telling loopback from the open network, and
writing an address back. Standard library only, so the command line can check an address before
the SSH or web server's own libraries are imported."""

from __future__ import annotations

import ipaddress

DEFAULT_HOST = "127.0.0.1"
SSH_PORT = 2222
WEB_PORT = 8000


class ServeError(ValueError):
    """A bad address or token; the message is meant for the person who typed it."""


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 (also bracketed or IPv4-mapped) and `localhost`."""
    name = host.strip().strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return bool(address.is_loopback or (mapped is not None and mapped.is_loopback))


def is_wildcard(host: str) -> bool:
    """True when `host` means every address of this machine."""
    return host in ("", "0.0.0.0", "::")


def parse_bind(text: str | None, default_port: int = WEB_PORT) -> tuple[str, int]:
    """Read `HOST:PORT`, `HOST`, `:PORT`, `PORT` or `[IPv6]:PORT`; missing parts take the defaults."""
    if text is None or not text.strip():
        return DEFAULT_HOST, default_port
    text = text.strip()
    if text.isdigit():
        host, port_text = "", text
    elif text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ServeError(f"cannot read the address {text!r}: write [IPv6]:PORT")
        port_text = rest[1:]
    elif text.count(":") > 1:  # a bare IPv6 address has no room for a port
        host, port_text = text, ""
    else:
        host, _, port_text = text.partition(":")
    port = default_port
    if port_text:
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise ServeError(f"the port must be a number from 1 to 65535, not {port_text!r}")
        port = int(port_text)
    return host or DEFAULT_HOST, port


def netloc(host: str, port: int) -> str:
    """`host:port`, an IPv6 address in brackets."""
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"{shown}:{port}"
