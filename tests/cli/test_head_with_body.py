"""A response's head leaves with its body in one write, or alone at the loop's next turn."""

from __future__ import annotations

import asyncio

from keyproxy.cli.http_protocol import HeadWithBody


class Recorded(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True


def test_a_head_and_the_body_written_after_it_leave_in_one_write() -> None:
    async def answer() -> list[bytes]:
        sent = Recorded()
        writes = HeadWithBody(sent, asyncio.get_running_loop())
        writes.write(b"HTTP/1.1 200 OK\r\n\r\n")
        writes.write(b"body")
        await asyncio.sleep(0)
        return sent.writes

    assert asyncio.run(answer()) == [b"HTTP/1.1 200 OK\r\n\r\nbody"]


def test_a_head_no_body_follows_at_once_leaves_at_the_loops_next_turn() -> None:
    async def stream() -> tuple[list[bytes], list[bytes]]:
        sent = Recorded()
        writes = HeadWithBody(sent, asyncio.get_running_loop())
        writes.write(b"head")
        before = list(sent.writes)
        await asyncio.sleep(0)
        writes.write(b"chunk 1")
        writes.write(b"chunk 2")
        return before, sent.writes

    assert asyncio.run(stream()) == ([], [b"head", b"chunk 1", b"chunk 2"])


def test_a_large_body_is_not_copied_behind_its_head() -> None:
    body = b"x" * 100_000

    async def answer() -> list[bytes]:
        sent = Recorded()
        writes = HeadWithBody(sent, asyncio.get_running_loop())
        writes.write(b"head")
        writes.write(body)
        return sent.writes

    assert asyncio.run(answer()) == [b"head", body]


def test_closing_sends_a_held_head_first() -> None:
    async def refused() -> tuple[list[bytes], bool]:
        sent = Recorded()
        writes = HeadWithBody(sent, asyncio.get_running_loop())
        writes.write(b"head")
        writes.close()
        await asyncio.sleep(0)
        return sent.writes, sent.closed

    assert asyncio.run(refused()) == ([b"head"], True)
