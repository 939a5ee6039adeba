"""Custom caps: which cap applies to a key, how many requests it allows, and until when a capped key is left out."""

from __future__ import annotations

import asyncio

from keyproxy.config.settings import CustomCap
from keyproxy.engine.caps import CapLedger, CapTable, most, normal
from keyproxy.events import AttemptEvent
from keyproxy.state import MemoryStore
from keyproxy.testing import FakeClock

DAY = 86400.0
START = 1_700_006_400.0
"""Midnight UTC."""
KEYS = ("a", "b")


def cap(value: int = 2, kind: str = "absolute", tier: int | None = 1, **rest: object) -> CustomCap:
    return CustomCap("CUSTOM_CAP_P_T1_M", tier, "m", kind, value, **rest)  # type: ignore[arg-type]


def held(ledger: CapLedger, table: CapTable, now: float, priorities: tuple[int, ...] = (1, 1)) -> tuple[object, ...]:
    return ledger.held(table, "p", KEYS, priorities, "m", None, now)


def test_percentages_and_offsets_of_an_unknown_limit_follow_the_old_proxy() -> None:
    assert most(cap(80, "percent")) == 1000
    assert most(cap(-30, "offset")) == 30
    assert most(cap(-3)) == 0


def test_a_model_name_is_compared_as_a_variable_can_spell_it() -> None:
    assert normal("Claude-Opus-4.5") == "claude-opus-4-5"


def test_a_tier_cap_wins_over_tdefault_and_model_and_group_caps_both_apply() -> None:
    own, default, group = cap(5), cap(9, tier=None), CustomCap("V", None, "pro", "absolute", 3)
    table = CapTable.build([own, default, group])
    assert table is not None
    assert table.applying(1, "M", "pro") == (("m", own, 5), ("group:pro", group, 3))
    assert table.applying(2, "m", None) == (("m", default, 9),)


def test_a_key_at_its_cap_is_left_out_until_the_day_ends() -> None:
    clock, ledger = FakeClock(START + 100), CapLedger()
    table = CapTable.build([cap(2)])
    assert table is not None
    ledger.count("p", "a", ["m"], clock.now())
    assert held(ledger, table, clock.now()) == (frozenset(), None)
    ledger.count("p", "a", ["m"], clock.now())
    assert held(ledger, table, clock.now()) == ({"a"}, START + DAY)
    clock.advance(DAY - 100)
    assert held(ledger, table, clock.now()) == (frozenset(), None)


def test_a_cap_applies_to_its_tier_only() -> None:
    ledger, table = CapLedger(), CapTable.build([cap(1)])
    assert table is not None
    ledger.count("p", "a", ["m"], START)
    assert held(ledger, table, START, priorities=(2, 1)) == (frozenset(), None)


def test_a_fixed_cooldown_leaves_the_key_out_that_long_then_counts_afresh() -> None:
    clock, ledger = FakeClock(START + 100), CapLedger()
    table = CapTable.build([cap(1, cooldown="fixed", cooldown_seconds=60)])
    assert table is not None
    ledger.count("p", "a", ["m"], clock.now())
    assert held(ledger, table, clock.now()) == ({"a"}, START + 160)
    clock.advance(60)
    assert held(ledger, table, clock.now()) == (frozenset(), None)
    ledger.count("p", "a", ["m"], clock.now())
    assert held(ledger, table, clock.now()) == ({"a"}, START + 220)


def test_an_offset_cooldown_outlasts_the_day() -> None:
    clock, ledger = FakeClock(START + 100), CapLedger()
    table = CapTable.build([cap(1, cooldown="offset", cooldown_seconds=3600)])
    assert table is not None
    ledger.count("p", "a", ["m"], clock.now())
    assert held(ledger, table, clock.now()) == ({"a"}, START + DAY + 3600)
    clock.advance(DAY)
    assert held(ledger, table, clock.now()) == ({"a"}, START + DAY + 3600)
    clock.advance(3600)
    assert held(ledger, table, clock.now()) == (frozenset(), None)


def test_the_days_usage_in_the_store_counts_toward_the_cap() -> None:
    async def go() -> tuple[object, ...]:
        store, ledger = MemoryStore(), CapLedger()
        for _ in range(3):
            store.emit(AttemptEvent("p", "m", "...a", 1, 200, None, "ok", 0.1, "a", START + 10))
        table = CapTable.build([cap(3)])
        assert table is not None
        await ledger.refresh(store, "p", {}, START + 20)
        return held(ledger, table, START + 20)

    assert asyncio.run(go()) == ({"a"}, START + DAY)


def test_holding_names_each_capped_key_and_counter_as_held_would_and_records_nothing() -> None:
    ledger = CapLedger()
    table = CapTable.build([cap(1, cooldown="fixed", cooldown_seconds=60), CustomCap("V", None, "pro", "absolute", 5)])
    assert table is not None
    ledger.count("p", "a", ["m", "group:pro"], START + 100)
    ledger.count("p", "b", ["m"], START + 100)
    ledger.count("q", "a", ["m"], START + 100)  # another provider's count
    assert ledger.holding(table, "p", KEYS, (1, 2), START + 100) == [("a", "m", START + 160)]
    assert ledger.holding(table, "p", KEYS, (1, 2), START + 130) == [("a", "m", START + 190)]  # nothing was recorded
    assert held(ledger, table, START + 130, (1, 2)) == ({"a"}, START + 190)
    assert ledger.holding(table, "p", KEYS, (1, 2), START + 150) == [("a", "m", START + 190)]  # as held recorded it


def test_holding_forgets_the_days_counts_once_the_day_is_over_but_not_a_block_that_outlasts_it() -> None:
    ledger = CapLedger()
    table = CapTable.build([cap(1), CustomCap("V", 1, "n", "absolute", 1, cooldown="offset", cooldown_seconds=3600)])
    assert table is not None
    ledger.count("p", "a", ["m", "n"], START + 100)
    assert held(ledger, table, START + 100) == ({"a"}, START + DAY)
    ledger.held(table, "p", KEYS, (1, 1), "n", None, START + 100)
    assert ledger.holding(table, "p", KEYS, (1, 1), START + DAY + 1) == [("a", "n", START + DAY + 3600)]
