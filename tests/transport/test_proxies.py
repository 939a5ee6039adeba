"""The real transport through outbound proxies on loopback: HTTP with credentials, SOCKS5 and SOCKS4/4a, and
proxies that fail. (An HTTPS upstream through a CONNECT tunnel is in test_http1_tls.py.)"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

from conftest import Upstream
from keyproxy.errors import UpstreamProxyFailed, UpstreamTimeout
from keyproxy.testing import FakeClock, OutboundProxy
from keyproxy.transport import RequestTimeouts, UpstreamRequest
from keyproxy.transport.http1 import Http1Transport
from keyproxy.transport.proxy_health import ProxyHealth, Seen

TIMEOUTS = RequestTimeouts(connect=5.0, pool=5.0, read=5.0)
T = TypeVar("T")


def models(upstream: Upstream, proxy: str) -> UpstreamRequest:
    return UpstreamRequest("GET", upstream[1] + "/models", {"Authorization": "Bearer sk-any"}, proxy=proxy)


def through(kind: str, credentials: str | None, run: Callable[[OutboundProxy, Http1Transport], Awaitable[T]]) -> T:
    async def main() -> T:
        proxy = await OutboundProxy(kind, credentials).start()
        transport = Http1Transport()
        try:
            return await run(proxy, transport)
        finally:
            await transport.aclose()
            await proxy.stop()

    return asyncio.run(main())


async def status_of(transport: Http1Transport, request: UpstreamRequest) -> int:
    response = await transport.send(request, TIMEOUTS)
    await response.read()
    return response.status


@pytest.mark.parametrize("kind", ["http", "socks5"])
def test_a_request_goes_through_the_proxy_with_its_credentials(upstream: Upstream, kind: str) -> None:
    async def run(proxy: OutboundProxy, transport: Http1Transport) -> tuple[int, OutboundProxy]:
        return await status_of(transport, models(upstream, proxy.url)), proxy

    status, proxy = through(kind, "alice:s3cret", run)
    assert status == 200
    port = upstream[1].split(":")[2].split("/")[0]
    assert proxy.targets == [upstream[1] + "/models"] if kind == "http" else [f"127.0.0.1:{port}"]
    assert proxy.authorizations == (["Basic YWxpY2U6czNjcmV0"] if kind == "http" else ["alice"])


@pytest.mark.parametrize("kind", ["http", "socks5"])
def test_a_proxy_refusing_the_credentials_is_a_proxy_failure_that_hides_them(upstream: Upstream, kind: str) -> None:
    async def run(proxy: OutboundProxy, transport: Http1Transport) -> UpstreamProxyFailed:
        wrong = proxy.url.replace("alice:s3cret", "alice:wrong-pw")
        with pytest.raises(UpstreamProxyFailed) as caught:
            await status_of(transport, models(upstream, wrong))
        return caught.value

    failure = through(kind, "alice:s3cret", run)
    assert "wrong-pw" not in failure.message
    assert "127.0.0.1" in failure.message


@pytest.mark.parametrize("scheme", ["http", "socks5"])
def test_a_proxy_that_is_down_is_a_proxy_failure(upstream: Upstream, scheme: str) -> None:
    async def run(_: OutboundProxy, transport: Http1Transport) -> None:
        with pytest.raises(UpstreamProxyFailed):
            await status_of(transport, models(upstream, f"{scheme}://127.0.0.1:{port}"))

    with socket.socket() as refusing:
        # Bound but not listening: connections are refused, and no other server can take the port meanwhile.
        refusing.bind(("127.0.0.1", 0))
        port = refusing.getsockname()[1]
        through("http", None, run)


def test_requests_without_a_proxy_still_go_direct_beside_proxied_ones(upstream: Upstream) -> None:
    async def run(proxy: OutboundProxy, transport: Http1Transport) -> list[int]:
        direct = UpstreamRequest("GET", upstream[1] + "/models", {"Authorization": "Bearer sk-any"})
        statuses = [await status_of(transport, direct), await status_of(transport, models(upstream, proxy.url))]
        assert len(proxy.targets) == 1
        return statuses

    assert through("http", None, run) == [200, 200]


@pytest.mark.parametrize(("kind", "host"), [("socks4", "127.0.0.1"), ("socks4a", "localhost")])
def test_a_socks4_proxy_is_sent_the_user_and_a_socks4a_one_the_name_to_resolve(
    upstream: Upstream, kind: str, host: str
) -> None:
    async def run(proxy: OutboundProxy, transport: Http1Transport) -> OutboundProxy:
        url = upstream[1].replace("127.0.0.1", host) + "/models"
        request = UpstreamRequest("GET", url, {"Authorization": "Bearer sk-any"}, proxy=proxy.url)
        assert await status_of(transport, request) == 200
        return proxy

    proxy = through(kind, "alice:", run)
    port = upstream[1].split(":")[2].split("/")[0]
    assert proxy.targets == [f"{host}:{port}"]
    assert proxy.authorizations == ["alice"]


def test_a_socks5h_proxy_is_given_the_name_and_a_socks5_one_the_address(upstream: Upstream) -> None:
    async def run(proxy: OutboundProxy, transport: Http1Transport) -> list[str]:
        url = upstream[1].replace("127.0.0.1", "localhost") + "/models"
        for scheme in ("socks5h", "socks5"):
            request = UpstreamRequest(
                "GET", url, {"Authorization": "Bearer sk-any"}, proxy=proxy.url.replace("socks5", scheme, 1)
            )
            assert await status_of(transport, request) == 200
        return proxy.targets

    port = upstream[1].split(":")[2].split("/")[0]
    targets = through("socks5", None, run)
    assert targets[0] == f"localhost:{port}"
    assert targets[1] in (f"127.0.0.1:{port}", f"::1:{port}")


@pytest.mark.parametrize("scheme", ["socks5", "socks4"])
def test_a_proxy_that_accepts_and_never_answers_its_handshake_is_a_timeout(upstream: Upstream, scheme: str) -> None:
    async def run(_: OutboundProxy, transport: Http1Transport) -> None:
        with pytest.raises(UpstreamTimeout):
            await transport.send(models(upstream, f"{scheme}://127.0.0.1:{port}"), RequestTimeouts(0.05, 0.05, 5.0))

    # Listening, never accepting: the kernel completes the TCP handshake and nothing ever answers.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        through("http", None, run)


@pytest.mark.parametrize("kind", ["http", "socks5"])
def test_each_proxys_health_is_what_its_last_connection_found(upstream: Upstream, kind: str) -> None:
    clock = FakeClock()
    health = ProxyHealth(clock)

    async def main() -> tuple[Seen | None, Seen | None, Seen | None]:
        proxy = await OutboundProxy(kind, "alice:s3cret").start()
        transport = Http1Transport(health)
        wrong = proxy.url.replace("alice:s3cret", "alice:wrong-pw")
        try:
            assert await status_of(transport, models(upstream, proxy.url)) == 200
            with pytest.raises(UpstreamProxyFailed):
                await status_of(transport, models(upstream, wrong))
            refused = health.of(wrong)
            clock.advance(5)
            with pytest.raises(UpstreamProxyFailed):
                await status_of(transport, models(upstream, wrong))
            return health.of(proxy.url), refused, health.of(wrong)
        finally:
            await transport.aclose()
            await proxy.stop()

    up, refused, again = asyncio.run(main())
    assert up is not None and (up.state, up.failures, up.problem) == ("up", 0, None)
    assert refused is not None and (refused.state, refused.failures) == ("down", 1)
    assert refused.problem is not None and "wrong-pw" not in refused.problem and "refused" in refused.problem
    assert again is not None and (again.since, again.failures) == (refused.since, 2)
