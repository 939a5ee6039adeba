"""Constants and helpers shared by tests (fixtures live in conftest.py)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import redis

from keyproxy.config import CliOptions, Credential, ProviderSettings, Settings, build_settings, parse_config
from keyproxy.events import Tokens
from keyproxy.redact import Fingerprinter
from keyproxy.state.fingerprint_secret import FILE_NAME as FINGERPRINT_FILE
from keyproxy.state.fingerprint_secret import read_secret
from keyproxy.testing import AppClient, FakeUpstream

KEYS = ("sk-test-alpha-000000001", "sk-test-bravo-000000002", "sk-test-charlie-00000003")
PROXY_KEY = "kp-proxy-secret-0123456789"
MEMORY_BASE = "http://fake-upstream.test/v1"
"""Where a proxy in memory finds its fake upstream; ASGITransport ignores the host."""

REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_up() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5, socket_timeout=0.5).ping())
    except redis.RedisError:
        return False


needs_redis = pytest.mark.skipif(not redis_up(), reason="needs a Redis server on 127.0.0.1:6379 (.ci/run starts one)")

StartProxy = Callable[..., str]
OpenProxy = Callable[..., AppClient]
Upstream = tuple[FakeUpstream, str]
"""The shared fake upstream on a socket, and its OpenAI base URL."""


def provider_env(base: str, keys: tuple[str, ...] = KEYS, name: str = "fake") -> dict[str, str]:
    """A provider over the fake upstream; tolerance 0 makes balanced rotation deterministic (key order)."""
    env = {f"{name.upper()}_API_BASE": base, "ROTATION_TOLERANCE": "0"}
    env.update({f"{name.upper()}_API_KEY_{n}": key for n, key in enumerate(keys, start=1)})
    return env


KeyId = Callable[[str], str]
"""The `key_id` fixture: a key's id in the proxies a test started."""

IDS = Fingerprinter(bytes(range(32)))
"""The fingerprints of tests that build pools and key rings themselves."""


def fingerprints_of(data_dir: Path) -> Fingerprinter:
    """The fingerprints of the proxy whose data dir this is: it keeps its secret there."""
    secret = read_secret(data_dir / FINGERPRINT_FILE)
    assert secret is not None, f"no fingerprint secret in {data_dir}"
    return Fingerprinter(secret)


def proxy_settings(values: Mapping[str, str], data_dir: Path, config: str | None = None) -> Settings:
    """Settings as `keyproxy serve` would build them from these variables (and a YAML config file)."""
    report = build_settings(
        {"KEYPROXY_DATA_DIR": str(data_dir), **values}, CliOptions(), config=parse_config(config) if config else None
    )
    assert not report.errors, report.errors
    return report.settings


def openai_provider(
    name: str = "p", keys: tuple[str, ...] = KEYS, priorities: tuple[int, ...] | None = None, **tuning: Any
) -> ProviderSettings:
    """An OpenAI-protocol provider built directly, for tests that drive the engine without a loader."""
    credentials = tuple(
        Credential(secret=key, source="TEST", priority=priority)
        for key, priority in zip(keys, priorities or (1,) * len(keys), strict=True)
    )
    return ProviderSettings(
        name=name, protocol="openai", base_url=f"http://{name}.test/v1", credentials=credentials, **tuning
    )


class ServeProcess:
    """`keyproxy serve` as a user runs it: a real process, a .env in `folder`, provider `fake` over `base`.
    Every one started is in STARTED, so a test that fails midway leaves none running (conftest.py)."""

    def __init__(self, folder: Path, base: str, extra: str = "") -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        keys = "".join(f"FAKE_API_KEY_{n}={key}\n" for n, key in enumerate(KEYS, start=1))
        (folder / ".env").write_text(
            f"FAKE_API_BASE={base}\n{keys}ROTATION_TOLERANCE=0\nKEYPROXY_PORT={self.port}\n"
            f"KEYPROXY_FLUSH_INTERVAL=0.2\n{extra}"
        )
        env = {name: os.environ[name] for name in ("PATH", "HOME") if name in os.environ}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "keyproxy", "serve"], cwd=folder, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        STARTED.append(self)
        self.url = f"http://127.0.0.1:{self.port}"
        self.db = folder / "data" / "keyproxy.db"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                httpx.get(self.url + "/health", timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError(self.stop(signal.SIGKILL))

    def chat(self) -> httpx.Response:
        chat = {"model": "fake/fake-chat", "messages": [{"role": "user", "content": "hi there"}]}
        return httpx.post(self.url + "/v1/chat/completions", json=chat, timeout=10)

    def stop(self, sig: int = signal.SIGTERM) -> str:
        self.process.send_signal(sig)
        return self.ended()

    def ended(self) -> str:
        """Wait for the process to end; its stderr."""
        _, stderr = self.process.communicate(timeout=20)
        return stderr


def by_host(upstreams: Mapping[str, FakeUpstream]) -> Callable[..., Any]:
    """One ASGI app answering each request with the fake upstream named by the request's host, so that in
    memory each provider can have its own upstream (with its own model list) behind one ASGITransport."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await upstreams[scope["server"][0]](scope, receive, send)

    return app


STARTED: list[ServeProcess] = []

CLIENTS: list[Any] = []
"""SDK clients the tests opened: closed after each test (conftest.py), so no socket of theirs is left for the
garbage collector to warn about in whichever later test it happens to run."""

Client = TypeVar("Client")


def opened(client: Client) -> Client:
    CLIENTS.append(client)
    return client


@dataclass
class Answered:
    """What `RequestRecord.note_served` is told answered a request, as the engine's `Opened` tells it."""

    provider: str = "p"
    key_mask: str = "...0001"
    attempts: int = 1
    upstream_seconds: float = 0.0
    tokens: Tokens | None = None
