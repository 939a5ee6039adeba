"""Input of the wrong shape, as keyproxy's own errors: a translator that meets a field of the wrong type, a
missing one or nesting deeper than Python recurses says so with a typed error instead of crashing.

A request is the client's to fix (400); an answer is the upstream's fault (an invalid answer: the key gets a
transient verdict and the request fails over, or a stream ends with its error event). Each translator's entry
point is wrapped in one of these, so no translator lets another exception out, whatever the JSON it is given.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import msgspec

from keyproxy.errors import InvalidRequest, InvalidUpstreamResponse

SHAPE_ERRORS = (KeyError, IndexError, TypeError, AttributeError, ValueError, OverflowError)
"""What Python raises for a value of the wrong type or shape, and what a JSON codec raises for a value it
cannot read or write (bad UTF-8 is a ValueError, an integer too large for JSON an OverflowError)."""


UNREADABLE = (ValueError, RecursionError)
"""What decoding JSON raises for bytes that are not JSON: msgspec's DecodeError and bad UTF-8 are ValueErrors, and
nesting deeper than Python recurses (about a thousand levels) is a RecursionError."""


def decode_request(raw: bytes) -> Any:
    """A client's JSON body; a 400 saying why when it cannot be read."""
    try:
        return msgspec.json.decode(raw)
    except RecursionError:
        raise InvalidRequest("request body nests too deeply to be read") from None
    except UnicodeDecodeError:
        raise InvalidRequest("request body is not valid UTF-8") from None
    except ValueError:
        raise InvalidRequest("request body is not valid JSON") from None


def decode_answer(raw: bytes) -> Any:
    """An upstream's JSON answer; an invalid answer when it cannot be read."""
    try:
        return msgspec.json.decode(raw)
    except UNREADABLE as exc:
        raise InvalidUpstreamResponse(f"upstream sent a body that is not JSON ({type(exc).__name__})") from None


@contextmanager
def malformed_request(what: str) -> Iterator[None]:
    try:
        yield
    except SHAPE_ERRORS as exc:
        raise InvalidRequest(f"malformed {what}: a field is missing or of the wrong type ({_why(exc)})") from None
    except RecursionError:
        raise InvalidRequest(f"malformed {what}: it nests too deeply") from None


@contextmanager
def malformed_answer(what: str) -> Iterator[None]:
    try:
        yield
    except SHAPE_ERRORS as exc:
        raise InvalidUpstreamResponse(f"upstream sent a malformed {what} ({_why(exc)})") from None
    except RecursionError:
        raise InvalidUpstreamResponse(f"upstream sent a {what} that nests too deeply") from None


def _why(exc: Exception) -> str:
    # Short: the message reaches the client (a request) or the log (an answer), never a traceback.
    return f"{type(exc).__name__}: {str(exc)[:120]}"
