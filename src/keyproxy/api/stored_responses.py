"""Responses kept for GET, DELETE and previous_response_id: what a record holds, and the conversation a
chain of them makes.

A translated response is kept whole, with this turn's input, and names the response before it. A native
one is kept by its upstream: the record only says which provider and which key made it, since another
key (of another project) may not read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from keyproxy.clock import Clock
from keyproxy.errors import PreviousResponseNotFound
from keyproxy.state.base import StateStore

_DAY = 86400.0


class Stored(msgspec.Struct, frozen=True, omit_defaults=True):
    provider: str
    model: str
    """The model the upstream knows."""
    key_id: str | None = None
    """Set when the upstream holds the response: the fingerprint of the only key that may read it."""
    previous: str | None = None
    input: list[dict[str, Any]] = []
    """This turn's input items."""
    response: dict[str, Any] | None = None
    """The response as its client got it (translated responses only)."""

    @property
    def upstream(self) -> bool:
        return self.key_id is not None


_decoder = msgspec.json.Decoder(Stored)


def rekeyed(record: bytes, renames: Mapping[tuple[str, str], str]) -> bytes | None:
    """`record` naming its key by the keyed id when `renames` moves (provider, unkeyed id); None when it
    names no key, or one not renamed (state/fingerprints.py moves the records with the rest at start)."""
    if b'"key_id"' not in record:
        return None
    try:
        stored = _decoder.decode(record)
    except msgspec.DecodeError:
        return None
    new = renames.get((stored.provider, stored.key_id or ""))
    return None if new is None else msgspec.json.encode(msgspec.structs.replace(stored, key_id=new))


class StoredResponses:
    """The records in the state store, kept `retention_days` (0 keeps none)."""

    def __init__(self, store: StateStore, clock: Clock, retention_days: int) -> None:
        self.store = store
        self.clock = clock
        self.retention = retention_days * _DAY

    @property
    def enabled(self) -> bool:
        return self.retention > 0

    async def put(self, response_id: str, stored: Stored) -> None:
        if self.retention > 0:
            now = self.clock.now()
            await self.store.put_response(response_id, msgspec.json.encode(stored), now, now + self.retention)

    async def get(self, response_id: str) -> Stored | None:
        record = await self.store.get_response(response_id, self.clock.now())
        if record is None:
            return None
        try:
            return _decoder.decode(record)
        except msgspec.DecodeError:
            # Written by another version in a shape this one cannot read: as good as gone.
            return None

    async def delete(self, response_id: str) -> bool:
        return await self.store.delete_response(response_id, self.clock.now())

    async def conversation(self, stored: Stored) -> list[dict[str, Any]]:
        """Every item of a chain of translated responses ending with `stored`, oldest first: each turn's
        input, then its output. Instructions are not carried over, as OpenAI does not carry them."""
        chain = [stored]
        seen: set[str] = set()
        while (previous := chain[-1].previous) is not None and previous not in seen:
            seen.add(previous)
            found = await self.get(previous)
            if found is None or found.upstream:
                raise PreviousResponseNotFound(previous)
            chain.append(found)
        items: list[dict[str, Any]] = []
        for turn in reversed(chain):
            items += turn.input
            items += (turn.response or {}).get("output") or []
        return items
