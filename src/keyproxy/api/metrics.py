"""What the metrics count: one list of numbers per label combination, added to on the event loop.

A finished request costs one dict lookup and a few additions: its count, its latency and overhead
buckets and sums all live in the one cell of its (route, provider, model, status); per-route
histograms are summed from the cells at scrape time. prometheus_client's own metric objects cost about
ten times more per update (a lock and a label lookup each); they are only used at scrape time to write
the text format (`metrics_route.py`, docs/stack.md).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator

from keyproxy.events import AttemptEvent, RequestRecord, Tokens
from keyproxy.usage.prices import PriceTable

OTHER = "other"
"""The model label of every name not known (see `ModelNames`)."""

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
OVERHEAD_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25)

# A request cell: [count, latency buckets (one past the last bound), latency sum, overhead buckets, overhead sum].
_LATENCY = 1
_LATENCY_SUM = _LATENCY + len(LATENCY_BUCKETS) + 1
_OVERHEAD = _LATENCY_SUM + 1
_OVERHEAD_SUM = _OVERHEAD + len(OVERHEAD_BUCKETS) + 1
_REQUEST_CELL = _OVERHEAD_SUM + 1
# An attempt cell: [count, first-byte buckets, first-byte sum, prompt, cached, completion tokens].
_FIRST_BYTE = 1
_FIRST_BYTE_SUM = _FIRST_BYTE + len(LATENCY_BUCKETS) + 1
_TOKENS = _FIRST_BYTE_SUM + 1
_ATTEMPT_CELL = _TOKENS + 3


class ModelNames:
    """Model names as label values: known ones as they are, any other as "other", so a client inventing
    names cannot create series. Known: aliases and configured model lists, and the names an upstream
    answered, up to `cap` of them."""

    __slots__ = ("cap", "known")

    def __init__(self, known: Iterable[str], cap: int = 500) -> None:
        self.known = {"", *known}
        self.cap = len(self.known) + cap

    def label(self, name: str) -> str:
        return name if name in self.known else OTHER

    def learn(self, name: str) -> None:
        if len(self.known) < self.cap:
            self.known.add(name)


class Histogram:
    """One histogram's series, summed from cells at scrape time: label value -> bucket counts and sum."""

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.series: dict[str, list[float]] = {}

    def add(self, label: str, cell: list[float], first: int) -> None:
        """Add the buckets and sum kept in `cell` from index `first`."""
        width = len(self.bounds) + 2
        into = self.series.setdefault(label, [0.0] * width)
        for index in range(width):
            into[index] += cell[first + index]


class Metrics:
    """The sink of finished requests and of attempt events; what it counted, `metrics_route` shows."""

    def __init__(self, known_models: Iterable[str], prices: PriceTable) -> None:
        known = tuple(known_models)
        self.prices = prices
        self.requests: dict[tuple[str, str, str, int], list[float]] = {}
        """(route, provider, model as sent, status) -> request cell."""
        self.attempts: dict[tuple[str, str, str], list[float]] = {}
        """(provider, error class or "" for a success, model answered) -> attempt cell."""
        self.unlabelled_cost: dict[str, float] = {}
        """By provider: the cost of answers whose model is labelled "other"."""
        self.requested = ModelNames(known)
        self.answered = ModelNames(known)

    def finished(self, record: RequestRecord) -> None:
        model = record.model
        known = self.requested.known
        if model not in known:
            if record.provider and record.status < 400 and len(known) < self.requested.cap:
                known.add(model)
            else:
                model = OTHER
        key = (record.route, record.provider or "none", model, record.status)
        cell = self.requests.get(key)
        if cell is None:
            cell = self.requests[key] = [0.0] * _REQUEST_CELL
        cell[0] += 1
        seconds = record.seconds
        cell[_LATENCY + bisect_left(LATENCY_BUCKETS, seconds)] += 1
        cell[_LATENCY_SUM] += seconds
        if record.provider and record.answered:
            overhead = max(0.0, record.answered - record.started - record.upstream_seconds)
            cell[_OVERHEAD + bisect_left(OVERHEAD_BUCKETS, overhead)] += 1
            cell[_OVERHEAD_SUM] += overhead

    def emit(self, event: AttemptEvent) -> None:
        failure = event.outcome
        if failure is not None:
            key = (event.provider, failure.value, "")
        else:
            model = event.model
            known = self.answered.known
            if model not in known:
                if len(known) < self.answered.cap:
                    known.add(model)
                else:
                    model = OTHER
                    self._unlabelled(event)
            key = (event.provider, "", model)
        cell = self.attempts.get(key)
        if cell is None:
            cell = self.attempts[key] = [0.0] * _ATTEMPT_CELL
        cell[0] += 1
        if failure is not None:
            return
        if event.first_byte is not None:
            cell[_FIRST_BYTE + bisect_left(LATENCY_BUCKETS, event.first_byte)] += 1
            cell[_FIRST_BYTE_SUM] += event.first_byte
        tokens = event.tokens
        if tokens is not None:
            cell[_TOKENS] += tokens.prompt
            cell[_TOKENS + 1] += tokens.cached
            cell[_TOKENS + 2] += tokens.completion

    def _unlabelled(self, event: AttemptEvent) -> None:
        if event.tokens is not None:
            cost = self.prices.cost(event.provider, event.model, event.tokens) or 0.0
            self.unlabelled_cost[event.provider] = self.unlabelled_cost.get(event.provider, 0.0) + cost

    def request_counts(self) -> Iterator[tuple[tuple[str, str, str, int], float]]:
        for key, cell in self.requests.items():
            yield key, cell[0]

    def latency(self) -> tuple[Histogram, Histogram]:
        """Request duration and overhead histograms, by route."""
        duration, overhead = Histogram(LATENCY_BUCKETS), Histogram(OVERHEAD_BUCKETS)
        for (route, *_), cell in self.requests.items():
            duration.add(route, cell, _LATENCY)
            if any(cell[_OVERHEAD:_OVERHEAD_SUM]):
                overhead.add(route, cell, _OVERHEAD)
        return duration, overhead

    def attempt_counts(self) -> dict[tuple[str, str, str], float]:
        """(provider, outcome, error class) -> attempts."""
        counts: dict[tuple[str, str, str], float] = {}
        for (provider, error, _), cell in self.attempts.items():
            key = (provider, "failure" if error else "success", error)
            counts[key] = counts.get(key, 0.0) + cell[0]
        return counts

    def first_byte(self) -> Histogram:
        """A successful attempt's wait for the upstream's first byte, by provider."""
        histogram = Histogram(LATENCY_BUCKETS)
        for (provider, error, _), cell in self.attempts.items():
            if not error:
                histogram.add(provider, cell, _FIRST_BYTE)
        return histogram

    def tokens(self) -> dict[tuple[str, str], Tokens]:
        """(provider, model answered) -> tokens of its successful answers."""
        return {
            (provider, model): Tokens(
                prompt=int(cell[_TOKENS]), cached=int(cell[_TOKENS + 1]), completion=int(cell[_TOKENS + 2])
            )
            for (provider, error, model), cell in self.attempts.items()
            if not error
        }

    def cost(self, provider: str, model: str, tokens: Tokens) -> float:
        """USD spent on `model` at `provider` so far, given its `tokens()`: cost is linear in tokens, so it is
        priced from the sums (a model labelled "other" was priced answer by answer)."""
        if model == OTHER:
            return self.unlabelled_cost.get(provider, 0.0)
        return self.prices.cost(provider, model, tokens) or 0.0
