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
    from keyproxy.transport.aiohttp_transport import AiohttpTransport

    async def main():
        listener = socket.create_server(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/v1/models"
        transport = AiohttpTransport()
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
