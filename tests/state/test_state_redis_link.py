"""The store's own Redis connection, against the real Redis: pipelined calls, errors that leave it in step,
drops and silences that fail the calls waiting and reconnect, and what the URL says (password, database, TLS)."""

from __future__ import annotations

import asyncio
import ssl
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import redis
import uvloop
from redis.asyncio import ConnectionPool
from redis.exceptions import AuthenticationError, ResponseError

from keyproxy.state.redis_link import Address, Link
from keyproxy.state.redis_wire import pack
from state.state_support import relay_to_redis
from support import REDIS_URL, needs_redis

pytestmark = needs_redis

T = TypeVar("T")
CLIENT_ID = pack("CLIENT", "ID")


def link(url: str = REDIS_URL, **options: Any) -> Link:
    return Link(Address.of(ConnectionPool.from_url(url, **options)))


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest) -> Callable[[Awaitable[T]], T]:
    def runner(main: Awaitable[T]) -> T:
        return asyncio.run(main) if request.param == "asyncio" else uvloop.run(main)  # type: ignore[arg-type]

    return runner


class Writes:
    """A transport that counts the writes made on it."""

    def __init__(self, transport: Any) -> None:
        self.transport, self.count = transport, 0

    def write(self, data: bytes) -> None:
        self.count += 1
        self.transport.write(data)

    def abort(self) -> None:
        self.transport.abort()


def test_calls_made_in_one_loop_turn_go_out_in_one_write_and_are_answered_in_order(run: Any) -> None:
    async def go() -> tuple[list[object], int]:
        calls = link()
        await calls.call(CLIENT_ID)  # connected
        wire = calls._wire
        assert wire is not None
        writes = Writes(wire._transport)
        wire._transport = writes  # type: ignore[assignment]
        answers = await asyncio.gather(*(calls.call(pack("ECHO", str(n))) for n in range(20)))
        await calls.close()
        return list(answers), writes.count

    answers, writes = run(go())
    assert answers == [str(n).encode() for n in range(20)]
    assert writes == 1


def test_an_error_reply_fails_its_call_only_and_the_connection_serves_the_next(run: Any) -> None:
    async def go() -> list[object]:
        calls = link()
        first = await calls.call(CLIENT_ID)
        with pytest.raises(ResponseError):
            await calls.call(pack("NO-SUCH-COMMAND"))
        after = await calls.call(CLIENT_ID)
        await calls.close()
        return [first, after]

    first, after = run(go())
    assert first == after


def test_a_batch_answers_every_command_or_raises_its_first_error_reply(run: Any) -> None:
    async def go() -> list[object]:
        calls = link()
        name = f"keyproxy-test:{uuid.uuid4().hex}"
        replies = await calls.batch([pack("SET", name, "v", "PX", 10_000), pack("GET", name), pack("DEL", name)])
        with pytest.raises(ResponseError):
            await calls.batch([pack("GET", name), pack("NO-SUCH-COMMAND")])
        still = await calls.call(pack("ECHO", "x"))
        await calls.close()
        return [replies, still]

    assert run(go()) == [[b"OK", b"v", 1], b"x"]


def test_a_cancelled_call_leaves_the_connection_in_step(run: Any) -> None:
    async def go() -> list[object]:
        calls = link()
        before = await calls.call(CLIENT_ID)
        slow = calls.call(pack("BLPOP", f"keyproxy-test:{uuid.uuid4().hex}", "0.2"))
        slow.cancel()
        after = await calls.call(CLIENT_ID)  # answered after the BLPOP's nil, which nobody waits for
        await calls.close()
        return [before, after]

    before, after = run(go())
    assert before == after


def test_a_silent_connection_fails_the_waiting_calls_and_the_next_call_connects_again(run: Any) -> None:
    async def go() -> list[object]:
        calls = link(socket_timeout=0.1)
        before = await calls.call(CLIENT_ID)
        with pytest.raises(TimeoutError):
            await calls.call(pack("BLPOP", f"keyproxy-test:{uuid.uuid4().hex}", "2"))
        after = await calls.call(CLIENT_ID)
        await calls.close()
        return [before, after]

    before, after = run(go())
    assert before != after


def test_a_dropped_connection_fails_the_waiting_calls_and_the_next_call_connects_again(run: Any) -> None:
    async def go() -> list[object]:
        calls = link()
        before = await calls.call(CLIENT_ID)
        waiting = calls.call(pack("BLPOP", f"keyproxy-test:{uuid.uuid4().hex}", "2"))
        killer = redis.asyncio.Redis.from_url(REDIS_URL)
        await killer.client_kill_filter(_id=int(before))  # type: ignore[arg-type]
        await killer.aclose()
        with pytest.raises(ConnectionError):
            await waiting
        after = await calls.call(CLIENT_ID)
        await calls.close()
        return [before, after]

    before, after = run(go())
    assert before != after


def test_an_unreachable_redis_fails_the_call_with_an_os_error(run: Any) -> None:
    async def go() -> None:
        server = await asyncio.start_server(lambda reader, writer: writer.close(), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        calls = link(f"redis://127.0.0.1:{port}/0")
        with pytest.raises(ConnectionRefusedError):
            await calls.call(CLIENT_ID)

    run(go())


@pytest.fixture
def user() -> Iterator[tuple[str, str]]:
    """A Redis user of its own with a password, removed after the test."""
    name, password = f"keyproxy-test-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    client = redis.Redis.from_url(REDIS_URL)
    client.acl_setuser(name, enabled=True, passwords=[f"+{password}"], keys=["*"], commands=["+@all"])
    yield name, password
    client.acl_deluser(name)
    client.close()


def test_the_user_password_and_database_of_the_url_are_used(user: tuple[str, str], run: Any) -> None:
    name, password = user
    key = f"keyproxy-test:{uuid.uuid4().hex}"

    async def go() -> list[object]:
        calls = link(f"redis://{name}:{password}@127.0.0.1:6379/5")
        answers = [await calls.call(pack("SET", key, "in-5", "PX", 10_000)), await calls.call(pack("ACL", "WHOAMI"))]
        await calls.close()
        wrong = link(f"redis://{name}:not-{password}@127.0.0.1:6379/0")
        with pytest.raises(AuthenticationError):
            await wrong.call(CLIENT_ID)
        return answers

    assert run(go()) == [b"OK", name.encode()]
    assert redis.Redis.from_url(REDIS_URL.replace("/0", "/5")).get(key) == b"in-5"
    assert redis.Redis.from_url(REDIS_URL).get(key) is None


def test_a_rediss_url_talks_tls_and_checks_the_certificate(certificate: tuple[Path, Path], run: Any) -> None:
    """Through a TLS-terminating relay in front of the real Redis."""
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(*certificate)

    async def go() -> object:
        relay = await asyncio.start_server(relay_to_redis, "127.0.0.1", 0, ssl=tls)
        port = relay.sockets[0].getsockname()[1]
        try:
            trusting = link(f"rediss://localhost:{port}/0?ssl_ca_certs={certificate[0]}")
            answer = await trusting.call(pack("ECHO", "over tls"))
            await trusting.close()
            with pytest.raises(ssl.SSLError):
                await link(f"rediss://localhost:{port}/0").call(CLIENT_ID)  # not trusted
            return answer
        finally:
            relay.close()

    assert run(go()) == b"over tls"
