"""Idle keep-alive connections, by upstream and proxy: the newest is reused first, and each is closed after
`keepalive` seconds unused. There is no limit on their number, as there was none before (aiohttp's limit=0)."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable

from keyproxy.transport.connection import Connection


class Pool:
    def __init__(self, loop: asyncio.AbstractEventLoop, keepalive: float = 60.0) -> None:
        self._loop = loop
        self._keepalive = keepalive
        self._idle: dict[Hashable, list[Connection]] = {}
        self._sweep: asyncio.TimerHandle | None = None

    def take(self, key: Hashable) -> Connection | None:
        """An idle connection the peer has not closed, or None."""
        stack = self._idle.get(key)
        if not stack:
            return None
        oldest = self._loop.time() - self._keepalive
        while stack:
            conn = stack.pop()
            if conn.open() and conn.idle_since > oldest:
                return conn
            conn.close()
        return None

    def put(self, key: Hashable, conn: Connection) -> None:
        conn.idle_since = self._loop.time()
        stack = self._idle.get(key)
        if stack is None:
            stack = self._idle[key] = []
        stack.append(conn)
        if self._sweep is None:
            self._sweep = self._loop.call_at(conn.idle_since + self._keepalive, self._expire)

    def _expire(self) -> None:
        """One timer for the whole pool, not one per connection: close what has idled too long, come back
        when the next one will have."""
        self._sweep = None
        oldest = self._loop.time() - self._keepalive
        next_due: float | None = None
        for key, stack in list(self._idle.items()):
            kept = [conn for conn in stack if not conn.closed and conn.idle_since > oldest]
            for conn in stack:
                if conn not in kept:
                    conn.close()
            if kept:
                self._idle[key] = kept
                due = kept[0].idle_since + self._keepalive
                next_due = due if next_due is None else min(next_due, due)
            else:
                del self._idle[key]
        if next_due is not None:
            self._sweep = self._loop.call_at(next_due, self._expire)

    def close(self) -> None:
        if self._sweep is not None:
            self._sweep.cancel()
            self._sweep = None
        for stack in self._idle.values():
            for conn in stack:
                conn.close()
        self._idle.clear()
