"""Holds: the fair cycle's and the caps' keys for one call, read from the state store, and a cycle's reset."""

from __future__ import annotations

import asyncio

from msgspec.structs import replace

from keyproxy.config.settings import Credential, CustomCap, FairCycle, ProviderSettings
from keyproxy.engine.holds import Holds
from keyproxy.engine.pool import Pool
from keyproxy.providers import Call
from keyproxy.redact import Fingerprinter
from keyproxy.state import KeyStatus, MemoryStore
from keyproxy.testing import FakeClock

KEYS = tuple(Credential(f"sk-key-{n}-0000000000", f"P_API_KEY_{n}") for n in (1, 2))
SETTINGS = ProviderSettings(
    "p", "openai", "http://127.0.0.1:9/v1", KEYS, fair_cycle=FairCycle(),
    custom_caps=(CustomCap("CUSTOM_CAP_P_T1_M", 1, "m", "absolute", 0),),
)  # fmt: skip
POOL = Pool.build(SETTINGS, 0.0, fingerprints=Fingerprinter.random())
A, B = POOL.key_ids
CALL = Call("p", "other", "chat", b"{}")


def test_a_marked_key_is_held_out_and_a_capped_one_too_for_its_model_only() -> None:
    async def go() -> tuple[object, object]:
        clock, store = FakeClock(), MemoryStore()
        holds = Holds(store, clock)
        await store.exhaust("p", "m", A, clock.now(), 600.0)
        return (await holds.held(POOL, replace(CALL, model="m"), "m"), await holds.held(POOL, CALL, "other"))

    on_m, on_other = asyncio.run(go())
    assert (on_m.fair, on_m.capped) == ({A}, {A, B})  # a cap of 0 leaves every tier-1 key out of m
    assert (on_other.fair, on_other.capped) == (set(), set())


def test_a_call_pinned_to_its_key_is_not_held_out_by_the_fair_cycle() -> None:
    async def go() -> frozenset[str]:
        clock, store = FakeClock(), MemoryStore()
        await store.exhaust("p", "other", A, clock.now(), 600.0)
        return (await Holds(store, clock).held(POOL, replace(CALL, key_id=A), "other")).fair

    assert asyncio.run(go()) == set()


def test_when_every_key_is_exhausted_the_tier_resets_and_nothing_is_held_any_more() -> None:
    async def go() -> tuple[object, object]:
        clock, store = FakeClock(), MemoryStore()
        holds = Holds(store, clock)
        for key in (A, B):
            await store.exhaust("p", "other", key, clock.now(), 600.0)
        statuses = [KeyStatus(A, cooldown_until=clock.now() + 500), KeyStatus(B)]
        held = await holds.held(POOL, CALL, "other")
        return await holds.settle(POOL, CALL, "other", held, statuses, clock.now(), ()), await holds.held(
            POOL, CALL, "other"
        )

    settled, after = asyncio.run(go())
    assert settled is None
    assert after.fair == set()
