"""The real transport where only a real socket shows the behaviour."""

from __future__ import annotations

import subprocess
import sys
import textwrap

# Run in a child process: it lowers its own open-file limit, which must not touch the test runner's.
_OUT_OF_FILES = textwrap.dedent(
    """
    import asyncio, resource, socket
    from keyproxy.errors import LocalExhaustion
    from keyproxy.transport import RequestTimeouts, UpstreamRequest
    from keyproxy.transport.http1 import Http1Transport

    async def main():
        listener = socket.create_server(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/v1/models"
        transport = Http1Transport()
        timeouts = RequestTimeouts(connect=2.0, pool=2.0, read=2.0)
        held = []
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, hard))
        try:
            while True:
                held.append(socket.socket())
        except OSError:
            pass
        try:
            await transport.send(UpstreamRequest("GET", url, {}), timeouts)
        except LocalExhaustion as error:
            print("local:", error.status, error.code)
        except Exception as error:
            print("other:", type(error).__name__)
        for sock in held:
            sock.close()
        await transport.aclose()

    asyncio.run(main())
    """
)


def test_a_machine_out_of_file_descriptors_is_a_local_failure_not_an_upstream_one() -> None:
    done = subprocess.run([sys.executable, "-c", _OUT_OF_FILES], capture_output=True, text=True, timeout=30)
    assert done.stdout.strip() == "local: 503 gateway_overloaded", done.stdout + done.stderr


def test_a_body_past_the_limit_stops_being_read_at_the_limit() -> None:
    import asyncio

    import pytest

    from keyproxy.errors import InvalidUpstreamResponse
    from keyproxy.testing import BackgroundServer
    from keyproxy.transport import RequestTimeouts, UpstreamRequest
    from keyproxy.transport.http1 import Http1Transport

    async def app(scope: dict[str, object], receive: object, send: object) -> None:
        if scope["type"] != "http":
            return
        headers = [(b"content-type", b"application/json")]
        if scope["path"] == "/declared":
            headers.append((b"content-length", str(1 << 40).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})  # type: ignore[operator]
        piece = b" " * 65536
        for _ in range(8192):  # 512 MiB, far past the limit
            await send({"type": "http.response.body", "body": piece, "more_body": True})  # type: ignore[operator]
        await send({"type": "http.response.body", "body": b""})  # type: ignore[operator]

    async def read(url: str) -> None:
        transport = Http1Transport()
        try:
            response = await transport.send(UpstreamRequest("GET", url, {}), RequestTimeouts(5.0, 5.0, 5.0))
            await response.read(1 << 20)
        finally:
            await transport.aclose()

    with BackgroundServer(app) as server:
        for path in ("/chunked", "/declared"):
            with pytest.raises(InvalidUpstreamResponse, match="larger than 1048576 bytes"):
                asyncio.run(read(server.url + path))
