"""A provider protocol as the router sees it: where the key travels, how errors are worded, who answers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from keyproxy.testing._delivery import JsonReply, Reply
from keyproxy.testing.faults import Fault

Handler = Callable[[dict[str, Any]], Reply]


class Dialect(Protocol):
    def key(self, headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
        """The API key the request carries, or None."""
        ...

    def refusal(self, headers: Mapping[str, str]) -> JsonReply | None:
        """The answer to a request refused for its headers alone (a missing version), or None."""
        ...

    def missing_key(self) -> JsonReply: ...

    def fault(self, fault: Fault, *, key: str, model: str) -> JsonReply | None:
        """The error answer for an error fault; None for the kinds that misbehave otherwise."""
        ...

    def error(self, status: int, message: str) -> JsonReply:
        """A plain error of this protocol's shape, for bad bodies, unknown paths and released hangs."""
        ...


@dataclass(frozen=True, slots=True)
class Route:
    """Who answers a request: `handler` None for an unknown path; `model` when the path names it (Gemini)."""

    dialect: Dialect
    handler: Handler | None
    model: str | None = None


def bearer(headers: Mapping[str, str]) -> str | None:
    """The token of an `Authorization: Bearer` header."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None
