"""The frozen settings object: everything keyproxy was configured with, resolved once at start."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from keyproxy.config.prices import Price
from keyproxy.redact import url_secrets

UpstreamProtocol = Literal["openai", "anthropic", "gemini", "azure", "gemini_cli"]
RotationMode = Literal["balanced", "sequential"]
TemperatureOverride = Literal["off", "remove", "set"]
AccessLogMode = Literal["text", "json", "off"]
ResponsesMode = Literal["native", "translate"]
ReasoningField = Literal["reasoning_content", "reasoning"]
"""The assistant-message field a chat upstream takes a model's earlier reasoning back in."""
"""How a provider serves /v1/responses: its upstream's own Responses API, or chat completions translated."""
CaptureMode = Literal["off", "errors", "all"]
FairTracking = Literal["model_group", "credential"]
CapKind = Literal["absolute", "offset", "percent"]
CapCooldown = Literal["quota_reset", "offset", "fixed"]


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds. `total` is GLOBAL_TIMEOUT: the budget for choosing keys, failing over and waiting, after which no
    attempt starts; an attempt already in flight runs to its own timeouts (docs/resilience.md)."""

    total: float = 30.0
    connect: float = 30.0
    pool: float = 60.0
    read_streaming: float = 180.0
    read_non_streaming: float = 600.0


@dataclass(frozen=True, slots=True)
class OAuthAccount:
    """What an OAuth account's credential holds besides its refresh token (the credential's secret): the access
    token it had when read, and what the provider learned about the account before."""

    access_token: str = field(repr=False)
    expires_at: float
    """Wall-clock seconds; 0 when unknown, which means refresh before first use."""
    path: Path | None = None
    """The credential file, written back when the token is refreshed; None: from variables, kept in memory."""
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    """The OAuth client the refresh token was issued to, when the file names one; None: GoogleOAuth's."""
    project: str | None = None
    tier: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class GoogleOAuth:
    """The Google OAuth client of Gemini CLI accounts and where its endpoints are (a fake's, in tests). The
    defaults are the Gemini CLI's public installed-app client, which Google documents as not secret."""

    auth_url: str = "https://accounts.google.com/o/oauth2/v2/auth"
    token_url: str = "https://oauth2.googleapis.com/token"
    client_id: str = "681255809395-oo8ft2oprdrnp9e3aqf6av3hmdib135j.apps.googleusercontent.com"
    client_secret: str = field(default="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", repr=False)
    directory: Path = Path("oauth_creds")
    """Where `keyproxy login` writes account files and `gemini_cli_oauth_*.json` files are read from."""


@dataclass(frozen=True, slots=True)
class Credential:
    """One provider key. `priority` 1 is the highest tier; `source` names the variable it came from. An OAuth
    account's secret is its refresh token, and `account` the rest of it."""

    secret: str = field(repr=False)
    source: str
    priority: int = 1
    proxy: str | None = field(default=None, repr=False)
    """The outbound proxy this key's requests go through (config/proxies.py); it may carry a password."""
    models: tuple[str, ...] | None = None
    """The upstream models this key may serve (`<P>_API_KEY_<N>_MODELS`, names or globs); None: any."""
    account: OAuthAccount | None = None


@dataclass(frozen=True, slots=True)
class FairCycle:
    """FAIR_CYCLE_<P> and its companions (docs/resilience.md#fair-cycle). Seconds."""

    tracking: FairTracking = "model_group"
    """What a key is exhausted for: the model's cooldown bucket (its quota group), or the whole key."""
    cross_tier: bool = False
    """Whether every tier must be exhausted before any resets, instead of each tier on its own."""
    duration: float = 604800.0
    """A cycle's age after which its exhausted keys are no longer held out."""
    reset_cooldown: float = 90.0
    """No reset while a key of the tier has a cooldown ending sooner than this: it is waited for."""
    exhaustion: float = 300.0
    """EXHAUSTION_COOLDOWN_THRESHOLD[_<P>]: a cooldown at least this long marks the key exhausted."""


@dataclass(frozen=True, slots=True)
class CustomCap:
    """CUSTOM_CAP_<P>_T<tier>_<target>: at most `value` requests (or the window's limit plus `value`, or `value`
    percent of it) per key of the tier on the model or quota group `target`, in the usage window (a UTC day)."""

    variable: str
    tier: int | None
    """None: TDEFAULT, the keys of a tier without a cap of its own."""
    target: str
    """Lower case with `-` for `_`, as the old proxy spelt it."""
    kind: CapKind
    value: int
    cooldown: CapCooldown = "quota_reset"
    cooldown_seconds: int = 0


@dataclass(frozen=True, slots=True)
class ProviderSettings:
    name: str
    protocol: UpstreamProtocol
    base_url: str
    credentials: tuple[Credential, ...]
    custom: bool = False
    responses: ResponsesMode = "translate"
    api_version: str | None = None
    """Azure's `api-version` (the classic deployment URLs); None: its v1 API, which needs none."""
    reasoning_field: ReasoningField | None = None
    """Where translated history carries reasoning to this provider; None: it is not sent (the upstream
    would refuse an unknown field)."""
    rotation_mode: RotationMode = "balanced"
    max_concurrent_per_key: int | None = None
    optimal_concurrent_per_key: int | None = None
    priority_multipliers: Mapping[int, float] = field(default_factory=dict)
    quota_groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    fair_cycle: FairCycle | None = None
    """None: off (the default unless the rotation is sequential)."""
    custom_caps: tuple[CustomCap, ...] = ()
    ignore_models: tuple[str, ...] = ()
    whitelist_models: tuple[str, ...] = ()
    static_models: Mapping[str, str] = field(default_factory=dict)
    """`<P>_MODELS`: name offered -> model id sent upstream; listed before (and without) the upstream's list."""
    proxy: str | None = field(default=None, repr=False)
    """The outbound proxy of a key without its own (one added at run time): `<P>_PROXY`, KEYPROXY_PROXY_URL
    or the environment's."""

    def secrets(self) -> tuple[str, ...]:
        """What must never be shown: the keys, and whatever credentials the base URL carries."""
        keys = (credential.secret for credential in self.credentials if credential.secret)
        tokens = (c.account.access_token for c in self.credentials if c.account and c.account.access_token)
        proxies = {proxy for proxy in (self.proxy, *(credential.proxy for credential in self.credentials)) if proxy}
        addresses = (*url_secrets(self.base_url), *(secret for proxy in proxies for secret in url_secrets(proxy)))
        return (*keys, *tokens, *addresses)


@dataclass(frozen=True, slots=True)
class Alias:
    """A virtual model: a request for `name` tries each `provider/model` target in order."""

    name: str
    targets: tuple[str, ...]
    # Also fall back when a target rejects the prompt as too long for its context window.
    on_context_length: bool = False


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """Retry and cooldown policy, in seconds. `*_steps[i]` cools a key after i+1 failures in a row; the last repeats."""

    # None: every key once, plus one retry of the same key.
    max_attempts: int | None = None
    bench_seconds: float = 600.0
    model_refusal_seconds: float = 21600.0
    max_cooldown: float = 86400.0
    transient_steps: tuple[float, ...] = (10.0, 30.0, 60.0, 120.0)
    rate_limit_steps: tuple[float, ...] = (10.0, 30.0, 60.0, 120.0)
    quota_steps: tuple[float, ...] = (300.0, 1800.0, 3600.0)
    transient_retry_delay: float = 1.0
    transient_retry_jitter: float = 0.0
    """Up to this many seconds more, at random, so keys retried together by many requests spread out."""
    affinity_seconds: float = 3600.0
    """How long a conversation stays with the key that served it last (balanced rotation), so the
    provider's prompt cache keeps serving it; 0 turns conversation affinity off."""
    stream_retry_reasoning_only: bool = False
    """STREAM_RETRY_ON_REASONING_ONLY: a stream's reasoning is held back until its answer begins, so a
    stream that breaks before that is retried on another key (docs/resilience.md)."""


@dataclass(frozen=True, slots=True)
class AnswerLimits:
    """Bytes an upstream's answer may take, so a broken or hostile upstream cannot exhaust the proxy's memory:
    a whole body (read before it is relayed), and one event of a stream (held whole while it is translated).
    An answer past either is invalid: the key gets a transient verdict and the request fails over, or a
    stream already relayed ends with its error event."""

    body_bytes: int = 128 * 1024 * 1024
    """Large enough for an embeddings batch of 2,048 inputs of 3,072 floats as JSON text."""
    event_bytes: int = 16 * 1024 * 1024
    """Large enough for an image a model returns inline in one event."""


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """What a client connection may take of the HTTP server, so that oversized, slow or idle clients cannot
    starve the rest (docs/security.md). Seconds and bytes."""

    max_header_bytes: int = 64 * 1024
    """The URL and the headers of one request; past it the answer is 431 and the connection closes."""
    header_timeout: float = 10.0
    """From a connection's start (on a reused one, its first bytes after an answer) to the end of the headers."""
    body_timeout: float = 30.0
    """Silence allowed between two pieces of a request body: 408, connection closed."""
    min_body_rate: int = 1024
    """Bytes per second a body that takes longer than `body_timeout` must average from its start (0: no minimum)."""
    keep_alive: float = 5.0
    """An idle connection between requests is closed after this long."""
    max_connections: int = 1000
    """Open client connections served at once; a request on one beyond them is answered 503."""
    body_bytes_in_flight: int = 256 * 1024 * 1024
    """Request-body bytes held by requests being served, all together; a body beyond them is answered 503."""


@dataclass(frozen=True, slots=True)
class StateSettings:
    """Where key state and usage live. "sqlite" keeps them in `data_dir/keyproxy.db`; "memory" keeps nothing."""

    backend: Literal["sqlite", "memory"] = "sqlite"
    flush_interval: float = 1.0
    retention_days: int = 90
    prune_grace_days: float = 7.0
    responses_retention_days: int = 30
    """How long a stored Responses-API response is kept (OpenAI keeps them 30 days); 0 stores none."""
    prices: Mapping[str, Price] = field(default_factory=dict)
    """Price overrides from the config file, by model name or glob."""
    redis_url: str | None = field(default=None, repr=False)
    """Shared state for several instances; may hold a password, so it is never shown."""
    redis_prefix: str = "keyproxy:"
    """What every Redis key starts with: deployments that share one Redis server keep apart by it."""


@dataclass(frozen=True, slots=True)
class CaptureSettings:
    """Request capture for debugging a client: whole exchanges as JSON lines in `data_dir/captures/`.
    "errors" keeps only exchanges that ended in an error or had a failed attempt."""

    mode: CaptureMode = "off"
    max_bytes: int = 64 * 1024
    """Each body (as received, sent upstream, answered) is cut here; also what one is held in memory."""
    retention_days: int = 7
    max_total_bytes: int = 512 * 1024 * 1024
    """The oldest daily files are deleted past this total."""


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    proxy_api_key: str | None = field(default=None, repr=False)
    admin_api_key: str | None = field(default=None, repr=False)
    """KEYPROXY_ADMIN_KEY: when set, the admin routes take this key only, never the proxy key."""
    auth_failure_pause: float = 0.5
    """Seconds before a request with a wrong or missing proxy key is answered: guessing is slow."""
    cors_origins: tuple[str, ...] | None = None
    """Origins whose pages may call the proxy from a browser ("*" for any); None: any when a proxy key is
    set, none otherwise."""
    data_dir: Path = Path("data")
    demo: bool = False
    providers: Mapping[str, ProviderSettings] = field(default_factory=dict)
    aliases: Mapping[str, Alias] = field(default_factory=dict)
    default_provider: str | None = None
    """KEYPROXY_DEFAULT_PROVIDER: where a bare model name that is not an alias goes."""
    timeouts: Timeouts = field(default_factory=Timeouts)
    engine: EngineSettings = field(default_factory=EngineSettings)
    state: StateSettings = field(default_factory=StateSettings)
    capture: CaptureSettings = field(default_factory=CaptureSettings)
    google_oauth: GoogleOAuth = field(default_factory=GoogleOAuth)
    rotation_tolerance: float = 3.0
    override_temperature_zero: TemperatureOverride = "off"
    max_body_bytes: int = 32 * 1024 * 1024
    answer_limits: AnswerLimits = field(default_factory=AnswerLimits)
    server: ServerLimits = field(default_factory=ServerLimits)
    models_cache_ttl: float = 300.0
    keepalive_interval: float = 15.0
    drain_seconds: float = 30.0
    """On SIGTERM/SIGINT: how long requests and streams in flight may take to finish."""
    workers: int = 1
    """`keyproxy serve` worker processes on the one port; more than one needs Redis (docs/scaling.md)."""
    log_level: str = "INFO"
    access_log: AccessLogMode = "text"
    """KEYPROXY_ACCESS_LOG: one line per request on stderr and in the log file, as text or JSON, or none."""
    metrics: bool = True
    """KEYPROXY_METRICS: count requests and attempts for GET /metrics; off, /metrics is 404 and nothing is counted."""
    metrics_public: bool = False
    """KEYPROXY_METRICS_PUBLIC: /metrics answered without a key (for a scraper on a trusted network)."""
    env_file: Path | None = None
    config_file: Path | None = None
    warnings: tuple[str, ...] = ()

    def secrets(self) -> tuple[str, ...]:
        """Every value the logs, the answers and the files keyproxy writes must mask."""
        found = [secret for provider in self.providers.values() for secret in provider.secrets()]
        found += [key for key in (self.proxy_api_key, self.admin_api_key) if key]
        if self.state.redis_url:
            found += url_secrets(self.state.redis_url)
        return tuple(found)
