"""The HTTP/1.1 client against loopback servers scripted byte by byte: keep-alive, framing, timeouts, failures.
Each test runs on asyncio's own loop and on uvloop, the one `keyproxy serve` uses."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
import uvloop

from canned import Canned, answer
from keyproxy.errors import InvalidUpstreamResponse, UpstreamTimeout, UpstreamUnreachable
from keyproxy.transport import RequestTimeouts, UpstreamRequest
from keyproxy.transport.http1 import Http1Response, Http1Transport

TIMEOUTS = RequestTimeouts(connect=5.0, pool=5.0, read=5.0)
T = TypeVar("T")
Run = Callable[[Callable[[Http1Transport], Awaitable[T]]], T]


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest) -> Run[object]:
    def run(body: Callable[[Http1Transport], Awaitable[T]]) -> T:
        async def main() -> T:
            transport = Http1Transport()
            try:
                return await body(transport)
            finally:
                await transport.aclose()

        return asyncio.run(main()) if request.param == "asyncio" else uvloop.run(main())

    return run


async def get(transport: Http1Transport, url: str, timeouts: RequestTimeouts = TIMEOUTS) -> Http1Response:
    return await transport.send(UpstreamRequest("GET", url + "/v1/models", {"Authorization": "Bearer sk-x"}), timeouts)


async def body_of(transport: Http1Transport, url: str) -> bytes:
    return await (await get(transport, url)).read()


def test_sequential_requests_share_one_kept_alive_connection(run: Run[Canned]) -> None:
    async def body(transport: Http1Transport) -> Canned:
        canned = await Canned().start()
        for _ in range(5):
            assert await body_of(transport, canned.url) == b"ok"
        await canned.stop()
        return canned

    assert run(body).connections == 1


def test_the_request_carries_host_length_and_user_agent_and_asks_for_no_compression(run: Run[bytes]) -> None:
    async def body(transport: Http1Transport) -> bytes:
        canned = await Canned().start()
        request = UpstreamRequest("POST", canned.url + "/v1/chat?x=%20y", {"Content-Type": "application/json"}, b"{}")
        await (await transport.send(request, TIMEOUTS)).read()
        await canned.stop()
        return canned.requests[0]

    head = run(body).decode()
    lines = head.split("\r\n")
    assert lines[0] == "POST /v1/chat?x=%20y HTTP/1.1"
    assert lines[1].startswith("Host: 127.0.0.1:")
    assert "Content-Length: 2" in lines
    assert "Content-Type: application/json" in lines
    assert any(line.startswith("User-Agent: keyproxy/") for line in lines)
    assert "accept-encoding" not in head.lower()


def test_an_idle_connection_the_upstream_closed_is_replaced_and_the_request_sent_again(run: Run[Canned]) -> None:
    async def once_then_drop(canned: Canned, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # The first connection answers once, then closes on reading the next request without answering it, as
        # a server whose keep-alive ran out does when a request crosses its close on the wire.
        await canned.request(reader)
        writer.write(answer(b"first"))
        if canned.connections == 1:
            await canned.request(reader)
            return
        while await canned.request(reader):
            writer.write(answer(b"again"))

    async def body(transport: Http1Transport) -> Canned:
        canned = await Canned(once_then_drop).start()
        assert await body_of(transport, canned.url) == b"first"
        assert await body_of(transport, canned.url) == b"first"
        await canned.stop()
        return canned

    canned = run(body)
    assert canned.connections == 2
    assert len(canned.requests) == 3


def test_a_new_connection_closed_without_an_answer_is_unreachable_and_not_retried(run: Run[Canned]) -> None:
    async def drop(canned: Canned, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await canned.request(reader)

    async def body(transport: Http1Transport) -> Canned:
        canned = await Canned(drop).start()
        with pytest.raises(UpstreamUnreachable, match="before answering"):
            await get(transport, canned.url)
        await canned.stop()
        return canned

    assert run(body).connections == 1


def test_a_connection_the_upstream_says_it_closes_is_not_reused(run: Run[Canned]) -> None:
    async def closing(canned: Canned, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await canned.request(reader):
            writer.write(answer(headers="Connection: close\r\n"))

    async def body(transport: Http1Transport) -> Canned:
        canned = await Canned(closing).start()
        for _ in range(3):
            assert await body_of(transport, canned.url) == b"ok"
        await canned.stop()
        return canned

    assert run(body).connections == 3


CHUNKED = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n"
UNTIL_CLOSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it until the end"


@pytest.mark.parametrize(
    ("wire", "expected", "reused"),
    [
        (answer(b"by length"), b"by length", True),
        (CHUNKED, b"abcdefg", True),
        (UNTIL_CLOSE, b"all of it until the end", False),
    ],
)
def test_bodies_framed_by_length_by_chunks_or_by_close_are_read_whole(
    run: Run[tuple[bytes, int]], wire: bytes, expected: bytes, reused: bool
) -> None:
    async def script(canned: Canned, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await canned.request(reader):
            writer.write(wire)
            if wire is UNTIL_CLOSE:
                return

    async def body(transport: Http1Transport) -> tuple[bytes, int]:
        canned = await Canned(script).start()
        first = await body_of(transport, canned.url)
        assert await body_of(transport, canned.url) == first
        await canned.stop()
        return first, canned.connections

    assert run(body) == (expected, 1 if reused else 2)


def test_interim_answers_are_skipped_and_repeated_headers_joined(run: Run[Http1Response]) -> None:
    async def script(canned: Canned, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await canned.request(reader)
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n" + answer(b"{}", headers="Vary: a\r\nVARY: b\r\n"))

    async def body(transport: Http1Transport) -> Http1Response:
        canned = await Canned(script).start()
        response = await get(transport, canned.url)
        assert await response.read() == b"{}"
        await canned.stop()
        return response

    response = run(body)
    assert response.status == 200
    assert response.headers["vary"] == "a, b"
    assert response.headers.get("Content-Length") == "2"


def test_an_answer_without_a_body_by_status_is_complete_at_its_headers(run: Run[tuple[int, bytes]]) -> None:
    async def script(canned: Canned, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await canned.request(reader):
            writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")

    async def body(transport: Http1Transport) -> tuple[int, bytes]:
        canned = await Canned(script).start()
        response = await get(transport, canned.url)
        read = await response.read()
        assert await body_of(transport, canned.url) == b""
        await canned.stop()
        assert canned.connections == 1
        return response.status, read

    assert run(body) == (204, b"")


def test_a_body_abandoned_half_way_closes_its_connection(run: Run[Canned]) -> None:
    async def streaming(canned: Canned, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await canned.request(reader):
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n")
            await writer.drain()
            if canned.connections == 2:
                writer.write(b"0\r\n\r\n")

    async def body(transport: Http1Transport) -> Canned:
        canned = await Canned(streaming).start()
        response = await get(transport, canned.url)
        async for chunk in response.iter_chunks():
            assert chunk == b"first"
            break
        response.close()
        second = await get(transport, canned.url)
        assert [chunk async for chunk in second.iter_chunks()] == [b"first"]
        await canned.stop()
        return canned

    assert run(body).connections == 2


def test_an_answer_that_arrived_whole_keeps_its_connection_when_its_reader_stops_early(run: Run[Canned]) -> None:
    async def body(transport: Http1Transport) -> Canned:
        canned = await Canned().start()
        response = await get(transport, canned.url)
        async for _ in response.iter_chunks():
            break
        response.close()
        assert await body_of(transport, canned.url) == b"ok"
        await canned.stop()
        return canned

    assert run(body).connections == 1


def test_a_silence_longer_than_idle_yields_an_empty_piece_and_the_stream_goes_on(run: Run[list[bytes]]) -> None:
    resume = asyncio.Event()

    async def pausing(canned: Canned, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await canned.request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\none\r\n")
        await resume.wait()
        writer.write(b"3\r\ntwo\r\n0\r\n\r\n")

    async def body(transport: Http1Transport) -> list[bytes]:
        canned = await Canned(pausing).start()
        response = await get(transport, canned.url)
        seen = []
        async for chunk in response.iter_chunks(idle=0.01):
            seen.append(chunk)
            if chunk == b"":
                resume.set()
        await canned.stop()
        return seen

    seen = run(body)
    assert seen[0] == b"one" and seen[-1] == b"two"
    assert b"" in seen


def test_a_silence_longer_than_the_read_timeout_is_a_timeout(run: Run[None]) -> None:
    async def headers_only(canned: Canned, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await canned.request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n")
        await asyncio.Event().wait()

    async def body(transport: Http1Transport) -> None:
        canned = await Canned(headers_only).start()
        response = await get(transport, canned.url, RequestTimeouts(connect=5.0, pool=5.0, read=0.05))
        with pytest.raises(UpstreamTimeout):
            async for _ in response.iter_chunks(idle=0.01):
                pass
        await canned.stop()

    run(body)


def test_a_refused_connection_is_unreachable(run: Run[None]) -> None:
    async def body(transport: Http1Transport) -> None:
        with pytest.raises(UpstreamUnreachable, match=r"cannot connect to upstream 127\.0\.0\.1"):
            await get(transport, f"http://127.0.0.1:{port}")

    with socket.socket() as refusing:
        # Bound but not listening: connections are refused, and no other server can take the port meanwhile.
        refusing.bind(("127.0.0.1", 0))
        port = refusing.getsockname()[1]
        run(body)


@pytest.mark.parametrize(
    "wire",
    [b"NOT HTTP AT ALL\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", b"HTTP/1.1 200 OK\r\nContent-"],
    ids=["garbage", "body cut short", "headers cut short"],
)
def test_a_malformed_or_cut_answer_is_invalid(run: Run[None], wire: bytes) -> None:
    async def script(canned: Canned, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await canned.request(reader)
        writer.write(wire)

    async def body(transport: Http1Transport) -> None:
        canned = await Canned(script).start()
        with pytest.raises(InvalidUpstreamResponse):
            await (await get(transport, canned.url)).read()
        await canned.stop()

    run(body)


def test_an_ipv6_literal_upstream_is_reached_with_its_brackets_in_host(run: Run[bytes]) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")

    async def body(transport: Http1Transport) -> bytes:
        canned = await Canned().start("::1")
        assert await body_of(transport, canned.url) == b"ok"
        await canned.stop()
        return canned.requests[0]

    assert b"Host: [::1]:" in run(body)


def test_a_url_without_a_path_asks_for_the_root_with_its_query_and_any_scheme_case(run: Run[list[bytes]]) -> None:
    async def body(transport: Http1Transport) -> list[bytes]:
        canned = await Canned().start()
        url = canned.url.replace("http://", "HTTP://")
        for target in ("?key=1", ""):
            await (await transport.send(UpstreamRequest("GET", url + target, {}), TIMEOUTS)).read()
        await canned.stop()
        return [head.split(b"\r\n")[0] for head in canned.requests]

    assert run(body) == [b"GET /?key=1 HTTP/1.1", b"GET / HTTP/1.1"]


def test_a_header_value_with_a_line_break_is_refused_before_anything_is_sent(run: Run[Canned]) -> None:
    async def body(transport: Http1Transport) -> Canned:
        canned = await Canned().start()
        forged = UpstreamRequest("GET", canned.url, {"X-Title": "a\r\nAuthorization: Bearer stolen"})
        with pytest.raises(ValueError, match="line break"):
            await transport.send(forged, TIMEOUTS)
        await canned.stop()
        return canned

    assert run(body).connections == 0
