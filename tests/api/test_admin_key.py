"""KEYPROXY_ADMIN_KEY: when set, it alone opens the admin routes; the proxy key keeps the client routes."""

from __future__ import annotations

import pytest

from support import PROXY_KEY, OpenProxy

ADMIN_KEY = "kp-admin-secret-9876543210"
CHAT = {"model": "fake/fake-chat", "messages": [{"role": "user", "content": "hi"}]}
KEYED = {"PROXY_API_KEY": PROXY_KEY, "KEYPROXY_ADMIN_KEY": ADMIN_KEY, "KEYPROXY_AUTH_FAILURE_PAUSE": "0"}
AS_CLIENT = {"Authorization": f"Bearer {PROXY_KEY}"}
AS_ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
ADMIN_CALLS = [
    ("GET", "/v1/status"), ("GET", "/v1/usage"), ("POST", "/v1/admin/reset"), ("POST", "/v1/admin/keys"),
    ("POST", "/v1/admin/reload"), ("DELETE", "/v1/admin/keys/fake/000000000000"),
    ("POST", "/v1/admin/keys/fake/000000000000/disable"), ("GET", "/usage"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path"), ADMIN_CALLS)
def test_the_proxy_key_no_longer_opens_an_admin_route(open_proxy: OpenProxy, method: str, path: str) -> None:
    response = open_proxy(KEYED).request(method, path, headers=AS_CLIENT)
    assert response.status_code == 401
    assert "admin key" in response.json()["error"]["message"]


def test_the_admin_key_opens_the_admin_routes(open_proxy: OpenProxy) -> None:
    assert open_proxy(KEYED).get("/v1/status", headers=AS_ADMIN).status_code == 200


def test_the_proxy_key_still_opens_the_client_routes(open_proxy: OpenProxy) -> None:
    assert open_proxy(KEYED).post("/v1/chat/completions", json=CHAT, headers=AS_CLIENT).status_code == 200


def test_the_admin_key_is_not_a_client_key(open_proxy: OpenProxy) -> None:
    assert open_proxy(KEYED).post("/v1/chat/completions", json=CHAT, headers=AS_ADMIN).status_code == 401


def test_without_an_admin_key_the_proxy_key_opens_the_admin_routes(open_proxy: OpenProxy) -> None:
    assert open_proxy({"PROXY_API_KEY": PROXY_KEY}).get("/v1/status", headers=AS_CLIENT).status_code == 200


def test_an_admin_key_alone_guards_the_admin_routes_of_an_open_proxy(open_proxy: OpenProxy) -> None:
    proxy = open_proxy({"KEYPROXY_ADMIN_KEY": ADMIN_KEY, "KEYPROXY_AUTH_FAILURE_PAUSE": "0"})
    assert proxy.get("/v1/status").status_code == 401
    assert proxy.post("/v1/chat/completions", json=CHAT).status_code == 200
