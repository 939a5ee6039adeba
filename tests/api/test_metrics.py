"""GET /metrics: Prometheus's text format, counted per request and attempt, key states read at scrape time."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from keyproxy.api.metrics import LATENCY_BUCKETS, OTHER, Metrics, ModelNames
from keyproxy.config.prices import Price
from keyproxy.events import AttemptEvent, RequestRecord, Tokens
from keyproxy.testing import AppClient, FakeUpstream, Fault, FaultKind
from keyproxy.usage.prices import PriceTable
from support import KEYS, PROXY_KEY, Answered, OpenProxy

CHAT = {"model": "fake/fake-chat", "messages": [{"role": "user", "content": "hi"}]}
AUTH = {"authorization": f"Bearer {PROXY_KEY}"}

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(proxy: AppClient, headers: dict[str, str] | None = None) -> Samples:
    answer = proxy.get("/metrics", headers=headers or {})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_requests_are_counted_by_route_provider_model_and_status(open_proxy: OpenProxy) -> None:
    proxy = open_proxy()
    for _ in range(2):
        proxy.post("/v1/chat/completions", json=CHAT)
    proxy.post("/chat/completions", json={**CHAT, "messages": []})

    samples = scrape(proxy)

    route = "/v1/chat/completions"
    answered = {"route": route, "provider": "fake", "model": "fake/fake-chat", "status": "200"}
    assert value(samples, "keyproxy_requests_total", **answered) == 2
    assert value(samples, "keyproxy_requests_total", route=route, provider="none", model="", status="400") == 1
    assert value(samples, "keyproxy_request_duration_seconds_count", route=route) == 3
    assert value(samples, "keyproxy_overhead_seconds_count", route=route) == 2


def test_a_model_name_no_upstream_answered_is_labelled_other(open_proxy: OpenProxy) -> None:
    proxy = open_proxy()
    for name in ("invented-1", "invented-2"):
        proxy.post("/v1/chat/completions", json={**CHAT, "model": name})

    samples = scrape(proxy)

    models = {dict(labels).get("model") for name, labels in samples if name == "keyproxy_requests_total"}
    assert value(samples, "keyproxy_requests_total", route="/v1/chat/completions", provider="none", model=OTHER,
                 status="404") == 2  # fmt: skip
    assert "invented-1" not in models and "invented-2" not in models


def test_an_alias_is_labelled_by_its_name_even_when_it_fails(
    open_proxy: OpenProxy, fake_upstream: FakeUpstream
) -> None:
    for key in KEYS:
        fake_upstream.set_fault(key, Fault(FaultKind.UNAUTHORIZED))
    proxy = open_proxy(config="aliases:\n  smart: [fake/fake-chat]\n")
    proxy.post("/v1/chat/completions", json={**CHAT, "model": "smart"})

    samples = scrape(proxy)

    assert any(dict(labels).get("model") == "smart" for name, labels in samples if name == "keyproxy_requests_total")


def test_attempts_are_counted_by_outcome_and_error_class(open_proxy: OpenProxy, fake_upstream: FakeUpstream) -> None:
    fake_upstream.set_fault(KEYS[0], Fault(FaultKind.RATE_LIMIT, retry_after=30))
    proxy = open_proxy()
    proxy.post("/v1/chat/completions", json=CHAT)

    samples = scrape(proxy)

    failed = {"provider": "fake", "outcome": "failure", "error_class": "rate_limited"}
    assert value(samples, "keyproxy_attempts_total", **failed) == 1
    assert value(samples, "keyproxy_attempts_total", provider="fake", outcome="success", error_class="") == 1
    assert value(samples, "keyproxy_upstream_first_byte_seconds_count", provider="fake") == 1


def test_a_cooling_key_shows_its_state_and_the_seconds_until_it_is_usable(
    open_proxy: OpenProxy, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.set_fault(KEYS[0], Fault(FaultKind.RATE_LIMIT, retry_after=30, times=1))
    proxy = open_proxy()
    proxy.post("/v1/chat/completions", json=CHAT)

    samples = scrape(proxy)

    cooled = {"provider": "fake", "key": "...0001"}
    ids = {dict(labels)["key"]: dict(labels)["key_id"] for name, labels in samples if name == "keyproxy_key_in_flight"}
    assert value(samples, "keyproxy_key_state", **cooled, key_id=ids["...0001"], state="cooling") == 1
    assert value(samples, "keyproxy_key_state", **cooled, key_id=ids["...0001"], state="ok") == 0
    assert 0 < value(samples, "keyproxy_key_seconds_until_usable", **cooled, key_id=ids["...0001"]) <= 30
    assert value(samples, "keyproxy_key_state", provider="fake", key="...0002", key_id=ids["...0002"], state="ok") == 1


def test_tokens_are_counted_by_provider_model_and_direction(open_proxy: OpenProxy) -> None:
    proxy = open_proxy()
    proxy.post("/v1/chat/completions", json=CHAT)

    samples = scrape(proxy)

    assert value(samples, "keyproxy_tokens_total", provider="fake", model="fake-chat", direction="in") > 0
    assert value(samples, "keyproxy_tokens_total", provider="fake", model="fake-chat", direction="out") > 0


def test_metrics_need_the_proxy_key_unless_public(open_proxy: OpenProxy) -> None:
    keyed = open_proxy({"PROXY_API_KEY": PROXY_KEY, "KEYPROXY_AUTH_FAILURE_PAUSE": "0"})
    public = open_proxy({"PROXY_API_KEY": PROXY_KEY, "KEYPROXY_METRICS_PUBLIC": "true"})

    assert keyed.get("/metrics").status_code == 401
    assert keyed.get("/metrics", headers=AUTH).status_code == 200
    assert public.get("/metrics").status_code == 200


def test_with_metrics_off_requests_are_served_and_metrics_is_not(open_proxy: OpenProxy) -> None:
    proxy = open_proxy({"KEYPROXY_METRICS": "false"})

    assert proxy.post("/v1/chat/completions", json=CHAT).status_code == 200
    assert proxy.get("/metrics").status_code == 404


def event(model: str, tokens: Tokens) -> AttemptEvent:
    return AttemptEvent("p", model, "...0001", 1, 200, None, "ok", 0.1, "id", 0.0, 0.05, tokens)


def test_cost_is_priced_from_the_token_sums() -> None:
    metrics = Metrics([], PriceTable({"priced": Price(input=2.0, output=10.0)}))
    for _ in range(3):
        metrics.emit(event("priced", Tokens(prompt=1_000_000, completion=100_000)))

    assert metrics.cost("p", "priced", metrics.tokens()[("p", "priced")]) == 3 * (2.0 + 1.0)


def test_the_cost_of_models_past_the_cap_is_counted_under_other() -> None:
    metrics = Metrics([], PriceTable({"*": Price(input=1.0, output=0.0)}))
    metrics.answered = ModelNames([], cap=1)
    metrics.emit(event("first", Tokens(prompt=1_000_000)))
    metrics.emit(event("second", Tokens(prompt=2_000_000)))

    tokens = metrics.tokens()
    assert (metrics.cost("p", "first", tokens[("p", "first")]), metrics.cost("p", OTHER, tokens[("p", OTHER)])) == (
        1.0, 2.0,
    )  # fmt: skip


def test_model_names_learned_stop_at_the_cap() -> None:
    names = ModelNames(["alias"], cap=2)
    for name in ("a", "b", "c"):
        names.learn(name)

    assert [names.label(name) for name in ("alias", "a", "b", "c")] == ["alias", "a", "b", OTHER]


def test_no_key_appears_in_the_metrics(open_proxy: OpenProxy) -> None:
    proxy = open_proxy({"PROXY_API_KEY": PROXY_KEY})
    proxy.post("/v1/chat/completions", json=CHAT, headers=AUTH)

    text = proxy.get("/metrics", headers=AUTH).text

    assert "keyproxy_key_state" in text and PROXY_KEY not in text and not any(key in text for key in KEYS)


def test_a_histogram_counts_a_value_equal_to_a_bound_in_that_bounds_bucket() -> None:
    metrics = Metrics(["m"], PriceTable({}))
    for seconds in (LATENCY_BUCKETS[0] / 2, LATENCY_BUCKETS[0], LATENCY_BUCKETS[1], LATENCY_BUCKETS[-1] * 2):
        record = finished_request()
        record.seconds = seconds
        metrics.finished(record)

    series = metrics.latency()[0].series["/v1/chat/completions"]
    assert (series.counts[:2], series.counts[-1]) == ([2, 1], 1)
    assert series.total == pytest.approx(LATENCY_BUCKETS[0] * 1.5 + LATENCY_BUCKETS[1] + LATENCY_BUCKETS[-1] * 2)


def finished_request(model: str = "m") -> RequestRecord:
    record = RequestRecord("POST", "/v1/chat/completions", None, "/v1/chat/completions", 0.0, model=model)
    record.note_served(Answered(), now=0.5)
    record.status = 200
    record.close(1.0, 0.0)
    return record


def test_a_finished_request_is_counted_in_its_series_and_its_routes_histograms() -> None:
    metrics = Metrics(["m"], PriceTable({}))
    for _ in range(3):
        metrics.finished(finished_request())

    duration, overhead = metrics.latency()
    assert dict(metrics.request_counts()) == {("/v1/chat/completions", "p", "m", 200): 3}
    assert (sum(duration.series["/v1/chat/completions"].counts), overhead.series["/v1/chat/completions"].total) == (
        3, pytest.approx(1.5),
    )  # fmt: skip


def test_invented_model_names_count_as_other_and_are_not_kept() -> None:
    metrics = Metrics(["m"], PriceTable({}))
    for index in range(1000):
        refused = finished_request(model=f"invented-{index}")
        refused.status = 404
        metrics.finished(refused)

    assert dict(metrics.request_counts()) == {("/v1/chat/completions", "p", OTHER, 404): 1000}
    assert len(metrics._requests_as_sent) == 0


def test_answered_model_names_are_learned_up_to_the_cap_and_the_rest_priced_as_other() -> None:
    metrics = Metrics([], PriceTable({"*": Price(input=1.0, output=0.0)}))
    metrics.answered = ModelNames([], cap=1)
    for model in ("a", "b", "b"):
        metrics.emit(event(model, Tokens(prompt=1_000_000)))

    tokens = metrics.tokens()
    assert (tokens[("p", "a")].prompt, tokens[("p", OTHER)].prompt) == (1_000_000, 2_000_000)
    assert metrics.cost("p", OTHER, tokens[("p", OTHER)]) == 2.0
