"""Requests routed over RedisStore and a real Redis: one round trip each, and the shared guarantees hold."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import msgspec
import redis

from keyproxy.config import EngineSettings, Timeouts
from keyproxy.engine.pool import Pool
from keyproxy.engine.router import Call, Router
from keyproxy.state import SUCCESS, MemoryStore, redis_scripts
from keyproxy.state.redis_store import RedisStore
from keyproxy.testing import FakeClock, RecordingSink
from keyproxy.transport import MockResponse, MockTransport, UpstreamRequest
from state.state_support import BENCH, COOL, DEFAULTS, NOW, HeldClock, relay_to_redis
from support import IDS, REDIS_URL, needs_redis, openai_provider

pytestmark = needs_redis
KEYS = ("sk-first-000000000001", "sk-second-00000000002")
OK = msgspec.json.encode({"choices": [{"message": {"content": "hi"}}]})
NEVER = 3600.0
"""A batch delay no test outlives: only what requests and `flush` send reaches Redis."""


class CommandCounter:
    """A TCP relay to Redis that counts the commands clients send through it (RESP arrays)."""

    def __init__(self) -> None:
        self.commands = 0
        self._buffer = b""
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        assert self.server is not None
        self.server.close()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await relay_to_redis(reader, writer, self._count)

    def _count(self, data: bytes) -> None:
        self._buffer += data
        while (end := _command_end(self._buffer)) is not None:
            self.commands += 1
            self._buffer = self._buffer[end:]


def _command_end(buffer: bytes) -> int | None:
    """Where the first whole command in `buffer` ends; None while it is incomplete."""
    line = buffer.find(b"\r\n")
    if line < 0:
        return None
    position = line + 2
    for _ in range(int(buffer[1:line])):
        line = buffer.find(b"\r\n", position)
        if line < 0:
            return None
        position = line + 2 + int(buffer[position + 1 : line]) + 2
        if position > len(buffer):
            return None
    return position


def make_router(store: Any, answers: list[str]) -> tuple[Router, Pool]:
    async def handler(request: UpstreamRequest) -> MockResponse:
        answers.append(request.headers["Authorization"].removeprefix("Bearer "))
        return MockResponse.json(200, OK)

    pool = Pool.build(openai_provider("p", KEYS), tolerance=0, fingerprints=IDS)
    router = Router({"p": pool}, MockTransport(handler), store, FakeClock(NOW), RecordingSink(), Timeouts(),
                    EngineSettings())  # fmt: skip
    return router, pool


async def ask(router: Router) -> None:
    opened = await router.open(Call("p", "m", "chat", b'{"model":"m"}'))
    await opened.finish()


@asynccontextmanager
async def redis_store(prefix: str, url: str = REDIS_URL, **options: Any) -> AsyncIterator[RedisStore]:
    store = RedisStore(url, MemoryStore(), prefix=prefix, interval=DEFAULTS.flush_interval,
                       retention_days=DEFAULTS.retention_days, **options)  # fmt: skip
    await store.start(HeldClock())
    try:
        yield store
    finally:
        await store.stop()


def busy_counters(prefix: str) -> list[str]:
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        return list(client.scan_iter(match=prefix + "busy:*"))
    finally:
        client.close()


def test_each_request_makes_one_round_trip_to_redis(redis_prefix: str) -> None:
    async def go() -> tuple[int, int]:
        counter = CommandCounter()
        port = await counter.start()
        async with redis_store(redis_prefix, f"redis://127.0.0.1:{port}/0", batch_delay=NEVER) as store:
            router, _ = make_router(store, [])
            await ask(router)  # the first request reads the pool before it chooses
            before = counter.commands
            for _ in range(10):
                await ask(router)
            during = counter.commands - before
            slots_at_stop = len(busy_counters(redis_prefix))
        await counter.close()
        return during, slots_at_stop

    during, slots_at_stop = asyncio.run(go())
    assert during == 10
    assert slots_at_stop == 1  # the last request's slot, given back by stop


def test_an_acquire_refused_on_a_view_makes_the_next_look_read_the_pool(redis_prefix: str) -> None:
    async def go() -> tuple[int, bool, int, float]:
        counter = CommandCounter()
        port = await counter.start()
        url = f"redis://127.0.0.1:{port}/0"
        async with redis_store(redis_prefix, url, batch_delay=NEVER) as one, redis_store(redis_prefix) as other:
            await one.statuses("p", ["k", "j"], "m", recent=True)  # no view yet: read
            before = counter.commands
            await one.statuses("p", ["k", "j"], "m", recent=True)
            on_view = counter.commands - before
            await other.record("p", "k", "m", COOL)
            refused = not await one.acquire("p", "k", 1.0, NOW, model="m")  # the view predates the cooldown
            before = counter.commands
            (cooling, _) = await one.statuses("p", ["k", "j"], "m", recent=True)
            after_refusal = counter.commands - before
        await counter.close()
        return on_view, refused, after_refusal, cooling.cooldown_until

    assert asyncio.run(go()) == (0, True, 1, NOW + 60)


def test_a_redis_that_lost_its_scripts_gets_them_again_and_the_request_is_answered(redis_prefix: str) -> None:
    share = hashlib.sha1(redis_scripts.SHARE.encode()).hexdigest().encode()
    lost = [True]

    def forget_once(data: bytes) -> bytes:
        """The first SHARE call names a script Redis does not have, as after a restart or SCRIPT FLUSH."""
        if lost[0] and share in data:
            lost[0] = False
            return data.replace(share, b"0" * 40, 1)
        return data

    async def go() -> tuple[list[str], bool]:
        answers: list[str] = []
        relay = await asyncio.start_server(partial(relay_to_redis, rewrite=forget_once), "127.0.0.1", 0)
        url = f"redis://127.0.0.1:{relay.sockets[0].getsockname()[1]}/0"
        async with redis_store(redis_prefix, url) as store:
            router, _ = make_router(store, answers)
            await ask(router)
            up = store.healthy
        relay.close()
        return answers, up

    answers, up = asyncio.run(go())
    assert (len(answers), up, lost[0]) == (1, True, False)


def test_stop_gives_back_every_slot_this_instance_held(redis_prefix: str) -> None:
    async def go() -> None:
        async with redis_store(redis_prefix, batch_delay=NEVER) as store:
            router, _ = make_router(store, [])
            for _ in range(3):
                await ask(router)

    asyncio.run(go())
    assert busy_counters(redis_prefix) == []


def test_a_key_another_instance_cooled_is_never_used_though_the_view_predates_it(redis_prefix: str) -> None:
    async def go() -> list[str]:
        answers: list[str] = []
        async with redis_store(redis_prefix) as one, redis_store(redis_prefix) as other:
            router, pool = make_router(one, answers)
            await ask(router)  # the first key answers: the second, less used, is next on this view
            await other.record("p", pool.key_ids[1], "m", COOL)
            for _ in range(3):
                await ask(router)
        return answers

    assert asyncio.run(go()) == [KEYS[0]] * 4


def test_a_success_and_a_release_wait_in_the_outbox_until_a_flush(redis_prefix: str) -> None:
    async def go() -> tuple[float, float]:
        async with redis_store(redis_prefix, batch_delay=NEVER) as one, redis_store(redis_prefix) as other:
            await one.record("p", "k", "m", COOL)
            await one.record("p", "k", "m", SUCCESS)
            queued = (await other.statuses("p", ["k"], "m"))[0].cooldown_until
            await one.flush()
            sent = (await other.statuses("p", ["k"], "m"))[0].cooldown_until
        return queued, sent

    assert asyncio.run(go()) == (NOW + 60, 0.0)


def test_acquires_checked_against_a_bucket_never_exceed_the_cap_across_instances(redis_prefix: str) -> None:
    async def go() -> list[bool]:
        async with redis_store(redis_prefix) as one, redis_store(redis_prefix) as two:
            for store in (one, two):
                await store.statuses("p", ["k", "j"], "m", recent=True)
            taken = await asyncio.gather(
                *(store.acquire("p", "k", 1.0, NOW, cap=2, model="m") for store in (one, two) * 25)
            )
        return list(taken)

    assert asyncio.run(go()).count(True) == 2


def test_an_acquire_checked_against_a_bucket_refuses_a_cooling_or_benched_key(redis_prefix: str) -> None:
    async def go() -> list[bool]:
        async with redis_store(redis_prefix) as one, redis_store(redis_prefix) as other:
            await other.record("p", "k", "m", COOL)
            await other.record("p", "b", "x", BENCH)
            return [
                await one.acquire("p", "k", 1.0, NOW, model="m"),
                await one.acquire("p", "b", 1.0, NOW, model="m"),
                await one.acquire("p", "k", 1.0, NOW, model="other"),
                await one.acquire("p", "k", 1.0, NOW),  # unchecked: a second chance after a transient failure
            ]

    assert asyncio.run(go()) == [False, False, True, True]
