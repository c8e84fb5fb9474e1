"""Events that arrived just before the connection failed are delivered, then the reconnect.

aiohttp keeps the bytes it received in its own buffer; when the connection then
fails (a reset, or an end in the middle of a chunked body) before the reader
asks for them, its ``read`` raised the failure first and the bytes were lost:
an event without an id was never seen, one with an id was fetched again.
"""

from __future__ import annotations

import socket
import struct

import aiohttp
import anyio
import httpx
import pytest
from aiohttp import web

from eventsource import TransportError
from eventsource.decode import aiter_events

from ._fixtures import FAST, LIMIT, Combo
from ._fixtures import anyio_backend as anyio_backend
from ._fixtures import combo as combo
from ._servers import open_stream, running_server, sse
from .test_body_waits import opened

pytestmark = pytest.mark.anyio


def _reset(request: web.Request) -> None:
    """Close with a TCP reset (SO_LINGER 0) instead of a FIN."""
    assert request.transport is not None
    sock = request.transport.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    request.transport.abort()


def _close(request: web.Request) -> None:
    assert request.transport is not None
    request.transport.close()


@pytest.mark.parametrize("ending", [_close, _reset], ids=["closed mid-body", "reset"])
async def test_events_received_before_the_connection_failed_are_delivered(
    combo: Combo, ending: object
) -> None:
    with running_server() as server:
        served = 0

        async def late(request: web.Request) -> web.StreamResponse:
            nonlocal served
            served += 1
            if served > 1:
                return await sse(request, b"data: three\n\n")
            response = await open_stream(request)
            await response.write(b"data: one\n\n")
            if await server.wait_gate("one seen"):
                await response.write(b"data: two\n\n")
                await anyio.sleep(0.05)  # let "two" leave before the connection fails
                ending(request)  # type: ignore[operator]
            return response

        server.handle("/late", late)
        seen: list[str] = []
        async with combo.source(server.url("/late"), **FAST) as source:
            with anyio.fail_after(LIMIT):
                async for event in source:
                    seen.append(event.data)
                    if event.data == "one":
                        server.open_gate("one seen")
                        # Busy while "two" and the failure arrive: nobody reads.
                        await anyio.sleep(0.3)
                    if len(seen) == 3:
                        break
        assert seen == ["one", "two", "three"]
        assert len(server.requests) == 2


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize("client", ["aiohttp", "httpx"])
@pytest.mark.parametrize("ending", [_close, _reset], ids=["closed mid-body", "reset"])
async def test_aiter_events_yields_what_arrived_before_the_failure_then_raises(
    client: str, ending: object, anyio_backend: str
) -> None:
    with running_server() as server:

        async def late(request: web.Request) -> web.StreamResponse:
            response = await open_stream(request)
            await response.write(b"data: one\n\n")
            if await server.wait_gate("one seen"):
                await response.write(b"data: two\n\n")
                await anyio.sleep(0.05)
                ending(request)  # type: ignore[operator]
            return response

        server.handle("/late", late)
        seen: list[str] = []
        async with opened(client, server.url("/late")) as response:
            with anyio.fail_after(LIMIT), pytest.raises(Exception) as caught:  # noqa: PT011
                async for event in aiter_events(response):
                    seen.append(event.data)
                    server.open_gate("one seen")
                    await anyio.sleep(0.3)  # busy while "two" and the failure arrive
        assert seen == ["one", "two"]
        # ours, as EventSource raises it, the client library's as its cause
        assert isinstance(caught.value, TransportError)
        assert isinstance(caught.value.__cause__, (aiohttp.ClientError, httpx.TransportError))
