"""Where RedisStore keeps each piece of shared state: the key names, all under one prefix."""

from __future__ import annotations

from dataclasses import dataclass


def _part(value: str) -> str:
    # Provider names and key ids are escaped so a ':' inside one cannot make two keys collide;
    # the model always comes last, so it is kept as it is.
    return value.replace("%", "%25").replace(":", "%3A")


def _unpart(value: str) -> str:
    return value.replace("%3A", ":").replace("%25", "%")


@dataclass(frozen=True, slots=True)
class RedisKeys:
    """Every key name RedisStore uses; docs/state.md draws the same layout."""

    prefix: str = "keyproxy:"

    def cooldown(self, provider: str, key_id: str, model: str) -> str:
        return f"{self.prefix}cd:{_part(provider)}:{_part(key_id)}:{model}"

    def cooled_models(self, provider: str, key_id: str) -> str:
        return f"{self.prefix}cds:{_part(provider)}:{_part(key_id)}"

    def failures(self, provider: str, key_id: str) -> str:
        return f"{self.prefix}fail:{_part(provider)}:{_part(key_id)}"

    def bench(self, provider: str, key_id: str) -> str:
        return f"{self.prefix}bench:{_part(provider)}:{_part(key_id)}"

    def held_keys(self, provider: str) -> str:
        """The key ids of a provider that have had a cooldown or a bench, for `clear` of every key."""
        return f"{self.prefix}keys:{_part(provider)}"

    def in_flight(self, provider: str, key_id: str) -> str:
        return f"{self.prefix}busy:{_part(provider)}:{_part(key_id)}"

    def sticky(self, provider: str, model: str) -> str:
        return f"{self.prefix}sticky:{_part(provider)}:{model}"

    def affinity(self, provider: str, conversation: str) -> str:
        return f"{self.prefix}conv:{_part(provider)}:{conversation}"

    def headroom(self, provider: str, key_id: str, model: str) -> str:
        return f"{self.prefix}room:{_part(provider)}:{_part(key_id)}:{model}"

    def fair_cycle(self, provider: str, tracking: str) -> str:
        """One fair cycle's marks (state/redis_fair_cycle.py); the tracking (a model or group) comes last."""
        return f"{self.prefix}fair:{_part(provider)}:{tracking}"

    def response(self, response_id: str) -> str:
        """A stored Responses-API response; the id is the last part, kept as it is."""
        return f"{self.prefix}resp:{response_id}"

    def usage_days(self) -> str:
        return f"{self.prefix}usage:days"

    def usage_day(self, day: str) -> str:
        return f"{self.prefix}usage:day:{day}"

    def usage(self, day: str, row: str) -> str:
        return f"{self.prefix}usage:{day}:{row}"

    def fingerprint_secret(self) -> str:
        """The secret keying every instance's key ids (state/redis_secret.py)."""
        return f"{self.prefix}fingerprint-secret"

    def fingerprint_scheme(self) -> str:
        """Set once the key ids in Redis are keyed ones (state/redis_rekey.py)."""
        return f"{self.prefix}fingerprint-scheme"

    def rekey_lock(self) -> str:
        """Held by the one instance moving old key ids to new ones."""
        return f"{self.prefix}fingerprint-rekey-lock"


def usage_row(provider: str, key_id: str, model: str) -> str:
    """A usage row's member in its day's set, and the end of its hash's name."""
    return f"{_part(provider)}:{_part(key_id)}:{model}"


def parse_usage_row(row: str) -> tuple[str, str, str]:
    provider, key_id, model = row.split(":", 2)
    return _unpart(provider), _unpart(key_id), model
