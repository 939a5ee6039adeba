"""`keyproxy check`: the configuration exactly as `serve` would load it, with every problem, no secrets.

With `--models` it also lists every provider's models, over the network, and says where a bare model name
that several providers list goes. With `--explain` it prints every setting read, its value and its source,
and what becomes of each old proxy variable set.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from keyproxy.cli.bind import bind_problem
from keyproxy.clock import SystemClock
from keyproxy.config import CliOptions, Settings, inspect_config
from keyproxy.config.caps import describe as describe_cap
from keyproxy.config.explain import Explanation
from keyproxy.config.fair_cycle import describe as describe_cycle
from keyproxy.engine.model_list import ModelList
from keyproxy.engine.pool import Pool
from keyproxy.redact import Fingerprinter, mask, shown_url
from keyproxy.transport.base import Transport


def check(
    options: CliOptions, *, models: bool = False, explain: bool = False, transport: Transport | None = None
) -> int:
    """`transport` is the upstream seam for `--models` (the HTTP/1.1 client unless given)."""
    report = inspect_config(options)
    settings = report.settings
    out = sys.stdout
    source = settings.env_file or "no .env file (environment only)"
    out.write(f"configuration: {source}\n")
    if settings.config_file is not None:
        out.write(f"config file: {settings.config_file}\n")
    out.write(f"listen: {settings.host}:{settings.port}   data dir: {settings.data_dir}\n")
    out.write(f"proxy key: {mask(settings.proxy_api_key) if settings.proxy_api_key else 'not set (open)'}\n")
    timeouts = settings.timeouts
    out.write(
        f"timeouts: total {timeouts.total:g}s, connect {timeouts.connect:g}s, "
        f"read {timeouts.read_non_streaming:g}s (stream {timeouts.read_streaming:g}s)\n"
    )
    out.write(f"providers ({len(settings.providers)}):\n")
    for name, provider in settings.providers.items():
        kind = "custom" if provider.custom else "built-in"
        native = ", own Responses API" if provider.responses == "native" else ""
        out.write(f"  {name}  [{provider.protocol}, {kind}{native}]  {shown_url(provider.base_url)}\n")
        for credential in provider.credentials:
            shown = mask(credential.secret) if credential.secret else "(no key)"
            via = f"  via {shown_url(credential.proxy)}" if credential.proxy else ""
            if credential.account is not None:
                # An account's priority follows its tier, found at start when the file does not say it.
                tier = credential.account.tier or "tier found at start"
                out.write(f"    {shown}  from {credential.source}  OAuth account, {tier}{via}\n")
                continue
            out.write(f"    {shown}  from {credential.source}  priority {credential.priority}{via}\n")
        if provider.ignore_models:
            out.write(f"    ignore: {', '.join(provider.ignore_models)}\n")
        if provider.whitelist_models:
            out.write(f"    whitelist: {', '.join(provider.whitelist_models)}\n")
        if provider.static_models:
            named = (m if m == sent else f"{m} (as {sent})" for m, sent in provider.static_models.items())
            out.write(f"    models ({name.upper()}_MODELS): {', '.join(named)}\n")
        if provider.fair_cycle is not None or provider.rotation_mode == "sequential":
            out.write(f"    fair cycle: {describe_cycle(provider.fair_cycle)}\n")
        for cap in provider.custom_caps:
            out.write(f"    cap ({cap.variable}): {describe_cap(cap)}\n")
    if not settings.providers:
        out.write("  none: set <PROVIDER>_API_KEY variables, or run with --demo\n")
    _rotation(settings, report.explanation, out)
    if settings.aliases:
        out.write(f"aliases ({len(settings.aliases)}):\n")
    for name, alias in settings.aliases.items():
        fallback = "  (also on context length)" if alias.on_context_length else ""
        out.write(f"  {name} -> {', '.join(alias.targets)}{fallback}\n")
    if settings.default_provider is not None:
        out.write(f"default provider: {settings.default_provider} (bare model names that are not aliases go there)\n")
    errors = [str(error) for error in report.errors]
    problem = bind_problem(settings.host, settings.proxy_api_key)
    if problem:
        errors.append(problem)
    for warning in settings.warnings:
        out.write(f"warning: {warning}\n")
    for error in errors:
        out.write(f"error: {error}\n")
    if models and not errors:
        asyncio.run(_models(settings, transport, out))
    if explain and report.explanation is not None:
        _explain(report.explanation, out)
    out.write("ok\n" if not errors else f"{len(errors)} error(s)\n")
    return 1 if errors else 0


def _rotation(settings: Settings, explanation: Explanation | None, out: TextIO) -> None:
    """Where keyproxy's default differs from the old proxy's: said for the providers that left it unset."""
    defaulted = {entry.name for entry in explanation.settings if entry.source == "default"} if explanation else set()
    balanced = [
        name for name, provider in settings.providers.items()
        if provider.rotation_mode == "balanced" and f"ROTATION_MODE_{name.upper()}" in defaulted
    ]  # fmt: skip
    if not balanced:
        return
    unfair = [name for name in balanced if settings.providers[name].fair_cycle is None]
    if unfair:
        # The old proxy's fair cycle defaulted on with its default rotation: an old .env relied on it unsaid.
        out.write(
            f"fair cycle: off for {', '.join(unfair)}, as it is by default with balanced rotation; the old proxy had "
            "it on with its sequential default (FAIR_CYCLE_<P>=true keeps it)\n"
        )
    if settings.engine.affinity_seconds:
        out.write(
            f"rotation: balanced with conversation affinity for {', '.join(balanced)}; the old proxy's default was "
            "sequential. keyproxy spreads conversations over the keys and keeps each one on its key, so the "
            "provider's prompt cache stays warm without piling every request on one key "
            "(ROTATION_MODE_<P>=sequential for the old behaviour)\n"
        )
        return
    out.write(
        f"rotation: balanced (conversation affinity off) for {', '.join(balanced)}; the old proxy's default was "
        "sequential (ROTATION_MODE_<P>=sequential)\n"
    )


def _explain(explanation: Explanation, out: TextIO) -> None:
    out.write("settings read (value, and where it came from):\n")
    for entry in explanation.settings:
        out.write(f"  {entry.name} = {entry.value}  ({entry.source})\n")
    if explanation.old_proxy:
        out.write("old proxy variables:\n")
    for name, verdict in explanation.old_proxy:
        out.write(f"  {name}: {verdict}\n")
    if explanation.unread:
        out.write(f"not read by keyproxy (a typo, or another program's): {', '.join(explanation.unread)}\n")


async def _models(settings: Settings, transport: Transport | None, out: TextIO) -> None:
    """Every provider's model list as the proxy gathers it, and where each bare name listed more than once goes."""
    if transport is None:
        from keyproxy.transport.http1 import Http1Transport

        transport = Http1Transport()
    # Only the model lists are read: these ids are never stored.
    ids, tolerance = Fingerprinter.random(), settings.rotation_tolerance
    pools = {name: Pool.build(p, tolerance, fingerprints=ids) for name, p in settings.providers.items()}
    try:
        models = ModelList(pools, transport, SystemClock(), settings.timeouts, 0.0, settings.answer_limits)
        listings = await models.listings()
    finally:
        await transport.aclose()
    out.write("models:\n")
    listed_by: dict[str, list[str]] = {}
    for name, listed in listings.items():
        if listed is None:
            out.write(f"  {name}: could not be listed; bare names cannot reach it, {name}/<model> still does\n")
            continue
        out.write(f"  {name}: {len(listed)} model(s)\n")
        for model in listed:
            listed_by.setdefault(model, []).append(name)
    if settings.default_provider is not None:
        default = settings.default_provider
        out.write(f"bare model names go to {default} (KEYPROXY_DEFAULT_PROVIDER), whoever lists them\n")
        return
    shared = {model: names for model, names in listed_by.items() if len(names) > 1}
    if not shared:
        out.write("no bare model name is listed by more than one provider\n")
        return
    out.write(f"bare model names listed by more than one provider ({len(shared)}): the first provider serves them\n")
    for model, names in sorted(shared.items()):
        out.write(f"  {model} -> {names[0]}/{model}  (also listed by {', '.join(names[1:])})\n")
