"""The router: picks a key, sends through the transport, classifies the outcome, fails over.

Selection and cooldown are pure policies; the router only sequences them with I/O under the
request's deadline, and reports every attempt to the event sink.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from keyproxy.clock import Clock
from keyproxy.config.settings import Timeouts
from keyproxy.engine.cooldown import CooldownPolicy
from keyproxy.engine.events import AttemptEvent, EventSink
from keyproxy.engine.pool import Pool, request_timeouts
from keyproxy.engine.selection import Exhausted, choose
from keyproxy.errors import (
    DeadlineExceeded,
    ErrorClass,
    GatewayError,
    InvalidUpstreamResponse,
    NoKeyAvailable,
    UpstreamError,
    UpstreamFailed,
)
from keyproxy.providers import Endpoint
from keyproxy.redact import scrub
from keyproxy.state.base import SUCCESS, StateStore
from keyproxy.transport.base import Transport, UpstreamResponse


@dataclass(frozen=True, slots=True)
class Call:
    provider: str
    model: str
    """The model name the upstream knows (no provider prefix)."""
    endpoint: Endpoint
    body: bytes = field(repr=False)
    stream: bool = False


@dataclass(slots=True)
class Opened:
    """A successful answer, ready to relay. `finish` must be called once it has been relayed."""

    status: int
    headers: Mapping[str, str]
    body: bytes = b""
    data: dict[str, Any] | None = None
    first_chunk: bytes = b""
    response: UpstreamResponse | None = None
    chunks: AsyncIterator[bytes] | None = None
    _router: Router | None = None
    _pool: Pool | None = None
    _index: int = 0
    _call: Call | None = None
    _done: bool = False

    async def finish(self, error: UpstreamError | None = None, *, record: bool = True) -> None:
        """Release the key; a stream that broke after its first chunk still counts against it.

        With `record` False (the client left) the key is released without any verdict.
        """
        if self._done:
            return
        self._done = True
        if self.response is not None:
            self.response.close()
        if self._router is not None and self._pool is not None and self._call is not None:
            await self._router.settle(self._pool, self._index, self._call, error if record else None, record)

    def stream_complete(self, tail: bytes) -> bool:
        return self._pool is None or self._pool.adapter.stream_complete(tail)


class Router:
    def __init__(
        self,
        pools: Mapping[str, Pool],
        transport: Transport,
        state: StateStore,
        clock: Clock,
        events: EventSink,
        timeouts: Timeouts,
        *,
        keepalive: float | None = None,
        cooldowns: CooldownPolicy | None = None,
    ) -> None:
        self.pools = pools
        self.transport = transport
        self.state = state
        self.clock = clock
        self.events = events
        self.timeouts = timeouts
        self.keepalive = keepalive
        self.cooldowns = cooldowns or CooldownPolicy()

    async def open(self, call: Call) -> Opened:
        """The first successful answer across the provider's keys, within GLOBAL_TIMEOUT."""
        try:
            async with asyncio.timeout(self.timeouts.total):
                return await self._attempts(call)
        except TimeoutError:
            raise DeadlineExceeded(f"no answer within GLOBAL_TIMEOUT ({self.timeouts.total:g} s)") from None

    async def _attempts(self, call: Call) -> Opened:
        pool = self.pools[call.provider]
        tried: set[str] = set()
        last_error: UpstreamError | None = None
        for attempt in range(1, len(pool.key_ids) + 1):
            statuses = await self.state.statuses(pool.name, pool.key_ids, call.model)
            choice = choose(statuses, self.clock.now(), start=pool.cursor, exclude=tried)
            if isinstance(choice, Exhausted):
                break
            index = choice.index
            pool.cursor = index + 1
            tried.add(pool.key_ids[index])
            try:
                return await self._attempt(pool, index, call, attempt, failures=statuses[index].failures)
            except UpstreamError as error:
                if error.error_class is ErrorClass.CLIENT_ERROR:
                    raise
                last_error = error
        raise await self._give_up(pool, call, last_error)

    async def _attempt(self, pool: Pool, index: int, call: Call, attempt: int, *, failures: int) -> Opened:
        secret = pool.secrets[index]
        request = pool.adapter.request(
            call.endpoint, secret, call.body, request_timeouts(self.timeouts, stream=call.stream)
        )
        started = self.clock.now()
        response: UpstreamResponse | None = None
        await self.state.acquire(pool.name, pool.key_ids[index])
        try:
            response = await self.transport.send(request)
            if response.status >= 400:
                body = scrub(await response.read(), pool.secrets)
                raise pool.adapter.classify(response.status, response.headers, body, self.clock.now())
            if call.stream and _is_event_stream(response.headers):
                chunks = response.iter_chunks(self.keepalive)
                first = await _first_chunk(chunks)
                opened = Opened(response.status, response.headers, first_chunk=first, response=response, chunks=chunks)
            else:
                body = await response.read()
                data = pool.adapter.validate(body)
                opened = Opened(response.status, response.headers, body=body, data=data)
        except BaseException as exc:
            if response is not None:
                response.close()
            await self.state.release(pool.name, pool.key_ids[index])
            if isinstance(exc, UpstreamError):
                await self._failed(pool, index, call, attempt, exc, started, failures)
            raise
        self._emit(pool, index, call, attempt, response.status, None, "ok", started)
        opened._router, opened._pool, opened._index, opened._call = self, pool, index, call
        if opened.response is None:
            await opened.finish()
        return opened

    async def settle(
        self, pool: Pool, index: int, call: Call, error: UpstreamError | None, record: bool = True
    ) -> None:
        key_id = pool.key_ids[index]
        await self.state.release(pool.name, key_id)
        if not record:
            return
        if error is None:
            await self.state.record(pool.name, key_id, call.model, SUCCESS)
            return
        statuses = await self.state.statuses(pool.name, (key_id,), call.model)
        await self._failed(pool, index, call, 0, error, self.clock.now(), statuses[0].failures)

    async def _failed(
        self, pool: Pool, index: int, call: Call, attempt: int, error: UpstreamError, started: float, failures: int
    ) -> None:
        status = getattr(error, "upstream_status", None)
        self._emit(pool, index, call, attempt, status, error.error_class, error.message, started)
        verdict = self.cooldowns.verdict(error, failures, self.clock.now())
        if verdict is not None:
            await self.state.record(pool.name, pool.key_ids[index], call.model, verdict)

    def _emit(
        self, pool: Pool, index: int, call: Call, attempt: int, status: int | None,
        outcome: ErrorClass | None, message: str, started: float,
    ) -> None:  # fmt: skip
        elapsed = self.clock.now() - started
        mask = pool.masks[index]
        self.events.emit(AttemptEvent(pool.name, call.model, mask, attempt, status, outcome, message, elapsed))

    async def _give_up(self, pool: Pool, call: Call, last_error: UpstreamError | None) -> GatewayError:
        """No attempt succeeded. Keys out of quota, or none to try: 429 (503 if none is merely cooling).
        Keys that failed otherwise: 502, or 504 for a timeout. Retry-After says when a key is back."""
        statuses = await self.state.statuses(pool.name, pool.key_ids, call.model)
        now = self.clock.now()
        choice = choose(statuses, now, start=0, exclude=())
        wait = max(1.0, choice.retry_at - now) if isinstance(choice, Exhausted) and choice.retry_at else None
        if last_error is None or last_error.error_class in _OUT_OF_QUOTA:
            cooling = any(status.cooldown_until > now for status in statuses)
            later = f"; retry in {wait:.0f} s" if wait else ""
            return NoKeyAvailable(
                f"no key of provider {pool.name} is available{later}", retry_after=wait, recoverable=cooling
            )
        failure = UpstreamFailed(f"every key failed; last error: {last_error.message}", retry_after=wait)
        if last_error.status == 504:
            failure.status = 504
        return failure


_OUT_OF_QUOTA = frozenset({ErrorClass.RATE_LIMITED, ErrorClass.QUOTA_EXHAUSTED})


def _is_event_stream(headers: Mapping[str, str]) -> bool:
    return headers.get("content-type", "").startswith("text/event-stream")


async def _first_chunk(chunks: AsyncIterator[bytes]) -> bytes:
    async for chunk in chunks:
        if chunk:
            return chunk
    raise InvalidUpstreamResponse("upstream ended the stream before sending anything")
