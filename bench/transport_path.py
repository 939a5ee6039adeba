"""The upstream client's cost per request: keyproxy's real transport sending requests one after another over
a kept-alive loopback connection to a canned upstream in another process, and reading each answer whole
(`plain`, a 0.6 kB JSON body by Content-Length) or as a stream (`stream`, 51 chunked SSE events).
With `--path app`, the whole app in front of it, driven through ASGI as bench/request_path.py drives it.

    uv run python bench/transport_path.py [--requests 3000] [--kind plain|stream] [--path transport|app]

Under callgrind only this process is counted (valgrind does not follow the upstream process):

    valgrind --tool=callgrind --callgrind-out-file=/tmp/a .venv/bin/python bench/transport_path.py --requests 1000
    valgrind --tool=callgrind --callgrind-out-file=/tmp/b .venv/bin/python bench/transport_path.py --requests 3000

and (instructions of b - instructions of a) / 2000 is the client's instructions per request.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

import uvloop
from request_path import ANSWER, KEYS, STREAM, request_body
from request_path import run as run_app

from keyproxy.config import Credential, ProviderSettings, Settings
from keyproxy.config.settings import StateSettings
from keyproxy.testing import FakeClock
from keyproxy.transport import RequestTimeouts, UpstreamRequest
from keyproxy.wiring import build_app

try:
    from keyproxy.transport.http1 import Http1Transport as RealTransport
except ImportError:  # a commit from before the HTTP/1.1 client, to compare against
    from keyproxy.transport.aiohttp_transport import AiohttpTransport as RealTransport  # type: ignore[no-redef]

UPSTREAM = """
import asyncio, sys
plain, stream = sys.stdin.buffer.read().split(b"\\0")
plain = b"HTTP/1.1 200 OK\\r\\ncontent-type: application/json\\r\\ncontent-length: %d\\r\\n\\r\\n" % len(plain) + plain
events = [event + b"\\n\\n" for event in stream.split(b"\\n\\n")[:-1]]
chunks = b"".join(b"%x\\r\\n%s\\r\\n" % (len(event), event) for event in events) + b"0\\r\\n\\r\\n"
stream = b"HTTP/1.1 200 OK\\r\\ncontent-type: text/event-stream\\r\\ntransfer-encoding: chunked\\r\\n\\r\\n" + chunks
class Canned(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport, self.seen = transport, b""
    def data_received(self, data):
        self.seen += data
        while (end := self.seen.find(b"\\r\\n\\r\\n")) >= 0:
            head = self.seen[:end].lower()
            length = int(head.split(b"content-length: ")[1].split(b"\\r\\n")[0])
            if len(self.seen) < end + 4 + length:
                return
            body, self.seen = self.seen[end + 4:end + 4 + length], self.seen[end + 4 + length:]
            self.transport.write(stream if b'"stream":true' in body else plain)
async def main():
    server = await asyncio.get_running_loop().create_server(Canned, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""


async def run(count: int, kind: str, path: str) -> float:
    upstream = await asyncio.create_subprocess_exec(
        sys.executable, "-c", UPSTREAM, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    assert upstream.stdin is not None
    assert upstream.stdout is not None
    upstream.stdin.write(ANSWER + b"\0" + STREAM)
    upstream.stdin.write_eof()
    port = int(await upstream.stdout.readline())
    transport = RealTransport()
    if path == "app":
        seconds, _cpu = await run_app(proxied(port, transport), request_body(kind == "stream"), count)
        await transport.aclose()
        upstream.kill()
        await upstream.wait()
        return seconds
    stream = kind == "stream"
    request = UpstreamRequest(
        "POST", f"http://127.0.0.1:{port}/v1/chat/completions",
        {"Authorization": "Bearer sk-bench", "Content-Type": "application/json"}, request_body(stream),
    )  # fmt: skip
    timeouts = RequestTimeouts(connect=5.0, pool=5.0, read=30.0)
    started = time.perf_counter()
    for _ in range(count):
        response = await transport.send(request, timeouts)
        if stream:
            async for _chunk in response.iter_chunks(15.0):
                pass
        else:
            await response.read(1 << 24)
        assert response.status == 200
    elapsed = time.perf_counter() - started
    await transport.aclose()
    upstream.kill()
    await upstream.wait()
    return elapsed / count


def proxied(port: int, transport: RealTransport) -> object:
    provider = ProviderSettings(
        name="bench", protocol="openai", base_url=f"http://127.0.0.1:{port}/v1",
        credentials=tuple(Credential(key, f"BENCH_API_KEY_{n}") for n, key in enumerate(KEYS, 1)),
    )  # fmt: skip
    settings = Settings(providers={"bench": provider}, state=StateSettings(backend="memory"))
    return build_app(settings, transport=transport, clock=FakeClock())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--kind", choices=["plain", "stream"], default="plain")
    parser.add_argument("--path", choices=["transport", "app"], default="transport")
    args = parser.parse_args()
    # uvloop is keyproxy's loop in production (a dependency), so it is the one measured.
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        seconds = runner.run(run(args.requests, args.kind, args.path))
    name = RealTransport.__name__
    print(f"{name} {args.path} {args.kind}: {seconds * 1e6:.1f} us/request over {args.requests} requests")


if __name__ == "__main__":
    main()
