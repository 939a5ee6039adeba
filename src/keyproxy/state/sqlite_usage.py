"""Usage rows in SQLite: the adding upsert, the query, and a read-only reader for the CLI."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from keyproxy.errors import DatabaseUnavailable
from keyproxy.usage.book import UsageCounters, UsageKey, UsageRows

# One column per error class, so counts add up in SQL; a new class needs a migration adding its column.
FAILURE_COLUMNS: Mapping[str, str] = {
    "rate_limited": "failed_rate_limited",
    "quota_exhausted": "failed_quota_exhausted",
    "key_rejected": "failed_key_rejected",
    "transient": "failed_transient",
    "client_error": "failed_client_error",
}

UPSERT_USAGE = """
INSERT INTO usage_daily (
    day, provider, key_id, model, requests, successes,
    failed_rate_limited, failed_quota_exhausted, failed_key_rejected, failed_transient, failed_client_error,
    prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens, estimated, cost_usd, last_used,
    first_byte_sum, first_byte_count, seconds_sum
) VALUES (
    :day, :provider, :key_id, :model, :requests, :successes,
    :failed_rate_limited, :failed_quota_exhausted, :failed_key_rejected, :failed_transient, :failed_client_error,
    :prompt_tokens, :completion_tokens, :cached_tokens, :reasoning_tokens, :estimated, :cost_usd, :last_used,
    :first_byte_sum, :first_byte_count, :seconds_sum
)
ON CONFLICT (day, provider, key_id, model) DO UPDATE SET
    requests = requests + excluded.requests,
    successes = successes + excluded.successes,
    failed_rate_limited = failed_rate_limited + excluded.failed_rate_limited,
    failed_quota_exhausted = failed_quota_exhausted + excluded.failed_quota_exhausted,
    failed_key_rejected = failed_key_rejected + excluded.failed_key_rejected,
    failed_transient = failed_transient + excluded.failed_transient,
    failed_client_error = failed_client_error + excluded.failed_client_error,
    prompt_tokens = prompt_tokens + excluded.prompt_tokens,
    completion_tokens = completion_tokens + excluded.completion_tokens,
    cached_tokens = cached_tokens + excluded.cached_tokens,
    reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens,
    estimated = estimated + excluded.estimated,
    cost_usd = cost_usd + excluded.cost_usd,
    last_used = max(last_used, excluded.last_used),
    first_byte_sum = first_byte_sum + excluded.first_byte_sum,
    first_byte_count = first_byte_count + excluded.first_byte_count,
    seconds_sum = seconds_sum + excluded.seconds_sum
"""

_SELECT_USAGE = """
SELECT day, provider, key_id, model, requests, successes,
    failed_rate_limited, failed_quota_exhausted, failed_key_rejected, failed_transient, failed_client_error,
    prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens, estimated, cost_usd, last_used,
    first_byte_sum, first_byte_count, seconds_sum
FROM usage_daily
WHERE (:provider IS NULL OR provider = :provider)
    AND (:model IS NULL OR model = :model)
    AND (:since IS NULL OR day >= :since)
    AND (:until IS NULL OR day <= :until)
ORDER BY day, provider, key_id, model
"""

_HAS_USAGE = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'usage_daily'"


def usage_params(key: UsageKey, counters: UsageCounters) -> dict[str, Any]:
    params: dict[str, Any] = {
        "day": key.day,
        "provider": key.provider,
        "key_id": key.key_id,
        "model": key.model,
        "requests": counters.requests,
        "successes": counters.successes,
        "prompt_tokens": counters.prompt_tokens,
        "completion_tokens": counters.completion_tokens,
        "cached_tokens": counters.cached_tokens,
        "reasoning_tokens": counters.reasoning_tokens,
        "estimated": counters.estimated,
        "cost_usd": counters.cost_usd,
        "last_used": counters.last_used,
        "first_byte_sum": counters.first_byte_sum,
        "first_byte_count": counters.first_byte_count,
        "seconds_sum": counters.seconds_sum,
    }
    for reason, column in FAILURE_COLUMNS.items():
        params[column] = counters.failures.get(reason, 0)
    return params


def upsert_usage(connection: sqlite3.Connection, usage: Mapping[UsageKey, UsageCounters]) -> None:
    """Adds to the stored counters; the caller holds the transaction."""
    connection.executemany(UPSERT_USAGE, [usage_params(key, counters) for key, counters in usage.items()])


def select_usage(
    connection: sqlite3.Connection,
    provider: str | None = None,
    model: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> UsageRows:
    """Stored rows matching every filter given; `since` and `until` are UTC days, both inclusive."""
    filters = {"provider": provider, "model": model, "since": since, "until": until}
    return [_row(values) for values in connection.execute(_SELECT_USAGE, filters)]


def _row(values: Iterable[Any]) -> tuple[UsageKey, UsageCounters]:
    day, provider, key_id, model, requests, successes, *rest = values
    failed, rest = rest[: len(FAILURE_COLUMNS)], rest[len(FAILURE_COLUMNS) :]
    prompt, completion, cached, reasoning, estimated, cost, last_used, fb_sum, fb_count, seconds = rest
    counters = UsageCounters(
        requests, successes, {reason: n for reason, n in zip(FAILURE_COLUMNS, failed, strict=True) if n},
        prompt, completion, cached, reasoning, estimated, cost, last_used, fb_sum, fb_count, seconds,
    )  # fmt: skip
    return UsageKey(day, provider, key_id, model), counters


def read_usage(
    path: Path,
    provider: str | None = None,
    model: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> UsageRows:
    """Stored usage for the CLI, read-only and safe while a proxy writes the file; a missing file is no usage.
    Raises DatabaseUnavailable when the file cannot be read."""
    if not path.exists():
        return []
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as error:
        raise DatabaseUnavailable(f"cannot read the state database {path}: {error}") from error
    try:
        if connection.execute(_HAS_USAGE).fetchone() is None:
            return []  # no proxy has migrated this file yet
        return select_usage(connection, provider, model, since, until)
    except sqlite3.Error as error:
        raise DatabaseUnavailable(f"cannot read the state database {path}: {error}") from error
    finally:
        connection.close()
