"""What a response writes in one turn of the event loop leaves in one send, in the order written."""

from __future__ import annotations

import asyncio

from keyproxy.cli.http_protocol import TurnWrites


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
    async def answer() -> tuple[list[bytes], list[bytes]]:
        sent = Recorded()
        writes = TurnWrites(sent, asyncio.get_running_loop())
        writes.write(b"HTTP/1.1 200 OK\r\n\r\n")
        writes.write(b"body")
        before = list(sent.writes)
        await asyncio.sleep(0)
        return before, sent.writes

    assert asyncio.run(answer()) == ([], [b"HTTP/1.1 200 OK\r\n\r\nbody"])


def test_a_stream_sent_in_one_turn_leaves_whole_with_its_end_marker() -> None:
    async def stream() -> list[bytes]:
        sent = Recorded()
        writes = TurnWrites(sent, asyncio.get_running_loop())
        for piece in (b"head", b"chunk 1", b"chunk 2", b"0\r\n\r\n"):
            writes.write(piece)
        await asyncio.sleep(0)
        return sent.writes

    assert asyncio.run(stream()) == [b"headchunk 1chunk 20\r\n\r\n"]


def test_what_is_written_in_later_turns_leaves_at_each_turns_end() -> None:
    async def stream() -> list[list[bytes]]:
        sent = Recorded()
        writes = TurnWrites(sent, asyncio.get_running_loop())
        seen = []
        for pieces in ([b"head", b"chunk 1"], [b"chunk 2"], [b"chunk 3", b"end"]):
            for piece in pieces:
                writes.write(piece)
            seen.append(list(sent.writes))
            await asyncio.sleep(0)
        return [*seen, sent.writes]

    assert asyncio.run(stream()) == [
        [],
        [b"headchunk 1"],
        [b"headchunk 1", b"chunk 2"],
        [b"headchunk 1", b"chunk 2", b"chunk 3end"],
    ]


def test_a_flush_sends_what_is_held_at_once() -> None:
    async def answer() -> list[bytes]:
        sent = Recorded()
        writes = TurnWrites(sent, asyncio.get_running_loop())
        writes.write(b"head")
        writes.write(b"body")
        writes.flush()
        return sent.writes

    assert asyncio.run(answer()) == [b"headbody"]


def test_a_large_body_is_not_copied_behind_its_head() -> None:
    body = b"x" * 100_000

    async def answer() -> list[bytes]:
        sent = Recorded()
        writes = TurnWrites(sent, asyncio.get_running_loop())
        writes.write(b"head")
        writes.write(body)
        return sent.writes

    assert asyncio.run(answer()) == [b"head", body]


def test_closing_sends_what_is_held_first() -> None:
    async def refused() -> tuple[list[bytes], bool]:
        sent = Recorded()
        writes = TurnWrites(sent, asyncio.get_running_loop())
        writes.write(b"head")
        writes.close()
        await asyncio.sleep(0)
        return sent.writes, sent.closed

    assert asyncio.run(refused()) == ([b"head"], True)


def test_nothing_is_written_to_a_transport_already_closing() -> None:
    async def gone() -> list[bytes]:
        sent = Recorded()
        writes = TurnWrites(sent, asyncio.get_running_loop())
        writes.write(b"head")
        sent.closed = True
        await asyncio.sleep(0)
        return sent.writes

    assert asyncio.run(gone()) == []
