"""keyproxy: a self-hosted LLM API gateway that rotates provider keys and fails over between them."""

__version__ = "0.1.0"
__all__ = ["__version__"]
