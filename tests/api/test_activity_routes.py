"""GET /v1/admin/activity: what the dashboard draws, behind the key, from the attempts the proxy made."""

from __future__ import annotations

from keyproxy.api.activity import MESSAGE_CHARS, ActivityRoutes
from keyproxy.api.app import KeyproxyApp
from keyproxy.api.auth import ProxyKey
from keyproxy.engine.pool import Pool
from keyproxy.errors import ErrorClass
from keyproxy.events import AttemptEvent
from keyproxy.testing import AppClient, FakeClock, FakeUpstream, Fault, FaultKind
from keyproxy.usage.activity import ActivityRecorder
from support import IDS, KEYS, PROXY_KEY, OpenProxy, openai_provider

CHAT = {"model": "fake/fake-chat", "messages": [{"role": "user", "content": "hi"}]}
AUTH = {"Authorization": f"Bearer {PROXY_KEY}"}


def test_activity_needs_the_key(open_proxy: OpenProxy) -> None:
    assert open_proxy({"PROXY_API_KEY": PROXY_KEY}).get("/v1/admin/activity").status_code == 401


def test_with_an_admin_key_only_the_admin_key_opens_activity(open_proxy: OpenProxy) -> None:
    admin = "kp-admin-secret-9876543210"
    proxy = open_proxy({"PROXY_API_KEY": PROXY_KEY, "KEYPROXY_ADMIN_KEY": admin, "KEYPROXY_AUTH_FAILURE_PAUSE": "0"})
    assert proxy.get("/v1/admin/activity", headers=AUTH).status_code == 401
    assert proxy.get("/v1/admin/activity", headers={"Authorization": f"Bearer {admin}"}).status_code == 200


def test_attempts_show_in_the_series_and_per_key(open_proxy: OpenProxy, fake_upstream: FakeUpstream) -> None:
    fake_upstream.set_fault(KEYS[0], Fault(FaultKind.SERVER_ERROR, times=1))
    proxy = open_proxy({"PROXY_API_KEY": PROXY_KEY})
    proxy.post("/v1/chat/completions", json=CHAT, headers=AUTH)
    activity = proxy.get("/v1/admin/activity?minutes=5", headers=AUTH).json()
    assert (sum(activity["series"]["ok"]), sum(activity["series"]["failed"])) == (1, 1)
    assert len(activity["series"]["ok"]) == 5
    keys = activity["keys"]["fake"]
    assert sorted(entry["success_rate"] for entry in keys.values()) == [0.0, 1.0]


def test_a_failure_is_listed_with_its_class_and_masked_key(open_proxy: OpenProxy, fake_upstream: FakeUpstream) -> None:
    fake_upstream.set_fault(KEYS[0], Fault(FaultKind.RATE_LIMIT, retry_after=60, times=1))
    proxy = open_proxy({"PROXY_API_KEY": PROXY_KEY})
    proxy.post("/v1/chat/completions", json=CHAT, headers=AUTH)
    [failure] = proxy.get("/v1/admin/activity", headers=AUTH).json()["failures"]
    assert (failure["provider"], failure["key"], failure["model"]) == ("fake", "...0001", "fake-chat")
    assert (failure["class"], failure["status"]) == ("rate_limited", 429)
    assert KEYS[0] not in str(failure)


def test_a_range_wider_than_the_buckets_allow_is_400(open_proxy: OpenProxy) -> None:
    answer = open_proxy({"PROXY_API_KEY": PROXY_KEY}).get("/v1/admin/activity?minutes=1440&step=1", headers=AUTH)
    assert answer.status_code == 400
    assert "step" in answer.json()["error"]["message"]


def test_a_day_is_drawn_in_buckets_of_several_minutes_by_default(open_proxy: OpenProxy) -> None:
    series = open_proxy({"PROXY_API_KEY": PROXY_KEY}).get("/v1/admin/activity?minutes=1440", headers=AUTH).json()
    assert (len(series["series"]["ok"]), series["series"]["step_seconds"]) == (360, 240)


def test_a_number_out_of_range_is_400(open_proxy: OpenProxy) -> None:
    proxy = open_proxy({"PROXY_API_KEY": PROXY_KEY})
    assert proxy.get("/v1/admin/activity?minutes=0", headers=AUTH).status_code == 400
    assert proxy.get("/v1/admin/activity?failures=x", headers=AUTH).status_code == 400


def test_a_key_in_a_failure_message_is_masked_and_the_message_cut() -> None:
    pool = Pool.build(openai_provider("p"), 0.0, fingerprints=IDS)
    recorder = ActivityRecorder()
    message = f"connect to https://example.test/?key={KEYS[0]} failed " + "x" * 1000
    recorder.emit(AttemptEvent("p", "m", "...0001", 1, None, ErrorClass.TRANSIENT, message, 1.0, "id", 1.0))
    app = KeyproxyApp(ProxyKey(None, FakeClock(), 0), [ActivityRoutes({"p": pool}, recorder, FakeClock()).routes()])
    with AppClient(app) as client:
        [failure] = client.get("/v1/admin/activity").json()["failures"]
    assert KEYS[0] not in failure["message"]
    assert failure["message"].startswith("connect to https://example.test/?key=...0001 failed")
    assert len(failure["message"]) == MESSAGE_CHARS
