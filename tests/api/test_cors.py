"""Browsers: which pages may call the proxy, preflights answered before authentication, and a page that
may not is refused before it touches a key."""

from __future__ import annotations

import pytest

from keyproxy.testing import FakeUpstream
from support import PROXY_KEY, OpenProxy

CHAT = {"model": "fake/fake-chat", "messages": [{"role": "user", "content": "hi"}]}
PAGE = "https://evil.example"


def test_without_a_proxy_key_a_simple_cross_site_post_is_refused_before_any_key_is_used(
    open_proxy: OpenProxy, fake_upstream: FakeUpstream
) -> None:
    proxy = open_proxy()
    answer = proxy.post("/v1/chat/completions", json=CHAT, headers={"origin": PAGE, "content-type": "text/plain"})
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "origin_not_allowed"
    assert "access-control-allow-origin" not in answer.headers
    assert fake_upstream.requests == []


def test_without_a_proxy_key_clients_that_send_no_origin_are_served(open_proxy: OpenProxy) -> None:
    assert open_proxy().post("/v1/chat/completions", json=CHAT).status_code == 200


def test_a_page_the_proxy_serves_itself_is_same_origin_and_allowed(open_proxy: OpenProxy) -> None:
    answer = open_proxy().post("/v1/chat/completions", json=CHAT, headers={"origin": "http://testserver"})
    assert answer.status_code == 200


def test_with_a_proxy_key_any_page_may_call_and_the_key_still_guards_the_route(open_proxy: OpenProxy) -> None:
    proxy = open_proxy({"PROXY_API_KEY": PROXY_KEY, "KEYPROXY_AUTH_FAILURE_PAUSE": "0"})
    refused = proxy.post("/v1/chat/completions", json=CHAT, headers={"origin": PAGE})
    answer = proxy.post(
        "/v1/chat/completions", json=CHAT, headers={"origin": PAGE, "authorization": f"Bearer {PROXY_KEY}"}
    )
    assert refused.status_code == 401 and refused.headers["access-control-allow-origin"] == PAGE
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == PAGE
    assert "x-keyproxy-provider" in answer.headers["access-control-expose-headers"]


def test_a_preflight_is_answered_before_authentication(open_proxy: OpenProxy) -> None:
    proxy = open_proxy({"PROXY_API_KEY": PROXY_KEY})
    asked = {"origin": PAGE, "access-control-request-method": "POST",
             "access-control-request-headers": "authorization, content-type"}  # fmt: skip
    answer = proxy.request("OPTIONS", "/v1/chat/completions", headers=asked)
    assert answer.status_code == 204
    assert answer.headers["access-control-allow-origin"] == PAGE
    assert answer.headers["access-control-allow-headers"] == "authorization, content-type"
    assert "POST" in answer.headers["access-control-allow-methods"]


@pytest.mark.parametrize(("origin", "status"), [("https://chat.example", 200), (PAGE, 403)])
def test_configured_origins_are_the_only_pages_allowed(open_proxy: OpenProxy, origin: str, status: int) -> None:
    proxy = open_proxy({"PROXY_API_KEY": PROXY_KEY, "KEYPROXY_CORS_ORIGINS": "https://chat.example, https://b.test"})
    answer = proxy.post(
        "/v1/chat/completions", json=CHAT, headers={"origin": origin, "authorization": f"Bearer {PROXY_KEY}"}
    )
    assert answer.status_code == status


def test_a_star_allows_every_page_even_without_a_proxy_key(open_proxy: OpenProxy) -> None:
    proxy = open_proxy({"KEYPROXY_CORS_ORIGINS": "*"})
    answer = proxy.post("/v1/chat/completions", json=CHAT, headers={"origin": PAGE})
    assert answer.status_code == 200


def test_an_anthropic_client_page_is_refused_in_anthropics_shape(open_proxy: OpenProxy) -> None:
    body = {"model": "fake/fake-chat", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    answer = open_proxy().post("/v1/messages", json=body, headers={"origin": PAGE})
    assert answer.status_code == 403
    assert answer.json()["error"]["type"] == "permission_error"

