"""Keys changed at run time over /v1/admin/keys: proxy and upstream in memory."""

from __future__ import annotations

import stat
from pathlib import Path

from keyproxy.config.runtime_keys import FILE_NAME
from keyproxy.testing import AppClient, ASGITransport, FakeUpstream, Fault, FaultKind
from keyproxy.wiring import build_app
from support import KEYS, MEMORY_BASE, REDIS_URL, KeyId, OpenProxy, provider_env, proxy_settings

CHAT = {"model": "fake/fake-chat", "messages": [{"role": "user", "content": "hi"}]}
NEW = "sk-runtime-added-key-000000000000042"


def keys_of(proxy: AppClient) -> list[dict[str, object]]:
    keys: list[dict[str, object]] = proxy.get("/v1/status").json()["providers"]["fake"]["keys"]
    return keys


def test_an_added_key_is_answered_masked_with_its_key_id(open_proxy: OpenProxy, key_id: KeyId) -> None:
    response = open_proxy().post("/v1/admin/keys", json={"provider": "fake", "key": NEW})
    assert response.status_code == 201
    assert response.json() == {"provider": "fake", "id": key_id(NEW), "key": "sk-r...0042"}


def test_an_added_key_serves_the_next_request(open_proxy: OpenProxy, fake_upstream: FakeUpstream) -> None:
    proxy = open_proxy()
    for key in KEYS:
        fake_upstream.set_fault(key, Fault(FaultKind.UNAUTHORIZED))
    proxy.post("/v1/admin/keys", json={"provider": "fake", "key": NEW})
    assert proxy.post("/v1/chat/completions", json=CHAT).status_code == 200
    assert fake_upstream.requests[-1].key == NEW


def test_status_shows_each_keys_origin_and_whether_it_is_disabled(open_proxy: OpenProxy, key_id: KeyId) -> None:
    proxy = open_proxy()
    proxy.post("/v1/admin/keys", json={"provider": "fake", "key": NEW})
    proxy.post(f"/v1/admin/keys/fake/{key_id(KEYS[0])}/disable")
    keys = keys_of(proxy)
    assert [(key["origin"], key["disabled"]) for key in keys] == [
        ("env", True), ("env", False), ("env", False), ("runtime", False),
    ]  # fmt: skip
    assert keys[3]["id"] == key_id(NEW)


def test_adding_a_key_the_provider_has_is_a_conflict(open_proxy: OpenProxy) -> None:
    response = open_proxy().post("/v1/admin/keys", json={"provider": "fake", "key": KEYS[1]})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"


def test_adding_a_key_to_an_unknown_provider_is_404(open_proxy: OpenProxy) -> None:
    assert open_proxy().post("/v1/admin/keys", json={"provider": "nope", "key": NEW}).status_code == 404


def test_a_key_with_a_space_inside_is_refused_without_being_echoed(open_proxy: OpenProxy) -> None:
    response = open_proxy().post("/v1/admin/keys", json={"provider": "fake", "key": "sk-has a-space-0000000000"})
    assert response.status_code == 400
    assert "space" in response.json()["error"]["message"]
    assert "sk-has" not in response.text


def test_a_malformed_add_body_is_400_without_echoing_it(open_proxy: OpenProxy) -> None:
    response = open_proxy().post("/v1/admin/keys", json={"provider": "fake", "key": NEW, "extra": 1})
    assert response.status_code == 400
    assert NEW not in response.text


def test_a_disabled_key_gets_no_requests_until_enabled(
    open_proxy: OpenProxy, fake_upstream: FakeUpstream, key_id: KeyId
) -> None:
    proxy = open_proxy()
    for key in KEYS[1:]:
        proxy.post(f"/v1/admin/keys/fake/{key_id(key)}/disable")
    disabled = proxy.post(f"/v1/admin/keys/fake/{key_id(KEYS[0])}/disable")
    assert disabled.json() == {"provider": "fake", "id": key_id(KEYS[0]), "disabled": True}
    assert proxy.post("/v1/chat/completions", json=CHAT).status_code == 503
    assert fake_upstream.requests == []
    enabled = proxy.post(f"/v1/admin/keys/fake/{key_id(KEYS[0])}/enable")
    assert enabled.json()["disabled"] is False
    assert proxy.post("/v1/chat/completions", json=CHAT).status_code == 200
    assert fake_upstream.requests[-1].key == KEYS[0]


def test_a_key_can_be_named_by_its_mask(open_proxy: OpenProxy, key_id: KeyId) -> None:
    answer = open_proxy().post("/v1/admin/keys/fake/...0002/disable").json()
    assert answer["id"] == key_id(KEYS[1])


def test_removing_a_key_takes_it_out_of_status(open_proxy: OpenProxy, key_id: KeyId) -> None:
    proxy = open_proxy()
    proxy.post("/v1/admin/keys", json={"provider": "fake", "key": NEW})
    removed = proxy.delete(f"/v1/admin/keys/fake/{key_id(NEW)}")
    assert removed.json() == {"provider": "fake", "id": key_id(NEW), "removed": True}
    assert [key["id"] for key in keys_of(proxy)] == [key_id(key) for key in KEYS]


def test_removing_an_unknown_key_is_404(open_proxy: OpenProxy) -> None:
    assert open_proxy().delete("/v1/admin/keys/fake/000000000000").status_code == 404


def test_an_unknown_action_is_404(open_proxy: OpenProxy, key_id: KeyId) -> None:
    assert open_proxy().post(f"/v1/admin/keys/fake/{key_id(KEYS[0])}/explode").status_code == 404


def test_a_key_test_says_alive_for_an_accepted_key(open_proxy: OpenProxy, key_id: KeyId) -> None:
    answer = open_proxy().post(f"/v1/admin/keys/fake/{key_id(KEYS[0])}/test").json()
    assert answer == {
        "provider": "fake", "id": key_id(KEYS[0]), "key": "...0001", "result": "alive", "status": 200,
        "message": "the key is accepted",
    }  # fmt: skip


def test_a_key_test_says_rejected_for_a_refused_key(
    open_proxy: OpenProxy, fake_upstream: FakeUpstream, key_id: KeyId
) -> None:
    fake_upstream.set_fault(KEYS[1], Fault(FaultKind.UNAUTHORIZED))
    answer = open_proxy().post(f"/v1/admin/keys/fake/{key_id(KEYS[1])}/test").json()
    assert (answer["result"], answer["status"]) == ("rejected", 401)


def test_a_key_test_says_rate_limited_for_a_429(
    open_proxy: OpenProxy, fake_upstream: FakeUpstream, key_id: KeyId
) -> None:
    fake_upstream.set_fault(KEYS[2], Fault(FaultKind.RATE_LIMIT))
    answer = open_proxy().post(f"/v1/admin/keys/fake/{key_id(KEYS[2])}/test").json()
    assert (answer["result"], answer["status"]) == ("rate_limited", 429)


def test_a_disabled_key_can_still_be_tested(open_proxy: OpenProxy, key_id: KeyId) -> None:
    proxy = open_proxy()
    proxy.post(f"/v1/admin/keys/fake/{key_id(KEYS[0])}/disable")
    assert proxy.post(f"/v1/admin/keys/fake/{key_id(KEYS[0])}/test").json()["result"] == "alive"


def test_no_answer_of_the_key_routes_shows_a_key(open_proxy: OpenProxy, key_id: KeyId) -> None:
    proxy = open_proxy()
    answers = [
        proxy.post("/v1/admin/keys", json={"provider": "fake", "key": NEW}),
        proxy.post("/v1/admin/keys", json={"provider": "fake", "key": NEW}),
        proxy.post(f"/v1/admin/keys/fake/{key_id(NEW)}/test"),
        proxy.post(f"/v1/admin/keys/fake/{key_id(NEW)}/disable"),
        proxy.get("/v1/status"),
        proxy.delete(f"/v1/admin/keys/fake/{key_id(NEW)}"),
    ]
    for answer in answers:
        assert all(key not in answer.text for key in (*KEYS, NEW)), answer.text


def data_app(data: Path, upstream: FakeUpstream) -> AppClient:
    return AppClient(build_app(proxy_settings(provider_env(MEMORY_BASE), data), transport=ASGITransport(upstream)))


def test_changes_survive_a_restart(tmp_path: Path, fake_upstream: FakeUpstream, key_id: KeyId) -> None:
    with data_app(tmp_path, fake_upstream) as proxy:
        proxy.post("/v1/admin/keys", json={"provider": "fake", "key": NEW})
        proxy.post(f"/v1/admin/keys/fake/{key_id(KEYS[0])}/disable")
        proxy.delete(f"/v1/admin/keys/fake/{key_id(KEYS[1])}")
    with data_app(tmp_path, fake_upstream) as proxy:
        keys = keys_of(proxy)
    assert [(key["id"], key["disabled"]) for key in keys] == [
        (key_id(KEYS[0]), True), (key_id(KEYS[2]), False), (key_id(NEW), False),
    ]  # fmt: skip


def test_the_saved_changes_are_readable_by_the_owner_only(tmp_path: Path, fake_upstream: FakeUpstream) -> None:
    with data_app(tmp_path, fake_upstream) as proxy:
        proxy.post("/v1/admin/keys", json={"provider": "fake", "key": NEW})
    assert stat.S_IMODE((tmp_path / FILE_NAME).stat().st_mode) == 0o600


def test_a_removed_environment_key_comes_back_once_the_environment_drops_and_regains_it(
    tmp_path: Path, fake_upstream: FakeUpstream, key_id: KeyId
) -> None:
    with data_app(tmp_path, fake_upstream) as proxy:
        proxy.delete(f"/v1/admin/keys/fake/{key_id(KEYS[0])}")
    dropped = proxy_settings(provider_env(MEMORY_BASE, KEYS[1:]), tmp_path)
    with AppClient(build_app(dropped, transport=ASGITransport(fake_upstream))):
        pass
    with data_app(tmp_path, fake_upstream) as proxy:
        assert [key["id"] for key in keys_of(proxy)] == [key_id(key) for key in KEYS]


def test_a_removed_environment_key_stays_removed_while_the_environment_has_it(
    tmp_path: Path, fake_upstream: FakeUpstream, key_id: KeyId
) -> None:
    with data_app(tmp_path, fake_upstream) as proxy:
        proxy.delete(f"/v1/admin/keys/fake/{key_id(KEYS[0])}")
    with data_app(tmp_path, fake_upstream) as proxy:
        assert key_id(KEYS[0]) not in [key["id"] for key in keys_of(proxy)]


def test_an_added_key_goes_through_its_providers_proxy(open_proxy: OpenProxy) -> None:
    proxy = open_proxy({"FAKE_PROXY": "http://squid.corp:3128", "FAKE_API_KEY_1_PROXY": "direct"})
    proxy.post("/v1/admin/keys", json={"provider": "fake", "key": NEW})
    assert [key["proxy"] for key in keys_of(proxy)] == [None, *["http://squid.corp:3128"] * 3]


def test_with_several_workers_a_key_change_is_refused_and_says_how_to_change_keys(
    open_proxy: OpenProxy, redis_prefix: str, key_id: KeyId
) -> None:
    # Each worker is its own process: a change one of them made would never reach the others.
    workers = {"KEYPROXY_WORKERS": "2", "KEYPROXY_REDIS_URL": REDIS_URL, "KEYPROXY_REDIS_PREFIX": redis_prefix}
    proxy = open_proxy(workers)

    added = proxy.post("/v1/admin/keys", json={"provider": "fake", "key": NEW})
    disabled = proxy.post(f"/v1/admin/keys/fake/{key_id(KEYS[0])}/disable")

    assert (added.status_code, disabled.status_code) == (409, 409)
    assert "SIGHUP" in added.json()["error"]["message"]
    assert [key["disabled"] for key in keys_of(proxy)] == [False, False, False]


def test_status_shows_the_models_a_key_declared_and_a_request_for_another_model_skips_it(
    open_proxy: OpenProxy, fake_upstream: FakeUpstream
) -> None:
    proxy = open_proxy({"FAKE_API_KEY_1_MODELS": "fake-embed*", "FAKE_API_KEY_2_MODELS": "fake-embed,fake-chat"})
    for _ in range(4):
        assert proxy.post("/v1/chat/completions", json=CHAT).status_code == 200
    assert [key["models"] for key in keys_of(proxy)] == [["fake-embed*"], ["fake-embed", "fake-chat"], None]
    assert {request.key for request in fake_upstream.requests} == {KEYS[1], KEYS[2]}
