"""Which web pages may call the proxy from a browser (CORS), and the headers that tell the browser so.

A browser sends `Origin` with every cross-site request, including the "simple" POST that any page can
send without a preflight. Without PROXY_API_KEY such a request would spend the user's keys for the page,
so an origin that is not allowed is refused before anything else happens. With a proxy key, every
origin is allowed unless KEYPROXY_CORS_ORIGINS says otherwise: the key still guards every route.
"""

from __future__ import annotations

from collections.abc import Sequence

from keyproxy.api.asgi import Scope, header

_EXPOSED = b"retry-after, x-keyproxy-provider, x-keyproxy-key, x-keyproxy-attempts, x-keyproxy-overhead-ms"
_METHODS = b"GET, POST, DELETE, OPTIONS"
_DEFAULT_HEADERS = b"authorization, content-type, x-api-key, anthropic-version, anthropic-beta"


class CorsPolicy:
    """`origins`: the configured list, `("*",)` for any, or None for the default (any origin with a proxy
    key, none without). A page the proxy itself serves (the same origin as the request's Host) is
    always allowed."""

    __slots__ = ("_any", "_origins")

    def __init__(self, origins: Sequence[str] | None, *, keyed: bool) -> None:
        self._any = "*" in origins if origins is not None else keyed
        self._origins = frozenset(origin.encode().lower() for origin in origins or () if origin != "*")

    def allows(self, origin: bytes, scope: Scope) -> bool:
        if self._any or origin.lower() in self._origins:
            return True
        host = header(scope, b"host")
        return host is not None and origin.lower().partition(b"://")[2] == host.lower()

    def preflight(self, origin: bytes, scope: Scope) -> list[tuple[bytes, bytes]]:
        """The answer to an OPTIONS preflight: the methods, and the headers the page asked to send."""
        asked = header(scope, b"access-control-request-headers")
        return [
            *self.headers(origin),
            (b"access-control-allow-methods", _METHODS),
            (b"access-control-allow-headers", asked or _DEFAULT_HEADERS),
            (b"access-control-max-age", b"600"),
        ]

    @staticmethod
    def headers(origin: bytes) -> list[tuple[bytes, bytes]]:
        """What every answer to an allowed origin carries. The origin is echoed rather than `*`, since
        a wildcard does not cover the Authorization header."""
        return [
            (b"access-control-allow-origin", origin),
            (b"vary", b"Origin"),
            (b"access-control-expose-headers", _EXPOSED),
        ]


def is_preflight(scope: Scope) -> bool:
    return scope["method"] == "OPTIONS" and header(scope, b"access-control-request-method") is not None
