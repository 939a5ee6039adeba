"""build_app: one state store from the settings, started and stopped with the app, counting every attempt."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
import redis

from keyproxy.clock import Clock
from keyproxy.config import Credential, ProviderSettings, Settings
from keyproxy.config.runtime_keys import FILE_NAME
from keyproxy.config.settings import StateSettings
from keyproxy.errors import ErrorClass
from keyproxy.redact import mask, unkeyed_fingerprint
from keyproxy.state import MemoryStore, read_usage
from keyproxy.state.sqlite_journal import CooldownSet
from keyproxy.state.sqlite_writer import Batch
from keyproxy.testing import AppClient, ASGITransport, FakeClock, FakeUpstream
from keyproxy.transport import MockResponse, MockTransport, UpstreamRequest
from keyproxy.usage.book import UsageKey
from keyproxy.usage.counters import UsageCounters
from keyproxy.wiring import build_app
from state.state_support import old_database
from support import KEYS, MEMORY_BASE, REDIS_URL, fingerprints_of, needs_redis, provider_env, proxy_settings, redis_up

SECRET = "sk-wiring-000000000001"
ANSWER = msgspec.json.encode({
    "id": "c1", "object": "chat.completion", "model": "m",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
})  # fmt: skip



class StillClock(FakeClock):
    """Time does not pass while the app runs: background loops wait until they are cancelled."""

    __slots__ = ()

    async def sleep(self, seconds: float) -> None:
        await asyncio.Event().wait()


class Store(MemoryStore):
    """A MemoryStore that records its lifecycle, to show the app drives any StateStore the same way."""

    def __init__(self) -> None:
        super().__init__()
        self.lifecycle: list[str] = []

    async def start(self, clock: Clock) -> None:
        self.lifecycle.append("start")

    async def stop(self) -> None:
        self.lifecycle.append("stop")


@pytest.fixture
def provider() -> Iterator[str]:
    """A provider name no other test uses, and its usage removed from Redis afterwards."""
    name = f"wiring-{uuid.uuid4().hex[:12]}"
    yield name
    if not redis_up():
        return
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    found = list(client.scan_iter(match=f"keyproxy:*{name}*", count=1000))
    if found:
        client.delete(*found)
    for day in client.scan_iter(match="keyproxy:usage:day:*", count=1000):
        mine = [row for row in client.smembers(day) if str(row).startswith(name)]
        if mine:
            client.srem(day, *mine)
    client.close()


def settings(provider: str, data_dir: Path, state: StateSettings) -> Settings:
    upstream = ProviderSettings(
        name=provider, protocol="openai", base_url="http://upstream.test/v1",
        credentials=(Credential(secret=SECRET, source="TEST"),),
    )  # fmt: skip
    return Settings(providers={provider: upstream}, data_dir=data_dir, state=state)


async def call(app: Any, method: str, path: str, body: bytes = b"", query: bytes = b"") -> tuple[int, Any]:
    sent: list[dict[str, Any]] = []
    unread = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        if unread:
            return unread.pop()
        await asyncio.Event().wait()  # the client stays connected until the app is done with it
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "headers": [], "query_string": query}
    await app(scope, receive, send)
    answer = b"".join(message.get("body", b"") for message in sent if message["type"] == "http.response.body")
    return sent[0]["status"], msgspec.json.decode(answer)


async def served(app: Any, provider: str) -> tuple[int, Any]:
    """Starts the app through its lifespan, sends one completion, reads /v1/usage, and stops the app."""
    inbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    lifespan = asyncio.create_task(app({"type": "lifespan"}, inbox.get, outbox.put))
    await inbox.put({"type": "lifespan.startup"})
    assert (await outbox.get())["type"] == "lifespan.startup.complete"
    chat = msgspec.json.encode({"model": f"{provider}/m", "messages": [{"role": "user", "content": "hi"}]})
    status, _ = await call(app, "POST", "/v1/chat/completions", chat)
    usage = await call(app, "GET", "/v1/usage", query=f"provider={provider}".encode())
    await inbox.put({"type": "lifespan.shutdown"})
    assert (await outbox.get())["type"] == "lifespan.shutdown.complete"
    await lifespan
    assert status == 200
    return usage


def transport() -> MockTransport:
    async def handler(request: UpstreamRequest) -> MockResponse:
        return MockResponse.json(200, ANSWER)

    return MockTransport(handler)


def requests_of(usage: Any, provider: str) -> tuple[int, int]:
    models = usage["providers"][provider]["keys"]["...0001"]["models"]
    return models["m"]["requests"], models["m"]["prompt_tokens"]


@pytest.mark.parametrize(
    "state",
    [
        pytest.param(StateSettings(backend="memory"), id="memory"),
        pytest.param(StateSettings(backend="sqlite"), id="sqlite"),
        pytest.param(
            StateSettings(backend="sqlite", redis_url=REDIS_URL), id="redis",
            marks=needs_redis,
        ),
    ],
)  # fmt: skip
def test_the_app_built_for_each_backend_counts_a_request_and_keeps_history_where_the_backend_does(
    state: StateSettings, provider: str, tmp_path: Path
) -> None:
    app = build_app(settings(provider, tmp_path, state), transport=transport(), clock=StillClock())
    status, usage = asyncio.run(served(app, provider))
    assert status == 200
    assert requests_of(usage, provider) == (1, 7)
    history = read_usage(tmp_path / "keyproxy.db", provider)
    assert [counters.requests for _, counters in history] == ([] if state.backend == "memory" else [1])


def test_the_app_starts_stops_and_counts_with_the_store_it_is_given(provider: str, tmp_path: Path) -> None:
    store = Store()
    app = build_app(
        settings(provider, tmp_path, StateSettings()), transport=transport(), clock=StillClock(), state=store
    )
    status, usage = asyncio.run(served(app, provider))
    assert (status, requests_of(usage, provider)) == (200, (1, 7))
    assert store.lifecycle == ["start", "stop"]
    assert not (tmp_path / "keyproxy.db").exists()


def test_state_and_key_changes_kept_under_unkeyed_ids_are_found_after_the_upgrade(tmp_path: Path) -> None:
    data, old = tmp_path / "data", [unkeyed_fingerprint(key) for key in KEYS]
    day = time.strftime("%Y-%m-%d", time.gmtime())
    until = time.time() + 600
    usage = {UsageKey(day, "fake", old[0], "fake-chat"): UsageCounters(requests=3), UsageKey(day, "fake", old[2], "m"):
             UsageCounters(requests=4)}  # fmt: skip
    cooled = CooldownSet("fake", old[0], "fake-chat", until, ErrorClass.RATE_LIMITED, 1)
    old_database(data / "keyproxy.db", Batch(usage, (cooled,)))
    (data / FILE_NAME).write_bytes(msgspec.json.encode({"version": 1, "providers": {"fake": {"disabled": [old[1]]}}}))
    settings = proxy_settings(provider_env(MEMORY_BASE), data)
    with AppClient(build_app(settings, transport=ASGITransport(FakeUpstream()))) as proxy:
        shown = proxy.get("/v1/status").json()["providers"]["fake"]["keys"]
        usage_shown = proxy.get("/v1/usage", params={"provider": "fake"}).json()["providers"]["fake"]["keys"]
    ids = fingerprints_of(data)
    assert [(key["id"], key["status"], key["disabled"]) for key in shown] == [
        (ids(KEYS[0]), "cooling", False), (ids(KEYS[1]), "ok", True), (ids(KEYS[2]), "ok", False),
    ]  # fmt: skip
    requests = {shown: sum(model["requests"] for model in key["models"].values()) for shown, key in usage_shown.items()}
    assert requests == {mask(KEYS[0]): 3, mask(KEYS[2]): 4}
    assert msgspec.json.decode((data / FILE_NAME).read_bytes()) == {
        "version": 2, "providers": {"fake": {"added": [], "disabled": [ids(KEYS[1])], "removed": []}}
    }
