"""GET /ui: a public page with no data in it, its assets from the package, cached by version, under a strict CSP."""

from __future__ import annotations

import gzip
import re

from keyproxy.api.ui import load
from support import PROXY_KEY, OpenProxy

KEYED = {"PROXY_API_KEY": PROXY_KEY}


def test_the_page_is_served_without_a_key(open_proxy: OpenProxy) -> None:
    page = open_proxy(KEYED).get("/ui")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "<title>keyproxy</title>" in page.text


def test_the_page_holds_no_data(open_proxy: OpenProxy) -> None:
    text = open_proxy(KEYED).get("/ui").text
    assert "fake" not in text  # the provider's name
    assert "...000" not in text  # a key's mask


def test_the_page_forbids_inline_script_and_foreign_sources(open_proxy: OpenProxy) -> None:
    page = open_proxy(KEYED).get("/ui")
    policy = dict(part.strip().split(" ", 1) for part in page.headers["content-security-policy"].split(";"))
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'"
    assert policy["connect-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert re.search(r"<script(?![^>]*\bsrc=)", page.text) is None
    assert re.search(r"\son[a-z]+\s*=", page.text) is None  # no inline event handler


def test_the_page_is_revalidated_and_names_its_assets_by_version(open_proxy: OpenProxy) -> None:
    proxy = open_proxy(KEYED)
    page = proxy.get("/ui")
    assert page.headers["cache-control"] == "no-cache"
    versioned = re.findall(r'"/ui/app\.js\?v=([0-9a-f]{12})"', page.text)
    assert versioned == [load()["app.js"].version]


def test_a_versioned_asset_may_be_kept_for_a_year(open_proxy: OpenProxy) -> None:
    proxy = open_proxy(KEYED)
    version = load()["app.css"].version
    asset = proxy.get(f"/ui/app.css?v={version}")
    assert asset.status_code == 200
    assert asset.headers["content-type"] == "text/css; charset=utf-8"
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"


def test_an_asset_asked_for_without_its_version_is_revalidated(open_proxy: OpenProxy) -> None:
    asset = open_proxy(KEYED).get("/ui/app.js?v=old")
    assert asset.headers["cache-control"] == "no-cache"
    assert asset.headers["content-type"] == "text/javascript; charset=utf-8"


def test_an_unchanged_asset_is_answered_304(open_proxy: OpenProxy) -> None:
    proxy = open_proxy(KEYED)
    etag = proxy.get("/ui/app.js").headers["etag"]
    again = proxy.get("/ui/app.js", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.body == b""


def test_assets_are_sent_gzipped_to_a_browser_that_takes_it(open_proxy: OpenProxy) -> None:
    proxy = open_proxy(KEYED)
    plain = proxy.get("/ui/app.js")
    packed = proxy.get("/ui/app.js", headers={"Accept-Encoding": "gzip, br"})
    assert packed.headers["content-encoding"] == "gzip"
    assert gzip.decompress(packed.body) == plain.body
    assert "content-encoding" not in plain.headers


def test_an_unknown_asset_is_404_in_openais_shape(open_proxy: OpenProxy) -> None:
    answer = open_proxy(KEYED).get("/ui/../wiring.py")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"


def test_the_page_with_a_trailing_slash_is_the_page(open_proxy: OpenProxy) -> None:
    proxy = open_proxy(KEYED)
    assert proxy.get("/ui/").body == proxy.get("/ui").body


def test_every_asset_the_page_names_is_served(open_proxy: OpenProxy) -> None:
    proxy = open_proxy(KEYED)
    named = set(re.findall(r'"(/ui/[^"]+)"', proxy.get("/ui").text))
    assert len(named) >= 3
    assert all(proxy.get(path).status_code == 200 for path in named)


def test_every_module_a_script_imports_is_named_by_its_version_and_served(open_proxy: OpenProxy) -> None:
    proxy = open_proxy(KEYED)
    assets = load()
    imports = [
        (imported, version)
        for name, asset in assets.items()
        if name.endswith(".js")
        for imported, version in re.findall(r"from '\./([a-z]+\.js)(?:\?v=([0-9a-f]{12}))?'", asset.body.decode())
    ]
    assert len(imports) >= 5
    assert all(version == assets[imported].version for imported, version in imports)
    assert all(proxy.get(f"/ui/{imported}?v={version}").status_code == 200 for imported, version in imports)
