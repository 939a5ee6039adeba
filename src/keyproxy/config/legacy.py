"""The old proxy's variables and what keyproxy does with each: applied, mapped, or not applied and why.

An old `.env` must load cleanly and never be ignored in silence: every variable not applied is named once
at start and by `keyproxy check`; `keyproxy check --explain` gives every old variable's fate. What the old
proxy did is from its source (docs/reference/old-proxy-variables.md); what keyproxy applies instead is in
docs/configuration.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from keyproxy.config.catalogue import ALIASES

_NOT_APPLIED: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), message)
    for pattern, message in (
        (r"^SKIP_OAUTH_INIT_CHECK$", "SKIP_OAUTH_INIT_CHECK is not applied: keyproxy never logs an account in at "
         "start; `keyproxy login gemini-cli` adds one"),
        (r"^OAUTH_REFRESH_INTERVAL$", "OAUTH_REFRESH_INTERVAL is not applied: keyproxy refreshes each account's "
         "token five minutes before it expires"),
        (r"^(?!GEMINI_CLI_)\w+_OAUTH_\d+$",
         "<PROVIDER>_OAUTH_<N> (OAuth credential files) is not applied for providers other than Gemini CLI"),
        (r"^(ANTIGRAVITY|QWEN_CODE|IFLOW)_",
         "ANTIGRAVITY_*/QWEN_CODE_*/IFLOW_* (OAuth account providers) are not applied yet: only Gemini CLI is"),
        (r"^GEMINI_CLI_(QUOTA_REFRESH_INTERVAL|SIGNATURE_|GEMINI3_)",
         "GEMINI_CLI_QUOTA_REFRESH_INTERVAL/_SIGNATURE_*/_GEMINI3_* (quota polling, Gemini 3 tool workarounds) are "
         "not applied: a quota error cools the account's model until the quota resets"),
        (r"^GEMINI_CLI_(UA_VERSION|NODE_CLIENT_VERSION|GL_NODE_VERSION|PLATFORM_ARCH|ACCEPT_ENCODING)$",
         "GEMINI_CLI_UA_VERSION and the other client-imitation headers are not applied: keyproxy does not "
         "pretend to be the Gemini CLI"),
        (r"^GEMINI_CLI_OAUTH_PORT$",
         "GEMINI_CLI_OAUTH_PORT is not applied: give `keyproxy login gemini-cli --callback-port`"),
        (r"^GEMINI_CLI_\d+_(TOKEN_URI|UNIVERSE_DOMAIN)$|^GEMINI_CLI_UNIVERSE_DOMAIN$",
         "GEMINI_CLI_<N>_TOKEN_URI/_UNIVERSE_DOMAIN are not applied: every account refreshes at GEMINI_CLI_TOKEN_URI"),
        (r"^TIMEOUT_WRITE$", "TIMEOUT_WRITE is not applied: the upstream client has no write timeout"),
        (r"^FAIR_CYCLE_QUOTA_THRESHOLD_",
         "FAIR_CYCLE_QUOTA_THRESHOLD_<P> is not applied: the old proxy read it but nothing there used it"),
        (r"^(MONTHLY_BUDGET|RPD_LIMIT|RPD_ALIAS|RPD_RESET)_",
         "MONTHLY_BUDGET_*/RPD_* are not applied: the old proxy's spend and requests-per-day caps per key"),
        (r"^SESSION_(STICKY|PERSISTENCE)_|^TRUSTED_SESSION_ID_FIELDS$",
         "SESSION_STICKY_*/SESSION_PERSISTENCE_*/TRUSTED_SESSION_ID_FIELDS are not applied: keyproxy keeps a "
         "conversation on its key by itself (KEYPROXY_AFFINITY, KEYPROXY_AFFINITY_TTL)"),
        (r"^MAX_RETRIES_", "MAX_RETRIES_<P> is not applied: keyproxy tries each key once, plus one retry "
         "(KEYPROXY_MAX_ATTEMPTS caps the attempts)"),
        (r"^SMALL_COOLDOWN_RETRY_THRESHOLD$",
         "SMALL_COOLDOWN_RETRY_THRESHOLD is not applied: keyproxy waits for a short cooldown within GLOBAL_TIMEOUT"),
        (r"^SEQUENTIAL_FALLBACK_MULTIPLIER_",
         "SEQUENTIAL_FALLBACK_MULTIPLIER_<P> is not applied: a tier without CONCURRENCY_MULTIPLIER_* gets x1"),
        (r"_API_HEADERS$", "<P>_API_HEADERS (extra upstream headers) is not applied"),
        (r"^(ENABLE_REQUEST_LOGGING|REQUEST_LOGGING_ENABLED|ENABLE_RAW_LOGGING)$",
         "request logging variables are not applied: see keyproxy's access log and request capture"),
        (r"^(FALLBACK_COOLDOWN_|PROVIDER_COOLDOWN_|FALLBACK_GROUP|MODEL_ROUTE_)",
         "fallback-group variables of the old proxy's experimental branch are not applied: use aliases"),
    )
)  # fmt: skip


_APPLIED: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, flags), verdict)
    for pattern, verdict, flags in (
        *((rf"^{alias.upper()}_API_(KEY|BASE)",
           f"mapped to provider {target} (its {target.upper()}_ spelling wins when both are set)", 0)
          for alias, target in ALIASES.items()),
        (r"^PROXY_API_KEY$|_API_KEY(_\d+)?$|_API_BASE$", "applied", 0),
        (r"^GEMINI_CLI_(\d+_)?(ACCESS_TOKEN|REFRESH_TOKEN|EXPIRY_DATE|PROJECT_ID|TIER|EMAIL|CLIENT_ID|CLIENT_SECRET)$"
         r"|^GEMINI_CLI_OAUTH_\d+$|^GEMINI_CLI_(TOKEN|AUTH)_URI$", "applied", 0),
        (r"^(IGNORE|WHITELIST)_MODELS_|_MODELS$", "applied", 0),
        (r"^ROTATION_MODE_|^ROTATION_TOLERANCE$|^(MAX|OPTIMAL)_CONCURRENT_REQUESTS_PER_KEY_"
         r"|^CONCURRENCY_MULTIPLIER_|^QUOTA_GROUPS_", "applied", 0),
        (r"^FAIR_CYCLE_(ENABLED_|TRACKING_MODE_|CROSS_TIER_|DURATION_|RESET_COOLDOWN_THRESHOLD_)?"
         r"|^EXHAUSTION_COOLDOWN_THRESHOLD(_|$)|^CUSTOM_CAP_", "applied", 0),
        (r"^GLOBAL_TIMEOUT$|^TIMEOUT_(CONNECT|POOL|READ_STREAMING|READ_NON_STREAMING)$", "applied", 0),
        (r"^OVERRIDE_TEMPERATURE_ZERO$|^STREAM_RETRY_ON_REASONING_ONLY$", "applied", 0),
        (r"^TRANSIENT_RETRY_(DELAY|JITTER)$",
         "mapped to KEYPROXY_TRANSIENT_RETRY_DELAY/_JITTER, which win when set", 0),
        (r"^(HTTPS?|ALL|NO)_PROXY$", "applied", re.IGNORECASE),
    )
)  # fmt: skip


def status(variable: str) -> str | None:
    """What keyproxy does with an old proxy's variable: applied, mapped (to what), or not applied and why;
    None for a variable the old proxy did not read."""
    for pattern, message in _NOT_APPLIED:
        if pattern.search(variable):
            return message
    for pattern, verdict in _APPLIED:
        if pattern.search(variable):
            return verdict
    return None


def not_applied(values: Mapping[str, str]) -> list[str]:
    """One line per kind of old variable that is set and changes nothing here, in a stable order."""
    named: dict[str, None] = {}
    for variable in sorted(values):
        if not values[variable].strip():
            continue
        for pattern, message in _NOT_APPLIED:
            if pattern.search(variable):
                named[message] = None
                break
    return list(named)
