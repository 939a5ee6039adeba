"""IGNORE_MODELS_<P> and WHITELIST_MODELS_<P>: shell-style patterns, the whitelist winning over the ignore list."""

from __future__ import annotations

from fnmatch import fnmatchcase


def model_allowed(model: str, ignore: tuple[str, ...], whitelist: tuple[str, ...]) -> bool:
    if not ignore:
        return True
    if any(fnmatchcase(model, pattern) for pattern in whitelist):
        return True
    return not any(fnmatchcase(model, pattern) for pattern in ignore)
