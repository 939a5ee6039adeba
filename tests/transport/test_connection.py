"""One connection's protocol fed bytes in memory, for what needs exact control of the reads: flow control."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from canned import answer
from keyproxy.transport.connection import Connection


class FakeSocket(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.reading = True
        self.sent = b""

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.sent += bytes(data)

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def is_closing(self) -> bool:
        return False


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def test_reading_pauses_past_the_high_water_mark_and_resumes_when_the_body_is_taken(
    loop: asyncio.AbstractEventLoop,
) -> None:
    conn, socket = Connection(loop), FakeSocket()
    conn.connection_made(socket)
    conn.begin(False, 5.0, b"GET / HTTP/1.1\r\n\r\n", None)
    conn.data_received(answer(b"x" * 300_000)[:200_000])
    assert socket.reading
    conn.data_received(answer(b"x" * 300_000)[200_000:])
    assert not socket.reading
    assert len(conn.take()) == 300_000
    assert socket.reading


def test_an_answer_left_unread_while_reading_was_paused_leaves_a_reusable_connection_reading(
    loop: asyncio.AbstractEventLoop,
) -> None:
    conn, socket = Connection(loop), FakeSocket()
    conn.connection_made(socket)
    conn.begin(False, 5.0, b"GET / HTTP/1.1\r\n\r\n", None)
    conn.data_received(answer(b"x" * 300_000))
    assert conn.complete
    assert not socket.reading
    assert conn.finish()
    assert socket.reading
