"""GET /metrics: what `Metrics` counted, and each key's state read from the store, in Prometheus's text format."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from keyproxy.api.admin import key_state
from keyproxy.api.asgi import Receive, Scope, Send, send_bytes
from keyproxy.api.metrics import Histogram, Metrics
from keyproxy.api.openai_dialect import OPENAI
from keyproxy.api.route import Route, RouteTable
from keyproxy.clock import Clock
from keyproxy.engine.pool import Pool
from keyproxy.events import RequestWatch
from keyproxy.state.base import KeyReport, StateStore

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

_STATES = ("ok", "cooling", "benched")


class MetricsRoutes:
    """`public`: answered without a key (KEYPROXY_METRICS_PUBLIC), else behind the admin routes' key."""

    def __init__(
        self, metrics: Metrics, watch: RequestWatch, pools: Mapping[str, Pool], state: StateStore, clock: Clock,
        *, public: bool = False,
    ) -> None:  # fmt: skip
        self.metrics = metrics
        self.watch = watch
        self.pools = pools
        self.state = state
        self.clock = clock
        self.public = public

    def routes(self) -> RouteTable:
        return {("GET", "/metrics"): Route(self.scrape, OPENAI, public=self.public, admin=True)}

    async def scrape(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Imported at the first scrape: a proxy nobody scrapes never loads it.
        from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest

        now = self.clock.now()
        keys = [(name, pool, await self.state.report(name, pool.key_ids, now)) for name, pool in self.pools.items()]
        families = [*counted(self.metrics), *live(self.watch, keys, now)]
        await send_bytes(send, 200, generate_latest(_Families(families)), CONTENT_TYPE_PLAIN_0_0_4.encode())


class _Families:
    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterable[Metric]:
        return self.families


def counted(metrics: Metrics) -> Iterator[Metric]:
    """The counters and histograms: what happened since the start."""
    from prometheus_client.metrics_core import CounterMetricFamily

    requests = CounterMetricFamily(
        "keyproxy_requests", "Client requests answered, by route, provider, model as sent and status.",
        labels=("route", "provider", "model", "status"),
    )  # fmt: skip
    for (route, provider, model, status), count in metrics.request_counts():
        requests.add_metric((route, provider, model, str(status)), count)
    yield requests
    attempts = CounterMetricFamily(
        "keyproxy_attempts", "Upstream attempts, by provider, outcome and error class.",
        labels=("provider", "outcome", "error_class"),
    )  # fmt: skip
    for labels, tried in metrics.attempt_counts().items():
        attempts.add_metric(labels, tried)
    yield attempts
    duration, overhead = metrics.latency()
    yield _histogram(
        "keyproxy_request_duration_seconds", "From a request reaching keyproxy to the end of its answer.",
        "route", duration,
    )  # fmt: skip
    yield _histogram(
        "keyproxy_overhead_seconds", "keyproxy's own time before an answer started (total minus waiting on upstreams).",
        "route", overhead,
    )  # fmt: skip
    yield _histogram(
        "keyproxy_upstream_first_byte_seconds", "A successful attempt's wait for the upstream's first byte.",
        "provider", metrics.first_byte(),
    )  # fmt: skip
    tokens = CounterMetricFamily(
        "keyproxy_tokens", "Tokens of successful answers, by provider, model and direction (in: prompt, out: answer).",
        labels=("provider", "model", "direction"),
    )  # fmt: skip
    cost = CounterMetricFamily(
        "keyproxy_cost_usd", "What successful answers cost, priced from the price table, by provider and model.",
        labels=("provider", "model"),
    )  # fmt: skip
    for (provider, model), used in metrics.tokens().items():
        tokens.add_metric((provider, model, "in"), used.prompt)
        tokens.add_metric((provider, model, "out"), used.completion)
        cost.add_metric((provider, model), metrics.cost(provider, model, used))
    yield tokens
    yield cost


def live(watch: RequestWatch, keys: Sequence[tuple[str, Pool, Sequence[KeyReport]]], now: float) -> Iterator[Metric]:
    """The gauges: requests in flight, and each key's state as the store reports it now."""
    from prometheus_client.metrics_core import GaugeMetricFamily

    # Not counting the scrape itself.
    yield GaugeMetricFamily("keyproxy_requests_in_flight", "Client requests being served.", max(0, watch.in_flight - 1))
    labels = ("provider", "key", "key_id")
    state = GaugeMetricFamily("keyproxy_key_state", "1 for the key's state (ok, cooling, benched), else 0.",
                              labels=(*labels, "state"))  # fmt: skip
    until = GaugeMetricFamily(
        "keyproxy_key_seconds_until_usable", "Seconds until no cooldown or bench holds the key (0: usable).",
        labels=labels,
    )  # fmt: skip
    in_flight = GaugeMetricFamily("keyproxy_key_in_flight", "Requests in flight on the key.", labels=labels)
    for name, pool, reports in keys:
        for index, report in enumerate(reports):
            key = (name, pool.masks[index], report.key_id)
            status = key_state(report)["status"]
            for each in _STATES:
                state.add_metric((*key, each), 1.0 if each == status else 0.0)
            held = max([report.benched_until, *(cooldown.until for cooldown in report.cooldowns)])
            until.add_metric(key, max(0.0, held - now))
            in_flight.add_metric(key, report.in_flight)
    yield from (state, until, in_flight)


def _histogram(name: str, documentation: str, label: str, histogram: Histogram) -> Metric:
    from prometheus_client.metrics_core import HistogramMetricFamily

    family = HistogramMetricFamily(name, documentation, labels=(label,))
    bounds = [str(bound) for bound in histogram.bounds] + ["+Inf"]
    for value, series in histogram.series.items():
        cumulative, buckets = 0, []
        for bound, count in zip(bounds, series.counts, strict=True):
            cumulative += count
            buckets.append((bound, float(cumulative)))
        family.add_metric((value,), buckets, series.total)
    return family
