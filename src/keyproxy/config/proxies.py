"""Outbound proxies: which proxy, if any, each key's requests go through.

The most specific setting wins: `<P>_API_KEY_<N>_PROXY` (one key), `<P>_PROXY` (one provider),
`KEYPROXY_PROXY_URL` (every upstream), then the standard `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY` by the
upstream's scheme unless `NO_PROXY` names its host. `direct` at any level means no proxy from there down.
As Go's and curl's clients do, the environment's proxies are never used for a loopback upstream.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from keyproxy.config.values import ValueReader
from keyproxy.net import is_loopback

_SCHEMES = frozenset({"http", "https", "socks4", "socks4a", "socks5", "socks5h"})
_DIRECT = "direct"
_STANDARD = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@dataclass(frozen=True, slots=True)
class EnvironmentProxies:
    """The standard variables; the lowercase spelling wins, as curl and Python's urllib read them. Each proxy is
    kept with the variable that gave it, so an error and `keyproxy check --explain` name that one."""

    http: tuple[str, str] | None
    https: tuple[str, str] | None
    any: tuple[str, str] | None
    bypass: tuple[str, ...]

    @classmethod
    def read(cls, reader: ValueReader) -> EnvironmentProxies:
        """Also records for `--explain` each standard variable (its value, the unused spelling as such, or unset) and
        KEYPROXY_PROXY_URL, which a provider using it records again as it took it."""
        found: dict[str, tuple[str, str] | None] = {}
        for name in _STANDARD:
            given = [spelling for spelling in (name, name.upper()) if reader.values.get(spelling, "").strip()]
            found[name] = (given[0], reader.values[given[0]].strip()) if given else None
            if not given:
                reader.effective[name.upper()] = "not set"
            else:
                reader.effective[given[0]] = reader.values[given[0]].strip()
            for unused in given[1:]:
                reader.effective[unused] = f"not used: {given[0]} is set and wins"
        reader.effective["KEYPROXY_PROXY_URL"] = reader.values.get("KEYPROXY_PROXY_URL", "").strip() or "not set"
        bypass = found["no_proxy"]
        entries = tuple(entry.strip().lower() for entry in (bypass[1] if bypass else "").split(",") if entry.strip())
        return cls(found["http_proxy"], found["https_proxy"], found["all_proxy"], entries)

    def for_url(self, url: str) -> tuple[str, str] | None:
        """(the variable, its proxy) an upstream at `url` goes through; None: direct."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if not host or is_loopback(host) or self._bypassed(host, port):
            return None
        return (self.https if parts.scheme == "https" else self.http) or self.any

    def _bypassed(self, host: str, port: int) -> bool:
        for entry in self.bypass:
            if entry == "*":
                return True
            name, _, wanted_port = entry.rpartition(":") if re.search(r":\d+$", entry) else (entry, "", "")
            if wanted_port and int(wanted_port) != port:
                continue
            if _in_network(host, name):
                return True
            name = name.lstrip("*").lstrip(".")
            if host == name or host.endswith("." + name):
                return True
        return False


def proxy_for(reader: ValueReader, key_variable: str, default: str | None) -> str | None:
    """The proxy URL for one key: its own `<P>_API_KEY_<N>_PROXY`, else its provider's `default` (None: direct)."""
    variable = f"{key_variable}_PROXY"
    raw = reader.raw(variable)
    return default if raw is None else _checked(reader, variable, raw)


def provider_proxy(
    reader: ValueReader, base_url: str, provider_prefix: str, environment: EnvironmentProxies
) -> str | None:
    """The proxy URL of the provider's keys that have no setting of their own (keys added at run time too).

    `<P>_PROXY` is recorded for `--explain` even when unset, with where the provider's proxy comes from instead."""
    own = f"{provider_prefix}_PROXY"
    for variable in (own, "KEYPROXY_PROXY_URL"):
        raw = reader.raw(variable)
        if raw is not None:
            proxy = _checked(reader, variable, raw)
            if variable != own:
                reader.effective[own] = f"not set: {variable} applies"
            return proxy
    found = environment.for_url(base_url)
    if found is None:
        reader.effective[own] = "not set: direct"
        return None
    reader.effective[own] = f"not set: {found[0]} applies"
    return _checked(reader, *found)


def _checked(reader: ValueReader, variable: str, raw: str) -> str | None:
    proxy = None if raw.lower() == _DIRECT else _url(raw)
    if proxy is None and raw.lower() != _DIRECT:
        # The value is not echoed: a proxy URL may carry a password.
        reader.fail(variable, "expected a proxy URL such as http://host:3128 or socks5://host:1080, or direct")
    else:
        reader.effective[variable] = proxy or _DIRECT
    return proxy


def _url(raw: str) -> str | None:
    """`raw` as a proxy URL (a bare `host:port` is an HTTP proxy's), or None when it is not one."""
    try:
        parts = urlsplit(raw if "://" in raw else "http://" + raw)
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number from 0 to 65535)
    except ValueError:
        return None
    if parts.scheme not in _SCHEMES or not parts.hostname:
        return None
    return parts.geturl()


def _in_network(host: str, entry: str) -> bool:
    """NO_PROXY entries may be addresses or networks (10.0.0.0/8) matched against an address host."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
        return address in ipaddress.ip_network(entry.strip("[]"), strict=False)
    except ValueError:
        return False
