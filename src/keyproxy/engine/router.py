"""The router: picks a key, sends through the transport, classifies the outcome, fails over, waits.

Selection and cooldown are pure policies; the router only sequences them with I/O within the request's
rotation budget (GLOBAL_TIMEOUT: no attempt starts and no wait runs past it), bounds each attempt by its
own timeouts, and reports every attempt to the event sink.
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import AsyncIterator, Mapping, Sequence

from keyproxy.clock import Clock
from keyproxy.config.settings import AnswerLimits, EngineSettings, Timeouts
from keyproxy.engine.cooldown import CooldownPolicy
from keyproxy.engine.forbidden import judge_forbidden
from keyproxy.engine.holds import NOTHING_HELD, Holds, earliest
from keyproxy.engine.opened import Opened
from keyproxy.engine.pool import Pool, request_timeouts
from keyproxy.engine.reprobe import key_works
from keyproxy.engine.selection import Exhausted, Pick, cap, choose, decayed_usage
from keyproxy.engine.verdict import gave_up
from keyproxy.errors import (
    DeadlineExceeded,
    ErrorClass,
    GatewayError,
    InvalidUpstreamResponse,
    NoKeyForModel,
    UpstreamContextTooLong,
    UpstreamError,
    UpstreamForbidden,
    UpstreamModelRefused,
)
from keyproxy.events import AttemptEvent, EventSink, Tokens
from keyproxy.providers import Call
from keyproxy.providers.hints.ratelimit_headers import parse_headroom
from keyproxy.redact import scrub
from keyproxy.state.base import SUCCESS, KeyStatus, StateStore
from keyproxy.translate.opening import Opening
from keyproxy.translate.sse import capped_events
from keyproxy.translate.stream import translated
from keyproxy.transport.base import Transport, UpstreamRequest, UpstreamResponse
from keyproxy.usage.tokens import UsageMeter, estimate

__all__ = ["Call", "Opened", "Router"]


class Router:
    def __init__(
        self,
        pools: Mapping[str, Pool],
        transport: Transport,
        state: StateStore,
        clock: Clock,
        events: EventSink,
        timeouts: Timeouts,
        engine: EngineSettings,
        *,
        keepalive: float | None = None,
        rng: random.Random | None = None,
        limits: AnswerLimits | None = None,
    ) -> None:
        self.pools = pools
        self.transport = transport
        self.state = state
        self.clock = clock
        self.events = events
        self.timeouts = timeouts
        self.keepalive = keepalive
        self.cooldowns = CooldownPolicy.from_settings(engine)
        self.max_attempts = engine.max_attempts
        self.transient_retry_delay = engine.transient_retry_delay
        self.transient_retry_jitter = engine.transient_retry_jitter
        self.affinity_seconds = engine.affinity_seconds
        self.hold_reasoning = engine.stream_retry_reasoning_only
        self.rng = rng
        self.limits = limits or AnswerLimits()
        self.holds = Holds(state, clock)

    async def open(self, call: Call) -> Opened:
        """The first successful answer across the provider's keys, within the rotation budget."""
        return await self.open_chain((call,))

    async def open_chain(self, calls: Sequence[Call], *, on_context_length: bool = False) -> Opened:
        """Try each target in order (a fallback chain); the next one is tried when a target has no
        usable key or all its keys failed, and with `on_context_length` when it rejects the prompt's
        length. GLOBAL_TIMEOUT is the budget of the whole chain for choosing keys, failing over and
        waiting; it never cuts an attempt in flight, which its own timeouts bound."""
        deadline = self.clock.now() + self.timeouts.total
        failure: Exception | None = None
        for call in calls:
            if failure is not None and self.clock.now() >= deadline:
                break  # no budget left for the next target: the last one's answer stands
            try:
                return await self._attempts(call, deadline)
            except DeadlineExceeded:
                raise
            except GatewayError as error:
                failure = error
            except UpstreamContextTooLong as error:
                if not on_context_length:
                    raise
                failure = error
        assert failure is not None
        raise failure

    def has_key(self, provider: str, key_id: str) -> bool:
        """Whether the provider still has the key (by fingerprint): a pinned call needs it."""
        pool = self.pools.get(provider)
        return pool is not None and key_id in pool.key_ids

    async def _attempts(self, call: Call, deadline: float) -> Opened:
        pool = self.pools[call.provider]
        bucket = pool.bucket(call.model)
        sequential = pool.policy.mode == "sequential"
        # A pinned call may use its one key only: every other key counts as tried from the start.
        tried = set() if call.key_id is None else {key for key in pool.key_ids if key != call.key_id}
        # Keys that declared their models (`<P>_API_KEY_<N>_MODELS`) are never tried for another.
        left_out = pool.left_out(call.model)
        if left_out and tried.union(left_out).issuperset(pool.key_ids):
            raise NoKeyForModel(f"no key of provider {pool.name} serves model {call.model!r} (<P>_API_KEY_<N>_MODELS)")
        tried |= left_out
        # Fair cycle and caps (each off unless configured) hold keys out beyond what the request tried itself.
        limited = pool.fair is not None or pool.caps is not None
        held, held_keys = NOTHING_HELD, _NONE
        if limited:
            held = await self.holds.held(pool, call, bucket)
            held_keys = held.keys
        transient: list[int] = []
        second_chance = True
        benched = False
        last_error: UpstreamError | None = None
        spent = 0.0
        attempts = 0
        limit = self.max_attempts or len(pool.key_ids) + 1
        conversation = call.conversation if self.affinity_seconds and not sequential and call.key_id is None else None
        preferred = await self.state.affinity(pool.name, conversation, self.clock.now()) if conversation else None
        # The first choice may be made on the store's recent view of the pool (no round trip to a shared
        # store): the acquire checks the chosen key again, and a refusal brings the view up to date.
        recent = True
        while attempts < limit:
            now = self.clock.now()
            if now >= deadline:
                raise await self._give_up(pool, bucket, last_error, attempts, out_of_time=True, held=held_keys)
            statuses = await self.state.statuses(pool.name, pool.key_ids, bucket, recent=recent)
            on_recent, recent = recent, False
            sticky = await self.state.sticky(pool.name, bucket) if sequential else preferred
            exclude = tried.union(held_keys) if held_keys else tried
            choice = choose(statuses, pool.priorities, now, pool.policy, exclude=exclude, sticky=sticky, rng=self.rng)
            if limited and isinstance(choice, Exhausted) and not on_recent:
                settled = await self.holds.settle(pool, call, bucket, held, statuses, now, left_out)
                if settled is None:  # a fair cycle reset: its keys are candidates again
                    held = await self.holds.held(pool, call, bucket)
                    held_keys = held.keys
                    continue
                held, back = settled
                held_keys = held.keys
                choice = Exhausted(earliest(choice.retry_at, back), choice.busy)
            if isinstance(choice, Pick):
                index = choice.index
            elif on_recent:
                continue  # no key on a view that may be behind: the current statuses decide whether to wait
            elif transient and second_chance and now + self.transient_retry_delay < deadline:
                # A provider-wide blip fails every key once; one of them gets a second chance.
                second_chance = False
                index = transient[0]
                delay = self.transient_retry_delay
                if self.transient_retry_jitter:
                    delay = min(delay + (self.rng or random).uniform(0.0, self.transient_retry_jitter), deadline - now)
                await self.clock.sleep(delay)
                now = self.clock.now()
            elif choice.retry_at is not None and choice.retry_at < deadline:
                if choice.busy:
                    # A local release wakes this at once; one on another instance is seen by polling.
                    await pool.wait_freed_or(min(deadline - now, _BUSY_POLL))
                else:
                    await self.clock.sleep(choice.retry_at - now)
                continue
            else:
                break
            key_id = pool.key_ids[index]
            status = statuses[index]
            limit_here = cap(pool.policy.max_concurrent, pool.priorities[index], pool.policy.multipliers)
            used = decayed_usage(status.usage, status.last_used, now) + 1
            # A second chance goes to a key cooling after its transient failure: only a chosen key is checked.
            checked = bucket if isinstance(choice, Pick) else None
            if not await self.state.acquire(pool.name, key_id, used, now, limit_here, model=checked):
                # Another request (maybe on another instance) took the last slot since the statuses were read,
                # or the key began cooling.
                recent = True
                await pool.wait_freed_or(max(0.0, min(0.05, deadline - now)))
                continue
            attempts += 1
            tried.add(key_id)
            if pool.caps is not None:
                self.holds.started(pool, index, call.model, bucket, now)
            if sequential and sticky != key_id and call.key_id is None:
                await self.state.set_sticky(pool.name, bucket, key_id)
            started = time.perf_counter()
            try:
                opened = await self._attempt(pool, index, call, bucket, attempts, status, may_bench=not benched)
            except UpstreamError as error:
                spent += time.perf_counter() - started
                if error.error_class is ErrorClass.CLIENT_ERROR:
                    error.tried = (pool.name, pool.masks[index], attempts)
                    raise
                if error.error_class is ErrorClass.TRANSIENT:
                    transient.append(index)
                benched = benched or self.cooldowns.benches(error)
                last_error = error
                continue
            opened.upstream_seconds += spent
            if conversation is not None and key_id != preferred:
                # A new conversation, or one whose key could not serve it: it stays where it was answered.
                await self.state.set_affinity(pool.name, conversation, key_id, self.clock.now() + self.affinity_seconds)
            return opened
        if isinstance(last_error, UpstreamModelRefused):
            # Every key that was asked said the model is not theirs: that is the client's answer.
            refused = last_error.as_client_error()
            refused.tried = (pool.name, "-", attempts)
            raise refused
        raise await self._give_up(pool, bucket, last_error, attempts, held=held_keys, held_until=held.until)

    async def _attempt(
        self, pool: Pool, index: int, call: Call, bucket: str, attempt: int, status: KeyStatus, *, may_bench: bool
    ) -> Opened:
        """One request on a key already acquired; the key is released when the answer is settled. With
        `may_bench` False (a key was benched already in this request) a refused key is not benched: one
        request, whatever it carries, takes at most one key out of rotation."""
        key_id = pool.key_ids[index]
        timeouts = request_timeouts(self.timeouts, stream=call.stream)
        started = time.perf_counter()
        response: UpstreamResponse | None = None
        try:
            # Inside the try: a request the adapter cannot translate, or an account that cannot be made ready,
            # must still give its slot back.
            generation = await pool.ready(index) if pool.accounts else None
            response = await self.transport.send(_request(pool, index, call), timeouts)
            if response.status == 401 and generation is not None and await pool.renew(index, generation):
                # An account's token can be revoked before it expires: one refresh, and the request again.
                response.close()
                response = await self.transport.send(_request(pool, index, call), timeouts)
            await self._observe(pool, key_id, bucket, response.headers)
            limit = self.limits.body_bytes
            if response.status >= 400:
                body = scrub(await response.read(limit), pool.hidden)
                raise pool.adapter.classify(response.status, response.headers, body, self.clock.now())
            if response.status >= 300:
                # Redirects are not followed (a key must not follow a Location elsewhere): the answer is not one.
                raise InvalidUpstreamResponse(f"upstream answered HTTP {response.status}, a redirect")
            if call.stream and _is_event_stream(response.headers):
                # The meter reads usage from the relayed chunks, and takes what a translator keeps from the client.
                meter = UsageMeter()
                events = capped_events(response.iter_chunks(self.keepalive), self.limits.event_bytes)
                chunks = pool.adapter.read_stream(call, events, meter.record)
                if call.reply is not None:
                    chunks = translated(chunks, call.reply.stream())
                first = await (_first_answer(chunks, limit) if self.hold_reasoning else _first_chunk(chunks))
                opened = Opened(
                    response.status, response.headers, first_chunk=first, response=response, chunks=chunks, meter=meter
                )
            else:
                body = pool.adapter.read_body(call, await response.read(limit))
                if call.reply is not None:
                    body = call.reply.body(body)
                opened = Opened(response.status, response.headers, body=body)
        except BaseException as exc:
            if response is not None:
                response.close()
            await self.state.release(pool.name, key_id)
            pool.notify_freed()
            if not isinstance(exc, UpstreamError):
                raise
            failure = exc
            if isinstance(exc, UpstreamForbidden):
                failure = judge_forbidden(exc, await key_works(self.transport, pool, index, self.limits.body_bytes))
            await self._failed(pool, index, call, bucket, attempt, failure, started, status.failures, may_bench)
            if failure is exc:
                raise
            raise failure from exc
        first_byte = time.perf_counter() - started
        opened.provider, opened.key_mask, opened.attempts = pool.name, pool.masks[index], attempt
        opened.key_id = key_id
        opened.endpoint = call.endpoint
        opened.upstream_seconds = first_byte
        # A key with nothing to clear needs no success written: one store round trip less per request.
        clean = status.failures == 0 and status.cooldown_until == 0 and status.benched_until == 0
        opened._settle = functools.partial(self._settle, pool, index, call, bucket, attempt, started, first_byte, clean)
        if not opened.streaming:
            await opened.finish()
        return opened

    async def _observe(self, pool: Pool, key_id: str, bucket: str, headers: Mapping[str, str]) -> None:
        headroom = parse_headroom(headers, self.clock.now())
        if headroom is not None:
            await self.state.observe_headroom(pool.name, key_id, bucket, headroom.fraction, headroom.reset_at)

    async def _settle(
        self, pool: Pool, index: int, call: Call, bucket: str, attempt: int, started: float, first_byte: float,
        clean: bool, error: UpstreamError | None, record: bool, tokens: Tokens | None, answer_bytes: int,
    ) -> Tokens | None:  # fmt: skip
        """The answer has been relayed (or abandoned): free the key, report the attempt with what it cost
        (returned: as reported, else estimated; None for a failure)."""
        key_id = pool.key_ids[index]
        await self.state.release(pool.name, key_id)
        pool.notify_freed()
        if error is not None and record:
            status = (await self.state.statuses(pool.name, (key_id,), bucket))[0]
            await self._failed(pool, index, call, bucket, attempt, error, started, status.failures)
            return None
        # A client that left still cost tokens; the key, though, did nothing wrong. Reading or deleting what
        # the upstream keeps costs none, though the answer may repeat the usage of what it keeps.
        used = (tokens or estimate(len(call.body), answer_bytes)) if call.method == "POST" else _NO_TOKENS
        self._emit(pool, index, call, attempt, 200, None, "ok", started, first_byte, used)
        if record and not clean:
            await self.state.record(pool.name, key_id, bucket, SUCCESS)
        return used

    async def _failed(
        self, pool: Pool, index: int, call: Call, bucket: str, attempt: int, error: UpstreamError,
        started: float, failures: int, may_bench: bool = True,
    ) -> None:  # fmt: skip
        status = getattr(error, "upstream_status", None)
        self._emit(pool, index, call, attempt, status, error.error_class, error.message, started)
        now = self.clock.now()
        verdict = self.cooldowns.verdict(error, failures, now)
        if verdict is not None and (may_bench or verdict.kind != "key"):
            await self.state.record(pool.name, pool.key_ids[index], bucket, verdict)
            if pool.fair is not None:
                await self.holds.failed(pool, pool.key_ids[index], bucket, verdict, now)

    def _emit(
        self, pool: Pool, index: int, call: Call, attempt: int, status: int | None,
        outcome: ErrorClass | None, message: str, started: float,
        first_byte: float | None = None, tokens: Tokens | None = None,
    ) -> None:  # fmt: skip
        event = AttemptEvent(
            pool.name, call.model, pool.masks[index], attempt, status, outcome, message,
            time.perf_counter() - started, pool.key_ids[index], self.clock.now(), first_byte, tokens,
        )  # fmt: skip
        self.events.emit(event)

    async def _give_up(
        self, pool: Pool, bucket: str, last_error: UpstreamError | None, attempts: int, *,
        out_of_time: bool = False, held: frozenset[str] = frozenset(), held_until: float | None = None,
    ) -> GatewayError:  # fmt: skip
        """No attempt succeeded, and none is in flight: the failure the client gets (engine/verdict.py), which
        names the provider and the `attempts` made, no one key."""
        statuses = await self.state.statuses(pool.name, pool.key_ids, bucket)
        failure = gave_up(
            pool, statuses, self.clock.now(), last_error, self.timeouts.total,
            out_of_time=out_of_time, held=held, held_until=held_until,
        )  # fmt: skip
        failure.tried = (pool.name, "-", attempts)
        return failure


_NO_TOKENS = Tokens()
_NONE: frozenset[str] = frozenset()
_BUSY_POLL = 0.25


def _request(pool: Pool, index: int, call: Call) -> UpstreamRequest:
    return pool.routed(pool.adapter.request(call, pool.secrets[index]), index)


def _is_event_stream(headers: Mapping[str, str]) -> bool:
    return headers.get("content-type", "").startswith("text/event-stream")


async def _first_chunk(chunks: AsyncIterator[bytes]) -> bytes:
    async for chunk in chunks:
        if chunk:
            return chunk
    raise InvalidUpstreamResponse("upstream ended the stream before sending anything")


async def _first_answer(chunks: AsyncIterator[bytes], limit: int) -> bytes:
    """The stream up to its answer's first event, reasoning held back so far: until then nothing has reached
    the client, so a stream that breaks (or ends, which a stream that had ended properly never does here) is
    a failed attempt and the request moves to the next key. Past `limit` bytes the held part is let go."""
    opening = Opening()
    held = bytearray()
    async for chunk in chunks:
        if not chunk:
            continue
        held += chunk
        if opening.feed(chunk) or len(held) > limit:
            return bytes(held)
    before = "its answer began" if held else "sending anything"
    raise InvalidUpstreamResponse(f"upstream ended the stream before {before}")
