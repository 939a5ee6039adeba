"""Azure OpenAI's routes: the v1 API under /openai/v1 and the classic deployment URLs with an api-version.

The key comes in the `api-key` header. A deployment is a model the fake serves; another name gets Azure's
404 `DeploymentNotFound`, and a classic URL without `api-version` its 404, as Azure answers.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from keyproxy.testing._delivery import JsonReply, Reply
from keyproxy.testing._dialect import Handler, Route
from keyproxy.testing.faults import Fault
from keyproxy.testing.responses import OPENAI

PREFIX = "/openai/"
_DEPLOYMENTS = "/openai/deployments/"
_OPERATIONS = ("chat/completions", "completions", "embeddings")


class AzureDialect:
    """OpenAI's error shape, with Azure's key header and its own 401."""

    __slots__ = ()

    def key(self, headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
        return headers.get("api-key") or None

    def refusal(self, headers: Mapping[str, str]) -> JsonReply | None:
        return None

    def missing_key(self) -> JsonReply:
        message = "Access denied due to missing subscription key."
        return JsonReply(401, {"error": {"code": "401", "message": message}})

    def fault(self, fault: Fault, *, key: str, model: str) -> JsonReply | None:
        return OPENAI.fault(fault, key=key, model=model)

    def error(self, status: int, message: str) -> JsonReply:
        return OPENAI.error(status, message)


AZURE = AzureDialect()


def azure_route(
    method: str, path: str, query: Mapping[str, str], models: Sequence[str], operations: Mapping[str, Handler]
) -> Route:
    """`operations` answers each OpenAI operation (`chat/completions`, `completions`, `embeddings`, `models`)."""
    if path.startswith("/openai/v1/"):
        operation = path.removeprefix("/openai/v1/")
        handler = operations.get(operation) if method == ("GET" if operation == "models" else "POST") else None
        return Route(AZURE, handler)
    if "api-version" not in query:
        return Route(AZURE, functools.partial(_not_found, "404", "Resource not found"))
    if method == "GET" and path == "/openai/models":
        return Route(AZURE, operations.get("models"))
    deployment, _, operation = path.removeprefix(_DEPLOYMENTS).partition("/")
    if method != "POST" or not path.startswith(_DEPLOYMENTS) or operation not in _OPERATIONS:
        return Route(AZURE, None)
    if deployment not in models:
        message = "The API deployment for this resource does not exist."
        return Route(AZURE, functools.partial(_not_found, "DeploymentNotFound", message), deployment)
    return Route(AZURE, functools.partial(_deployed, operations[operation], deployment), deployment)


def _deployed(handler: Handler, deployment: str, body: dict[str, Any]) -> Reply:
    # The deployment decides the model, whatever the body says.
    return handler({**body, "model": deployment})


def _not_found(code: str, message: str, body: dict[str, Any]) -> Reply:
    return JsonReply(404, {"error": {"code": code, "message": message}})
