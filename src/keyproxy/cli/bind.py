"""The bind-safety rule: an open proxy (no PROXY_API_KEY) may only listen on loopback."""

from __future__ import annotations

import ipaddress


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind_problem(host: str, proxy_key: str | None) -> str | None:
    if proxy_key or is_loopback(host):
        return None
    return (
        f"refusing to listen on {host} without PROXY_API_KEY: anyone who can reach it could spend "
        "your keys. Set PROXY_API_KEY, or bind to 127.0.0.1."
    )
