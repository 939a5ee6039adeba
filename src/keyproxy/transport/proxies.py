"""How the aiohttp transport goes through an outbound proxy: HTTP(S) proxies per request on the shared
session, SOCKS proxies each on a session of their own (aiohttp-socks, the optional `socks` extra)."""

from __future__ import annotations

import base64
from dataclasses import dataclass

import aiohttp
from yarl import URL

from keyproxy.redact import shown_url


@dataclass(frozen=True, slots=True)
class Route:
    """A proxy URL taken apart once: where aiohttp connects, and the credentials it sends there."""

    url: str | None
    """The HTTP(S) proxy without its userinfo; None for SOCKS, which its own connector reaches."""
    headers: dict[str, str] | None
    socks: str | None
    """The SOCKS proxy URL, credentials included (aiohttp-socks reads them from it)."""
    shown: str
    """Safe to log and to answer: no password."""

    @classmethod
    def of(cls, proxy: str) -> Route:
        url = URL(proxy)
        shown = shown_url(proxy)
        if url.scheme.startswith("socks"):
            return cls(None, None, proxy, shown)
        headers = None
        if url.user is not None:
            # aiohttp takes a proxy's credentials as a header (its proxy_auth argument is deprecated) and
            # does not read them from the URL.
            token = base64.b64encode(f"{url.user}:{url.password or ''}".encode()).decode()
            headers = {"Proxy-Authorization": f"Basic {token}"}
        return cls(str(url.with_user(None)), headers, None, shown)


def socks_connector(route: Route) -> aiohttp.BaseConnector:
    """A connector whose every connection goes through the route's SOCKS proxy."""
    from aiohttp_socks import ProxyConnector

    assert route.socks is not None
    return ProxyConnector.from_url(route.socks, limit=0, ttl_dns_cache=300, keepalive_timeout=60)


HTTP_PROXY_ERRORS = (aiohttp.ClientProxyConnectionError, aiohttp.ClientHttpProxyError)
"""An HTTP proxy that cannot be reached, or that answered its CONNECT with an error (407, 502, ...)."""


def socks_errors() -> tuple[type[Exception], ...]:
    """What aiohttp-socks raises when its proxy cannot be reached or refuses; imported only once one is used."""
    from aiohttp_socks import ProxyConnectionError, ProxyError, ProxyTimeoutError

    return (ProxyError, ProxyConnectionError, ProxyTimeoutError)
