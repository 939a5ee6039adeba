"""What the metrics count: each finished request and each attempt, counted as it comes, on the event loop.

A request costs one dictionary look-up (its labels, as the client and the upstream gave them, lead straight
to the series they count in) and a few additions; a histogram's bucket is found by one bisection in C
(`bisect_left`: a value equal to a bound falls in that bound's bucket, as Prometheus's `le` says). Keeping
requests to count them later in batches measured no cheaper: the batch's passes (grouping, sorting,
summing) cost as much as the look-ups. prometheus_client's own metric objects cost about ten times more
per update (a lock and a label look-up each), so they are only used at scrape time to write the text
format (`metrics_route.py`, docs/stack.md).
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


class Series:
    """One histogram series: bucket counts (not cumulative, the last past the highest bound) and their sum.

    `Metrics` adds to them inline, three times a request: through an `observe` method, the calls measured
    1.4k instructions more a request, a seventh of what the metrics cost."""

    __slots__ = ("counts", "total")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.counts = [0] * (len(bounds) + 1)
        self.total = 0.0


class Histogram:
    """One histogram: label value -> its series."""

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.series: dict[str, Series] = {}

    def of(self, label: str) -> Series:
        series = self.series.get(label)
        if series is None:
            series = self.series[label] = Series(self.bounds)
        return series


class _Requests:
    """A series of keyproxy_requests, with the histograms of its route at hand."""

    __slots__ = ("count", "duration", "overhead")

    def __init__(self, duration: Series, overhead: Series) -> None:
        self.count = 0
        self.duration = duration
        self.overhead = overhead


class _Answers:
    """Successful attempts of one provider and model answered: their count, tokens and first-byte waits."""

    __slots__ = ("cached", "completion", "count", "first_byte", "prompt")

    def __init__(self, first_byte: Series) -> None:
        self.count = self.prompt = self.cached = self.completion = 0
        self.first_byte = first_byte


class Metrics:
    """The sink of finished requests and of attempt events; what it counted, `metrics_route` shows."""

    def __init__(self, known_models: Iterable[str], prices: PriceTable) -> None:
        known = tuple(known_models)
        self.prices = prices
        self._requests: dict[tuple[str, str, str, int], _Requests] = {}
        """By labels: (route, provider or "none", model as sent or "other", status)."""
        self._requests_as_sent: dict[tuple[str, str, str, int], _Requests] = {}
        """The same series by (route, provider, model, status) as the request had them, for known models only:
        a client inventing names cannot grow it."""
        self._answers: dict[tuple[str, str], _Answers] = {}
        """By (provider, model answered or "other"); `_answers_as_sent` as `_requests_as_sent`."""
        self._answers_as_sent: dict[tuple[str, str], _Answers] = {}
        self._failures: dict[tuple[str, str], int] = {}
        """(provider, error class) -> failed attempts."""
        self._duration = Histogram(LATENCY_BUCKETS)
        self._overhead = Histogram(OVERHEAD_BUCKETS)
        self._first_byte = Histogram(LATENCY_BUCKETS)
        self.unlabelled_cost: dict[str, float] = {}
        """By provider: the cost of answers whose model is labelled "other"."""
        self.requested = ModelNames(known)
        self.answered = ModelNames(known)

    def finished(self, record: RequestRecord) -> None:
        cell = self._requests_as_sent.get((record.route, record.provider, record.model, record.status))
        if cell is None:
            cell = self._requests_cell(record)
        cell.count += 1
        seconds, series = record.seconds, cell.duration
        series.counts[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        series.total += seconds
        overhead = record.overhead
        if overhead is not None:
            series = cell.overhead
            series.counts[bisect_left(OVERHEAD_BUCKETS, overhead)] += 1
            series.total += overhead

    def _requests_cell(self, record: RequestRecord) -> _Requests:
        route, provider, model, status = record.route, record.provider, record.model, record.status
        names = self.requested
        if provider and status < 400:
            names.learn(model)
        label = (route, provider or "none", names.label(model), status)
        cell = self._requests.get(label)
        if cell is None:
            cell = self._requests[label] = _Requests(self._duration.of(route), self._overhead.of(route))
        if label[2] == model:
            self._requests_as_sent[(route, provider, model, status)] = cell
        return cell

    def emit(self, event: AttemptEvent) -> None:
        failure = event.outcome
        if failure is not None:
            key = (event.provider, failure.value)
            self._failures[key] = self._failures.get(key, 0) + 1
            return
        cell = self._answers_as_sent.get((event.provider, event.model))
        if cell is None:
            cell = self._answers_cell(event)
        cell.count += 1
        tokens = event.tokens
        if tokens is not None:
            cell.prompt += tokens.prompt
            cell.cached += tokens.cached
            cell.completion += tokens.completion
        first_byte = event.first_byte
        if first_byte is not None:
            series = cell.first_byte
            series.counts[bisect_left(LATENCY_BUCKETS, first_byte)] += 1
            series.total += first_byte

    def _answers_cell(self, event: AttemptEvent) -> _Answers:
        provider, model = event.provider, event.model
        names = self.answered
        names.learn(model)
        label = (provider, names.label(model))
        cell = self._answers.get(label)
        if cell is None:
            cell = self._answers[label] = _Answers(self._first_byte.of(provider))
        if label[1] == model:
            self._answers_as_sent[(provider, model)] = cell
        elif event.tokens is not None:  # past the cap: priced answer by answer, its model not kept
            cost = self.prices.cost(provider, model, event.tokens) or 0.0
            self.unlabelled_cost[provider] = self.unlabelled_cost.get(provider, 0.0) + cost
        return cell

    def request_counts(self) -> Iterator[tuple[tuple[str, str, str, int], int]]:
        for labels, cell in self._requests.items():
            yield labels, cell.count

    def attempt_counts(self) -> dict[tuple[str, str, str], float]:
        """(provider, outcome, error class) -> attempts."""
        counts: dict[tuple[str, str, str], float] = {}
        for (provider, _), cell in self._answers.items():
            key = (provider, "success", "")
            counts[key] = counts.get(key, 0.0) + cell.count
        for (provider, error), failed in self._failures.items():
            counts[(provider, "failure", error)] = float(failed)
        return counts

    def latency(self) -> tuple[Histogram, Histogram]:
        """Request duration and overhead histograms, by route."""
        return self._duration, self._overhead

    def first_byte(self) -> Histogram:
        """A successful attempt's wait for the upstream's first byte, by provider."""
        return self._first_byte

    def tokens(self) -> dict[tuple[str, str], Tokens]:
        """(provider, model answered) -> tokens of its successful answers."""
        return {
            labels: Tokens(prompt=cell.prompt, cached=cell.cached, completion=cell.completion)
            for labels, cell in self._answers.items()
        }

    def cost(self, provider: str, model: str, tokens: Tokens) -> float:
        """USD spent on `model` at `provider` so far, given its `tokens()`: cost is linear in tokens, so it is
        priced from the sums (a model labelled "other" was priced answer by answer)."""
        if model == OTHER:
            return self.unlabelled_cost.get(provider, 0.0)
        return self.prices.cost(provider, model, tokens) or 0.0
