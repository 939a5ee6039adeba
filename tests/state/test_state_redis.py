"""RedisStore against a real Redis on 127.0.0.1:6379: the MemoryStore's answers, shared by instances."""

from __future__ import annotations

import asyncio
import logging
import socket
from pathlib import Path
from typing import Any

import pytest
import redis

from keyproxy.errors import ErrorClass
from keyproxy.state import SUCCESS, MemoryStore, Verdict, read_usage
from keyproxy.state.redis_store import RedisStore
from state.state_support import BENCH, COOL, DAY, DEFAULTS, NOW, HeldClock, event, relay_to_redis, sqlite_store
from support import REDIS_URL, needs_redis

URL = REDIS_URL
pytestmark = needs_redis


@pytest.fixture
def prefix(redis_prefix: str) -> str:
    return redis_prefix


def raw() -> redis.Redis:
    return redis.Redis.from_url(URL, decode_responses=True)


async def started(url: str, prefix: str, local: Any = None, **options: Any) -> RedisStore:
    settings = {"interval": DEFAULTS.flush_interval, "retention_days": DEFAULTS.retention_days, **options}
    store = RedisStore(url, local if local is not None else MemoryStore(), prefix=prefix, **settings)
    await store.start(HeldClock())
    return store


async def scenario(store: Any) -> list[Any]:
    """The same calls on any StateStore, and everything it answers."""
    seen: list[Any] = []
    seen.append(await store.acquire("p", "k1", 1.0, NOW))
    await store.record("p", "k1", "m", COOL)
    await store.record("p", "k2", "m", BENCH)
    await store.record("p", "k1", "m", Verdict("model", NOW + 30, ErrorClass.TRANSIENT))
    await store.record("p", "k3", "m", Verdict("none", 0.0, ErrorClass.CLIENT_ERROR))
    await store.observe_headroom("p", "k2", "m", 0.5, NOW + 10)
    await store.observe_headroom("p", "k3", "m", None, NOW + 10)
    seen.append(await store.sticky("p", "m"))
    await store.set_sticky("p", "m", "k2")
    seen.append(await store.statuses("p", ["k1", "k2", "k3", "k4"], "m"))
    seen.append(await store.statuses("p", ["k1"], "other"))
    seen.append(await store.report("p", ["k1", "k2", "k3"], NOW))
    seen.append(await store.acquire("p", "k1", 2.0, NOW + 1, cap=2))
    seen.append(await store.acquire("p", "k1", 3.0, NOW + 2, cap=2))
    await store.release("p", "k1")
    await store.release("p", "k1")
    await store.release("p", "k1")
    seen.append(await store.clear("p", "k1"))
    await store.record("p", "k2", "m", SUCCESS)
    seen.append(await store.statuses("p", ["k1", "k2"], "m"))
    await store.record("p", "k2", "m2", COOL)
    await store.record("p", "k1", "m", BENCH)
    seen.append(await store.clear("p"))
    seen.append(await store.report("p", ["k1", "k2"], NOW))
    seen.append(await store.sticky("p", "m"))
    return seen


def test_it_answers_exactly_like_the_memory_store(prefix: str) -> None:
    async def go() -> tuple[list[Any], list[Any]]:
        store = await started(URL, prefix)
        answers = await scenario(store)
        assert store.healthy
        await store.stop()
        return answers, await scenario(MemoryStore())

    shared, memory = asyncio.run(go())
    assert shared == memory


def test_a_cooldown_recorded_on_one_instance_is_seen_by_the_other(prefix: str) -> None:
    async def go() -> list[Any]:
        one, two = await started(URL, prefix), await started(URL, prefix)
        await one.record("p", "k", "m", COOL)
        await one.record("p", "b", "m", BENCH)
        await one.set_sticky("p", "m", "b")
        seen = [await two.statuses("p", ["k", "b"], "m"), await two.sticky("p", "m")]
        await two.record("p", "k", "m", SUCCESS)
        await two.flush()  # a success waits in the outbox
        seen.append((await one.statuses("p", ["k"], "m"))[0].cooldown_until)
        await one.stop()
        await two.stop()
        return seen

    (cooled, benched), sticky, after_success = asyncio.run(go())
    assert (cooled.cooldown_until, cooled.failures) == (NOW + 60, 1)
    assert benched.benched_until == NOW + 600
    assert sticky == "b"
    assert after_success == 0.0


def test_concurrent_acquires_on_two_instances_never_exceed_the_cap(prefix: str) -> None:
    async def go() -> tuple[list[bool], int, bool]:
        one, two = await started(URL, prefix), await started(URL, prefix)
        taken = await asyncio.gather(*(store.acquire("p", "k", 1.0, NOW, cap=2) for store in (one, two) * 25))
        in_flight = (await one.statuses("p", ["k"], "m"))[0].in_flight
        holder = one if any(taken[0::2]) else two  # the even acquires were one's
        await holder.release("p", "k")
        await holder.flush()  # a release waits in the outbox (or for this instance's next script)
        again = await two.acquire("p", "k", 1.0, NOW, cap=2)
        await one.stop()
        await two.stop()
        return list(taken), in_flight, again

    taken, in_flight, again = asyncio.run(go())
    assert taken.count(True) == 2
    assert in_flight == 2
    assert again


def test_a_release_without_a_shared_slot_never_takes_another_instances_slot(prefix: str) -> None:
    async def go() -> int:
        one, two = await started(URL, prefix), await started(URL, prefix)
        await one.acquire("p", "k", 1.0, NOW)
        await two.release("p", "k")
        in_flight = (await two.statuses("p", ["k"], "m"))[0].in_flight
        await one.stop()
        await two.stop()
        return in_flight

    assert asyncio.run(go()) == 1


def test_usage_from_two_instances_adds_up(prefix: str) -> None:
    async def go() -> list[Any]:
        one, two = await started(URL, prefix), await started(URL, prefix)
        one.emit(event())
        one.emit(event(outcome=ErrorClass.RATE_LIMITED, tokens=None))
        two.emit(event(at=NOW + 5, first_byte=0.25))
        two.emit(event(model="other"))
        await one.flush()
        await two.flush()
        one.emit(event())  # not flushed yet: still counted by the instance holding it
        rows = await one.usage("p", "m")
        await one.stop()
        await two.stop()
        return rows

    ((key, counters),) = asyncio.run(go())
    assert (key.provider, key.key_id, key.model) == ("p", "k", "m")
    assert (counters.requests, counters.successes, counters.failures) == (4, 3, {"rate_limited": 1})
    assert (counters.prompt_tokens, counters.completion_tokens) == (30, 6)
    assert (counters.first_byte_count, counters.first_byte_sum, counters.last_used) == (1, 0.25, NOW + 5)


def test_every_event_is_counted_in_redis_and_by_the_local_store(prefix: str) -> None:
    async def go() -> tuple[list[Any], list[Any]]:
        local = MemoryStore()
        store = await started(URL, prefix, local)
        store.emit(event())
        await store.flush()
        shared = await store.usage()
        await store.stop()
        return shared, await local.usage()

    shared, local = asyncio.run(go())
    assert [counters.requests for _, counters in shared] == [1]
    assert [counters.requests for _, counters in local] == [1]


def test_start_and_stop_start_and_stop_the_local_store(prefix: str, tmp_path: Path) -> None:
    async def go() -> tuple[bool, bool]:
        local = sqlite_store(tmp_path / "keyproxy.db")
        store = await started(URL, prefix, local)
        opened = local.persistent
        store.emit(event())
        await store.stop()
        return opened, local.persistent

    assert asyncio.run(go()) == (True, False)
    [(_, counters)] = read_usage(tmp_path / "keyproxy.db")
    assert counters.requests == 1


def test_while_redis_is_down_usage_is_the_local_stores_history(prefix: str) -> None:
    async def go() -> list[Any]:
        local = MemoryStore()
        local.emit(event(at=NOW - DAY))  # counted before this store came in front of it
        store = await started("redis://127.0.0.1:1/0", prefix, local)
        store.emit(event())
        rows = await store.usage()
        await store.stop()
        return rows

    assert [(key.day, counters.requests) for key, counters in asyncio.run(go())] == [
        ("2023-11-13", 1), ("2023-11-14", 1),
    ]  # fmt: skip


def test_every_key_expires_when_its_state_ends(prefix: str) -> None:
    async def go() -> None:
        store = await started(URL, prefix)
        await store.record("p", "k", "m", COOL)
        await store.record("p", "k", "m", BENCH)
        await store.acquire("p", "k", 1.0, NOW)
        await store.observe_headroom("p", "k", "m", 0.5, NOW + 10)
        await store.set_sticky("p", "m", "k")
        store.emit(event())
        await store.flush()
        await store.stop()

    asyncio.run(go())
    client = raw()
    ttls = {key.removeprefix(prefix).split(":")[0]: client.pttl(key) for key in client.scan_iter(match=prefix + "*")}
    client.close()
    assert 59_000 < ttls["cd"] <= 60_000
    assert 599_000 < ttls["bench"] <= 600_000
    assert 599_000 < ttls["keys"] <= 600_000
    assert 59_000 < ttls["cds"] <= 60_000
    assert 599_000 < ttls["busy"] <= 600_000
    assert 9_000 < ttls["room"] <= 10_000
    assert 86_399_000 < ttls["fail"] <= 86_400_000
    # What names the keys is kept for good: without it every key would get a new id.
    assert ttls.pop("fingerprint-scheme") == -1
    assert all(ttl > 0 for ttl in ttls.values()), ttls


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_redis_leaves_every_operation_to_local_and_warns_once(
    prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def go() -> tuple[list[Any], list[Any], bool]:
        store = await started("redis://127.0.0.1:1/0", prefix)
        answers = await scenario(store)
        store.emit(event())
        await store.flush()
        rows = await store.usage()
        healthy = store.healthy
        await store.stop()
        return answers, rows, healthy

    with caplog.at_level(logging.INFO, logger="keyproxy.state"):
        answers, rows, healthy = asyncio.run(go())
    assert answers == asyncio.run(scenario(MemoryStore()))
    assert not healthy
    assert [row[1].requests for row in rows] == [1]
    assert [r.levelname for r in caplog.records if r.name == "keyproxy.state"] == ["WARNING"]


async def _forward(port: int) -> asyncio.Server:
    """A TCP relay to the real Redis on `port`: Redis 'comes back' when it starts."""
    return await asyncio.start_server(relay_to_redis, "127.0.0.1", port)


def test_when_redis_returns_local_cooldowns_and_benches_are_pushed(
    prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def go() -> tuple[list[Any], bool, bool]:
        port = _closed_port()
        store = await started(f"redis://127.0.0.1:{port}/0", prefix)
        await store.record("p", "k", "m", COOL)
        await store.record("p", "b", "m", BENCH)
        await store.record("p", "gone", "m", Verdict("model", NOW - 1, ErrorClass.RATE_LIMITED))
        was = store.healthy
        server = await _forward(port)
        back = await store.probe()
        other = await started(URL, prefix)
        seen = await other.statuses("p", ["k", "b", "gone"], "m")
        await store.stop()
        await other.stop()
        server.close()
        await server.wait_closed()
        return seen, was, back

    with caplog.at_level(logging.INFO, logger="keyproxy.state"):
        (cooled, benched, gone), was, back = asyncio.run(go())
    assert (was, back) == (False, True)
    assert cooled.cooldown_until == NOW + 60
    assert benched.benched_until == NOW + 600
    assert gone.cooldown_until == 0.0
    assert [r.levelname for r in caplog.records if r.name == "keyproxy.state"] == ["WARNING", "INFO"]


def test_reconciling_never_shortens_a_longer_cooldown_in_redis(prefix: str) -> None:
    async def go() -> float:
        other = await started(URL, prefix)
        await other.record("p", "k", "m", Verdict("model", NOW + 300, ErrorClass.QUOTA_EXHAUSTED))
        port = _closed_port()
        store = await started(f"redis://127.0.0.1:{port}/0", prefix)
        await store.record("p", "k", "m", COOL)
        server = await _forward(port)
        await store.probe()
        until = (await other.statuses("p", ["k"], "m"))[0].cooldown_until
        await store.stop()
        await other.stop()
        server.close()
        await server.wait_closed()
        return until

    assert asyncio.run(go()) == NOW + 300


def test_a_stored_response_is_shared_and_expires_with_its_retention(prefix: str) -> None:
    async def go() -> list[Any]:
        one, two = await started(URL, prefix), await started(URL, prefix)
        await one.put_response("resp_a", b'{"a":1}', NOW, NOW + 3600)
        seen = [await two.get_response("resp_a", NOW), await two.delete_response("resp_a", NOW)]
        seen += [await one.get_response("resp_a", NOW), await one.delete_response("resp_a", NOW)]
        await one.put_response("resp_b", b"{}", NOW, NOW + 3600)
        await one.stop()
        await two.stop()
        return seen

    assert asyncio.run(go()) == [b'{"a":1}', True, None, False]
    client = raw()
    assert 3_599_000 < client.pttl(prefix + "resp:resp_b") <= 3_600_000
    client.close()


def test_while_redis_is_down_responses_are_kept_locally_and_shared_when_it_returns(prefix: str) -> None:
    async def go() -> list[Any]:
        port = _closed_port()
        local = MemoryStore()
        store = await started(f"redis://127.0.0.1:{port}/0", prefix, local)
        await store.put_response("resp_new", b'{"n":1}', NOW, NOW + 3600)
        seen: list[Any] = [await store.get_response("resp_new", NOW)]
        other = await started(URL, prefix)
        await other.put_response("resp_old", b"{}", NOW, NOW + 3600)
        seen.append(await store.delete_response("resp_old", NOW))  # only local answers: it has none
        server = await _forward(port)
        seen.append(await store.probe())
        seen += [await other.get_response("resp_new", NOW), await other.get_response("resp_old", NOW)]
        await store.stop()
        await other.stop()
        server.close()
        await server.wait_closed()
        return seen

    assert asyncio.run(go()) == [b'{"n":1}', False, True, b'{"n":1}', None]


def test_a_conversations_key_set_on_one_instance_is_found_by_the_other(prefix: str) -> None:
    async def go() -> list[str | None]:
        one, two = await started(URL, prefix), await started(URL, prefix)
        await one.set_affinity("p", "conv-1", "k2", NOW + 3600)
        await one.flush()  # it waits in the outbox
        seen = [await two.affinity("p", "conv-1", NOW), await two.affinity("p", "conv-9", NOW)]
        await one.stop()
        await two.stop()
        return seen

    assert asyncio.run(go()) == ["k2", None]


def test_stop_lets_a_flush_under_way_end_rather_than_cancel_it(prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    async def go() -> list[str]:
        clock = HeldClock()
        store = RedisStore(URL, MemoryStore(), prefix=prefix, interval=1.0, retention_days=1)
        await store.start(clock)
        seen: list[str] = []
        flushing, finish = asyncio.Event(), asyncio.Event()

        async def probe() -> bool:
            flushing.set()
            try:
                await finish.wait()
            except asyncio.CancelledError:
                # Lost, as asyncio.wait_for can lose one on Python 3.11 (python/cpython#86296).
                seen.append("cancel")
            seen.append("flushed")
            return False

        monkeypatch.setattr(store, "probe", probe)
        ticked = asyncio.create_task(clock.tick())
        await flushing.wait()
        stopping = asyncio.create_task(store.stop())
        await asyncio.sleep(0.01)
        finish.set()
        await asyncio.wait_for(stopping, 5)
        await ticked
        return seen

    assert asyncio.run(go()) == ["flushed", "flushed"]
