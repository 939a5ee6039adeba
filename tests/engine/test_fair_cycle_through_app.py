"""Fair cycle and custom caps through the app, over the shipped fake upstream, on a clock the test moves."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from keyproxy.redact import mask
from keyproxy.testing import AppClient, ASGITransport, FakeClock, FakeUpstream, Fault, FaultKind, Response
from keyproxy.wiring import build_app
from support import KEYS, MEMORY_BASE, provider_env, proxy_settings

CHAT = {"model": "fake/fake-chat", "messages": [{"role": "user", "content": "hi"}]}
A, B, C = KEYS


class StillClock(FakeClock):
    """Moves only when the test says: a background job's sleep never ends (the router here never sleeps)."""

    __slots__ = ()

    async def sleep(self, seconds: float) -> None:
        await asyncio.Event().wait()


@pytest.fixture
def proxy(fake_upstream: FakeUpstream, tmp_path: Path) -> Iterator[tuple[StillClock, dict[str, AppClient]]]:
    clock = StillClock()
    opened: dict[str, AppClient] = {}
    yield clock, opened
    for client in opened.values():
        client.__exit__(None, None, None)


def start(
    opened: dict[str, AppClient], clock: FakeClock, fake: FakeUpstream, data_dir: Path, env: Mapping[str, str]
) -> AppClient:
    settings = proxy_settings({**provider_env(MEMORY_BASE), **env}, data_dir)
    client = AppClient(build_app(settings, transport=ASGITransport(fake), clock=clock))
    opened["proxy"] = client.__enter__()
    return client


def answered_by(fake: FakeUpstream, client: AppClient) -> str | None:
    before = len(fake.requests)
    response: Response = client.post("/v1/chat/completions", json=CHAT)
    assert response.status_code == 200, response.text
    return fake.requests[-1].key if len(fake.requests) > before else None


def test_a_key_with_a_long_429_stays_out_of_rotation_until_the_other_keys_are_exhausted(
    proxy: tuple[StillClock, dict[str, AppClient]], fake_upstream: FakeUpstream, tmp_path: Path
) -> None:
    clock, opened = proxy
    client = start(opened, clock, fake_upstream, tmp_path, {"ROTATION_MODE_FAKE": "sequential"})
    fake_upstream.set_fault(A, Fault(FaultKind.RATE_LIMIT, retry_after=600, times=1))
    assert answered_by(fake_upstream, client) == B  # A cools 600 s: at least EXHAUSTION_COOLDOWN_THRESHOLD
    clock.advance(601)  # A's cooldown is over, but the cycle holds it out
    assert answered_by(fake_upstream, client) == B
    fake_upstream.set_fault(B, Fault(FaultKind.RATE_LIMIT, retry_after=600, times=1))
    assert answered_by(fake_upstream, client) == C  # not A, the first key, usable again by its cooldown
    fake_upstream.set_fault(C, Fault(FaultKind.RATE_LIMIT, retry_after=600, times=1))
    # Every key is exhausted now: the tier starts a new cycle, and A, no longer cooling, answers.
    assert answered_by(fake_upstream, client) == A


def test_without_fair_cycle_the_first_key_is_back_as_soon_as_its_cooldown_ends(
    proxy: tuple[StillClock, dict[str, AppClient]], fake_upstream: FakeUpstream, tmp_path: Path
) -> None:
    clock, opened = proxy
    client = start(opened, clock, fake_upstream, tmp_path, {"ROTATION_MODE_FAKE": "sequential", "FAIR_CYCLE_FAKE": "0"})
    fake_upstream.set_fault(A, Fault(FaultKind.RATE_LIMIT, retry_after=600, times=1))
    assert answered_by(fake_upstream, client) == B
    clock.advance(601)
    fake_upstream.set_fault(B, Fault(FaultKind.RATE_LIMIT, retry_after=600, times=1))
    assert answered_by(fake_upstream, client) == A


def test_a_capped_key_is_skipped_for_the_model_and_all_capped_answers_429_until_the_cap_lifts(
    proxy: tuple[StillClock, dict[str, AppClient]], fake_upstream: FakeUpstream, tmp_path: Path
) -> None:
    clock, opened = proxy
    env = {"ROTATION_MODE_FAKE": "sequential", "FAIR_CYCLE_FAKE": "false", "CUSTOM_CAP_FAKE_T1_FAKE_CHAT": "2",
           "CUSTOM_CAP_COOLDOWN_FAKE_T1_FAKE_CHAT": "fixed:3600"}  # fmt: skip
    client = start(opened, clock, fake_upstream, tmp_path, env)
    assert [answered_by(fake_upstream, client) for _ in range(6)] == [A, A, B, B, C, C]
    refused = client.post("/v1/chat/completions", json=CHAT)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "no_key_available"
    assert 3590 <= int(refused.headers["retry-after"]) <= 3600
    other = client.post("/v1/chat/completions", json={**CHAT, "model": "fake/fake-chat-large"})
    assert other.status_code == 200  # the cap is on fake-chat only
    clock.advance(3600)
    assert answered_by(fake_upstream, client) == C  # every key is back; sequential rotation stays on its key


def holds(client: AppClient) -> dict[str, tuple[str, list[dict[str, object]]]]:
    """Each key's status and what holds it out, by key as /v1/status masks it."""
    keys = client.get("/v1/status").json()["providers"]["fake"]["keys"]
    return {key["key"]: (key["status"], key["held"]) for key in keys}


def test_status_shows_a_key_the_fair_cycle_holds_out_once_its_cooldown_is_over(
    proxy: tuple[StillClock, dict[str, AppClient]], fake_upstream: FakeUpstream, tmp_path: Path
) -> None:
    clock, opened = proxy
    client = start(opened, clock, fake_upstream, tmp_path, {"ROTATION_MODE_FAKE": "sequential"})
    fake_upstream.set_fault(A, Fault(FaultKind.RATE_LIMIT, retry_after=600, times=1))
    marked_at = clock.now()
    assert answered_by(fake_upstream, client) == B
    cycle_end = marked_at + 604800  # FAIR_CYCLE_DURATION's default: held out at most this long
    assert holds(client)[mask(A)] == ("cooling", [{"model": "fake-chat", "by": "fair_cycle", "until": cycle_end}])
    clock.advance(601)
    shown = holds(client)
    assert shown[mask(A)] == ("held", [{"model": "fake-chat", "by": "fair_cycle", "until": cycle_end}])
    assert shown[mask(B)] == shown[mask(C)] == ("ok", [])
    assert answered_by(fake_upstream, client) == B  # asking status changed nothing


def test_status_shows_a_key_at_its_custom_cap_until_the_cap_lifts(
    proxy: tuple[StillClock, dict[str, AppClient]], fake_upstream: FakeUpstream, tmp_path: Path
) -> None:
    clock, opened = proxy
    env = {"ROTATION_MODE_FAKE": "sequential", "FAIR_CYCLE_FAKE": "false", "CUSTOM_CAP_FAKE_T1_FAKE_CHAT": "2",
           "CUSTOM_CAP_COOLDOWN_FAKE_T1_FAKE_CHAT": "fixed:3600"}  # fmt: skip
    client = start(opened, clock, fake_upstream, tmp_path, env)
    assert [answered_by(fake_upstream, client) for _ in range(2)] == [A, A]
    reached = clock.now()
    shown = holds(client)
    assert shown[mask(A)] == ("held", [{"model": "fake-chat", "by": "custom_cap", "until": reached + 3600}])
    assert shown[mask(B)] == ("ok", [])
    assert answered_by(fake_upstream, client) == B  # status recorded nothing; the request finds A capped
    clock.advance(3600)
    assert holds(client)[mask(A)] == ("ok", [])
