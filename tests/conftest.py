"""Shared fixtures: a fake upstream on a real socket and a factory for proxies in front of it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from keyproxy.config import CliOptions, build_settings, parse_config
from keyproxy.testing import BackgroundServer, FakeUpstream
from keyproxy.wiring import build_app
from support import StartProxy, provider_env


@pytest.fixture
def upstream() -> Iterator[tuple[FakeUpstream, str]]:
    fake = FakeUpstream()
    with BackgroundServer(fake) as server:
        yield fake, server.url + "/v1"
        fake.release_hangs()


@pytest.fixture
def start_proxy(upstream: tuple[FakeUpstream, str], tmp_path: Path) -> Iterator[StartProxy]:
    """start_proxy(**env) -> base URL of a proxy for provider `fake` over the fake upstream's keys."""
    servers: list[BackgroundServer] = []

    def start(
        env: Mapping[str, str] | None = None, *, providers: Mapping[str, str] | None = None, config: str | None = None
    ) -> str:
        values = {**(providers if providers is not None else provider_env(upstream[1])), **(env or {})}
        values.setdefault("KEYPROXY_DATA_DIR", str(tmp_path / f"data-{len(servers)}"))
        report = build_settings(values, CliOptions(), config=parse_config(config) if config else None)
        assert not report.errors, report.errors
        server = BackgroundServer(build_app(report.settings))
        server.start()
        servers.append(server)
        return server.url

    yield start
    upstream[0].release_hangs()
    for server in servers:
        server.stop()
