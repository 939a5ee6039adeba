"""Which calls answer a Responses API request: the client's bytes for a target with its own Responses API,
the request translated to chat for any other, and, for a continued conversation, only the targets that can
continue it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from keyproxy.api.stored_responses import StoredResponses
from keyproxy.api.targets import Resolver, Target
from keyproxy.engine.router import Call, Router
from keyproxy.errors import InvalidRequest, PreviousResponseNotFound
from keyproxy.providers import Reply
from keyproxy.translate.malformed import decode_request
from keyproxy.translate.reasoning import for_target
from keyproxy.translate.responses_request import input_items, replayable, responses_to_chat
from keyproxy.translate.rewrite import with_model


class Plan:
    """One request's calls, and what answering it needs: the request decoded (only when some target
    needs more than the model name changed), the conversation it continues, the key it is bound to."""

    __slots__ = ("_chat", "_request", "calls", "client_model", "key_id", "on_context_length", "previous", "prior",
                 "raw")  # fmt: skip

    def __init__(self, raw: bytes, client_model: str, previous: str | None, on_context_length: bool) -> None:
        self.raw = raw
        self.client_model = client_model
        self.previous = previous
        self.on_context_length = on_context_length
        self.calls: list[Call] = []
        self.prior: list[dict[str, Any]] | None = None
        self.key_id: str | None = None
        self._request: dict[str, Any] | None = None
        self._chat: dict[str, Any] | None = None

    @property
    def request(self) -> dict[str, Any]:
        if self._request is None:
            self._request = decode_request(self.raw)
        return self._request

    def chat(self) -> dict[str, Any]:
        if self._chat is None:
            self._chat = responses_to_chat(self.request, self.prior or ())
        return self._chat

    def native_body(self, upstream_model: str) -> bytes:
        if self.prior is None:
            return with_model(self.raw, self.client_model, upstream_model)
        # The conversation keyproxy keeps goes to the upstream in full, as input it has never seen.
        body = {key: value for key, value in self.request.items() if key != "previous_response_id"}
        body["input"] = replayable(self.prior) + input_items(self.request)
        body["model"] = upstream_model
        return msgspec.json.encode(body)

    def model_of(self, provider: str) -> str:
        return next(call.model for call in self.calls if call.provider == provider)


async def plan_calls(
    resolver: Resolver, router: Router, kept: StoredResponses, raw: bytes, model: str, previous: str | None,
    *, stream: bool, reply: Callable[[Plan], Reply] | None = None,
) -> Plan:  # fmt: skip
    """One call per target: the client's bytes for a native target, the request as chat for the others
    (whose translation to their own protocol refuses what they cannot honour), answered through `reply`."""
    targets, on_context_length = await resolver.resolve(model)
    plan = Plan(raw, model, previous, on_context_length)
    if previous is not None:
        targets = await _continuing(router, kept, plan, targets, previous)
    for target in targets:
        name = target.provider.name
        if target.provider.responses == "native":
            body = plan.native_body(target.model)
            plan.calls.append(Call(name, target.model, "responses", body, stream, key_id=plan.key_id))
            continue
        chat = for_target(plan.chat(), target.provider.reasoning_field)
        body = msgspec.json.encode({**chat, "model": target.model})
        plan.calls.append(Call(name, target.model, "chat", body, stream, reply=reply(plan) if reply else None))
    return plan


async def _continuing(
    router: Router, kept: StoredResponses, plan: Plan, targets: list[Target], previous: str
) -> list[Target]:
    """The targets that can continue `previous`: any, for a conversation keyproxy keeps; only the
    provider and key that made it, for one its upstream keeps."""
    stored = await kept.get(previous)
    native = [target for target in targets if target.provider.responses == "native"]
    if stored is None:
        if not native:
            raise PreviousResponseNotFound(previous)
        # Not kept here (retention 0, or a memory store restarted): the upstream may still know it.
        return native
    if not stored.upstream:
        plan.prior = await kept.conversation(stored)
        return targets
    owned = [target for target in native if target.provider.name == stored.provider]
    if not owned:
        raise InvalidRequest(
            f"response {previous} is kept by provider {stored.provider}'s upstream: continue it with one "
            f"of that provider's models"
        )
    if stored.key_id is None or not router.has_key(stored.provider, stored.key_id):
        raise PreviousResponseNotFound(previous)
    plan.key_id = stored.key_id
    return owned
