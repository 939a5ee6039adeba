"""The bind-safety rule: an open proxy (no PROXY_API_KEY) may only listen on loopback."""

from __future__ import annotations

from keyproxy.net import is_loopback


def bind_problem(host: str, proxy_key: str | None) -> str | None:
    if proxy_key or is_loopback(host):
        return None
    return (
        f"refusing to listen on {host} without PROXY_API_KEY: anyone who can reach it could spend "
        "your keys. Set PROXY_API_KEY, or bind to 127.0.0.1."
    )
