"""Typed readers for configuration values; each problem becomes a ConfigError naming the variable."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TypeVar

from keyproxy.errors import ConfigError

T = TypeVar("T", bound=str)

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


class ValueReader:
    """Reads variables from one merged mapping and collects every problem instead of stopping at the first.

    `effective` records each variable read with the value it took (its default when unset or invalid), for
    `keyproxy check --explain`; a variable read as plain text and found unset is not recorded.
    """

    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = values
        self.errors: list[ConfigError] = []
        self.effective: dict[str, str] = {}

    def fail(self, name: str, problem: str) -> None:
        self.errors.append(ConfigError(name, problem))

    def raw(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None:
            return None
        value = value.strip()
        if value:
            self.effective[name] = value
        return value or None

    def _took(self, name: str, value: object) -> None:
        if value is None:
            shown = "not set"
        elif isinstance(value, bool):
            shown = "true" if value else "false"
        elif isinstance(value, float):
            shown = f"{value:g}"
        elif isinstance(value, tuple):
            shown = ",".join(f"{item:g}" for item in value)
        else:
            shown = str(value)
        self.effective[name] = shown

    def number(self, name: str, default: float, *, minimum: float = 0.0, strict_min: bool = False) -> float:
        value = self._number(name, default, minimum=minimum, strict_min=strict_min)
        self._took(name, value)
        return value

    def _number(self, name: str, default: float, *, minimum: float, strict_min: bool) -> float:
        raw = self.raw(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            self.fail(name, f"expected a number, got {raw!r}")
            return default
        too_small = value <= minimum if strict_min else value < minimum
        if not math.isfinite(value) or too_small:
            bound = f"greater than {minimum:g}" if strict_min else f"at least {minimum:g}"
            self.fail(name, f"must be a finite number {bound}, got {raw!r}")
            return default
        return value

    def integer(
        self, name: str, default: int | None, *, minimum: int | None = None, maximum: int | None = None
    ) -> int | None:
        value = self._integer(name, default, minimum=minimum, maximum=maximum)
        self._took(name, value)
        return value

    def _integer(self, name: str, default: int | None, *, minimum: int | None, maximum: int | None) -> int | None:
        raw = self.raw(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            self.fail(name, f"expected a whole number, got {raw!r}")
            return default
        if minimum is not None and value < minimum:
            self.fail(name, f"must be at least {minimum}, got {value}")
            return default
        if maximum is not None and value > maximum:
            self.fail(name, f"must be at most {maximum}, got {value}")
            return default
        return value

    def durations(self, name: str, default: tuple[float, ...]) -> tuple[float, ...]:
        """A comma list of seconds, such as cooldown steps: at least one, each finite and not negative."""
        value = self._durations(name, default)
        self._took(name, value)
        return value

    def _durations(self, name: str, default: tuple[float, ...]) -> tuple[float, ...]:
        raw = self.raw(name)
        if raw is None:
            return default
        steps: list[float] = []
        for item in raw.split(","):
            try:
                value = float(item)
            except ValueError:
                self.fail(name, f"expected a comma-separated list of seconds, got {item.strip()!r} in {raw!r}")
                return default
            if not math.isfinite(value) or value < 0:
                self.fail(name, f"each number of seconds must be finite and at least 0, got {item.strip()!r}")
                return default
            steps.append(value)
        return tuple(steps)

    def flag(self, name: str, default: bool) -> bool:
        value = self._flag(name, default)
        self._took(name, value)
        return value

    def _flag(self, name: str, default: bool) -> bool:
        raw = self.values.get(name)
        if raw is None:
            return default
        lowered = raw.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        self.fail(name, f"expected true or false, got {raw!r}")
        return default

    def choice(self, name: str, default: T, choices: Mapping[str, T]) -> T:
        value = self._choice(name, default, choices)
        self._took(name, value)
        return value

    def _choice(self, name: str, default: T, choices: Mapping[str, T]) -> T:
        raw = self.raw(name)
        if raw is None:
            return default
        found = choices.get(raw.lower())
        if found is None:
            allowed = ", ".join(sorted(choices))
            self.fail(name, f"expected one of {allowed}, got {raw!r}")
            return default
        return found


def split_list(raw: str | None) -> tuple[str, ...]:
    if not raw:
        return ()
    return tuple(item.strip() for item in raw.split(",") if item.strip())
