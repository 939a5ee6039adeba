"""An access token that expires, refreshed ahead of time: one refresh at a time, in the background while
the token in hand is still good, so a request waits for a refresh only when there is no valid token.

A token is good until `skew` seconds before it expires (a request sent then still arrives in time); within
`margin` seconds of that, the first request to ask starts a background refresh and goes on with the old
token. A refresh that fails leaves the old token in use until it expires and is not tried again in the
background for `backoff` seconds. An upstream that refuses the token (401) forces one refresh, shared by
every request that saw the same refusal (`renew`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from keyproxy.clock import Clock

logger = logging.getLogger("keyproxy.tokens")


@dataclass(frozen=True, slots=True)
class Token:
    value: str = field(repr=False)
    expires_at: float


class TokenSource:
    def __init__(
        self,
        fetch: Callable[[], Awaitable[Token]],
        clock: Clock,
        token: Token | None = None,
        *,
        name: str = "",
        margin: float = 300.0,
        skew: float = 30.0,
        backoff: float = 30.0,
    ) -> None:
        """`fetch` gets a new token (it raises on failure); `name` says whose it is in logs (a mask)."""
        self._fetch = fetch
        self._clock = clock
        self._token = token if token is not None and token.value else None
        self._name = name
        self._margin = margin
        self._skew = skew
        self._backoff = backoff
        self._task: asyncio.Task[Token] | None = None
        self._quiet_until = 0.0
        self.generation = 0
        """Counts the tokens fetched: what a request saw refused is named by it (`renew`)."""

    @property
    def token(self) -> Token | None:
        return self._token

    def usable(self) -> bool:
        return self._token is not None and self._clock.now() < self._token.expires_at - self._skew

    def due(self) -> bool:
        """Whether the token is within its refresh margin (or gone) and no refresh is running or resting."""
        now = self._clock.now()
        if self._task is not None or now < self._quiet_until:
            return False
        return self._token is None or now >= self._token.expires_at - self._margin

    async def get(self) -> Token:
        """A valid token: the one in hand (starting a refresh in the background when it is due), or a fresh one."""
        if self.usable():
            if self.due():
                self._start()
            assert self._token is not None
            return self._token
        return await self._wait()

    async def renew(self, generation: int) -> Token:
        """A fresh token after the upstream refused the one of `generation`; refreshed once whoever asks."""
        if generation == self.generation:
            self._token = None
        return await self.get()

    def refresh_in_background(self) -> None:
        if self.due():
            self._start()

    async def _wait(self) -> Token:
        # Shielded: a client that leaves must not cancel the refresh other requests share.
        return await asyncio.shield(self._start())

    def _start(self) -> asyncio.Task[Token]:
        if self._task is None:
            self._task = asyncio.ensure_future(self._refresh())
            self._task.add_done_callback(self._finished)
        return self._task

    async def _refresh(self) -> Token:
        try:
            token = await self._fetch()
        except Exception:
            self._quiet_until = self._clock.now() + self._backoff
            raise
        self._token = token
        self.generation += 1
        return token

    def _finished(self, task: asyncio.Task[Token]) -> None:
        self._task = None
        if not task.cancelled() and (error := task.exception()) is not None:
            # Also retrieves the exception, so a background refresh nobody awaited is not reported as lost.
            logger.warning("token refresh failed account=%s: %s", self._name, getattr(error, "message", error))
