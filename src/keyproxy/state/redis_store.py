"""Key state shared by every instance through Redis, served from the instance's own store when Redis is down."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError

from keyproxy.clock import Clock, SystemClock
from keyproxy.errors import ErrorClass
from keyproxy.events import AttemptEvent
from keyproxy.state import redis_scripts
from keyproxy.state import redis_wire as wire
from keyproxy.state.base import CycleMarks, KeyReport, KeyStatus, StateStore, Verdict
from keyproxy.state.fingerprints import Rekey
from keyproxy.state.periodic import Periodic
from keyproxy.state.redis_admin import shared_clear, shared_report
from keyproxy.state.redis_fair_cycle import Marked, SharedCycles, Unmarked
from keyproxy.state.redis_health import DOWN, OUTAGE, Health
from keyproxy.state.redis_keys import RedisKeys
from keyproxy.state.redis_link import Address, Link
from keyproxy.state.redis_outbox import Outbox
from keyproxy.state.redis_rekey import rekey
from keyproxy.state.redis_responses import SharedResponses
from keyproxy.state.redis_usage import RedisUsage
from keyproxy.state.redis_views import View, Views
from keyproxy.usage.book import Price, UsageRows

logger = logging.getLogger("keyproxy.state")

_AFFINITY_RECHECK = 60.0
"""Seconds a conversation's key learned from Redis is trusted here before Redis is asked again."""

_NO_SLOT = (0, b"")


class RedisStore:
    """A StateStore over another one, `local`. Every change goes to `local` and to Redis; reads come from
    Redis, with decayed usage from `local`. While Redis cannot be reached (see Health) everything is
    served by `local` until the background task finds Redis again. `start` and `stop` start and stop
    `local` too. Events are counted by both: Redis holds the sums of every instance, `local` this
    instance's history.

    A request costs one round trip: the SHARE script gives back this instance's finished slots, takes one
    and (when refused, or every REFRESH) answers the pool's statuses, which the next requests choose on
    (see redis_views). Releases, successes, headroom and conversations' keys wait in an outbox, sent
    together a few milliseconds later unless a request's script carries the releases first."""

    def __init__(
        self,
        url: str,
        local: StateStore,
        *,
        interval: float,
        retention_days: int,
        prefix: str = "keyproxy:",
        price: Price | None = None,
        timeout: float = 0.5,
        slot_ttl: float = 600.0,
        failure_ttl: float = 86400.0,
        sticky_ttl: float = 30 * 86400.0,
        response_ttl: float = 30 * 86400.0,
        rekey: Rekey | None = None,
        batch_delay: float = 0.005,
    ) -> None:
        """`batch_delay`: seconds a release or success waits in the outbox for more to send with it (or for
        a request's script to carry the release): enough to gather a loaded instance's writes, and short
        next to any request's hold on its slot."""
        # No retries: a request never waits more than one timeout on Redis, then local answers.
        self._redis = Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0),
            decode_responses=True,
        )  # fmt: skip
        self._local = local
        self._keys = RedisKeys(prefix)
        self._usage = RedisUsage(self._redis, self._keys, price, retention_days)
        self._slot_ms, self._failure_ms = int(slot_ttl * 1000), int(failure_ttl * 1000)
        self._sticky_seconds = int(sticky_ttl)
        self._share = self._redis.register_script(redis_scripts.SHARE)
        self._calls = redis_scripts.ShareCalls(self._share.sha, self._slot_ms)
        self._link = Link(Address.of(self._redis.connection_pool))
        self._record = self._redis.register_script(redis_scripts.RECORD)
        self._clear = self._redis.register_script(redis_scripts.CLEAR)
        self._clock: Clock = SystemClock()
        self._health = Health()
        self._held: dict[tuple[str, str], int] = {}
        """Slots this instance holds in Redis, so a slot taken locally in an outage is never released there."""
        self._seen: set[tuple[str, str]] = set()
        """Keys that ever failed here: whose cooldowns and benches go back to Redis after an outage."""
        self._flushes = Periodic(self.flush, interval, "keyproxy-redis-flush")
        self._moves = rekey or Rekey()
        """Where the configured keys' state under their unkeyed ids moves: done at start, or once Redis is back."""
        self._rekeyed = False
        self._views = Views(self._keys)
        self._counters: dict[tuple[str, str], bytes] = {}
        """Each key's in-flight counter, packed as a release names it."""
        self._outbox = Outbox(self._link, self._health, self._share.sha, self._slot_ms, batch_delay)
        self._cycles = SharedCycles(self._redis, self._keys)
        self._responses = SharedResponses(self._redis, self._keys, self._health, local, response_ttl)

    @property
    def healthy(self) -> bool:
        """False while Redis cannot be reached and `local` answers alone."""
        return self._health.up

    async def start(self, clock: Clock) -> None:
        self._clock = clock
        await self._local.start(clock)
        await self._health.attempt(self._prepare)
        await self._health.attempt(self._rekey)
        self._flushes.start(clock)

    async def stop(self) -> None:
        await self._flushes.stop()
        await self._outbox.close()
        await self.flush()
        await self._link.close()
        await self._redis.aclose()
        await self._local.stop()

    async def flush(self) -> None:
        """Send the outbox and add pending usage to Redis; while Redis is down, try to reach it instead."""
        if await self.probe():
            await self._outbox.send()
            await self._health.attempt(lambda: self._usage.flush(self._clock.now()))
            await self._health.attempt(self._cycles.refresh)

    async def probe(self) -> bool:
        """Whether Redis answers; after an outage, restore the cooldowns and benches set meanwhile first."""
        return await self._health.recover(self._reconcile)

    def emit(self, event: AttemptEvent) -> None:
        """Counted in memory, added to Redis by the next flush; and by `local`, for this instance's history."""
        self._usage.emit(event)
        self._local.emit(event)

    async def usage(
        self, provider: str | None = None, model: str | None = None, since: str | None = None, until: str | None = None
    ) -> UsageRows:
        """Sums over every instance from Redis; while Redis is down, this instance's own history."""
        rows = await self._health.attempt(lambda: self._usage.query(provider, model, since, until))
        return await self._local.usage(provider, model, since, until) if rows is DOWN else rows

    async def _prepare(self) -> None:
        """Reach Redis and load the scripts the outbox sends by hash (a pipeline would ask for them each time)."""
        await self._redis.script_load(redis_scripts.SHARE)
        await self._redis.script_load(redis_scripts.RECORD)

    async def _reconcile(self) -> None:
        """Reach Redis, then push this instance's cooldowns and benches still running; never shortens one there."""
        await self._link.close()
        await self._prepare()
        if not self._rekeyed:
            await self._rekey()
        now = self._clock.now()
        async with self._redis.pipeline(transaction=False) as pipe:
            for provider, key_id in sorted(self._seen):
                (report,) = await self._local.report(provider, [key_id], now)
                for cooldown in report.cooldowns:
                    await self._write(provider, key_id, cooldown.model, "model", cooldown.until, cooldown.reason,
                                      push=True, client=pipe)  # fmt: skip
                if report.bench_reason is not None:
                    await self._write(provider, key_id, "", "key", report.benched_until, report.bench_reason,
                                      push=True, client=pipe)  # fmt: skip
            await pipe.execute()
        await self._responses.replay(now)
        await self._cycles.replay()

    async def _rekey(self) -> None:
        moved = await rekey(self._redis, self._keys, self._moves)
        if moved:
            logger.info("Redis state store: %d entries moved to keyed key ids", moved)
        self._rekeyed = True

    async def _write(
        self, provider: str, key_id: str, model: str, kind: str, until: float, reason: ErrorClass | None,
        *, push: bool = False, client: Redis | None = None,
    ) -> None:  # fmt: skip
        keys, args = self._record_args(provider, key_id, model, kind, until, reason, push)
        await self._record(keys=keys, args=args, client=client)

    def _record_args(
        self, provider: str, key_id: str, model: str, kind: str, until: float, reason: ErrorClass | None, push: bool
    ) -> tuple[list[str], list[str | int]]:
        keys = self._keys
        ttl = math.ceil((until - self._clock.now()) * 1000)
        return (
            [keys.cooldown(provider, key_id, model), keys.failures(provider, key_id), keys.bench(provider, key_id),
             keys.cooled_models(provider, key_id), keys.held_keys(provider)],
            [model, kind, repr(until), reason.value if reason else "", ttl, self._failure_ms, key_id, int(push)],
        )  # fmt: skip

    async def _shared(
        self, view: View | None, model: str, take: tuple[int, bytes] = _NO_SLOT, cap: int | None = None,
        now: float = 0.0, *, read: bool = True,
    ) -> tuple[bool, View | None]:  # fmt: skip
        """One SHARE script: give back this instance's finished slots, take one (`take`: how many names and
        them packed: the key's in-flight counter, with its cooldown and bench refused while either runs),
        read the pool of `view` into it (when no slot is asked for, the slot is refused, or `read`). Whether
        the slot was taken, and the view if it was read. Without a view (an acquire whose view is not due a
        read) a refused slot brings nothing back: the caller forgets its view."""
        released, counts = self._outbox.take_releases()
        pool, n = (b"", 0) if view is None else (view.packed, len(view.key_ids))
        call = self._calls.pack(take, pool, n, released, counts, cap, model, now, read)
        try:
            reply = await self._link.call(call)
        except NoScriptError:
            # Redis lost its scripts (a restart, SCRIPT FLUSH) and answered at once: load them and ask again.
            await self._prepare()
            reply = await self._link.call(call)
        assert isinstance(reply, bytes)
        fields = reply.split(b",")
        if view is None or len(fields) == 1:
            return fields[0] == b"1", None
        view.update(fields[1:])
        return fields[0] == b"1", view

    # The StateStore protocol: local first, so it always holds recent state for an outage; then Redis,
    # each call through Health, which answers DOWN at once while Redis is unreachable.

    async def statuses(
        self, provider: str, key_ids: Sequence[str], model: str, *, recent: bool = False
    ) -> list[KeyStatus]:
        # While Redis is down, the views stop at what it last said: local answers alone.
        view = self._views.recent(provider, key_ids, model, self._clock.now()) if recent and self._health.up else None
        if view is not None:
            return view.statuses(await self._local.statuses(provider, key_ids, model))
        # What this instance wrote shows in what it reads: queued, or on its way in a batch.
        await self._outbox.send()
        # Only a request's look at its pool replaces the bucket's view; a read of one key (after a failed
        # answer) does not.
        view = self._views.of(provider, key_ids, model, replace=recent)
        read = await self._health.attempt(lambda: self._shared(view, model))
        mine = await self._local.statuses(provider, key_ids, model)
        if read is DOWN or read[1] is None:
            return mine
        read[1].mark(mine, self._clock.now())
        return read[1].statuses(mine)

    async def record(self, provider: str, key_id: str, model: str, verdict: Verdict) -> None:
        await self._local.record(provider, key_id, model, verdict)
        keys, args = self._record_args(
            provider, key_id, model, "ok" if verdict.reason is None else verdict.kind, verdict.until, verdict.reason,
            False,
        )  # fmt: skip
        self._outbox.write("EVALSHA", self._record.sha, len(keys), *keys, *args)
        if verdict.reason is not None:
            self._seen.add((provider, key_id))
            # Other instances must stop using the key now; and in order after any success still queued.
            await self._outbox.send()

    async def acquire(
        self, provider: str, key_id: str, usage: float, now: float, cap: int | None = None, *, model: str | None = None
    ) -> bool:
        keys, view = self._keys, None if model is None else self._views.known(provider, model)
        slot = None if view is None else view.slots.get(key_id)
        read = False
        if view is not None and slot is not None:
            take = (3, slot)
            # The pool's statuses come back, as the view the next request chooses on, once per REFRESH: the
            # pool's names cost Redis more than the rest of the call.
            read = view.due(self._clock.now())
        elif model is not None:
            names = (keys.in_flight(provider, key_id), keys.cooldown(provider, key_id, model),
                     keys.bench(provider, key_id))  # fmt: skip
            take, view = (3, wire.bulk(*(name.encode() for name in names))), None
        else:
            take = (1, wire.bulk(keys.in_flight(provider, key_id).encode()))
        bucket = model or ""
        if not self._health.up:
            return await self._local.acquire(provider, key_id, usage, now, cap)
        try:
            taken, fresh = await self._shared(view if read else None, bucket, take, cap, now, read=read)
        except OUTAGE as error:
            self._health.lost(error)
            return await self._local.acquire(provider, key_id, usage, now, cap)
        if taken:
            self._held[(provider, key_id)] = self._held.get((provider, key_id), 0) + 1
            # Redis enforced the cap; local counts this instance's requests for an outage.
            await self._local.acquire(provider, key_id, usage, now)
        if fresh is not None:
            fresh.mark(await self._local.statuses(provider, fresh.key_ids, bucket), self._clock.now())
        elif not taken and view is not None:
            view.forget()  # refused on a view that is behind: the router's next look reads the pool
        return taken

    async def release(self, provider: str, key_id: str) -> None:
        await self._local.release(provider, key_id)
        held = self._held.get((provider, key_id), 0)
        if not held:
            return
        self._held[(provider, key_id)] = held - 1
        counter = self._counters.get((provider, key_id))
        if counter is None:
            counter = self._counters[(provider, key_id)] = wire.bulk(self._keys.in_flight(provider, key_id).encode())
        # Carried by the next script this instance runs, or by the outbox, whichever is first.
        self._outbox.release(counter)

    async def observe_headroom(
        self, provider: str, key_id: str, model: str, fraction: float | None, reset_at: float
    ) -> None:
        await self._local.observe_headroom(provider, key_id, model, fraction, reset_at)
        name = self._keys.headroom(provider, key_id, model)
        # At least a second, so an answer without a reset time still shows to the next selection.
        ttl = max(math.ceil((reset_at - self._clock.now()) * 1000), 1000)
        shown = "" if fraction is None else repr(fraction)
        self._outbox.write("HSET", name, "fraction", shown, "reset", repr(reset_at))
        self._outbox.write("PEXPIRE", name, ttl)

    async def sticky(self, provider: str, model: str) -> str | None:
        found = await self._health.attempt(lambda: self._redis.get(self._keys.sticky(provider, model)))
        if found is DOWN:
            return await self._local.sticky(provider, model)
        return None if found is None else str(found)

    async def set_sticky(self, provider: str, model: str, key_id: str) -> None:
        await self._local.set_sticky(provider, model, key_id)
        name = self._keys.sticky(provider, model)
        await self._health.attempt(lambda: self._redis.set(name, key_id, ex=self._sticky_seconds))

    async def affinity(self, provider: str, conversation: str, now: float) -> str | None:
        # This instance's memory first, so a conversation that stays here costs no round trip; one new here
        # (or not asked about for a minute) asks Redis, so instances agree where it went.
        known = await self._local.affinity(provider, conversation, now)
        if known is not None:
            return known
        name = self._keys.affinity(provider, conversation)
        found = await self._health.attempt(lambda: self._redis.get(name))
        if found is DOWN or found is None:
            return None
        await self._local.set_affinity(provider, conversation, str(found), now + _AFFINITY_RECHECK)
        return str(found)

    async def set_affinity(self, provider: str, conversation: str, key_id: str, until: float) -> None:
        await self._local.set_affinity(provider, conversation, key_id, until)
        name = self._keys.affinity(provider, conversation)
        seconds = max(1, int(until - self._clock.now()))
        # This instance asks its local store first, so the outbox's few milliseconds only matter elsewhere.
        self._outbox.write("SET", name, key_id, "EX", seconds)

    async def report(self, provider: str, key_ids: Sequence[str], now: float) -> list[KeyReport]:
        mine = await self._local.report(provider, key_ids, now)
        shared = await self._health.attempt(lambda: shared_report(self._redis, self._keys, provider, mine, now))
        return mine if shared is DOWN else shared

    async def cycle(self, provider: str, tracking: str) -> CycleMarks:
        # The view the flush loop keeps fresh; only the first look at a cycle asks Redis.
        if self._health.up:
            known = self._cycles.known(provider, tracking)
            if known is not None:
                return known
            read = await self._health.attempt(lambda: self._cycles.read(provider, tracking))
            if read is not DOWN:
                return read
        return await self._local.cycle(provider, tracking)

    async def cycles(self, provider: str) -> dict[str, CycleMarks]:
        shared = await self._health.attempt(lambda: self._cycles.every(provider))
        return await self._local.cycles(provider) if shared is DOWN else shared

    async def exhaust(self, provider: str, tracking: str, key_id: str, now: float, duration: float) -> None:
        await self._local.exhaust(provider, tracking, key_id, now, duration)
        if await self._health.attempt(lambda: self._cycles.exhaust(provider, tracking, key_id, now, duration)) is DOWN:
            self._cycles.unshared(Marked(provider, tracking, key_id, now, duration))

    async def reset_cycle(self, provider: str, tracking: str, key_ids: Sequence[str], now: float) -> None:
        await self._local.reset_cycle(provider, tracking, key_ids, now)
        if await self._health.attempt(lambda: self._cycles.reset(provider, tracking, key_ids)) is DOWN:
            self._cycles.unshared(Unmarked(provider, tracking, tuple(key_ids)))

    async def clear(self, provider: str, key_id: str | None = None) -> int:
        lifted = await self._local.clear(provider, key_id)
        await self._health.attempt(lambda: self._cycles.clear(provider, key_id))
        shared = await self._health.attempt(
            lambda: shared_clear(self._redis, self._keys, self._clear, provider, key_id)
        )
        return lifted if shared is DOWN else shared

    async def put_response(self, response_id: str, record: bytes, now: float, expires_at: float) -> None:
        await self._responses.put(response_id, record, now, expires_at)

    async def get_response(self, response_id: str, now: float) -> bytes | None:
        return await self._responses.get(response_id, now)

    async def delete_response(self, response_id: str, now: float) -> bool:
        return await self._responses.delete(response_id, now)
