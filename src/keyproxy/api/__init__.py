"""The inbound API: OpenAI- and Anthropic-compatible routes on a framework-free ASGI application."""

from keyproxy.api.app import KeyproxyApp

__all__ = ["KeyproxyApp"]
