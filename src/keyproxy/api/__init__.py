"""The inbound API: OpenAI-compatible routes on a framework-free ASGI application."""

from keyproxy.api.app import KeyproxyApp
from keyproxy.api.factory import build_app

__all__ = ["KeyproxyApp", "build_app"]
