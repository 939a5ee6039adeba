"""Schemathesis fuzzes keyproxy's own API from its OpenAPI document, in memory: requests generated from the
document (and, in negative mode, requests that break it) against a proxy over the fake upstream speaking all
three protocols. No answer may be a 5xx, and every answer must be one the document describes: its status, its
content type, and an error in the route's own dialect.

Each operation runs a bounded number of examples (a few in the suite, many with --hypothesis-profile=fuzz).
"""

from __future__ import annotations

import copy
from typing import Any

import schemathesis
from hypothesis import settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from keyproxy.api.openapi import document
from keyproxy.config import Credential, ProviderSettings, Settings
from keyproxy.config.settings import StateSettings
from keyproxy.testing import ASGITransport, FakeUpstream
from keyproxy.wiring import build_app
from support import PROXY_KEY

BASE = "http://fake-upstream.test"
PROVIDERS = {
    "o": ProviderSettings("o", "openai", BASE + "/v1", (Credential("sk-o-0000000000001", "TEST"),)),
    "n": ProviderSettings("n", "openai", BASE + "/v1", (Credential("sk-n-0000000000001", "TEST"),), responses="native"),
    "a": ProviderSettings("a", "anthropic", BASE + "/v1", (Credential("sk-a-0000000000001", "TEST"),)),
    "g": ProviderSettings("g", "gemini", BASE + "/v1beta", (Credential("sk-g-0000000000001", "TEST"),)),
}
MODELS = [f"{name}/{model}" for name in PROVIDERS for model in ("fake-chat", "fake-embed")] + ["nope/x", "o/"]
AUTH = {"Authorization": f"Bearer {PROXY_KEY}"}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _app() -> Any:
    # State in memory: nothing is written to the data directory.
    settings = Settings(proxy_api_key=PROXY_KEY, providers=PROVIDERS, rotation_tolerance=0,
                        state=StateSettings(backend="memory"))  # fmt: skip
    return build_app(settings, transport=ASGITransport(FakeUpstream()))


def _fuzzable(doc: dict[str, Any]) -> dict[str, Any]:
    """The document with `model` drawn from the configured models (and two that are not), so generated
    requests reach every provider's translators instead of stopping at an unknown model."""
    doc = copy.deepcopy(doc)
    for schema in doc["components"]["schemas"].values():
        if "model" in schema.get("properties", {}):
            schema["properties"]["model"] = {"enum": MODELS}
    return doc


APP = _app()
SCHEMA = schemathesis.openapi.from_dict(_fuzzable(document()))
SCHEMA.app = APP
SCHEMA.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])


@SCHEMA.parametrize()
@settings(max_examples=max(4, settings.default.max_examples // 5), deadline=None)
def test_no_5xx_and_every_answer_as_documented(case: schemathesis.Case) -> None:
    case.call_and_validate(headers=AUTH, checks=CHECKS)
