"""GET /openapi.json: an OpenAPI 3.1 description of keyproxy's own API, written here as data and encoded once.

Every route is described with its request, its answer and its errors in its dialect's shape (OpenAI's,
Anthropic's or the Responses API's); tests/api/test_openapi.py keeps the document and the routes the app
serves the same. It is served behind the proxy key like every route but the health check: it names the
gateway, its version and its admin routes, which an operator may not want to advertise to whoever can
reach the port, and the clients that need it hold the key anyway.
"""

from __future__ import annotations

import functools
from typing import Any

import msgspec

from keyproxy import __version__
from keyproxy.api.asgi import Receive, Scope, Send, send_bytes
from keyproxy.api.openai_dialect import OPENAI
from keyproxy.api.route import Route, RouteTable

PATH = "/openapi.json"
ERROR_SCHEMAS = {"openai": "OpenAIError", "anthropic": "AnthropicError", "responses": "ResponsesError"}
"""A dialect's name -> the schema of its error body; the test checks each route's errors against its dialect."""

_OBJECT: dict[str, Any] = {"type": "object"}
_TEXT: dict[str, Any] = {"type": "string"}
_JSON = "application/json"
_SSE = "text/event-stream"


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _body(schema: str) -> dict[str, Any]:
    return {"required": True, "content": {_JSON: {"schema": _ref(schema)}}}


def _answers(dialect: str | tuple[str, ...], ok: str, *, stream: bool = False) -> dict[str, Any]:
    """200 with `ok` (or its event stream), and every error status in the dialect's shape."""
    names = (dialect,) if isinstance(dialect, str) else dialect
    errors = _ref(ERROR_SCHEMAS[names[0]]) if len(names) == 1 else {"anyOf": [_ref(ERROR_SCHEMAS[n]) for n in names]}
    content: dict[str, Any] = {_JSON: {"schema": _ref(ok)}}
    if stream:
        # Each event's data is JSON in the client's format (or `[DONE]`); its shape is the API's own.
        content[_SSE] = {"schema": {"description": "server-sent events"}}
    error = {"content": {_JSON: {"schema": errors}}}
    return {
        "200": {"description": "The answer" + (", or its event stream when `stream` is true" if stream else ""),
                "content": content},
        "4XX": {"description": "The request cannot be served as sent (400, 401, 403, 404, 413, or an upstream's "
                               "own client error with its status); 429 when no key is available", **error},
        "5XX": {"description": "No upstream could answer: 502 every key failed, 503 none is usable or the proxy "
                               "is stopping, 504 GLOBAL_TIMEOUT ran out", **error},
    }  # fmt: skip


def _asset(types: tuple[str, ...]) -> dict[str, Any]:
    """A dashboard file: 200, or 304 to a matching If-None-Match; an error (a name not shipped) in OpenAI's shape."""
    errors = {status: answer for status, answer in _answers("openai", "OpenAPI").items() if status != "200"}
    return {
        "200": {"description": "The file", "content": {kind: {"schema": _TEXT} for kind in types}},
        **errors,
        "304": {"description": "The file has not changed since the ETag sent"},
    }


def _created(answers: dict[str, Any]) -> dict[str, Any]:
    """The answers of a route that creates: 201 where others answer 200."""
    return {("201" if status == "200" else status): answer for status, answer in answers.items()}


def _operation(summary: str, tag: str, answers: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"summary": summary, "tags": [tag], "responses": answers, **extra}


def _model_id(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}


_ACTION = {"name": "action", "in": "path", "required": True, "schema": {"enum": ["disable", "enable", "test"]}}
_MODEL = {"type": "string", "minLength": 1, "description": "`provider/model`, or an alias"}
_MESSAGE = {
    "type": "object",
    "required": ["role"],
    "properties": {
        "role": {"enum": ["system", "developer", "user", "assistant", "tool"]},
        "content": {"anyOf": [_TEXT, {"type": "array", "items": _OBJECT}, {"type": "null"}]},
        "tool_calls": {"type": "array", "items": _OBJECT},
        "tool_call_id": _TEXT,
    },
}
_STOP = {"anyOf": [_TEXT, {"type": "array", "items": _TEXT}, {"type": "null"}]}

SCHEMAS: dict[str, Any] = {
    "OpenAIError": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"type": "object", "required": ["message", "type"], "properties": {
            "message": _TEXT, "type": _TEXT, "code": {"type": ["string", "null"]}}}},
    },
    "AnthropicError": {
        "type": "object",
        "required": ["type", "error"],
        "properties": {"type": {"const": "error"}, "error": {"type": "object", "required": ["type", "message"],
                                                              "properties": {"type": _TEXT, "message": _TEXT}}},
    },
    "ResponsesError": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"type": "object", "required": ["message"], "properties": {
            "message": _TEXT, "type": _TEXT, "param": {"type": ["string", "null"]},
            "code": {"type": ["string", "null"]}}}},
    },
    "ChatRequest": {
        "type": "object",
        "required": ["model", "messages"],
        "properties": {
            "model": _MODEL, "messages": {"type": "array", "items": _MESSAGE}, "stream": {"type": "boolean"},
            "temperature": {"type": "number"}, "max_tokens": {"type": "integer"}, "stop": _STOP,
            "tools": {"type": "array", "items": _OBJECT}, "response_format": _OBJECT,
            "stream_options": _OBJECT,
        },
    },
    "EmbeddingsRequest": {
        "type": "object",
        "required": ["model", "input"],
        "properties": {"model": _MODEL, "input": {"anyOf": [_TEXT, {"type": "array", "items": _TEXT}]},
                       "encoding_format": {"enum": ["float", "base64"]}, "dimensions": {"type": "integer"}},
    },
    "CompletionsRequest": {
        "type": "object",
        "required": ["model", "prompt"],
        "properties": {"model": _MODEL, "prompt": {"anyOf": [_TEXT, {"type": "array"}]},
                       "stream": {"type": "boolean"}, "max_tokens": {"type": "integer"}, "suffix": _TEXT},
    },
    "MessagesRequest": {
        "type": "object",
        "required": ["model", "messages", "max_tokens"],
        "properties": {
            "model": _MODEL, "max_tokens": {"type": "integer", "minimum": 1}, "stream": {"type": "boolean"},
            "system": {"anyOf": [_TEXT, {"type": "array", "items": _OBJECT}]},
            "messages": {"type": "array", "items": {"type": "object", "required": ["role", "content"], "properties": {
                "role": {"enum": ["user", "assistant"]},
                "content": {"anyOf": [_TEXT, {"type": "array", "items": _OBJECT}]}}}},
            "stop_sequences": {"type": "array", "items": _TEXT}, "tools": {"type": "array", "items": _OBJECT},
        },
    },
    "CountTokensRequest": {"type": "object", "required": ["model", "messages"],
                           "properties": {"model": _MODEL, "messages": {"type": "array", "items": _OBJECT}}},
    "ResponsesRequest": {
        "type": "object",
        "required": ["model", "input"],
        "properties": {
            "model": _MODEL, "input": {"anyOf": [_TEXT, {"type": "array", "items": _OBJECT}]},
            "instructions": _TEXT, "stream": {"type": "boolean"}, "store": {"type": "boolean"},
            "previous_response_id": _TEXT, "tools": {"type": "array", "items": _OBJECT}, "text": _OBJECT,
        },
    },
    "ResetRequest": {"type": "object", "required": ["provider"],
                     "properties": {"provider": _TEXT, "key": {"type": ["string", "null"]}}},
    "EstimateRequest": {"type": "object", "description": "A chat or messages request body (model and messages)."},
    "ChatCompletion": {"type": "object", "description": "OpenAI's chat completion, or its chunks when streamed"},
    "Embeddings": {"type": "object", "required": ["data"], "properties": {"data": {"type": "array"}}},
    "Completion": {"type": "object", "description": "OpenAI's legacy text completion, or its chunks when streamed"},
    "Message": {"type": "object", "description": "Anthropic's message, or its events when streamed"},
    "TokenCount": {"type": "object", "required": ["input_tokens"], "properties": {"input_tokens": {"type": "integer"}}},
    "Response": {"type": "object", "required": ["id"], "properties": {"id": _TEXT}},
    "ModelList": {"type": "object", "description": "OpenAI's list (`object`, `data`), or Anthropic's page (`data`, "
                                                   "`has_more`) for a request with `anthropic-version`"},
    "Model": {"type": "object", "required": ["id"], "properties": {"id": _TEXT}},
    "Providers": {"type": "object", "required": ["data"], "properties": {"data": {"type": "array"}}},
    "Health": {"type": "object", "required": ["status", "version"], "properties": {"status": _TEXT,
                                                                                   "version": _TEXT}},
    "Status": {"type": "object", "required": ["providers"], "properties": {"providers": _OBJECT}},
    "Reset": {"type": "object", "required": ["provider", "lifted"]},
    "KeyAddRequest": {"type": "object", "required": ["provider", "key"], "additionalProperties": False,
                      "properties": {"provider": _TEXT, "key": _TEXT}},
    "KeyAdded": {"type": "object", "required": ["provider", "id", "key"],
                 "properties": {"provider": _TEXT, "id": _TEXT, "key": {**_TEXT, "description": "masked"}}},
    "KeyRemoved": {"type": "object", "required": ["provider", "id", "removed"]},
    "KeyAction": {"anyOf": [
        {"type": "object", "required": ["provider", "id", "disabled"], "properties": {"disabled": {"type": "boolean"}}},
        {"type": "object", "required": ["provider", "id", "key", "result", "status", "message"], "properties": {
            "result": {"enum": ["alive", "rejected", "rate_limited", "unreachable"]},
            "status": {"type": ["integer", "null"]}, "message": _TEXT}},
    ]},
    "Reloaded": {"type": "object", "required": ["applied", "needs_restart"], "properties": {
        "applied": {"type": "array", "items": _TEXT}, "needs_restart": {"type": "array", "items": _TEXT}}},
    "Usage": {"type": "object", "required": ["providers"], "properties": {"providers": _OBJECT}},
    "Activity": {"type": "object", "required": ["now", "series", "keys", "failures"], "properties": {
        "now": {"type": "number"}, "series": _OBJECT, "key_window_minutes": {"type": "integer"}, "keys": _OBJECT,
        "failures": {"type": "array", "items": _OBJECT}}},
    "Estimate": _OBJECT,
    "OpenAPI": {"type": "object", "required": ["openapi", "paths"]},
}  # fmt: skip

_DAY = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
_HEALTH = _operation("Liveness and version; needs no key", "gateway", _answers("openai", "Health"), security=[])

PATHS: dict[str, dict[str, Any]] = {
    "/v1/chat/completions": {"post": _operation(
        "OpenAI chat completions, to any provider", "openai", _answers("openai", "ChatCompletion", stream=True),
        requestBody=_body("ChatRequest"))},
    "/v1/completions": {"post": _operation(
        "OpenAI legacy text completions (fill-in-the-middle), to OpenAI-protocol providers", "openai",
        _answers("openai", "Completion", stream=True), requestBody=_body("CompletionsRequest"))},
    "/v1/embeddings": {"post": _operation(
        "OpenAI embeddings", "openai", _answers("openai", "Embeddings"), requestBody=_body("EmbeddingsRequest"))},
    "/v1/messages": {"post": _operation(
        "Anthropic Messages, to any provider", "anthropic", _answers("anthropic", "Message", stream=True),
        requestBody=_body("MessagesRequest"))},
    "/v1/messages/count_tokens": {"post": _operation(
        "Anthropic token count (exact from Anthropic, an estimate elsewhere)", "anthropic",
        _answers("anthropic", "TokenCount"), requestBody=_body("CountTokensRequest"))},
    "/v1/responses": {"post": _operation(
        "OpenAI Responses API, to any provider", "responses", _answers("responses", "Response", stream=True),
        requestBody=_body("ResponsesRequest"))},
    "/v1/responses/{response_id}": {
        "get": _operation("A stored response", "responses", _answers("responses", "Response"),
                          parameters=[_model_id("response_id")]),
        "delete": _operation("Delete a stored response", "responses", _answers("responses", "Response"),
                             parameters=[_model_id("response_id")]),
    },
    "/v1/models": {"get": _operation(
        "Models and aliases offered (Anthropic's page with `anthropic-version`)", "models",
        _answers(("openai", "anthropic"), "ModelList"))},
    "/v1/models/{model_id}": {"get": _operation(
        "One model (Anthropic's shape with `anthropic-version`); the id may contain `/`", "models",
        _answers(("openai", "anthropic"), "Model"), parameters=[_model_id("model_id")])},
    "/v1/providers": {"get": _operation("Configured providers, base URLs masked", "gateway",
                                        _answers("openai", "Providers"))},
    "/v1/status": {"get": _operation("Every key's state (masked)", "admin", _answers("openai", "Status"))},
    "/v1/admin/reset": {"post": _operation("Lift a provider's (or one key's) cooldowns and bench", "admin",
                                           _answers("openai", "Reset"), requestBody=_body("ResetRequest"))},
    "/v1/admin/keys": {"post": _operation("Add a key to a provider (answered masked)", "admin",
                                          _created(_answers("openai", "KeyAdded")),
                                          requestBody=_body("KeyAddRequest"))},
    "/v1/admin/keys/{provider}/{key_id}": {"delete": _operation(
        "Remove a key (one from the environment stays removed while the environment has it)", "admin",
        _answers("openai", "KeyRemoved"), parameters=[_model_id("provider"), _model_id("key_id")])},
    "/v1/admin/keys/{provider}/{key_id}/{action}": {"post": _operation(
        "Disable a key, enable it again, or test it with one model-list call", "admin",
        _answers("openai", "KeyAction"),
        parameters=[_model_id("provider"), _model_id("key_id"), _ACTION])},
    "/v1/admin/reload": {"post": _operation("Read .env and the config file again and apply what can change",
                                            "admin", _answers("openai", "Reloaded"))},
    "/v1/usage": {"get": _operation("Usage per provider, key and model", "admin", _answers("openai", "Usage"),
                                    parameters=[{"name": name, "in": "query", "schema": schema} for name, schema in
                                                (("since", _DAY), ("until", _DAY), ("provider", _TEXT),
                                                 ("model", _TEXT))])},
    "/v1/admin/activity": {"get": _operation(
        "Attempts per time step, each key's last hour, the latest failures (kept in memory)", "admin",
        _answers("openai", "Activity"),
        parameters=[{"name": name, "in": "query", "schema": {"type": "integer", "minimum": low, "maximum": high}}
                    for name, low, high in (("minutes", 1, 1440), ("step", 1, 1440), ("failures", 0, 200))]
        + [{"name": "provider", "in": "query", "schema": _TEXT}])},
    "/ui": {"get": _operation("The dashboard's page (no data in it; its script asks for the key)", "dashboard",
                              _asset(("text/html",)), security=[])},
    "/ui/{asset}": {"get": _operation(
        "A dashboard file (a script module, the stylesheet, the icon); `?v=` its version, as named", "dashboard",
        _asset(("text/javascript", "text/css", "image/svg+xml", "text/html")), security=[],
        parameters=[_model_id("asset")])},
    "/v1/cost-estimate": {"post": _operation("What a request would cost", "admin", _answers("openai", "Estimate"),
                                             requestBody=_body("EstimateRequest"))},
    "/v1/token-count": {"post": _operation("Tokens in a request, estimated", "admin", _answers("openai", "Estimate"),
                                           requestBody=_body("EstimateRequest"))},
    "/metrics": {"get": _operation(
        "Prometheus metrics; without a key when KEYPROXY_METRICS_PUBLIC is true", "admin",
        {**_answers("openai", "OpenAPI"),
         "200": {"description": "Prometheus's text format", "content": {"text/plain": {"schema": _TEXT}}}})},
    "/health": {"get": _HEALTH},
    "/v1/health": {"get": _HEALTH},
    PATH: {"get": _operation("This document", "gateway", _answers("openai", "OpenAPI"))},
}  # fmt: skip


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "keyproxy",
            "version": __version__,
            "description": "A self-hosted LLM API gateway: OpenAI's, Anthropic's and the Responses API in front of "
            "OpenAI-compatible, Anthropic and Gemini upstreams. Every /v1 path is also served without /v1.",
        },
        "security": [{"bearer": []}, {"apiKey": []}],
        "paths": PATHS,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "PROXY_API_KEY"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key", "description": "PROXY_API_KEY"},
            },
            "schemas": SCHEMAS,
        },
    }


@functools.cache
def encoded() -> bytes:
    """The document as served: built and encoded once, then the same bytes for every request."""
    return msgspec.json.encode(document())


class OpenAPIRoutes:
    def routes(self) -> RouteTable:
        return {("GET", PATH): Route(self.openapi, OPENAI)}

    async def openapi(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send_bytes(send, 200, encoded())
