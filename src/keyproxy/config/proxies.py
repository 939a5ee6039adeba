"""Outbound proxies: which proxy, if any, each key's requests go through.

The most specific setting wins: `<P>_API_KEY_<N>_PROXY` (one key), `<P>_PROXY` (one provider),
`KEYPROXY_PROXY_URL` (every upstream), then the standard `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY` by the
upstream's scheme unless `NO_PROXY` names its host. `direct` at any level means no proxy from there down.
As Go's and curl's clients do, the environment's proxies are never used for a loopback upstream.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from keyproxy.config.values import ValueReader
from keyproxy.net import is_loopback

_SCHEMES = frozenset({"http", "https", "socks4", "socks4a", "socks5", "socks5h"})
_DIRECT = "direct"


@dataclass(frozen=True, slots=True)
class EnvironmentProxies:
    """The standard variables; the lowercase spelling wins, as curl and Python's urllib read them."""

    http: str | None
    https: str | None
    any: str | None
    bypass: tuple[str, ...]

    @classmethod
    def read(cls, values: Mapping[str, str]) -> EnvironmentProxies:
        def get(name: str) -> str | None:
            value = (values.get(name.lower()) or values.get(name.upper()) or "").strip()
            return value or None

        bypass = tuple(entry.strip().lower() for entry in (get("no_proxy") or "").split(",") if entry.strip())
        return cls(get("http_proxy"), get("https_proxy"), get("all_proxy"), bypass)

    def for_url(self, url: str) -> str | None:
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
    """The proxy URL of the provider's keys that have no setting of their own (keys added at run time too)."""
    for variable in (f"{provider_prefix}_PROXY", "KEYPROXY_PROXY_URL"):
        raw = reader.raw(variable)
        if raw is not None:
            return _checked(reader, variable, raw)
    found = environment.for_url(base_url)
    return _checked(reader, "HTTPS_PROXY" if base_url.startswith("https") else "HTTP_PROXY", found) if found else None


def _checked(reader: ValueReader, variable: str, raw: str) -> str | None:
    if raw.lower() == _DIRECT:
        return None
    parts = urlsplit(raw if "://" in raw else "http://" + raw)
    if parts.scheme not in _SCHEMES or not parts.hostname:
        # The value is not echoed: a proxy URL may carry a password.
        reader.fail(variable, "expected a proxy URL such as http://host:3128 or socks5://host:1080, or direct")
        return None
    return parts.geturl()


def _in_network(host: str, entry: str) -> bool:
    """NO_PROXY entries may be addresses or networks (10.0.0.0/8) matched against an address host."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
        return address in ipaddress.ip_network(entry.strip("[]"), strict=False)
    except ValueError:
        return False
