"""Brings benched keys back: shortly before a bench ends, one cheap call (the model list) decides."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from keyproxy.clock import Clock
from keyproxy.config.settings import AnswerLimits
from keyproxy.engine.pool import Pool
from keyproxy.errors import ErrorClass, UpstreamError
from keyproxy.redact import scrub_text
from keyproxy.state.base import SUCCESS, StateStore, Verdict
from keyproxy.transport.base import RequestTimeouts, Transport

logger = logging.getLogger("keyproxy.reprobe")

_PROBE_TIMEOUTS = RequestTimeouts(connect=10.0, pool=10.0, read=10.0)


class Reprober:
    def __init__(
        self,
        pools: Mapping[str, Pool],
        transport: Transport,
        state: StateStore,
        clock: Clock,
        bench_seconds: float,
        limits: AnswerLimits | None = None,
    ) -> None:
        self.pools = pools
        self.transport = transport
        self.state = state
        self.clock = clock
        self.bench_seconds = bench_seconds
        self.body_limit = (limits or AnswerLimits()).body_bytes
        self.period = max(1.0, min(60.0, bench_seconds / 4))

    async def run(self) -> None:
        while True:
            await self.clock.sleep(self.period)
            await self.probe_due()

    async def probe_due(self) -> None:
        """Probe every benched key whose bench ends within the next period."""
        horizon = self.clock.now() + self.period
        for name, pool in self.pools.items():
            for index, report in enumerate(await self.state.report(name, pool.key_ids, self.clock.now())):
                if report.benched_until and report.benched_until <= horizon:
                    await self._probe(pool, index)

    async def _probe(self, pool: Pool, index: int) -> None:
        key_id = pool.key_ids[index]
        works = await key_works(self.transport, pool, index, self.body_limit)
        if works:
            logger.info("key is accepted again provider=%s key=%s", pool.name, pool.masks[index])
            await self.state.record(pool.name, key_id, "", SUCCESS)
        elif works is False:
            verdict = Verdict("key", self.clock.now() + self.bench_seconds, ErrorClass.KEY_REJECTED)
            await self.state.record(pool.name, key_id, "", verdict)


ProbeResult = Literal["alive", "rejected", "rate_limited", "unreachable"]


@dataclass(frozen=True, slots=True)
class Probe:
    result: ProbeResult
    status: int | None
    message: str


async def probe_key(transport: Transport, pool: Pool, index: int, body_limit: int) -> Probe:
    """One cheap authenticated call (the model list) with the key, and what its answer says about the key;
    a body past `body_limit` is no valid answer and is not read past the limit."""
    try:
        async with asyncio.timeout(_PROBE_TIMEOUTS.read):
            await pool.ready(index)
            request = pool.routed(pool.adapter.models_request(pool.secrets[index]), index)
            response = await transport.send(request, _PROBE_TIMEOUTS)
            await response.read(body_limit)
    except TimeoutError:
        return Probe("unreachable", None, f"no answer within {_PROBE_TIMEOUTS.read:g} s")
    except UpstreamError as error:
        if error.error_class is ErrorClass.KEY_REJECTED:
            # An OAuth account whose refresh token was refused, before any call could be made.
            return Probe("rejected", None, scrub_text(error.message, pool.hidden))
        return Probe("unreachable", None, scrub_text(error.message, pool.hidden))
    status = response.status
    if status < 400:
        return Probe("alive", status, "the key is accepted")
    if status in (401, 403):
        return Probe("rejected", status, "the upstream refuses the key")
    if status == 429:
        return Probe("rate_limited", status, "the key is accepted but rate limited or out of quota")
    return Probe("unreachable", status, f"the upstream answered {status}, which says nothing about the key")


async def key_works(transport: Transport, pool: Pool, index: int, body_limit: int) -> bool | None:
    """True when the key is accepted, False when it is refused (401 or 403), None when the answer says
    nothing about the key (unreachable, 5xx, 429, a body past `body_limit`)."""
    result = (await probe_key(transport, pool, index, body_limit)).result
    return True if result == "alive" else False if result == "rejected" else None
