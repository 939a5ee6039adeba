"""What the metrics count: requests and successful attempts kept as they finish (an append each on the
event loop) and counted in batches, at a scrape or when thousands wait.

A batch is counted mostly in C: label combinations with a `Counter`, each histogram's values sorted once
and cut at its bounds, token sums with `sum`. Counting each request as it finished cost about three times
as much (a dict update, two bisections and a dozen additions in Python); prometheus_client's own metric
objects cost about ten times more per update (a lock and a label lookup each), so they are only used at
scrape time to write the text format (`metrics_route.py`, docs/stack.md). Failed attempts, rare, are
counted as they come.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Iterator
from itertools import groupby
from operator import attrgetter, itemgetter

from keyproxy.events import AttemptEvent, RequestRecord, Tokens
from keyproxy.usage.prices import PriceTable

OTHER = "other"
"""The model label of every name not known (see `ModelNames`)."""

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
OVERHEAD_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25)

BATCH = 4096
"""Finished requests (or successful attempts) kept before they are counted, scraped or not."""

_LABELS = itemgetter(0, 1, 2, 3)
_ROUTE = itemgetter(0)
_SECONDS = itemgetter(4)
_OVERHEAD = itemgetter(5)
_ANSWERED = attrgetter("provider", "model")
_FIRST_BYTE = attrgetter("first_byte")
_TOKENS = attrgetter("tokens")
_PROMPT, _CACHED, _COMPLETION = attrgetter("prompt"), attrgetter("cached"), attrgetter("completion")


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
    """One histogram: label value -> bucket counts (not cumulative, the last past the highest bound) and sum."""

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.series: dict[str, tuple[list[int], list[float]]] = {}

    def add(self, label: str, values: list[float]) -> None:
        """Count `values` (sorted here) under `label`: one bisection per bound, not one per value."""
        counts, total = self.series.setdefault(label, ([0] * (len(self.bounds) + 1), [0.0]))
        values.sort()
        below = 0
        for index, bound in enumerate(self.bounds):
            upto = bisect_right(values, bound, below)
            counts[index] += upto - below
            below = upto
        counts[-1] += len(values) - below
        total[0] += sum(values)


class Metrics:
    """The sink of finished requests and of attempt events; what it counted, `metrics_route` shows."""

    def __init__(self, known_models: Iterable[str], prices: PriceTable) -> None:
        known = tuple(known_models)
        self.prices = prices
        self._requests: dict[tuple[str, str, str, int], int] = {}
        """(route, provider, model as sent, status) -> requests."""
        self._attempts: dict[tuple[str, str, str], list[float]] = {}
        """(provider, error class or "" for a success, model answered) -> [count, prompt, cached, completion]."""
        self._duration = Histogram(LATENCY_BUCKETS)
        self._overhead = Histogram(OVERHEAD_BUCKETS)
        self._first_byte = Histogram(LATENCY_BUCKETS)
        self.unlabelled_cost: dict[str, float] = {}
        """By provider: the cost of answers whose model is labelled "other"."""
        self.requested = ModelNames(known)
        self.answered = ModelNames(known)
        self._finished: list[tuple[str, str, str, int, float, float | None]] = []
        self._succeeded: list[AttemptEvent] = []

    def finished(self, record: RequestRecord) -> None:
        # A tuple of plain values: the collector stops following it at its first pass, a record it would not.
        finished = self._finished
        finished.append(
            (record.route, record.provider, record.model, record.status, record.seconds, record.overhead)
        )  # fmt: skip
        if len(finished) >= BATCH:
            self._count_requests()

    def emit(self, event: AttemptEvent) -> None:
        failure = event.outcome
        if failure is None:
            succeeded = self._succeeded
            succeeded.append(event)
            if len(succeeded) >= BATCH:
                self._count_attempts()
            return
        cell = self._attempts.setdefault((event.provider, failure.value, ""), [0.0, 0.0, 0.0, 0.0])
        cell[0] += 1

    def _count_requests(self) -> None:
        finished, self._finished = self._finished, []
        known, requests = self.requested.known, self._requests
        for (route, provider, model, status), count in Counter(map(_LABELS, finished)).items():
            if model not in known:
                if provider and status < 400 and len(known) < self.requested.cap:
                    known.add(model)
                else:
                    model = OTHER
            key = (route, provider or "none", model, status)
            requests[key] = requests.get(key, 0) + count
        finished.sort(key=_ROUTE)
        for route, group in groupby(finished, _ROUTE):
            rows = list(group)
            self._duration.add(route, list(map(_SECONDS, rows)))
            overheads = [overhead for overhead in map(_OVERHEAD, rows) if overhead is not None]
            if overheads:
                self._overhead.add(route, overheads)

    def _count_attempts(self) -> None:
        succeeded, self._succeeded = self._succeeded, []
        succeeded.sort(key=_ANSWERED)
        known = self.answered.known
        for (provider, model), group in groupby(succeeded, _ANSWERED):
            events = list(group)
            if model not in known:
                if len(known) < self.answered.cap:
                    known.add(model)
                else:
                    model = OTHER
                    for event in events:
                        self._unlabelled(event)
            cell = self._attempts.setdefault((provider, "", model), [0.0, 0.0, 0.0, 0.0])
            cell[0] += len(events)
            used = [tokens for tokens in map(_TOKENS, events) if tokens is not None]
            cell[1] += sum(map(_PROMPT, used))
            cell[2] += sum(map(_CACHED, used))
            cell[3] += sum(map(_COMPLETION, used))
            waits = [wait for wait in map(_FIRST_BYTE, events) if wait is not None]
            if waits:
                self._first_byte.add(provider, waits)

    def _unlabelled(self, event: AttemptEvent) -> None:
        if event.tokens is not None:
            cost = self.prices.cost(event.provider, event.model, event.tokens) or 0.0
            self.unlabelled_cost[event.provider] = self.unlabelled_cost.get(event.provider, 0.0) + cost

    def _count(self) -> None:
        if self._finished:
            self._count_requests()
        if self._succeeded:
            self._count_attempts()

    def request_counts(self) -> Iterator[tuple[tuple[str, str, str, int], int]]:
        self._count()
        yield from self._requests.items()

    def attempt_counts(self) -> dict[tuple[str, str, str], float]:
        """(provider, outcome, error class) -> attempts."""
        self._count()
        counts: dict[tuple[str, str, str], float] = {}
        for (provider, error, _), cell in self._attempts.items():
            key = (provider, "failure" if error else "success", error)
            counts[key] = counts.get(key, 0.0) + cell[0]
        return counts

    def latency(self) -> tuple[Histogram, Histogram]:
        """Request duration and overhead histograms, by route."""
        self._count()
        return self._duration, self._overhead

    def first_byte(self) -> Histogram:
        """A successful attempt's wait for the upstream's first byte, by provider."""
        self._count()
        return self._first_byte

    def tokens(self) -> dict[tuple[str, str], Tokens]:
        """(provider, model answered) -> tokens of its successful answers."""
        self._count()
        return {
            (provider, model): Tokens(prompt=int(cell[1]), cached=int(cell[2]), completion=int(cell[3]))
            for (provider, error, model), cell in self._attempts.items()
            if not error
        }

    def cost(self, provider: str, model: str, tokens: Tokens) -> float:
        """USD spent on `model` at `provider` so far, given its `tokens()`: cost is linear in tokens, so it is
        priced from the sums (a model labelled "other" was priced answer by answer)."""
        if model == OTHER:
            return self.unlabelled_cost.get(provider, 0.0)
        return self.prices.cost(provider, model, tokens) or 0.0
