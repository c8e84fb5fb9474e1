"""After a terminal event, the rest of the body is drained only for a pool that outlives us.

The drain (at most 0.1 s) lets the connection go back to a pool. With the
session or client we make, nothing can use it again: the shared aiohttp
session closes each connection as its body ends, and our httpx client closes
with the EventSource. There a server that lingers after ``message_stop``
held the end of every ``async for`` 0.1 s, for nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import anyio
import httpx
import pytest
from aiohttp import web

from eventsource import EventSource
from eventsource.sentinels import is_message_stop
from eventsource.transports import AiohttpTransport, HttpxTransport, Request, Response, Transport

from ._fixtures import server as server
from ._servers import LoopbackServer

TERMINAL = b"event: message_start\ndata: {}\n\nevent: message_stop\ndata: {}\n\n"


class Watched:
    """A response of ours, as is, but for a count of the reads of the body's rest."""

    def __init__(self, inner: Response, counts: list[int]) -> None:
        self._inner = inner
        self._counts = counts

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def aiter_bytes(self) -> Any:
        self._counts.append(1)
        return self._inner.aiter_bytes()


class Watching:
    """A transport of ours, behind the public Transport protocol, that counts drains."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.drains: list[int] = []

    async def open(self, request: Request) -> Response:
        return Watched(await self.inner.open(request), self.drains)  # type: ignore[return-value]

    async def aclose(self) -> None:
        await self.inner.aclose()


PEERS: list[object] = []  # the client address of each request to /linger


async def _linger(request: web.Request) -> web.StreamResponse:
    assert request.transport is not None
    PEERS.append(request.transport.get_extra_info("peername"))
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    await response.write(TERMINAL)
    await response.write(b": the body ends a moment later\n\n")
    await response.write_eof()
    return response


async def _read_to_the_terminal_event(url: str, transport: Watching) -> list[str]:
    types = []
    with anyio.fail_after(10):
        async with EventSource(url, stop_after=is_message_stop, transport=transport) as es:
            async for event in es:
                types.append(event.type)
    return types


@pytest.mark.asyncio
@pytest.mark.parametrize("name", ["aiohttp", "httpx"])
async def test_our_session_or_client_is_not_drained_after_the_terminal_event(
    server: LoopbackServer, name: str
) -> None:
    server.handle("/linger", _linger)
    inner = AiohttpTransport() if name == "aiohttp" else HttpxTransport()
    transport = Watching(inner)
    types = await _read_to_the_terminal_event(server.url("/linger"), transport)
    assert types == ["message_start", "message_stop"]
    assert transport.drains == []


@contextlib.asynccontextmanager
async def _yours(name: str) -> AsyncIterator[Any]:
    """A transport over a session or client of yours (its pool outlives each stream)."""
    if name == "aiohttp":
        async with aiohttp.ClientSession() as session:
            yield lambda: AiohttpTransport(session=session)
    else:
        async with httpx.AsyncClient() as client:
            yield lambda: HttpxTransport(client=client)


@pytest.mark.asyncio
@pytest.mark.parametrize("name", ["aiohttp", "httpx"])
async def test_your_session_or_client_is_drained_and_its_connection_reused(
    server: LoopbackServer, name: str
) -> None:
    server.handle("/linger", _linger)
    PEERS.clear()
    async with _yours(name) as make_transport:
        for _ in range(2):
            transport = Watching(make_transport())
            types = await _read_to_the_terminal_event(server.url("/linger"), transport)
            assert types == ["message_start", "message_stop"]
            assert transport.drains == [1]
    assert len(PEERS) == 2
    assert PEERS[0] == PEERS[1]  # the second stream came on the drained connection
