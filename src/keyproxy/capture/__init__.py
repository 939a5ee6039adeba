"""Request capture: whole exchanges (as received, as sent upstream, as answered, the attempts) kept for
debugging a client, written as JSON lines by a thread, with every key scrubbed."""

from keyproxy.capture.exchange import Body, Exchange, UpstreamCall, current
from keyproxy.capture.files import find_record, last_records
from keyproxy.capture.sink import CaptureSink
from keyproxy.capture.writer import CaptureWriter

__all__ = [
    "Body",
    "CaptureSink",
    "CaptureWriter",
    "Exchange",
    "UpstreamCall",
    "current",
    "find_record",
    "last_records",
]
