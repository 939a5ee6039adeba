"""What a response writes in one turn of the event loop leaves in one send, in the order written."""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.server import ServerState

from keyproxy.cli.http_protocol import TurnWrites, protocol_for
from keyproxy.config.settings import ServerLimits


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

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default


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


def answered_in(tasks_besides: int) -> tuple[list[bytes], list[bytes]]:
    """One request through keyproxy's HTTP protocol with `tasks_besides` other requests being served: what had
    been written when the application's last send returned, and what after the loop's turn."""
    sent = Recorded()
    seen: list[bytes] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})
        seen.extend(sent.writes)

    async def serve() -> list[bytes]:
        config = uvicorn.Config(app, lifespan="off", log_config=None, access_log=False)
        config.load()
        state = ServerState()
        others = [asyncio.get_running_loop().create_future() for _ in range(tasks_besides)]
        state.tasks.update(others)  # type: ignore[arg-type]
        protocol = protocol_for(ServerLimits())(config=config, server_state=state, app_state={})
        protocol.connection_made(sent)
        protocol.data_received(b"GET / HTTP/1.1\r\nhost: proxy\r\n\r\n")
        (request,) = state.tasks - set(others)
        await request
        await asyncio.sleep(0)
        return sent.writes

    after = asyncio.run(serve())
    return seen, after


def test_an_answer_served_alone_leaves_as_it_completes() -> None:
    seen, after = answered_in(0)

    assert len(seen) == 1 and seen[0].startswith(b"HTTP/1.1 200") and seen[0].endswith(b"\r\n\r\nok")
    assert after == seen


def test_an_answer_completed_among_others_leaves_at_the_turns_end_with_them() -> None:
    seen, after = answered_in(3)

    assert seen == []
    assert len(after) == 1 and after[0].endswith(b"\r\n\r\nok")
