"""What the fake upstream received and answered, kept for assertions and readable from any thread."""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from keyproxy.testing._asgi import Message, Send


@dataclass(frozen=True, slots=True)
class ReceivedRequest:
    """One request as it arrived: `body` is the parsed JSON object (empty when there was none), `query` the
    query string's parameters, so tests can assert on exactly what went over the wire.

    The key, headers and query (Gemini takes `?key=`) are left out of the repr so a failing assertion does not
    print a key.
    """

    method: str
    path: str
    key: str | None = field(repr=False)
    body: dict[str, Any]
    headers: Mapping[str, str] = field(repr=False)
    query: Mapping[str, str] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, slots=True)
class KeyStats:
    """Requests received with one key, and how many responses were started with each status code."""

    requests: int
    responses: Mapping[int, int]


class Journal:
    __slots__ = ("_changed", "_received", "_recent", "_requests", "_responses")

    def __init__(self, history: int) -> None:
        self._recent: deque[ReceivedRequest] = deque(maxlen=history)
        self._received = 0
        self._requests: Counter[str] = Counter()
        self._responses: dict[str, Counter[int]] = {}
        self._changed = threading.Condition()

    def record(self, request: ReceivedRequest) -> None:
        with self._changed:
            self._recent.append(request)
            self._received += 1
            if request.key is not None:
                self._requests[request.key] += 1
            self._changed.notify_all()

    def counting(self, key: str | None, send: Send) -> Send:
        """`send`, counting the status of the response it starts against `key`."""
        if key is None:
            return send

        async def counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                with self._changed:
                    self._responses.setdefault(key, Counter())[message["status"]] += 1
            await send(message)

        return counted

    @property
    def requests(self) -> list[ReceivedRequest]:
        with self._changed:
            return list(self._recent)

    def stats(self) -> dict[str, KeyStats]:
        with self._changed:
            keys = self._requests.keys() | self._responses.keys()
            return {key: KeyStats(self._requests[key], dict(self._responses.get(key, Counter()))) for key in keys}

    def wait_for(self, count: int, timeout: float) -> bool:
        """Block until `count` requests have arrived since the last reset; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: self._received >= count, timeout)

    def reset(self) -> None:
        with self._changed:
            self._recent.clear()
            self._received = 0
            self._requests.clear()
            self._responses.clear()
