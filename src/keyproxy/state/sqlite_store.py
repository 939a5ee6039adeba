"""Key state served from memory and written to SQLite in batches, on one thread, off the event loop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TypeVar

from keyproxy.clock import Clock
from keyproxy.events import AttemptEvent
from keyproxy.state.base import CycleMarks, KeyReport, KeyStatus, Verdict
from keyproxy.state.fingerprints import Rekey
from keyproxy.state.memory import MemoryStore
from keyproxy.state.periodic import Periodic
from keyproxy.state.sqlite_journal import (
    BenchCleared,
    BenchSet,
    CooldownCleared,
    CooldownSet,
    CycleSet,
    Journal,
    Lifted,
    StickySet,
)
from keyproxy.state.sqlite_responses import UnwrittenResponses
from keyproxy.state.sqlite_writer import Batch, SqliteWriter
from keyproxy.usage.book import UsageBook, UsageRows, merge, select

logger = logging.getLogger("keyproxy.state")

T = TypeVar("T")

_DAY = 86400.0


class SqliteStore:
    """The StateStore of a single instance. Reads and updates go to an inner MemoryStore, so a request
    never waits for the disk; state changes are journaled and written with the usage book at every
    flush. `start` must run before use and `stop` before exit."""

    def __init__(
        self,
        path: Path,
        usage: UsageBook,
        *,
        interval: float,
        retention_days: int,
        grace_seconds: float,
        configured: AbstractSet[tuple[str, str]] = frozenset(),
        rekey: Rekey | None = None,
        opener: Callable[[Path], SqliteWriter] = SqliteWriter.open,
    ) -> None:
        self.path = path
        self._book = usage
        self._retention_days = retention_days
        self._grace_seconds = grace_seconds
        self._configured = frozenset(configured)
        self._rekey = rekey or Rekey()
        """Where the configured keys' state under their unkeyed ids moves (state/fingerprints.py)."""
        self._opener = opener
        # Key state is answered from memory; the book is the one this store flushes.
        self._memory = MemoryStore(usage)
        self._journal = Journal()
        self._responses = UnwrittenResponses(self._journal)
        # One worker: the connection belongs to its thread, and batches are written in drain order.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="keyproxy-sqlite")
        self._writer: SqliteWriter | None = None
        self._clock: Clock | None = None
        self._flushes = Periodic(self._flush_and_prune, interval, "keyproxy-sqlite-flush")
        self._lock = asyncio.Lock()
        self._failing = False
        self._next_prune = 0.0

    @property
    def persistent(self) -> bool:
        """False when the database could not be opened and state lives in memory only."""
        return self._writer is not None

    async def start(self, clock: Clock) -> None:
        self._clock = clock
        try:
            writer = await self._call(partial(self._opener, self.path))
        except Exception as error:
            logger.error(
                "state database %s cannot be used (%s); keeping key state and usage in memory only, "
                "they will be lost on restart", self.path, error,
            )  # fmt: skip
        else:
            try:
                moved = await self._call(partial(writer.rekey, self._rekey))
                if moved:
                    logger.info("state database %s: %d rows moved to keyed key ids", self.path, moved)
                loaded = await self._call(partial(writer.load, clock.now()))
            except Exception as error:
                await self._call(writer.close)
                logger.error("cannot read state from %s (%s); keeping state in memory only", self.path, error)
            else:
                self._writer = writer
                for cooldown in loaded.cooldowns:
                    self._memory.put_cooldown(
                        cooldown.provider, cooldown.key_id, cooldown.model, cooldown.until, cooldown.reason,
                        cooldown.failures,
                    )  # fmt: skip
                for bench in loaded.benches:
                    self._memory.put_bench(bench.provider, bench.key_id, bench.until, bench.reason)
                for sticky in loaded.sticky:
                    await self._memory.set_sticky(sticky.provider, sticky.model, sticky.key_id)
                for cycle in loaded.cycles:
                    marks = CycleMarks(cycle.start, dict(cycle.exhausted))
                    self._memory.put_cycle(cycle.provider, cycle.tracking, marks)
                await self._prune()
        self._flushes.start(clock)

    async def stop(self) -> None:
        await self._flushes.stop()
        await self.flush()
        writer = self._writer
        if writer is not None:
            if self._book.pending_rows() or self._journal:
                logger.error(
                    "state database %s: %d usage rows and %d state changes could not be written and are lost",
                    self.path, self._book.pending_rows(), len(self._journal),
                )  # fmt: skip
            await self._prune()
            self._writer = None
            await self._call(writer.close)
        self._executor.shutdown(wait=True)

    async def flush(self) -> None:
        """Write pending usage and state changes in one transaction; on failure keep them for the next try."""
        async with self._lock:
            writer = self._writer
            if writer is None:
                # Memory only: state changes have nowhere to go; usage stays pending so queries still see it.
                self._journal.drain()
                return
            if not self._book.pending_rows() and not self._journal:
                return
            batch = Batch(self._book.drain(), self._journal.drain())
            try:
                await self._call(partial(writer.apply, batch))
            except Exception as error:
                self._book.restore(batch.usage)
                self._journal.restore(batch.changes)
                if not self._failing:
                    self._failing = True
                    logger.error("cannot write to state database %s (%s); keeping changes to retry", self.path, error)
                return
            self._responses.written(batch.changes)
            if self._failing:
                self._failing = False
                logger.info("writing to state database %s again", self.path)

    def emit(self, event: AttemptEvent) -> None:
        self._book.emit(event)

    async def usage(
        self, provider: str | None = None, model: str | None = None, since: str | None = None, until: str | None = None
    ) -> UsageRows:
        """Stored rows plus what is not flushed yet; `since` and `until` are UTC days, both inclusive."""
        # The snapshot and the read are queued in the same step: a batch drained before this point is
        # written before the read runs on the one writer thread, so nothing is missed or counted twice.
        pending = select(self._book.pending().items(), provider, model, since, until)
        writer = self._writer
        if writer is None:
            return merge(pending)
        return merge(await self._call(partial(writer.usage, provider, model, since, until)), pending)

    async def _flush_and_prune(self) -> None:
        await self.flush()
        if self._clock is not None and self._clock.now() >= self._next_prune:
            await self._prune()

    async def _prune(self) -> None:
        writer, clock = self._writer, self._clock
        if writer is None or clock is None:
            return
        now = clock.now()
        self._next_prune = now + _DAY
        prune = partial(writer.prune, now, self._retention_days, self._configured, self._grace_seconds)
        try:
            pruned = await self._call(prune)
        except Exception as error:
            logger.error("cannot prune state database %s: %s", self.path, error)
            return
        if pruned:
            logger.info("pruned %d old rows from state database %s", pruned, self.path)

    def _touch(self, provider: str, key_id: str) -> None:
        # Pruning forgets keys not seen for a while; a key whose state just changed was seen now.
        if self._clock is not None:
            self._journal.touch(provider, key_id, self._clock.now())

    async def _call(self, function: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, function)

    # The StateStore protocol: memory answers; changes worth keeping are journaled.

    async def statuses(
        self, provider: str, key_ids: Sequence[str], model: str, *, recent: bool = False
    ) -> list[KeyStatus]:
        return await self._memory.statuses(provider, key_ids, model)

    async def record(self, provider: str, key_id: str, model: str, verdict: Verdict) -> None:
        memory = self._memory
        cooldown, bench = memory.cooldown_of(provider, key_id, model), memory.bench_of(provider, key_id)
        await memory.record(provider, key_id, model, verdict)
        journal, changes = self._journal, len(self._journal)
        until, reason, failures = after = memory.cooldown_of(provider, key_id, model)
        if after != cooldown:
            if until and reason is not None:
                journal.add(CooldownSet(provider, key_id, model, until, reason, failures))
            elif cooldown[0]:
                journal.add(CooldownCleared(provider, key_id, model))
        benched_until, bench_reason = memory.bench_of(provider, key_id)
        if (benched_until, bench_reason) != bench:
            if benched_until and bench_reason is not None:
                journal.add(BenchSet(provider, key_id, benched_until, bench_reason))
            elif bench[0]:
                journal.add(BenchCleared(provider, key_id))
        if len(journal) != changes:
            self._touch(provider, key_id)

    async def acquire(
        self, provider: str, key_id: str, usage: float, now: float, cap: int | None = None, *, model: str | None = None
    ) -> bool:
        if not await self._memory.acquire(provider, key_id, usage, now, cap):
            return False
        self._journal.touch(provider, key_id, now)
        return True

    async def release(self, provider: str, key_id: str) -> None:
        await self._memory.release(provider, key_id)

    async def observe_headroom(
        self, provider: str, key_id: str, model: str, fraction: float | None, reset_at: float
    ) -> None:
        # Every answer reports headroom afresh, so the first one after a restart restores it.
        await self._memory.observe_headroom(provider, key_id, model, fraction, reset_at)

    async def affinity(self, provider: str, conversation: str, now: float) -> str | None:
        return await self._memory.affinity(provider, conversation, now)

    async def set_affinity(self, provider: str, conversation: str, key_id: str, until: float) -> None:
        # Memory only: a conversation's key is worth a prompt cache, not a disk write; a restart re-spreads.
        await self._memory.set_affinity(provider, conversation, key_id, until)

    async def sticky(self, provider: str, model: str) -> str | None:
        return await self._memory.sticky(provider, model)

    async def set_sticky(self, provider: str, model: str, key_id: str) -> None:
        if await self._memory.sticky(provider, model) != key_id:
            self._journal.add(StickySet(provider, model, key_id))
            self._touch(provider, key_id)
            await self._memory.set_sticky(provider, model, key_id)

    async def report(self, provider: str, key_ids: Sequence[str], now: float) -> list[KeyReport]:
        return await self._memory.report(provider, key_ids, now)

    async def cycle(self, provider: str, tracking: str) -> CycleMarks:
        return await self._memory.cycle(provider, tracking)

    async def cycles(self, provider: str) -> dict[str, CycleMarks]:
        return await self._memory.cycles(provider)

    async def exhaust(self, provider: str, tracking: str, key_id: str, now: float, duration: float) -> None:
        await self._memory.exhaust(provider, tracking, key_id, now, duration)
        await self._journal_cycle(provider, tracking)
        self._touch(provider, key_id)

    async def reset_cycle(self, provider: str, tracking: str, key_ids: Sequence[str], now: float) -> None:
        await self._memory.reset_cycle(provider, tracking, key_ids, now)
        await self._journal_cycle(provider, tracking)

    async def _journal_cycle(self, provider: str, tracking: str) -> None:
        marks = await self._memory.cycle(provider, tracking)
        self._journal.add(CycleSet(provider, tracking, marks.start, tuple(marks.exhausted.items())))

    async def clear(self, provider: str, key_id: str | None = None) -> int:
        self._journal.add(Lifted(provider, key_id))
        return await self._memory.clear(provider, key_id)

    # Stored responses: the latest change answers until it is written, then the file on the writer thread.
    # Memory-only, the inner MemoryStore keeps them.

    async def put_response(self, response_id: str, record: bytes, now: float, expires_at: float) -> None:
        if self._writer is None:
            await self._memory.put_response(response_id, record, now, expires_at)
        else:
            self._responses.put(response_id, record, expires_at)

    async def get_response(self, response_id: str, now: float) -> bytes | None:
        writer = self._writer
        if writer is None:
            return await self._memory.get_response(response_id, now)
        known, record = self._responses.lookup(response_id, now)
        if known:
            return record
        return await self._call(partial(writer.response, response_id, now))

    async def delete_response(self, response_id: str, now: float) -> bool:
        if self._writer is None:
            return await self._memory.delete_response(response_id, now)
        existed = await self.get_response(response_id, now) is not None
        self._responses.delete(response_id)
        return existed
