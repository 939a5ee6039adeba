"""The old proxy's request caps from variables: `CUSTOM_CAP_<P>_T<tier>_<model>` and `CUSTOM_CAP_COOLDOWN_...`."""

from __future__ import annotations

import re
from collections.abc import Mapping

from keyproxy.config.settings import CapCooldown, CustomCap
from keyproxy.config.values import ValueReader

_CAP = re.compile(r"^CUSTOM_CAP_(?P<cooldown>COOLDOWN_)?(?P<rest>.+)$")
_VALUE = re.compile(r"^(?P<sign>[+-])?(?P<number>\d+(?:\.\d*)?|\.\d+)(?P<percent>%)?$")
_COOLDOWN = re.compile(r"^(?P<mode>[a-z_]+)(?::(?P<seconds>[+-]?\d+))?$")
_MODES: dict[str, CapCooldown] = {"quota_reset": "quota_reset", "offset": "offset", "fixed": "fixed"}


def read_caps(
    reader: ValueReader, prefixes: Mapping[str, tuple[str, ...]], warnings: list[str]
) -> dict[str, tuple[CustomCap, ...]]:
    """Provider -> its caps. `prefixes`: each configured provider's spellings (`NVIDIA_NIM`, `NVIDIA`). A
    variable is the longest spelling's it starts with followed by `_T`, so `CUSTOM_CAP_GEMINI_CLI_T2_PRO` is
    gemini_cli's even when gemini is configured too."""
    spellings = sorted(((prefix, name) for name, names in prefixes.items() for prefix in names), reverse=True)
    caps: dict[str, dict[tuple[int | None, str], CustomCap]] = {}
    cooldowns: list[tuple[str, str, int | None, str]] = []
    for variable in sorted(reader.values):
        match = _CAP.match(variable)
        if match is None or not reader.values[variable].strip():
            continue
        rest = match["rest"]
        owner = next(((p, name) for p, name in spellings if rest.startswith(f"{p}_T")), None)
        if owner is None:
            warnings.append(f"{variable} is set but names no configured provider; ignored")
            continue
        scope = _scope(reader, variable, rest[len(owner[0]) + 2 :])
        if scope is None:
            continue
        if match["cooldown"]:
            cooldowns.append((variable, owner[1], *scope))
            continue
        cap = _cap(reader, variable, *scope)
        if cap is not None:
            caps.setdefault(owner[1], {})[scope] = cap
    for variable, provider, tier, target in cooldowns:
        found = caps.get(provider, {}).get((tier, target))
        parsed = _cooldown(reader, variable)
        if parsed is None:
            continue
        if found is None:
            cap_name = variable.replace("CUSTOM_CAP_COOLDOWN_", "CUSTOM_CAP_", 1)
            warnings.append(f"{variable} is set but {cap_name} is not; ignored")
            continue
        caps[provider][(tier, target)] = cap = CustomCap(found.variable, tier, target, found.kind, found.value, *parsed)
        reader.effective[found.variable] = describe(cap)
        reader.effective[variable] = describe_cooldown(cap)
    return {provider: tuple(found.values()) for provider, found in caps.items()}


def _scope(reader: ValueReader, variable: str, tail: str) -> tuple[int | None, str] | None:
    """`2_PRO` -> (2, "pro"); `DEFAULT_25_FLASH` -> (None, "25-flash"). Every segment after the tier is the model
    or group, lower case with `-` for `_`, as the old proxy read it."""
    tier_text, _, model = tail.partition("_")
    if not model:
        reader.fail(variable, "expected T<tier>_<MODEL> or TDEFAULT_<MODEL> after the provider (CUSTOM_CAP_<P>_T2_PRO)")
        return None
    if tier_text == "DEFAULT":
        return None, model.lower().replace("_", "-")
    if not tier_text.isdigit():
        reader.fail(variable, f"the tier after _T must be a number or DEFAULT, got {tier_text!r}")
        return None
    return int(tier_text), model.lower().replace("_", "-")


def _cap(reader: ValueReader, variable: str, tier: int | None, target: str) -> CustomCap | None:
    raw = (reader.raw(variable) or "").replace(" ", "")
    match = _VALUE.match(raw)
    if match is None:
        reader.fail(variable, f"expected a number of requests (100), an offset from the limit (+50, -50) or a "
                              f"percentage (80%), got {raw!r}")  # fmt: skip
        return None
    value = int(float(match["number"]))
    if match["percent"]:
        if match["sign"] == "-" or value > 100:
            reader.fail(variable, f"a percentage must be between 0% and 100%, got {raw!r}")
            return None
        cap = CustomCap(variable, tier, target, "percent", value)
    elif match["sign"]:
        cap = CustomCap(variable, tier, target, "offset", -value if match["sign"] == "-" else value)
    else:
        cap = CustomCap(variable, tier, target, "absolute", value)
    reader.effective[variable] = describe(cap)
    return cap


def _cooldown(reader: ValueReader, variable: str) -> tuple[CapCooldown, int] | None:
    raw = (reader.raw(variable) or "").replace(" ", "").lower()
    match = _COOLDOWN.match(raw)
    mode = _MODES.get(match["mode"]) if match else None
    if match is None or mode is None:
        reader.fail(variable, f"expected quota_reset, offset:<seconds> or fixed:<seconds>, got {raw!r}")
        return None
    seconds = int(match["seconds"] or 0)
    if mode == "fixed" and seconds <= 0:
        reader.fail(variable, f"fixed needs a number of seconds greater than 0 (fixed:3600), got {raw!r}")
        return None
    return mode, seconds


def describe(cap: CustomCap) -> str:
    tier = "tiers without their own cap" if cap.tier is None else f"tier {cap.tier}"
    if cap.kind == "absolute":
        most = f"{cap.value}"
    elif cap.kind == "offset":
        most = f"the window's limit {cap.value:+d} (limit unknown: {abs(cap.value)})"
    else:
        most = f"{cap.value}% of the window's limit (limit unknown: 1000)"
    return f"{tier}, {cap.target}: at most {most} requests per key per UTC day; then {describe_cooldown(cap)}"


def describe_cooldown(cap: CustomCap) -> str:
    if cap.cooldown == "fixed":
        return f"skipped for {cap.cooldown_seconds} s, then counted afresh"
    if cap.cooldown == "offset" and cap.cooldown_seconds > 0:
        return f"skipped until {cap.cooldown_seconds} s after the day ends (UTC)"
    return "skipped until the day ends (UTC)"
