"""How long a failure takes a key out of rotation: a pure policy from error, streak and time."""

from __future__ import annotations

from dataclasses import dataclass

from keyproxy.config.settings import EngineSettings
from keyproxy.errors import ErrorClass, UpstreamError, UpstreamModelRefused
from keyproxy.state.base import Verdict


@dataclass(frozen=True, slots=True)
class CooldownPolicy:
    """Seconds. Escalation steps are indexed by the key's failure streak for that model."""

    rate_limit_steps: tuple[float, ...]
    quota_steps: tuple[float, ...]
    transient_steps: tuple[float, ...]
    bench_seconds: float
    max_hint: float
    model_refusal_seconds: float

    @classmethod
    def from_settings(cls, engine: EngineSettings) -> CooldownPolicy:
        return cls(
            rate_limit_steps=engine.rate_limit_steps,
            quota_steps=engine.quota_steps,
            transient_steps=engine.transient_steps,
            bench_seconds=engine.bench_seconds,
            max_hint=engine.max_cooldown,
            model_refusal_seconds=engine.model_refusal_seconds,
        )

    @staticmethod
    def benches(error: UpstreamError) -> bool:
        """Whether the failure takes the key out of rotation for every model."""
        return error.error_class is ErrorClass.KEY_REJECTED and not isinstance(error, UpstreamModelRefused)

    def verdict(self, error: UpstreamError, failures: int, now: float) -> Verdict | None:
        """None when the failure says nothing about the key (the client's own mistake)."""
        kind = error.error_class
        if kind is ErrorClass.CLIENT_ERROR:
            return None
        if kind is ErrorClass.KEY_REJECTED:
            if isinstance(error, UpstreamModelRefused):
                # A key refused for one model may still serve the others. Whether a key may use a model (a free
                # key and a paid model) changes rarely: left out long, then the next request there tries again.
                return Verdict("model", now + self.model_refusal_seconds, kind)
            return Verdict("key", now + self.bench_seconds, kind)
        steps = {
            ErrorClass.RATE_LIMITED: self.rate_limit_steps,
            ErrorClass.QUOTA_EXHAUSTED: self.quota_steps,
            ErrorClass.TRANSIENT: self.transient_steps,
        }[kind]
        hint = error.retry_after
        seconds = min(hint, self.max_hint) if hint is not None else steps[min(failures, len(steps) - 1)]
        return Verdict("model", now + seconds, kind)
