"""Shared fixtures: a proxy and its fake upstream in memory, or on real sockets when the socket is the point.

In memory: `fake_upstream` (a fresh FakeUpstream) and `open_proxy(...)`, an AppClient of a proxy whose
upstream requests go to it through ASGITransport. On sockets: `upstream`, one FakeUpstream server shared
by the session and reset around each test, and `start_proxy(...)`, a proxy served by uvicorn in front of it.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
import redis
from hypothesis import HealthCheck, settings

from keyproxy.testing import AppClient, ASGITransport, BackgroundServer, FakeUpstream
from keyproxy.wiring import build_app
from support import (
    CLIENTS,
    FINGERPRINT_FILE,
    MEMORY_BASE,
    REDIS_URL,
    STARTED,
    OpenProxy,
    StartProxy,
    Upstream,
    fingerprints_of,
    provider_env,
    proxy_settings,
)


@pytest.fixture
def restored_root() -> Iterator[None]:
    """For tests that set up logging: the root logger's handlers and level as they were."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def fake_upstream() -> FakeUpstream:
    return FakeUpstream()


@pytest.fixture
def open_proxy(fake_upstream: FakeUpstream, tmp_path: Path) -> Iterator[OpenProxy]:
    """open_proxy(env, providers=..., config=..., network=False) -> a started AppClient of a proxy.

    Provider `fake` over `fake_upstream` unless `providers` says otherwise. With `network=True` the
    proxy keeps its real transport, and its upstream requests go over sockets.
    """
    numbers = itertools.count()
    with contextlib.ExitStack() as clients:

        def open_proxy(
            env: Mapping[str, str] | None = None,
            *,
            providers: Mapping[str, str] | None = None,
            config: str | None = None,
            network: bool = False,
        ) -> AppClient:
            values = {**(providers if providers is not None else provider_env(MEMORY_BASE)), **(env or {})}
            settings = proxy_settings(values, tmp_path / f"data-{next(numbers)}", config)
            app = build_app(settings, transport=None if network else ASGITransport(fake_upstream))
            return clients.enter_context(AppClient(app))

        yield open_proxy


@pytest.fixture
def key_id(tmp_path: Path) -> Callable[[str], str]:
    """key_id(key) -> the key's id in the proxies this test started under `tmp_path` (one secret among them)."""

    def key_id(key: str) -> str:
        found = {fingerprints_of(path.parent) for path in tmp_path.rglob(FINGERPRINT_FILE)}
        assert len(found) == 1, f"{len(found)} fingerprint secrets under {tmp_path}"
        return found.pop()(key)

    return key_id


@pytest.fixture(scope="session")
def upstream_server() -> Iterator[Upstream]:
    fake = FakeUpstream()
    with BackgroundServer(fake) as server:
        yield fake, server.url + "/v1"


@pytest.fixture
def upstream(upstream_server: Upstream) -> Iterator[Upstream]:
    """The session's fake upstream on a real socket, with no faults, journal or hanging requests left."""
    upstream_server[0].reset()
    yield upstream_server
    upstream_server[0].reset()


@pytest.fixture
def start_proxy(upstream: Upstream, tmp_path: Path) -> Iterator[StartProxy]:
    """start_proxy(env, providers=..., config=...) -> base URL of a proxy served on a real socket."""
    servers: list[BackgroundServer] = []

    def start(
        env: Mapping[str, str] | None = None, *, providers: Mapping[str, str] | None = None, config: str | None = None
    ) -> str:
        values = {**(providers if providers is not None else provider_env(upstream[1])), **(env or {})}
        server = BackgroundServer(build_app(proxy_settings(values, tmp_path / f"data-{len(servers)}", config)))
        server.start()
        servers.append(server)
        return server.url

    yield start
    upstream[0].release_hangs()
    for server in servers:
        server.stop()


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix no other test uses; every Redis key under it is deleted afterwards."""
    name = f"keyproxy-test:{uuid.uuid4().hex}:"
    yield name
    client = redis.Redis.from_url(REDIS_URL)
    found = list(client.scan_iter(match=name + "*", count=1000))
    if found:
        client.delete(*found)
    client.close()


# Fuzz budgets: a few dozen examples per property in the normal suite, the same ones every run, so a CI run
# never fails on a find of its own; `--hypothesis-profile=fuzz` runs many more, new ones each time.
settings.register_profile(
    "keyproxy", max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("fuzz", max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("keyproxy")


@pytest.fixture(autouse=True)
def no_proxy_left_running() -> Iterator[None]:
    """A test that started `keyproxy serve` and failed before stopping it still leaves nothing behind."""
    yield
    while STARTED:
        started = STARTED.pop()
        if started.process.poll() is None:
            started.process.kill()
        started.process.communicate()
    while CLIENTS:
        CLIENTS.pop().close()


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate and its key for localhost and 127.0.0.1, for TLS servers on loopback."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key
