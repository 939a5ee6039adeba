"""Finding a Gemini CLI account's Code Assist project and tier: `loadCodeAssist`, then `onboardUser` for an
account that has none yet, as requests and answers (no I/O).

An account with a current tier has its project (Google's managed one on the free tier, or the one it was set
up with); one without is onboarded on its default tier: the free tier's project is Google's, other tiers
need a project of the user's own (`GEMINI_CLI_PROJECT_ID`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from keyproxy.errors import InvalidUpstreamResponse, UpstreamKeyRejected
from keyproxy.transport.base import UpstreamRequest

FREE_TIER = "free-tier"
LEGACY_TIER = "legacy-tier"
_HEADERS = {"content-type": "application/json"}
_CLIENT = {"ideType": "IDE_UNSPECIFIED", "platform": "PLATFORM_UNSPECIFIED", "pluginType": "GEMINI"}
_PRIORITY = {"g1-ultra-tier": 1, "enterprise-tier": 1, "ultra-tier": 1, FREE_TIER: 3, "g1-free-tier": 3, LEGACY_TIER: 3}
_PAID = 2
"""Any tier not known as free or ultra is paid (standard-tier, g1-pro-tier...): preferred to the free ones."""


@dataclass(frozen=True, slots=True)
class Setup:
    """`project` None with `onboard` set: the account must be onboarded on that tier first."""

    project: str | None
    tier: str | None
    onboard: str | None = None


def tier_priority(tier: str | None) -> int | None:
    """keyproxy's key priority for a Code Assist tier (1 first): ultra 1, other paid tiers 2, free 3."""
    if tier is None:
        return None
    return _PRIORITY.get(tier, _PAID)


def load_request(base_url: str, access_token: str, project: str | None) -> UpstreamRequest:
    body: dict[str, Any] = {"metadata": {**_CLIENT, **({"duetProject": project} if project else {})}}
    if project:
        body["cloudaicompanionProject"] = project
    return UpstreamRequest("POST", f"{base_url}:loadCodeAssist", _auth(access_token), msgspec.json.encode(body))


def onboard_request(base_url: str, access_token: str, tier: str, project: str | None) -> UpstreamRequest:
    # The free tier works in Google's managed project: naming one there is refused (Precondition Failed).
    own = project if tier != FREE_TIER else None
    body: dict[str, Any] = {"tierId": tier, "metadata": {**_CLIENT, **({"duetProject": own} if own else {})}}
    if own:
        body["cloudaicompanionProject"] = own
    return UpstreamRequest("POST", f"{base_url}:onboardUser", _auth(access_token), msgspec.json.encode(body))


def read_load(body: bytes, configured: str | None) -> Setup:
    data = _object(body, "loadCodeAssist")
    current = data.get("currentTier")
    if isinstance(current, dict):
        paid = data.get("paidTier")
        tier = _id(paid) or _id(current)
        project = _project(data.get("cloudaicompanionProject")) or configured
        if project is None:
            raise _no_project(data)
        return Setup(project, tier)
    default = next((t for t in _list(data.get("allowedTiers")) if t.get("isDefault") is True), None)
    return Setup(None, None, onboard=_id(default) or LEGACY_TIER)


def read_onboard(body: bytes, configured: str | None) -> str | None:
    """The project onboarding gave; None while the operation is not done."""
    data = _object(body, "onboardUser")
    if data.get("done") is not True:
        return None
    response = data.get("response")
    project = _project(response.get("cloudaicompanionProject")) if isinstance(response, dict) else None
    if project is None and configured is None:
        raise _no_project(data)
    return project or configured


def _no_project(data: dict[str, Any]) -> UpstreamKeyRejected:
    tiers = _list(data.get("ineligibleTiers"))
    reasons = [tier["reasonMessage"] for tier in tiers if isinstance(tier.get("reasonMessage"), str)]
    why = f" ({'; '.join(reasons)})" if reasons else ""
    message = f"the account has no Code Assist project{why}; set GEMINI_CLI_PROJECT_ID"
    # Not the upstream's refusal of a request, but as final for the account until its configuration changes.
    return UpstreamKeyRejected(message, upstream_status=403)


def _auth(access_token: str) -> dict[str, str]:
    return {**_HEADERS, "authorization": f"Bearer {access_token}"}


def _object(body: bytes, what: str) -> dict[str, Any]:
    try:
        data = msgspec.json.decode(body)
    except msgspec.DecodeError:
        data = None
    if not isinstance(data, dict):
        raise InvalidUpstreamResponse(f"{what} answered without a JSON object")
    return data


def _id(tier: object) -> str | None:
    value = tier.get("id") if isinstance(tier, dict) else None
    return value if isinstance(value, str) and value else None


def _project(value: object) -> str | None:
    # A plain id, or an object with one.
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def _list(value: object) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []
