"""A session or client of yours that raises on error statuses still gets the library's verdicts.

An aiohttp session made with ``raise_for_status=True``, or an httpx client
whose response hook calls ``raise_for_status()`` (httpx's own example of a
hook), raised before the library saw the status: on aiohttp a 401 was a
``TransportError`` retried for ever as a network failure; on httpx a 307 was
never followed, a 503 never retried, and a 401 came out as httpx's own
``HTTPStatusError``, not an ``EventSourceError``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import anyio
import httpx
import pytest

from eventsource import EventSource, StatusError
from eventsource.sync import EventSource as SyncEventSource
from eventsource.sync import HttpxTransport as SyncHttpxTransport
from eventsource.testing import Event, Redirect, Respond, SSEServer
from eventsource.transports import AiohttpTransport, HttpxTransport

from ._fixtures import FAST, LIMIT, Combo
from ._fixtures import anyio_backend as anyio_backend
from ._fixtures import combo as combo

pytestmark = pytest.mark.anyio

JSON = {"Content-Type": "application/json"}


async def _raise_for_status(response: httpx.Response) -> None:
    response.raise_for_status()


@contextlib.asynccontextmanager
async def raising_transport(combo: Combo) -> AsyncIterator[Any]:
    """This combo's transport over a session or client of the user's that raises on errors."""
    if combo.transport == "aiohttp":
        async with aiohttp.ClientSession(raise_for_status=True) as session:
            yield AiohttpTransport(session=session)
    else:
        hooks = {"response": [_raise_for_status]}
        async with httpx.AsyncClient(event_hooks=hooks) as client:
            yield HttpxTransport(client=client)


@pytest.fixture
def sse_server() -> Iterator[SSEServer]:
    with SSEServer() as server:  # in its own thread: the test may run on trio
        yield server


async def first_data(url: str, transport: Any) -> str:
    with anyio.fail_after(LIMIT):
        async with EventSource(url, transport=transport, **FAST) as es:
            return (await es.__anext__()).data


async def test_a_401_is_a_status_error_at_once(combo: Combo, sse_server: SSEServer) -> None:
    sse_server.script(Respond(401, JSON, b'{"error": "invalid key"}'))
    sse_server.script(Event("not for us"))  # what a retry would get
    async with raising_transport(combo) as transport:
        with pytest.raises(StatusError) as caught:
            await first_data(sse_server.url, transport)
    assert caught.value.status == 401
    assert caught.value.headers["Content-Type"] == "application/json"
    assert len(sse_server.requests) == 1


async def test_a_503_is_retried(combo: Combo, sse_server: SSEServer) -> None:
    sse_server.script(Respond(503, {"Retry-After": "0"}, b"busy"))
    sse_server.script(Event("after the 503"))
    async with raising_transport(combo) as transport:
        assert await first_data(sse_server.url, transport) == "after the 503"
    assert len(sse_server.requests) == 2


async def test_a_redirect_is_followed(combo: Combo, sse_server: SSEServer) -> None:
    sse_server.route("/moved", Event("moved here"))
    sse_server.script(Redirect("/moved"))
    async with raising_transport(combo) as transport:
        assert await first_data(sse_server.url, transport) == "moved here"
    assert [request.path for request in sse_server.requests] == ["/stream", "/moved"]


def _raise_for_status_sync(response: httpx.Response) -> None:
    response.raise_for_status()


def test_the_blocking_client_gets_the_same_verdicts(sse_server: SSEServer) -> None:
    sse_server.script(Respond(401, JSON, b'{"error": "invalid key"}'))
    sse_server.route("/moved", Event("moved here"))
    sse_server.script(Redirect("/moved"))
    with httpx.Client(event_hooks={"response": [_raise_for_status_sync]}) as client:
        transport = SyncHttpxTransport(client=client)
        with (
            pytest.raises(StatusError) as caught,
            SyncEventSource(sse_server.url, transport=transport, **FAST) as es,
        ):
            next(iter(es))
        assert caught.value.status == 401
        with SyncEventSource(sse_server.url, transport=transport, **FAST) as es:
            assert next(iter(es)).data == "moved here"
