"""/openapi.json: served behind the proxy key, and true: every route the app serves is in it and nothing else,
each with its dialect's errors and its authentication."""

from __future__ import annotations

from typing import Any

from keyproxy.api.app import KeyproxyApp
from keyproxy.api.openapi import ERROR_SCHEMAS, document
from keyproxy.api.route import Route
from keyproxy.config import Settings
from keyproxy.config.settings import StateSettings
from keyproxy.testing import AppClient, ASGITransport, FakeUpstream
from keyproxy.wiring import build_app
from support import PROXY_KEY, openai_provider

KEYED = {"Authorization": f"Bearer {PROXY_KEY}"}


def app() -> KeyproxyApp:
    # State in memory: nothing is written to the working directory's data dir.
    memory = StateSettings(backend="memory")
    settings = Settings(proxy_api_key=PROXY_KEY, providers={"p": openai_provider()}, state=memory)
    return build_app(settings, transport=ASGITransport(FakeUpstream()))


def served(application: KeyproxyApp) -> dict[tuple[str, str], Route]:
    """The routes as declared. A path also served without /v1 (as every /v1 path is, the document says) counts
    once, unless the document lists it itself (the health check's own /health)."""
    found = {}
    for (method, path), route in application.routes.items():
        alias = not path.startswith("/v1/") and application.routes.get((method, "/v1" + path)) == route
        if alias and (method, path) not in documented():
            continue
        found[(method, path)] = route
    return found


def documented() -> dict[tuple[str, str], dict[str, Any]]:
    return {(method.upper(), path): operation for path, item in document()["paths"].items()
            for method, operation in item.items()}  # fmt: skip


def declared_as(path: str, route: Route, method: str) -> str:
    if not route.prefix:
        return path
    names = [name for (documented_method, documented_path) in documented()
             if documented_method == method and documented_path.startswith(path)
             for name in [documented_path[len(path):]]]  # fmt: skip
    assert len(set(names)) == 1 and names[0].startswith("{") and names[0].endswith("}"), (path, names)
    return path + names[0]


def test_every_route_the_app_serves_is_documented_and_nothing_else() -> None:
    routes = {(method, declared_as(path, route, method)) for (method, path), route in served(app()).items()}
    assert routes == set(documented())


def test_each_operation_documents_errors_in_its_routes_dialect() -> None:
    operations = documented()
    for (method, path), route in served(app()).items():
        operation = operations[(method, declared_as(path, route, method))]
        for status in ("4XX", "5XX"):
            schema = operation["responses"][status]["content"]["application/json"]["schema"]
            refs = [schema["$ref"]] if "$ref" in schema else [member["$ref"] for member in schema["anyOf"]]
            assert f"#/components/schemas/{ERROR_SCHEMAS[route.dialect.name]}" in refs, (method, path)


def test_only_public_routes_are_documented_without_authentication() -> None:
    operations = documented()
    for (method, path), route in served(app()).items():
        operation = operations[(method, declared_as(path, route, method))]
        assert (operation.get("security") == []) is route.public, (method, path)


def test_the_document_is_openapi_3_1_behind_the_proxy_key() -> None:
    with AppClient(app()) as client:
        assert client.get("/openapi.json").status_code == 401
        answer = client.get("/openapi.json", headers=KEYED)
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/json"
        assert answer.json()["openapi"] == "3.1.0"
        assert answer.body == client.get("/openapi.json", headers=KEYED).body
