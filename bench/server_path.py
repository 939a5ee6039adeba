"""keyproxy's cost per request with its real HTTP server in the loop: `keyproxy serve`'s uvicorn server
(httptools, keyproxy's connection limits, the body budget) in this process, in front of MockTransport, and
a load process sending requests over one keep-alive loopback connection.

    uv run python bench/server_path.py [--requests 3000] [--kind plain|stream]

Under callgrind only this process is counted (valgrind does not follow the load process):

    valgrind --tool=callgrind --callgrind-out-file=/tmp/a uv run python bench/server_path.py --requests 1000
    valgrind --tool=callgrind --callgrind-out-file=/tmp/b uv run python bench/server_path.py --requests 3000

and (instructions of b - instructions of a) / 2000 is the instructions per request: the HTTP parsing,
the server's bookkeeping, the app and the response writing, without start-up.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any

import uvloop
from request_path import app, request_body

from keyproxy.cli.serve import build_server
from keyproxy.clock import SystemClock
from keyproxy.config import Settings
from keyproxy.net import bind_socket

LOAD = """
import socket, sys
port, count, stream = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "stream"
body = sys.stdin.buffer.read()
request = (b"POST /v1/chat/completions HTTP/1.1\\r\\nhost: 127.0.0.1\\r\\ncontent-type: application/json\\r\\n"
           b"user-agent: bench\\r\\ncontent-length: " + str(len(body)).encode() + b"\\r\\n\\r\\n" + body)
end = b"0\\r\\n\\r\\n" if stream else None
with socket.create_connection(("127.0.0.1", port)) as sock:
    for _ in range(count):
        sock.sendall(request)
        seen = b""
        while True:
            seen += sock.recv(65536)
            head, _, rest = seen.partition(b"\\r\\n\\r\\n")
            if not _:
                continue
            if end is not None:
                if rest.endswith(end):
                    break
                continue
            length = int(head.lower().split(b"content-length: ")[1].split(b"\\r\\n")[0])
            if len(rest) >= length:
                break
        assert seen.startswith(b"HTTP/1.1 200"), seen[:200]
"""


def served() -> tuple[Any]:
    """The app as `keyproxy serve` runs it: behind the body budget, where this commit has one. On the system
    clock: with the fake one, the background re-probe job would spin whenever the loop waits for the socket."""
    application = app(clock=SystemClock())
    try:
        from keyproxy.api.body_budget import BodyBudget
    except ImportError:
        return (application,)
    defaults = Settings()
    return (BodyBudget(application, defaults.server.body_bytes_in_flight, defaults.max_body_bytes),)


async def serve(count: int, kind: str) -> float:
    listener = bind_socket("127.0.0.1", 0)
    server = build_server(*served(), "warning")
    load_done = asyncio.Event()

    async def main_loop() -> None:
        # Instead of uvicorn's 0.1 s tick, whose work would grow with the run's duration, not its requests.
        await load_done.wait()

    server.main_loop = main_loop  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve(sockets=[listener]))
    while not server.started:  # noqa: ASYNC110 (uvicorn has no event for it)
        await asyncio.sleep(0.01)
    port = listener.getsockname()[1]
    started = time.perf_counter()
    load = await asyncio.create_subprocess_exec(
        sys.executable, "-c", LOAD, str(port), str(count), kind, stdin=asyncio.subprocess.PIPE
    )
    await load.communicate(request_body(kind == "stream"))
    elapsed = time.perf_counter() - started
    load_done.set()
    await task
    if load.returncode != 0:
        raise SystemExit(f"the load process failed ({load.returncode})")
    return elapsed / count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--kind", choices=["plain", "stream"], default="plain")
    args = parser.parse_args()
    # uvloop is keyproxy's loop in production (a dependency), so it is the one measured.
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        seconds = runner.run(serve(args.requests, args.kind))
    print(f"{args.kind}: {seconds * 1e6:.1f} us/request over {args.requests} requests")


if __name__ == "__main__":
    main()
