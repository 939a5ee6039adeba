"""What one client connection may hold of `keyproxy serve`'s HTTP server: headers past the size limit get 431,
headers or a body that stop arriving and idle connections are closed, requests beyond the connection limit
get 503. Real sockets against the server `keyproxy serve` builds: the connection is the point."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import uvicorn

from keyproxy.api.body_budget import BodyBudget
from keyproxy.cli.serve import build_server
from keyproxy.config import Settings
from keyproxy.config.settings import ServerLimits, StateSettings
from keyproxy.net import bind_socket
from keyproxy.testing import Fault, FaultKind
from keyproxy.wiring import build_app
from support import KEYS, PROXY_KEY, ServeProcess, Upstream

SHORT = 0.2
"""Seconds for the timeouts under test: waiting for a short configured timeout, not for time to pass."""

HEALTH = b"GET /health HTTP/1.1\r\nhost: proxy\r\n\r\n"


@contextlib.contextmanager
def serving(limits: ServerLimits) -> Iterator[int]:
    """`keyproxy serve`'s server with `limits`, in a thread; its port."""
    settings = Settings(state=StateSettings(backend="memory"))
    app = BodyBudget(build_app(settings), limits.body_bytes_in_flight, settings.max_body_bytes)
    listener = bind_socket("127.0.0.1", 0)
    server = build_server(app, "critical", 0, limits)
    thread = threading.Thread(target=_run, args=(server, listener), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.started
        yield listener.getsockname()[1]
    finally:
        server.should_exit = True
        server.force_exit = True
        thread.join(10)
        listener.close()


def _run(server: uvicorn.Server, listener: socket.socket) -> None:
    asyncio.run(server.serve(sockets=[listener]))


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def health(port: int) -> bytes:
    with connect(port) as sock:
        sock.sendall(HEALTH.replace(b"\r\n\r\n", b"\r\nconnection: close\r\n\r\n"))
        return read_all(sock)


def test_a_megabyte_of_headers_gets_431_and_the_connection_closes() -> None:
    with serving(ServerLimits()) as port, connect(port) as sock:
        with contextlib.suppress(OSError):
            sock.sendall(b"GET /health HTTP/1.1\r\nhost: proxy\r\nx-big: " + b"a" * 1024 * 1024 + b"\r\n\r\n")
        answer = read_all(sock)

        assert answer.startswith(b"HTTP/1.1 431 ")
        assert b'"code":"headers_too_large"' in answer
        assert health(port).startswith(b"HTTP/1.1 200 ")


def test_many_headers_that_arrive_in_one_piece_past_the_limit_get_431() -> None:
    many = b"".join(b"x-h-%d: %s\r\n" % (n, b"v" * 100) for n in range(100))
    with serving(ServerLimits(max_header_bytes=4096)) as port, connect(port) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nhost: proxy\r\n" + many + b"\r\n")

        assert read_all(sock).startswith(b"HTTP/1.1 431 ")


def test_headers_within_the_limit_are_served() -> None:
    many = b"".join(b"x-h-%d: %s\r\n" % (n, b"v" * 100) for n in range(30))
    with serving(ServerLimits(max_header_bytes=4096)) as port, connect(port) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nhost: proxy\r\nconnection: close\r\n" + many + b"\r\n")

        assert read_all(sock).startswith(b"HTTP/1.1 200 ")


def test_headers_that_stop_halfway_are_closed_after_the_header_timeout() -> None:
    with serving(ServerLimits(header_timeout=SHORT)) as port, connect(port) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nhost: pro")

        assert read_all(sock) == b""


def test_a_connection_that_sends_nothing_is_closed_after_the_header_timeout() -> None:
    with serving(ServerLimits(header_timeout=SHORT)) as port, connect(port) as sock:
        assert read_all(sock) == b""


def test_a_body_that_stops_halfway_gets_408_and_the_connection_closes() -> None:
    with serving(ServerLimits(body_timeout=SHORT)) as port, connect(port) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nhost: proxy\r\ncontent-length: 1000\r\n\r\n{\"model\"")

        answer = read_all(sock)

        assert answer.startswith(b"HTTP/1.1 408 ")
        assert b'"code":"body_timeout"' in answer


def test_a_body_that_trickles_in_below_the_minimum_rate_gets_408() -> None:
    # Never silent for a whole body timeout, yet a byte at a time: it would hold the connection for hours.
    with serving(ServerLimits(body_timeout=SHORT, min_body_rate=1000)) as port, connect(port) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nhost: proxy\r\ncontent-length: 1000\r\n\r\n{")
        sock.settimeout(SHORT / 4)
        answer = b""
        for _ in range(100):
            with contextlib.suppress(TimeoutError):
                sock.sendall(b" ")
                answer += sock.recv(65536)
            if answer:
                break
        sock.settimeout(10)

        assert (answer + read_all(sock)).startswith(b"HTTP/1.1 408 ")


def test_a_body_that_takes_longer_than_the_timeout_at_a_fair_rate_is_served() -> None:
    body = b'{"model": "nothing/such", "messages": []}'.ljust(2000)
    with serving(ServerLimits(body_timeout=SHORT, min_body_rate=1000)) as port, connect(port) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nhost: proxy\r\ncontent-length: 2000\r\n\r\n")
        for start in range(0, len(body), 200):
            sock.sendall(body[start : start + 200])
            time.sleep(SHORT / 4)
        answer = sock.recv(65536)

        assert not answer.startswith(b"HTTP/1.1 408 ")
        assert answer.startswith(b"HTTP/1.1 4")


def test_an_idle_keep_alive_connection_is_closed() -> None:
    with serving(ServerLimits(keep_alive=SHORT)) as port, connect(port) as sock:
        sock.sendall(HEALTH)
        answer = read_all(sock)

        assert answer.startswith(b"HTTP/1.1 200 ")
        assert b"connection: close" not in answer.lower()


def test_a_request_beyond_the_connection_limit_is_answered_503() -> None:
    with serving(ServerLimits(max_connections=2)) as port, connect(port) as first, connect(port) as second:
        for sock in (first, second):
            sock.sendall(HEALTH)
            assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")

        answer = health(port)
        assert answer.startswith(b"HTTP/1.1 503 ")
        assert b"retry-after: 1" in answer.lower() and b'"code":"too_many_connections"' in answer


def test_a_body_far_larger_than_the_header_limit_is_not_taken_for_headers() -> None:
    body = b'{"model": "p/m", "messages": [{"role": "user", "content": "' + b"x" * 300_000 + b'"}]}'
    head = b"POST /v1/chat/completions HTTP/1.1\r\nhost: proxy\r\nconnection: close\r\ncontent-length: %d\r\n\r\n"
    with serving(ServerLimits(max_header_bytes=4096)) as port, connect(port) as sock:
        sock.sendall(head % len(body) + body)

        assert not read_all(sock).startswith(b"HTTP/1.1 431 ")


def test_keyproxy_serve_applies_the_limits_it_is_configured_with(tmp_path: Path, upstream: Upstream) -> None:
    proxy = ServeProcess(tmp_path, upstream[1], extra=f"KEYPROXY_HEADER_TIMEOUT={SHORT}\n")
    try:
        with connect(proxy.port) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\n")

            assert read_all(sock) == b""
    finally:
        proxy.stop()


def test_a_client_that_leaves_mid_request_frees_its_key_at_once(tmp_path: Path, upstream: Upstream) -> None:
    # The server tells the request its client is gone: the upstream call is dropped, the key given back.
    for key in KEYS:
        upstream[0].set_fault(key, Fault(FaultKind.HANG))
    proxy = ServeProcess(tmp_path, upstream[1])
    try:
        body = b'{"model": "fake/fake-chat", "messages": [{"role": "user", "content": "hi"}]}'
        with connect(proxy.port) as sock:
            head = b"POST /v1/chat/completions HTTP/1.1\r\nhost: proxy\r\nauthorization: Bearer %s\r\n" % (
                PROXY_KEY.encode()
            )
            sock.sendall(head + b"content-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
            assert upstream[0].wait_for_requests(1)
            assert in_flight(proxy) == 1

        deadline = time.monotonic() + 10
        while in_flight(proxy) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert in_flight(proxy) == 0
    finally:
        upstream[0].release_hangs()
        proxy.stop()


def in_flight(proxy: ServeProcess) -> int:
    status = httpx.get(proxy.url + "/v1/status", headers={"authorization": f"Bearer {PROXY_KEY}"}).json()
    return sum(key["in_flight"] for key in status["providers"]["fake"]["keys"])
