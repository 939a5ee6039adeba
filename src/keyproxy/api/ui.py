"""GET /ui: the dashboard's page and assets, shipped in the package and served from memory.

The page is a shell with no data in it, so it is public: a browser navigation cannot send a bearer header.
Its script asks for the admin (or proxy) key and sends it as a bearer on every data call (docs/security.md).
Assets are read once, named in the page with their content hash so a browser may keep them for a year, and
answered with a Content-Security-Policy that allows nothing but this origin's own script, style and data.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from importlib import resources

from keyproxy.api.asgi import Receive, Scope, Send, header
from keyproxy.api.openai_dialect import OPENAI
from keyproxy.api.route import Route, RouteTable
from keyproxy.errors import NotFound

PAGE = "/ui"
ASSETS = "/ui/"
_JS = b"text/javascript; charset=utf-8"
TYPES = {
    "app.css": b"text/css; charset=utf-8",
    "icon.svg": b"image/svg+xml",
    "dom.js": _JS,
    "format.js": _JS,
    "api.js": _JS,
    "charts.js": _JS,
    "keys.js": _JS,
    "panels.js": _JS,
    "app.js": _JS,
    "index.html": b"text/html; charset=utf-8",
}
"""Every file, each after the files it names (the script modules import one another), the page last."""
CSP = (
    b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    b"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_COMMON = [
    (b"content-security-policy", CSP),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"vary", b"Accept-Encoding"),
]
_REVALIDATE = b"no-cache"
_FOREVER = b"public, max-age=31536000, immutable"


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    gzipped: bytes
    content_type: bytes
    version: str
    """The first hex digits of the body's SHA-256: the page asks for `/ui/app.js?v=<version>`."""

    @classmethod
    def of(cls, name: str, body: bytes) -> Asset:
        version = hashlib.sha256(body).hexdigest()[:12]
        return cls(body, gzip.compress(body, 9, mtime=0), TYPES[name], version)

    @property
    def etag(self) -> bytes:
        return f'"{self.version}"'.encode()


def load() -> dict[str, Asset]:
    """Every file from the package, each with the URLs of the files it names versioned in it (the page's
    `"/ui/app.js"`, a module's `'./dom.js'`), so a file's version changes whenever one it depends on does."""
    folder = resources.files("keyproxy.api").joinpath("ui")
    assets: dict[str, Asset] = {}
    for name in TYPES:
        text = folder.joinpath(name).read_text("utf-8")
        for named, asset in assets.items():
            text = text.replace(f'"{ASSETS}{named}"', f'"{ASSETS}{named}?v={asset.version}"')
            text = text.replace(f"'./{named}'", f"'./{named}?v={asset.version}'")
        assets[name] = Asset.of(name, text.encode())
    return assets


class UiRoutes:
    def __init__(self) -> None:
        self.assets = load()

    def routes(self) -> RouteTable:
        return {
            ("GET", PAGE): Route(self.page, OPENAI, public=True),
            ("GET", ASSETS): Route(self.asset, OPENAI, public=True, prefix=True),
        }

    async def page(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._send(scope, send, self.assets["index.html"], _REVALIDATE)

    async def asset(self, scope: Scope, receive: Receive, send: Send) -> None:
        name = scope["path"][len(ASSETS) :]
        if not name:
            await self.page(scope, receive, send)
            return
        asset = self.assets.get(name) if name != "index.html" else None
        if asset is None:
            raise NotFound(f"no dashboard asset {name!r}")
        versioned = scope.get("query_string", b"") == f"v={asset.version}".encode()
        await self._send(scope, send, asset, _FOREVER if versioned else _REVALIDATE)

    @staticmethod
    async def _send(scope: Scope, send: Send, asset: Asset, cache: bytes) -> None:
        headers = [(b"cache-control", cache), (b"etag", asset.etag), *_COMMON]
        if header(scope, b"if-none-match") == asset.etag:
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        body = asset.body
        if b"gzip" in (header(scope, b"accept-encoding") or b""):
            body = asset.gzipped
            headers.append((b"content-encoding", b"gzip"))
        headers += [(b"content-type", asset.content_type), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
