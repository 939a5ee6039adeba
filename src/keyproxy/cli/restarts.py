"""When a supervisor restarts a worker that died: at once after a worker that ran a while, later and later
after each one that died soon after it started, so a worker that cannot start does not spin."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Restart:
    delay: float
    """Seconds to wait before starting the worker again."""
    streak: int
    """Early deaths in a row, this one included; the next decision starts from it."""


@dataclass(frozen=True, slots=True)
class RestartPolicy:
    first: float = 0.5
    cap: float = 30.0
    stable: float = 30.0
    """A worker that ran this long before it died was not crash-looping: its streak starts again."""

    def after_exit(self, streak: int, ran_for: float) -> Restart:
        if ran_for >= self.stable:
            streak = 0
        delay = 0.0 if streak == 0 else min(self.cap, self.first * 2 ** (streak - 1))
        return Restart(delay, streak + 1)
