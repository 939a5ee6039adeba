"""Stopping `keyproxy serve` with requests in flight: they finish within the drain time, or end with an
error event that says so; the process exits 0 either way. Real processes and sockets: signals are the point."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest

from keyproxy.testing import Fault, FaultKind
from support import KEYS, ServeProcess, Upstream

STREAM = {"model": "fake/fake-chat", "stream": True, "messages": [{"role": "user", "content": "tell me more"}]}


def stream_then_stop(proxy: ServeProcess, sig: int) -> str:
    """Open a stream, send `sig` once its first bytes arrived, and read it to its end."""
    received = []
    with httpx.stream("POST", proxy.url + "/v1/chat/completions", json=STREAM, timeout=30) as answer:
        pieces = answer.iter_text()
        received.append(next(pieces))
        proxy.process.send_signal(sig)
        received.extend(pieces)
    return "".join(received)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stream_in_flight_when_the_stop_comes_completes_normally(
    tmp_path: Path, upstream: Upstream, sig: int
) -> None:
    for key in KEYS:
        upstream[0].set_fault(key, Fault(FaultKind.SLOW, delay=0.1))
    proxy = ServeProcess(tmp_path, upstream[1])

    body = stream_then_stop(proxy, sig)

    assert body.rstrip().endswith("data: [DONE]")
    proxy.ended()
    assert proxy.process.returncode == 0


def test_a_stream_that_outlasts_the_drain_time_ends_with_an_error_event(tmp_path: Path, upstream: Upstream) -> None:
    for key in KEYS:
        upstream[0].set_fault(key, Fault(FaultKind.SLOW, delay=1.0))
    proxy = ServeProcess(tmp_path, upstream[1], extra="KEYPROXY_DRAIN_SECONDS=0\n")

    body = stream_then_stop(proxy, signal.SIGTERM)

    assert '"code":"shutting_down"' in body.replace(" ", "")
    assert "[DONE]" not in body
    proxy.ended()
    assert proxy.process.returncode == 0
