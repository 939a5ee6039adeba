"""Provider adapters: one module per upstream protocol, looked up in the registry."""

from keyproxy.providers.base import Call, Endpoint, Grant, Grants, Method, ProviderAdapter, Reply
from keyproxy.providers.registry import adapter_for

__all__ = ["Call", "Endpoint", "Grant", "Grants", "Method", "ProviderAdapter", "Reply", "adapter_for"]
