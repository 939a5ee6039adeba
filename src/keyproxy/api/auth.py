"""The proxy key: who may call, and what a failed attempt costs the one who made it.

A failed attempt is logged (once a minute per client address, with how many were not) and answered
only after a short pause, so guessing a key over the network is slow and never silent.
"""

from __future__ import annotations

import hmac
import logging

from keyproxy.api.asgi import Scope, header
from keyproxy.clock import Clock
from keyproxy.errors import AuthenticationFailed

logger = logging.getLogger("keyproxy.auth")

_LOG_EVERY = 60.0
_REMEMBERED = 1024
"""Client addresses whose last logged failure is kept; more clear the lot (a flood is logged anyway)."""


class ProxyKey:
    """`pause`: seconds before a wrong or missing key is answered (KEYPROXY_AUTH_FAILURE_PAUSE); `what` the
    key is called in refusals (the admin key is one of these too)."""

    __slots__ = ("_clock", "_key", "_logged", "_pause", "what")

    def __init__(self, key: str | None, clock: Clock, pause: float, what: str = "proxy key") -> None:
        self.what = what
        self._key = key.encode() if key else None
        self._clock = clock
        self._pause = pause
        self._logged: dict[str, tuple[float, int]] = {}

    @property
    def required(self) -> bool:
        return self._key is not None

    def accepts(self, scope: Scope) -> bool:
        if self._key is None:
            return True
        bearer = header(scope, b"authorization")
        # The scheme is case-insensitive (RFC 9110); the key is not.
        if bearer is not None and bearer[:7].lower() == b"bearer " and hmac.compare_digest(bearer[7:], self._key):
            return True
        api_key = header(scope, b"x-api-key")
        return api_key is not None and hmac.compare_digest(api_key, self._key)

    async def refuse(self, scope: Scope) -> AuthenticationFailed:
        """The error for a request `accepts` said no to, once it has been logged and made to wait."""
        self._log(scope)
        if self._pause:
            await self._clock.sleep(self._pause)
        return AuthenticationFailed(f"missing or invalid {self.what}: send Authorization: Bearer <key> or x-api-key")

    def _log(self, scope: Scope) -> None:
        client = scope.get("client")
        address = str(client[0]) if client else "unknown"
        now = self._clock.now()
        last, quiet = self._logged.get(address, (0.0, 0))
        if now - last < _LOG_EVERY:
            self._logged[address] = (last, quiet + 1)
            return
        if len(self._logged) >= _REMEMBERED:
            self._logged.clear()
        self._logged[address] = (now, 0)
        also = f" ({quiet} more since the last line)" if quiet else ""
        logger.warning("refused a request without a valid %s from %s to %s%s", self.what, address, scope["path"], also)
