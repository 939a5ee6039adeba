"""`keyproxy check`: the configuration exactly as `serve` would load it, with every problem, no secrets."""

from __future__ import annotations

import sys

from keyproxy.cli.bind import bind_problem
from keyproxy.config import CliOptions, inspect_config
from keyproxy.redact import mask, shown_url


def check(options: CliOptions) -> int:
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
            out.write(f"    {shown}  from {credential.source}  priority {credential.priority}\n")
        if provider.ignore_models:
            out.write(f"    ignore: {', '.join(provider.ignore_models)}\n")
        if provider.whitelist_models:
            out.write(f"    whitelist: {', '.join(provider.whitelist_models)}\n")
    if not settings.providers:
        out.write("  none: set <PROVIDER>_API_KEY variables, or run with --demo\n")
    if settings.aliases:
        out.write(f"aliases ({len(settings.aliases)}):\n")
    for name, alias in settings.aliases.items():
        fallback = "  (also on context length)" if alias.on_context_length else ""
        out.write(f"  {name} -> {', '.join(alias.targets)}{fallback}\n")
    errors = [str(error) for error in report.errors]
    problem = bind_problem(settings.host, settings.proxy_api_key)
    if problem:
        errors.append(problem)
    for warning in settings.warnings:
        out.write(f"warning: {warning}\n")
    for error in errors:
        out.write(f"error: {error}\n")
    out.write("ok\n" if not errors else f"{len(errors)} error(s)\n")
    return 1 if errors else 0
