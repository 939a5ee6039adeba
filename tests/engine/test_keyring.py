"""The key ring: configured keys plus run-time changes, made into pools swapped whole between requests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest

from keyproxy.config import Settings
from keyproxy.config.runtime_keys import ProviderChanges, read_key_changes
from keyproxy.engine.keyring import KeyRing
from keyproxy.errors import Conflict, InvalidRequest, NotFound
from keyproxy.logs import configure_logging, scrub
from keyproxy.redact import mask
from keyproxy.testing import Exchange, FakeClock
from keyproxy.testing.exchange import request
from keyproxy.transport import MockResponse, MockTransport, UpstreamRequest
from keyproxy.wiring import build_app
from support import IDS, KEYS, fingerprints_of, openai_provider

NEW = "sk-runtime-added-key-000000000000042"


def ring(path: Path | None = None, changes: dict[str, ProviderChanges] | None = None) -> KeyRing:
    return KeyRing({"p": openai_provider()}, changes or {}, 3.0, path, IDS)


def test_a_pool_taken_before_a_removal_keeps_its_keys() -> None:
    keys = ring()
    before = keys.pools["p"]
    asyncio.run(keys.remove("p", IDS(KEYS[0])))
    assert before.secrets == KEYS
    assert keys.pools["p"].secrets == KEYS[1:]


def test_the_new_pool_wakes_waiters_on_the_old_one() -> None:
    keys = ring()
    before = keys.pools["p"]

    async def go() -> None:
        waiting = asyncio.create_task(before.wait_freed())
        await asyncio.sleep(0)
        await keys.add("p", NEW)
        keys.pools["p"].notify_freed()
        await asyncio.wait_for(waiting, 1)

    asyncio.run(go())


def test_a_disabled_key_leaves_the_pool_but_stays_listed() -> None:
    keys = ring()
    asyncio.run(keys.set_disabled("p", IDS(KEYS[1]), True))
    assert keys.pools["p"].secrets == (KEYS[0], KEYS[2])
    assert [entry.disabled for entry in keys.entries("p")] == [False, True, False]


def test_a_change_is_saved_before_it_applies(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    keys = ring(path)
    asyncio.run(keys.add("p", NEW))
    assert read_key_changes(path, IDS, {}).changes["p"].added == (NEW,)


def test_a_change_that_cannot_be_saved_changes_nothing(tmp_path: Path) -> None:
    (tmp_path / "blocked").write_text("a file where a directory should be")
    keys = ring(tmp_path / "blocked" / "keys.json")
    with pytest.raises(Exception, match="cannot save"):
        asyncio.run(keys.add("p", NEW))
    assert keys.pools["p"].secrets == KEYS


def test_adding_a_configured_key_again_is_a_conflict() -> None:
    with pytest.raises(Conflict):
        asyncio.run(ring().add("p", KEYS[0]))


def test_re_adding_a_removed_configured_key_brings_it_back_as_configured() -> None:
    keys = ring()
    asyncio.run(keys.remove("p", IDS(KEYS[0])))
    entry = asyncio.run(keys.add("p", KEYS[0]))
    assert entry.origin == "env"
    assert keys.pools["p"].secrets == KEYS


def test_an_ambiguous_mask_must_be_named_by_id() -> None:
    keys = KeyRing({"p": openai_provider(keys=("short-one-1", "short-two-2"))}, {}, 3.0, None, IDS)
    with pytest.raises(InvalidRequest):
        keys.find("p", "****")


def test_marks_of_keys_no_longer_configured_are_dropped_at_start() -> None:
    stale = {"p": ProviderChanges(disabled=frozenset({"0" * 12}), removed=frozenset({IDS(KEYS[0])}))}
    keys = KeyRing({"p": openai_provider(keys=KEYS[1:])}, stale, 3.0, None, IDS)
    assert keys.stale


def test_reconfiguring_swaps_only_the_providers_that_changed() -> None:
    keys = KeyRing({"p": openai_provider(), "q": openai_provider("q")}, {}, 3.0, None, IDS)
    q = keys.pools["q"]
    changed = asyncio.run(keys.reconfigure({"p": openai_provider(keys=KEYS[:1]), "q": openai_provider("q")}, 3.0))
    assert changed == ["p"]
    assert keys.pools["q"] is q
    assert keys.pools["p"].secrets == KEYS[:1]


@pytest.mark.usefixtures("restored_root")
def test_keys_added_at_run_time_or_by_a_reload_are_masked_in_the_log(tmp_path: Path) -> None:
    reloaded = "sk-reloaded-key-000000000000000077"
    stop = configure_logging("INFO", [], tmp_path)
    try:
        keys = KeyRing({"p": openai_provider(keys=KEYS[:1])}, {"p": ProviderChanges(added=(NEW,))}, 3.0, None, IDS)
        at_start = scrub(f"{KEYS[0]} {NEW}")
        asyncio.run(keys.reconfigure({"p": openai_provider(keys=(KEYS[0], reloaded))}, 3.0))
        after_reload = scrub(reloaded)
    finally:
        stop()

    assert at_start == f"{mask(KEYS[0])} {mask(NEW)}"
    assert after_reload == mask(reloaded)


def test_unknown_provider_is_not_found() -> None:
    with pytest.raises(NotFound):
        asyncio.run(ring().add("nope", NEW))


def test_a_stream_in_flight_finishes_on_a_key_removed_meanwhile(tmp_path: Path) -> None:
    release = asyncio.Event()

    class Held(MockResponse):
        async def iter_chunks(self, idle: float | None = None) -> AsyncIterator[bytes]:
            yield b'data: {"a":1}\n\n'
            await release.wait()
            yield b"data: [DONE]\n\n"

    used: list[str] = []

    async def handler(sent: UpstreamRequest) -> MockResponse:
        used.append(sent.headers["Authorization"].removeprefix("Bearer "))
        return Held(200, {"content-type": "text/event-stream"}, [])

    settings = Settings(providers={"p": openai_provider(keys=KEYS[:2])}, rotation_tolerance=0, data_dir=tmp_path)
    app = build_app(settings, transport=MockTransport(handler), clock=FakeClock())
    chat = {"model": "p/m", "stream": True, "messages": [{"role": "user", "content": "x"}]}

    async def go() -> tuple[bytes, int, list[str]]:
        stream = Exchange(app, "POST", "/v1/chat/completions", body=msgspec.json.encode(chat))
        task = asyncio.create_task(stream.run())
        await stream.wait_for_body()
        removed = await request(app, "DELETE", f"/v1/admin/keys/p/{fingerprints_of(tmp_path)(used[0])}")
        release.set()
        response = await task
        status = (await request(app, "GET", "/v1/status")).json()
        return response.body, removed.status_code, [key["id"] for key in status["providers"]["p"]["keys"]]

    body, removed, left = asyncio.run(go())
    assert removed == 200
    assert body.endswith(b"data: [DONE]\n\n")
    assert left == [fingerprints_of(tmp_path)(key) for key in KEYS[:2] if key != used[0]]


def test_a_locked_ring_refuses_every_change_and_keeps_its_keys(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    keys = KeyRing({"p": openai_provider()}, {}, 3.0, path, IDS, locked="several workers")
    with pytest.raises(Conflict, match="several workers"):
        asyncio.run(keys.add("p", NEW))
    with pytest.raises(Conflict):
        asyncio.run(keys.set_disabled("p", IDS(KEYS[0]), True))
    assert keys.pools["p"].secrets == KEYS
    assert not path.exists()
