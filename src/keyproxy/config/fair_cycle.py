"""The old proxy's fair cycle from variables: `FAIR_CYCLE_<P>` and its companions, `EXHAUSTION_COOLDOWN_THRESHOLD`."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping

from keyproxy.config.settings import FairCycle, FairTracking, RotationMode
from keyproxy.config.values import ValueReader

_TRACKING: dict[str, FairTracking] = {"model_group": "model_group", "credential": "credential"}
_DEFAULT = FairCycle()
_FAMILY = re.compile(r"^(FAIR_CYCLE_|EXHAUSTION_COOLDOWN_THRESHOLD_)")
_COMPANIONS = ("TRACKING_MODE_", "CROSS_TIER_", "DURATION_", "RESET_COOLDOWN_THRESHOLD_")

Spelling = Callable[[str], str]
"""The provider's variable with this stem (`FAIR_CYCLE_` -> `FAIR_CYCLE_GEMINI`), in the spelling that is set."""


def read_fair_cycle(reader: ValueReader, variable: Spelling, rotation: RotationMode) -> FairCycle | None:
    """None when off. Unset, it is on for a provider rotating sequentially, as in the old proxy; every
    companion set is read (so a bad one is named) even when it is off."""
    switch, alias = variable("FAIR_CYCLE_"), variable("FAIR_CYCLE_ENABLED_")
    if switch not in reader.values:
        switch = alias
    elif alias in reader.values:
        reader.effective[alias] = f"not applied: {switch} is set and wins"
    enabled = reader.flag(switch, rotation == "sequential")
    exhaustion = variable("EXHAUSTION_COOLDOWN_THRESHOLD_")
    companions = (*(variable(f"FAIR_CYCLE_{stem}") for stem in _COMPANIONS), exhaustion)
    if not enabled and not any(name in reader.values for name in companions):
        return None
    if exhaustion not in reader.values:
        exhaustion = "EXHAUSTION_COOLDOWN_THRESHOLD"
    cycle = FairCycle(
        tracking=reader.choice(variable("FAIR_CYCLE_TRACKING_MODE_"), _DEFAULT.tracking, _TRACKING),
        cross_tier=reader.flag(variable("FAIR_CYCLE_CROSS_TIER_"), _DEFAULT.cross_tier),
        duration=reader.number(variable("FAIR_CYCLE_DURATION_"), _DEFAULT.duration, strict_min=True),
        reset_cooldown=reader.number(variable("FAIR_CYCLE_RESET_COOLDOWN_THRESHOLD_"), _DEFAULT.reset_cooldown),
        exhaustion=reader.number(exhaustion, _DEFAULT.exhaustion, strict_min=True),
    )
    return cycle if enabled else None


def describe(cycle: FairCycle | None) -> str:
    if cycle is None:
        return "off"
    tracked = "per model or quota group" if cycle.tracking == "model_group" else "per key, for every model"
    tiers = "across all tiers" if cycle.cross_tier else "per tier"
    return (
        f"on: a cooldown of {cycle.exhaustion:g} s or more exhausts a key ({tracked}); {tiers}, exhausted keys wait "
        f"until the others are exhausted too, or {cycle.duration:g} s; no reset while a key's cooldown ends within "
        f"{cycle.reset_cooldown:g} s"
    )


def unclaimed_fair_cycle(values: Mapping[str, str], read: Collection[str]) -> list[str]:
    """The fair-cycle variables set for no configured provider (a typo, or a provider without keys)."""
    return [
        f"{name} is set but names no configured provider; ignored"
        for name in sorted(values)
        if _FAMILY.match(name) and values[name].strip() and name not in read
        and not name.startswith("FAIR_CYCLE_QUOTA_THRESHOLD_")
    ]  # fmt: skip
