"""Listening addresses: sockets bound before the server starts (so port 0 yields a known free port), and
whether an address is reachable from this machine only."""

from __future__ import annotations

import ipaddress
import socket


def bind_socket(host: str, port: int) -> socket.socket:
    """A bound TCP socket; the server that adopts it starts listening on it."""
    host = host.strip("[]")
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
