"""Builds the one Settings object from CLI options, the environment, `.env` and the config file, in that order."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from keyproxy.config.aliases import read_aliases
from keyproxy.config.explain import Explanation, Provenance, explain
from keyproxy.config.file import ConfigFile, read_config_file
from keyproxy.config.legacy import not_applied
from keyproxy.config.oauth_accounts import read_google_oauth
from keyproxy.config.providers import provider_name, read_providers
from keyproxy.config.settings import (
    AccessLogMode,
    AnswerLimits,
    CaptureMode,
    CaptureSettings,
    Credential,
    EngineSettings,
    ProviderSettings,
    ServerLimits,
    Settings,
    StateSettings,
    TemperatureOverride,
    Timeouts,
)
from keyproxy.config.sources import gather
from keyproxy.config.values import ValueReader
from keyproxy.config.workers import read_workers
from keyproxy.errors import ConfigError, InvalidConfiguration
from keyproxy.net import is_loopback

_DEFAULT = Settings()
"""Every default is written once, in the settings classes; the loader falls back to them."""

DEMO_KEYS = ("demo-key-alpha-0001", "demo-key-bravo-0002", "demo-key-charlie-0003")

_TEMPERATURE: dict[str, TemperatureOverride] = {
    "false": "off", "0": "off", "no": "off", "off": "off",
    "remove": "remove",
    "set": "set", "true": "set", "1": "set", "yes": "set",
}  # fmt: skip

_ACCESS_LOG: dict[str, AccessLogMode] = {"text": "text", "json": "json", "off": "off"}


@dataclass(frozen=True, slots=True)
class CliOptions:
    host: str | None = None
    port: int | None = None
    env_file: Path | None = None
    config_file: Path | None = None
    data_dir: Path | None = None
    demo: bool = False
    demo_base_url: str | None = None
    log_level: str | None = None
    workers: str | None = None
    """`--workers`: a number or auto."""


@dataclass(frozen=True, slots=True)
class ConfigReport:
    """What loading found: the settings (defaults where a value was invalid), every error, every warning."""

    settings: Settings
    errors: tuple[ConfigError, ...]
    explanation: Explanation | None = None
    """Every setting read, its value and where it came from (`keyproxy check --explain`)."""


def load_settings(options: CliOptions, *, cwd: Path | None = None) -> Settings:
    report = inspect_config(options, cwd=cwd)
    if report.errors:
        raise InvalidConfiguration(report.errors)
    return report.settings


def inspect_config(options: CliOptions, *, cwd: Path | None = None) -> ConfigReport:
    try:
        gathered = gather(options.env_file, cwd)
    except ConfigError as error:
        return ConfigReport(Settings(), (error,))
    config = read_config_file(options.config_file, gathered.values, cwd)
    return build_settings(
        gathered.values, options, env_path=gathered.env_path, cwd=cwd, config=config, origins=gathered.origins
    )


def build_settings(
    values: Mapping[str, str],
    options: CliOptions,
    *,
    env_path: Path | None = None,
    cwd: Path | None = None,
    config: ConfigFile | None = None,
    origins: Mapping[str, str] | None = None,
) -> ConfigReport:
    """Pure but for OAuth account files (those variables name, and the OAuth directory's): the same variables,
    options, config file and account files always give the same report.

    `config` is the file already read (`inspect_config` reads the one `options.config_file` or KEYPROXY_CONFIG
    names); its variables come under `values`. `origins` says which of `values` came from `.env`.
    """
    provenance = Provenance(
        origins or {}, config.variables if config else {}, config.label if config else None, _flags(options), env_path
    )
    if config is not None:
        values = {**config.variables, **values}
    reader = ValueReader(values)
    warnings: list[str] = []
    oauth = read_google_oauth(reader, cwd or Path.cwd())
    providers = read_providers(reader, warnings, oauth, cwd)
    if options.demo:
        providers["demo"] = _demo_provider(options.demo_base_url or "http://127.0.0.1:0/v1")
    aliases = read_aliases(config.aliases, config.label, providers, reader, warnings) if config else {}
    data_dir = options.data_dir or Path(reader.raw("KEYPROXY_DATA_DIR") or _DEFAULT.data_dir)
    if not data_dir.is_absolute():
        data_dir = (cwd or Path.cwd()) / data_dir
    host = options.host or reader.raw("KEYPROXY_HOST") or _DEFAULT.host
    proxy_key = reader.raw("PROXY_API_KEY")
    weak = _weak_proxy_key(host, proxy_key)
    max_body = reader.integer("KEYPROXY_MAX_BODY_BYTES", _DEFAULT.max_body_bytes, minimum=1024) or 0
    state = _state(reader, config)
    settings = Settings(
        host=host,
        port=_port(reader, options.port),
        proxy_api_key=proxy_key,
        admin_api_key=reader.raw("KEYPROXY_ADMIN_KEY"),
        auth_failure_pause=reader.number("KEYPROXY_AUTH_FAILURE_PAUSE", _DEFAULT.auth_failure_pause),
        cors_origins=_cors_origins(reader),
        data_dir=data_dir,
        demo=options.demo,
        providers=providers,
        aliases=aliases,
        default_provider=_default_provider(reader, providers),
        timeouts=_timeouts(reader),
        engine=_engine(reader),
        state=state,
        workers=read_workers(reader, options.workers, state.redis_url),
        capture=_capture(reader),
        google_oauth=oauth,
        rotation_tolerance=reader.number("ROTATION_TOLERANCE", _DEFAULT.rotation_tolerance),
        override_temperature_zero=reader.choice(
            "OVERRIDE_TEMPERATURE_ZERO", _DEFAULT.override_temperature_zero, _TEMPERATURE
        ),
        max_body_bytes=max_body,
        answer_limits=_answer_limits(reader),
        server=_server_limits(reader, max_body),
        models_cache_ttl=reader.number("KEYPROXY_MODELS_CACHE_TTL", _DEFAULT.models_cache_ttl),
        keepalive_interval=reader.number(
            "KEYPROXY_KEEPALIVE_INTERVAL", _DEFAULT.keepalive_interval, minimum=0.0, strict_min=True
        ),
        drain_seconds=reader.number("KEYPROXY_DRAIN_SECONDS", _DEFAULT.drain_seconds),
        log_level=_log_level(reader, options.log_level),
        access_log=reader.choice("KEYPROXY_ACCESS_LOG", _DEFAULT.access_log, _ACCESS_LOG),
        metrics=reader.flag("KEYPROXY_METRICS", _DEFAULT.metrics),
        metrics_public=reader.flag("KEYPROXY_METRICS_PUBLIC", _DEFAULT.metrics_public),
        env_file=env_path,
        config_file=config.path if config else None,
        warnings=(*warnings, *not_applied(values), *([weak] if weak else [])),
    )
    errors = (*(config.errors if config else ()), *reader.errors)
    # Read past the reader (a flag wins, or the default is the loader's): as the settings took them.
    effective = {
        **reader.effective,
        "KEYPROXY_HOST": settings.host,
        "KEYPROXY_PORT": str(settings.port),
        "KEYPROXY_DATA_DIR": str(settings.data_dir),
        "KEYPROXY_LOG_LEVEL": settings.log_level,
        "PROXY_API_KEY": settings.proxy_api_key or "not set",
        **({"KEYPROXY_CONFIG": config.label} if config else {}),
    }
    invalid = frozenset(error.variable for error in reader.errors)
    explanation = explain(effective, values, provenance, settings.secrets(), invalid)
    return ConfigReport(settings, errors, explanation)


def _flags(options: CliOptions) -> dict[str, str]:
    """The variables a given flag stands in for."""
    given = {
        "KEYPROXY_HOST": ("--host", options.host),
        "KEYPROXY_PORT": ("--port", options.port),
        "KEYPROXY_DATA_DIR": ("--data-dir", options.data_dir),
        "KEYPROXY_LOG_LEVEL": ("--log-level", options.log_level),
        "KEYPROXY_CONFIG": ("--config", options.config_file),
    }
    return {variable: flag for variable, (flag, value) in given.items() if value is not None}


def _default_provider(reader: ValueReader, providers: Mapping[str, ProviderSettings]) -> str | None:
    """KEYPROXY_DEFAULT_PROVIDER must name a configured provider, spelled as `provider/model` spells it."""
    name = "KEYPROXY_DEFAULT_PROVIDER"
    raw = reader.raw(name)
    if raw is None:
        return None
    if raw in providers:
        return raw
    known = provider_name(raw.replace("-", "_"))
    if known in providers:
        reader.fail(name, f"{raw!r} is not a provider name; did you mean {known!r}?")
    else:
        configured = ", ".join(sorted(providers)) or "none"
        reader.fail(name, f"{raw!r} is not a configured provider (configured: {configured})")
    return None


def _timeouts(reader: ValueReader) -> Timeouts:
    default = Timeouts()

    def read(name: str, fallback: float) -> float:
        return reader.number(name, fallback, minimum=0.0, strict_min=True)

    return Timeouts(
        total=read("GLOBAL_TIMEOUT", default.total),
        connect=read("TIMEOUT_CONNECT", default.connect),
        pool=read("TIMEOUT_POOL", default.pool),
        read_streaming=read("TIMEOUT_READ_STREAMING", default.read_streaming),
        read_non_streaming=read("TIMEOUT_READ_NON_STREAMING", default.read_non_streaming),
    )


def _answer_limits(reader: ValueReader) -> AnswerLimits:
    default = AnswerLimits()
    body = reader.integer("KEYPROXY_MAX_UPSTREAM_BODY_BYTES", default.body_bytes, minimum=1024)
    event = reader.integer("KEYPROXY_MAX_UPSTREAM_EVENT_BYTES", default.event_bytes, minimum=1024)
    return AnswerLimits(body_bytes=body or default.body_bytes, event_bytes=event or default.event_bytes)


def _server_limits(reader: ValueReader, max_body: int) -> ServerLimits:
    default = ServerLimits()

    def seconds(name: str, fallback: float) -> float:
        return reader.number(name, fallback, minimum=0.0, strict_min=True)

    def count(name: str, fallback: int, minimum: int) -> int:
        value = reader.integer(name, fallback, minimum=minimum)
        return fallback if value is None else value

    in_flight = count("KEYPROXY_MAX_BODY_BYTES_IN_FLIGHT", max(default.body_bytes_in_flight, max_body), 1024)
    if in_flight < max_body:
        reader.fail(
            "KEYPROXY_MAX_BODY_BYTES_IN_FLIGHT",
            f"must be at least KEYPROXY_MAX_BODY_BYTES ({max_body}), or no body that large is ever served",
        )
    return ServerLimits(
        max_header_bytes=count("KEYPROXY_MAX_HEADER_BYTES", default.max_header_bytes, 1024),
        header_timeout=seconds("KEYPROXY_HEADER_TIMEOUT", default.header_timeout),
        body_timeout=seconds("KEYPROXY_BODY_TIMEOUT", default.body_timeout),
        min_body_rate=count("KEYPROXY_MIN_BODY_RATE", default.min_body_rate, 0),
        keep_alive=seconds("KEYPROXY_KEEP_ALIVE_TIMEOUT", default.keep_alive),
        max_connections=count("KEYPROXY_MAX_CONNECTIONS", default.max_connections, 1),
        body_bytes_in_flight=max(in_flight, max_body),
    )


def _state(reader: ValueReader, config: ConfigFile | None) -> StateSettings:
    default = StateSettings()
    backends: dict[str, Literal["sqlite", "memory"]] = {"sqlite": "sqlite", "memory": "memory"}
    retention = reader.integer("KEYPROXY_USAGE_RETENTION_DAYS", default.retention_days, minimum=1)
    kept = reader.integer("KEYPROXY_RESPONSES_RETENTION_DAYS", default.responses_retention_days, minimum=0)
    return StateSettings(
        backend=reader.choice("KEYPROXY_STATE", default.backend, backends),
        flush_interval=reader.number("KEYPROXY_FLUSH_INTERVAL", default.flush_interval, minimum=0.0, strict_min=True),
        retention_days=retention if retention is not None else default.retention_days,
        prune_grace_days=reader.number("KEYPROXY_PRUNE_GRACE_DAYS", default.prune_grace_days),
        responses_retention_days=kept if kept is not None else default.responses_retention_days,
        prices=config.prices if config is not None else {},
        redis_url=_redis_url(reader),
        redis_prefix=reader.raw("KEYPROXY_REDIS_PREFIX") or default.redis_prefix,
    )


def _capture(reader: ValueReader) -> CaptureSettings:
    default = CaptureSettings()
    modes: dict[str, CaptureMode] = {"off": "off", "errors": "errors", "all": "all"}
    max_bytes = reader.integer("KEYPROXY_CAPTURE_MAX_BYTES", default.max_bytes, minimum=0)
    days = reader.integer("KEYPROXY_CAPTURE_RETENTION_DAYS", default.retention_days, minimum=1)
    total = reader.integer("KEYPROXY_CAPTURE_MAX_TOTAL_BYTES", default.max_total_bytes, minimum=1024)
    return CaptureSettings(
        mode=reader.choice("KEYPROXY_CAPTURE", default.mode, modes),
        max_bytes=max_bytes if max_bytes is not None else default.max_bytes,
        retention_days=days if days is not None else default.retention_days,
        max_total_bytes=total if total is not None else default.max_total_bytes,
    )


_ORIGIN = re.compile(r"^https?://[^/\s]+$")


def _cors_origins(reader: ValueReader) -> tuple[str, ...] | None:
    raw = reader.raw("KEYPROXY_CORS_ORIGINS")
    if raw is None:
        return None
    origins = tuple(origin.strip().rstrip("/") for origin in raw.split(",") if origin.strip())
    wrong = [origin for origin in origins if origin != "*" and not _ORIGIN.match(origin)]
    if wrong:
        reader.fail("KEYPROXY_CORS_ORIGINS", f"expected * or origins like https://chat.example.com, got {wrong[0]!r}")
        return None
    return origins


def _redis_url(reader: ValueReader) -> str | None:
    url = reader.raw("KEYPROXY_REDIS_URL")
    if url is not None and not re.match(r"^(redis|rediss|unix)://", url):
        reader.fail("KEYPROXY_REDIS_URL", "expected a redis://, rediss:// or unix:// URL")
        return None
    return url


def _engine(reader: ValueReader) -> EngineSettings:
    default = EngineSettings()
    return EngineSettings(
        max_attempts=reader.integer("KEYPROXY_MAX_ATTEMPTS", None, minimum=1),
        bench_seconds=reader.number("KEYPROXY_BENCH_SECONDS", default.bench_seconds, minimum=0.0, strict_min=True),
        model_refusal_seconds=reader.number(
            "KEYPROXY_MODEL_REFUSAL_SECONDS", default.model_refusal_seconds, minimum=0.0, strict_min=True
        ),
        max_cooldown=reader.number("KEYPROXY_MAX_COOLDOWN", default.max_cooldown, minimum=0.0, strict_min=True),
        transient_steps=reader.durations("KEYPROXY_TRANSIENT_COOLDOWNS", default.transient_steps),
        rate_limit_steps=reader.durations("KEYPROXY_RATE_LIMIT_COOLDOWNS", default.rate_limit_steps),
        quota_steps=reader.durations("KEYPROXY_QUOTA_COOLDOWNS", default.quota_steps),
        # The old proxy's TRANSIENT_RETRY_DELAY/_JITTER are honoured where keyproxy's own names are not set.
        transient_retry_delay=reader.number(
            _first_set(reader, "KEYPROXY_TRANSIENT_RETRY_DELAY", "TRANSIENT_RETRY_DELAY"), default.transient_retry_delay
        ),
        transient_retry_jitter=reader.number(
            _first_set(reader, "KEYPROXY_TRANSIENT_RETRY_JITTER", "TRANSIENT_RETRY_JITTER"),
            default.transient_retry_jitter,
        ),
        affinity_seconds=(
            reader.number("KEYPROXY_AFFINITY_TTL", default.affinity_seconds)
            if reader.flag("KEYPROXY_AFFINITY", True)
            else 0.0
        ),
        stream_retry_reasoning_only=reader.flag("STREAM_RETRY_ON_REASONING_ONLY", default.stream_retry_reasoning_only),
    )


def _first_set(reader: ValueReader, *names: str) -> str:
    """The first of `names` that has a value, so an error names the variable the user set."""
    return next((name for name in names if reader.raw(name) is not None), names[0])


def _port(reader: ValueReader, cli: int | None) -> int:
    if cli is None:
        return reader.integer("KEYPROXY_PORT", _DEFAULT.port, minimum=0, maximum=65535) or 0
    if not 0 <= cli <= 65535:
        reader.fail("--port", f"must be between 0 and 65535, got {cli}")
        return _DEFAULT.port
    return cli


def _log_level(reader: ValueReader, cli: str | None) -> str:
    levels = {name.lower(): name for name in ("DEBUG", "INFO", "WARNING", "ERROR")}
    if cli is not None:
        return levels.get(cli.lower(), _DEFAULT.log_level)
    return reader.choice("KEYPROXY_LOG_LEVEL", _DEFAULT.log_level, levels)


STRONG_KEY = 16
"""Characters a proxy key on a non-loopback address should have at least: fewer can be guessed online."""


def _weak_proxy_key(host: str, proxy_key: str | None) -> str | None:
    if proxy_key is None or is_loopback(host) or len(proxy_key) >= STRONG_KEY:
        return None
    return (
        f"PROXY_API_KEY has {len(proxy_key)} characters and {host} is not loopback: anyone who can reach it "
        f"may guess it; use {STRONG_KEY} or more random characters (32 is better)"
    )


def _demo_provider(base_url: str) -> ProviderSettings:
    return ProviderSettings(
        name="demo",
        protocol="openai",
        base_url=base_url,
        credentials=tuple(Credential(secret=key, source="--demo") for key in DEMO_KEYS),
    )
