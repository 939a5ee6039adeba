"""The HTTP/1.1 client over TLS, against a loopback server whose certificate the test makes with openssl:
trusted through SSL_CERT_FILE as Python's default context reads it, refused when not trusted."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import pytest
import uvloop

from canned import Canned
from keyproxy.errors import UpstreamProxyFailed, UpstreamUnreachable
from keyproxy.testing import OutboundProxy
from keyproxy.transport import RequestTimeouts, UpstreamRequest
from keyproxy.transport.http1 import Http1Transport

TIMEOUTS = RequestTimeouts(connect=5.0, pool=5.0, read=5.0)


@pytest.fixture
def trusted(certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(*certificate)
    return server


def fetch(
    server_tls: ssl.SSLContext, loop: str, proxy: OutboundProxy | None = None, proxy_tls: ssl.SSLContext | None = None
) -> tuple[bytes, Canned, str]:
    """The body of two requests on the connection kept alive, the server, and the upstream's host:port."""

    async def main() -> tuple[bytes, Canned, str]:
        canned = await Canned().start(tls=server_tls)
        if proxy is not None:
            await proxy.start(proxy_tls)
        transport = Http1Transport()
        try:
            url = canned.url.replace("127.0.0.1", "localhost") + "/v1/models"
            shown = proxy.url.replace("127.0.0.1", "localhost") if proxy else None
            request = UpstreamRequest("GET", url, {}, proxy=shown)
            first = await (await transport.send(request, TIMEOUTS)).read()
            assert await (await transport.send(request, TIMEOUTS)).read() == first
            return first, canned, url.split("/")[2]
        finally:
            await transport.aclose()
            if proxy is not None:
                await proxy.stop()
            await canned.stop()

    return asyncio.run(main()) if loop == "asyncio" else uvloop.run(main())


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_an_https_upstream_with_a_trusted_certificate_is_reached_and_kept_alive(
    trusted: ssl.SSLContext, loop: str
) -> None:
    body, canned, _ = fetch(trusted, loop)
    assert body == b"ok"
    assert canned.connections == 1


def test_an_https_upstream_whose_certificate_is_not_trusted_is_unreachable(certificate: tuple[Path, Path]) -> None:
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(*certificate)
    with pytest.raises(UpstreamUnreachable, match="cannot connect to upstream localhost"):
        fetch(server, "asyncio")


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_an_https_upstream_is_reached_through_an_http_proxy_tunnel(trusted: ssl.SSLContext, loop: str) -> None:
    proxy = OutboundProxy("http", "alice:s3cret")
    body, canned, authority = fetch(trusted, loop, proxy)
    assert body == b"ok"
    assert canned.connections == 1
    assert proxy.targets == [authority]
    assert proxy.authorizations == ["Basic YWxpY2U6czNjcmV0"]


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_an_https_proxy_is_reached_over_tls_and_tunnels_tls_inside_it(trusted: ssl.SSLContext, loop: str) -> None:
    proxy = OutboundProxy("http")
    body, canned, authority = fetch(trusted, loop, proxy, trusted)
    assert (body, canned.connections) == (b"ok", 1)
    assert proxy.targets == [authority]


def test_a_tunnel_refused_for_its_credentials_is_a_proxy_failure(trusted: ssl.SSLContext) -> None:
    async def main() -> UpstreamProxyFailed:
        canned = await Canned().start(tls=trusted)
        proxy = await OutboundProxy("http", "alice:s3cret").start()
        transport = Http1Transport()
        try:
            wrong = proxy.url.replace("s3cret", "wrong-pw")
            request = UpstreamRequest("GET", canned.url + "/v1/models", {}, proxy=wrong)
            with pytest.raises(UpstreamProxyFailed, match="407") as caught:
                await transport.send(request, TIMEOUTS)
            return caught.value
        finally:
            await transport.aclose()
            await proxy.stop()
            await canned.stop()

    assert "wrong-pw" not in asyncio.run(main()).message
