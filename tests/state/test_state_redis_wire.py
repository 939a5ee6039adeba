"""The SHARE call's own packing and connections, against a real Redis."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.connection import Connection
from redis.exceptions import ResponseError

from keyproxy.state.redis_wire import Lane, bulk, command
from support import REDIS_URL, needs_redis

CLIENT_ID = command(2, bulk(b"CLIENT", b"ID"))


def test_a_command_is_packed_as_redis_py_packs_it() -> None:
    args = (b"EVALSHA", b"abc", b"2", b"k:1", b"", b"1700000000.5")
    assert command(len(args), bulk(*args[:2]), bulk(*args[2:])) == b"".join(Connection().pack_command(*args))


@needs_redis
def test_a_lane_reuses_a_connection_after_an_answer_and_after_an_error_reply() -> None:
    async def go() -> list[object]:
        lane = Lane(ConnectionPool.from_url(REDIS_URL))
        first = await lane.call(CLIENT_ID)
        again = await lane.call(CLIENT_ID)
        with pytest.raises(ResponseError):
            await lane.call(command(1, bulk(b"NO-SUCH-COMMAND")))
        after_error = await lane.call(CLIENT_ID)
        await lane.close()
        anew = await lane.call(CLIENT_ID)
        await lane.close()
        return [first, again, after_error, anew]

    first, again, after_error, anew = asyncio.run(go())
    assert first == again == after_error
    assert anew != first


@needs_redis
def test_a_call_cancelled_mid_answer_leaves_no_connection_out_of_step() -> None:
    async def go() -> tuple[object, object]:
        lane = Lane(ConnectionPool.from_url(REDIS_URL))
        before = await lane.call(CLIENT_ID)
        slow = asyncio.ensure_future(lane.call(command(3, bulk(b"BLPOP", b"keyproxy-test:never", b"5"))))
        watcher = Redis.from_url(REDIS_URL)
        for _ in range(500):  # until Redis has the command, whose answer would take 5 s
            clients = await watcher.client_list()
            if any(client["id"] == str(before) and client["cmd"] == "blpop" for client in clients):
                break
            await asyncio.sleep(0.01)
        await watcher.aclose()
        slow.cancel()
        with pytest.raises(asyncio.CancelledError):
            await slow
        after = await lane.call(CLIENT_ID)
        await lane.close()
        return before, after

    before, after = asyncio.run(go())
    assert before != after  # the cancelled call's connection was dropped, not reused
