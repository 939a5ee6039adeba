"""Reloading the configuration (`POST /v1/admin/reload`, SIGHUP): `.env` and the YAML file read again, what
can change at run time applied between requests, the rest named as needing a restart.

Applied: each provider's keys and tuning (a new pool per changed provider, engine/keyring.py), the rotation
tolerance, aliases and the default provider. Requests in flight finish on what they started with. A file that
does not load changes nothing and the error says why.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass

from keyproxy.api.asgi import Receive, Scope, Send, send_json
from keyproxy.api.catalog import CatalogRoutes
from keyproxy.api.openai_dialect import OPENAI
from keyproxy.api.route import Route, RouteTable
from keyproxy.api.targets import Resolver
from keyproxy.config.settings import Settings
from keyproxy.engine.keyring import KeyRing
from keyproxy.errors import ConfigError, InvalidConfiguration, InvalidRequest

logger = logging.getLogger("keyproxy.reload")

_APPLIED = frozenset({"providers", "aliases", "default_provider", "rotation_tolerance"})
_NOT_SETTINGS = frozenset({"warnings", "env_file", "config_file"})
"""What loading reports about itself rather than how to serve."""


@dataclass(frozen=True, slots=True)
class Reloaded:
    applied: list[str]
    needs_restart: list[str]


class Reloader:
    """`load` reads the configuration as the proxy was started with it (blocking; run in a thread); None for an
    application built from settings alone, which has nothing to reload. `spread`, when this process is one of
    several workers, asks the others to reload too after a reload asked over HTTP (a SIGHUP reaches them all)."""

    def __init__(
        self, settings: Settings, keys: KeyRing, resolver: Resolver, catalog: CatalogRoutes,
        load: Callable[[], Settings] | None, spread: Callable[[], None] | None = None,
    ) -> None:  # fmt: skip
        self._spread = spread
        self.settings = settings
        self.keys = keys
        self.resolver = resolver
        self.catalog = catalog
        self._load = load
        self._lock = asyncio.Lock()

    def routes(self) -> RouteTable:
        return {("POST", "/v1/admin/reload"): Route(self.reload_route, OPENAI, admin=True)}

    async def reload_route(self, scope: Scope, receive: Receive, send: Send) -> None:
        done = await self.reload()
        if self._spread is not None:
            self._spread()
        await send_json(send, 200, {"applied": done.applied, "needs_restart": done.needs_restart})

    async def reload(self) -> Reloaded:
        if self._load is None:
            raise InvalidRequest("this proxy was not started from configuration files; nothing to reload")
        async with self._lock:
            try:
                new = await asyncio.to_thread(self._load)
            except InvalidConfiguration as invalid:
                raise InvalidRequest(_refused("; ".join(str(error) for error in invalid.errors))) from None
            except ConfigError as error:
                raise InvalidRequest(_refused(str(error))) from None
            done = await self._apply(new)
        for warning in new.warnings:
            logger.warning("%s", warning)
        logger.info(
            "configuration reloaded; applied: %s; needs a restart: %s",
            ", ".join(done.applied) or "nothing", ", ".join(done.needs_restart) or "nothing",
        )  # fmt: skip
        return done

    async def _apply(self, new: Settings) -> Reloaded:
        old = self.settings
        needs_restart = [
            field.name for field in dataclasses.fields(Settings)
            if field.name not in _APPLIED | _NOT_SETTINGS and getattr(new, field.name) != getattr(old, field.name)
        ]  # fmt: skip
        added = sorted(set(new.providers) - set(old.providers))
        gone = sorted(set(old.providers) - set(new.providers))
        needs_restart += [f"provider {name} (added)" for name in added]
        needs_restart += [f"provider {name} (removed)" for name in gone]
        providers = {name: new.providers.get(name, settings) for name, settings in old.providers.items()}
        applied = [f"provider {name}" for name in await self.keys.reconfigure(providers, new.rotation_tolerance)]
        default = new.default_provider if new.default_provider in providers or new.default_provider is None else None
        aliases = {
            name: alias for name, alias in new.aliases.items()
            if all(target.partition("/")[0] in providers for target in alias.targets)
        }  # fmt: skip
        needs_restart += [f"alias {name} (names a provider added)" for name in new.aliases if name not in aliases]
        if new.default_provider != default:
            needs_restart.append("default_provider (names a provider added)")
        applied += [name for name, changed in (("aliases", aliases != dict(old.aliases)),
                                               ("default_provider", default != old.default_provider),
                                               ("rotation_tolerance", new.rotation_tolerance != old.rotation_tolerance))
                    if changed]  # fmt: skip
        self.settings = dataclasses.replace(
            old, providers=providers, aliases=aliases, default_provider=default,
            rotation_tolerance=new.rotation_tolerance,
        )  # fmt: skip
        self.resolver.settings = self.settings
        self.catalog.aliases = tuple(aliases)
        return Reloaded(applied, needs_restart)


def _refused(reason: str) -> str:
    return f"configuration not reloaded, nothing changed: {reason}"
