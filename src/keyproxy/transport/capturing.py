"""A Transport that records each upstream request and its answer in the exchange being captured.

Installed only when capture is on; a request outside any captured exchange (a background probe) passes
straight through. What is recorded is raw and cut at the capture size; scrubbing happens when written.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

from keyproxy.capture.exchange import UpstreamCall, current
from keyproxy.errors import KeyproxyError
from keyproxy.transport.base import RequestTimeouts, Transport, UpstreamRequest, UpstreamResponse


class CapturingTransport:
    def __init__(self, inner: Transport) -> None:
        self.inner = inner

    async def send(self, request: UpstreamRequest, timeouts: RequestTimeouts) -> UpstreamResponse:
        exchange = current.get()
        if exchange is None:
            return await self.inner.send(request, timeouts)
        call = exchange.call(request.method, request.url, request.headers.items(), request.body, request.proxy)
        try:
            response = await self.inner.send(request, timeouts)
        except KeyproxyError as error:
            _failed(call, error)
            raise
        call.status = response.status
        call.response_headers = response.headers.items()
        return CapturedResponse(response, call)

    async def aclose(self) -> None:
        await self.inner.aclose()


class CapturedResponse:
    __slots__ = ("_call", "_response")

    def __init__(self, response: UpstreamResponse, call: UpstreamCall) -> None:
        self._response = response
        self._call = call

    @property
    def status(self) -> int:
        return self._response.status

    @property
    def headers(self) -> Mapping[str, str]:
        return self._response.headers

    async def read(self, limit: int | None = None) -> bytes:
        try:
            body = await self._response.read(limit)
        except KeyproxyError as error:
            _failed(self._call, error)
            raise
        self._call.answer.add(body)
        return body

    async def iter_chunks(self, idle: float | None = None) -> AsyncIterator[bytes]:
        self._call.streamed = True
        try:
            async for chunk in self._response.iter_chunks(idle):
                self._call.answer.add(chunk)
                yield chunk
        except KeyproxyError as error:
            _failed(self._call, error)
            raise

    def close(self) -> None:
        self._response.close()


def _failed(call: UpstreamCall, error: KeyproxyError) -> None:
    call.error = f"{type(error).__name__}: {error.message}"
    exchange = current.get()
    if exchange is not None and not exchange.closed:
        exchange.failed = True
