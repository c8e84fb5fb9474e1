"""A request cut at a later hop of a redirect (a 307 or 308 keeps the method and body).

The request went out at the first hop, to the URL that redirected: a one-shot
stream (``reconnect=False``: an LLM's POST) cut while its hop connects is not
requested again, and its next ``anext()`` raises what a cut of the first hop
raises; a stream that reconnects goes back to the original URL with
``Last-Event-ID``, with no ``error`` event for the cut. The hop goes to a port
whose connections never complete, so the cut lands while it connects, before
its headers went out (the transports we make tell that moment, and counted
such a cut as one before sending). Every combo; the blocking client's cut
between hops is in tests/test_redirect_cuts_sync.py.
"""

from __future__ import annotations

import threading
from typing import Any

import anyio
import pytest
from aiohttp import web

from eventsource import ErrorEvent, EventSource, ReadyState, TransportError

from ._fixtures import FAST, LIMIT, Combo, eventually
from ._fixtures import anyio_backend as anyio_backend
from ._fixtures import combo as combo
from ._fixtures import server as server
from ._servers import LoopbackServer, client_sockets_to, open_stream, stalled_port
from .test_cancel_points import cut_once

pytestmark = pytest.mark.anyio


class SecondOpen:
    """A real transport that notes when its second ``open()`` (the hop) begins."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.opens = 0
        self.hop_begins = threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)  # tells_when_sent, abort

    async def open(self, request: Any) -> Any:
        self.opens += 1
        if self.opens == 2:
            self.hop_begins.set()
        return await self.inner.open(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def redirecting(server: LoopbackServer, status: int, stalled: int) -> str:
    """``/hop``: its Nth answer redirects to a port that never connects, the others to a
    stream that sends the two events after ``Last-Event-ID``, then ends."""
    calls = 0

    async def hop(request: web.Request) -> web.StreamResponse:
        nonlocal calls
        calls += 1
        stalls = calls == (2 if request.method == "GET" else 1)  # the reconnection's
        target = f"http://127.0.0.1:{stalled}/never" if stalls else server.url("/stream")
        return web.Response(status=status, headers={"Location": target})

    async def stream(request: web.Request) -> web.StreamResponse:
        after = int(request.headers.get("Last-Event-ID", "0"))
        response = await open_stream(request)
        await response.write(b"id: %d\ndata: %d\n\n" % (after + 1, after + 1))
        return response

    server.handle("/hop", hop)
    server.handle("/stream", stream)
    return server.url("/hop")


async def cut_once_the_hop_begins(transport: SecondOpen, take: Any) -> None:
    async def hop_connecting() -> None:
        await eventually(transport.hop_begins.is_set)
        await anyio.sleep(0.05)  # well inside its connect, which never ends

    await cut_once(hop_connecting, take)


@pytest.mark.parametrize("status", [307, 308])
async def test_a_one_shot_post_cut_while_its_hop_connects_is_not_sent_again(
    combo: Combo, server: LoopbackServer, status: int
) -> None:
    with stalled_port() as stalled:
        url = redirecting(server, status, stalled)
        transport = SecondOpen(combo.make_transport(verify=True))
        es = EventSource(
            url, method="POST", body=b"{}", reconnect=False, transport=transport, **FAST
        )
        errors: list[ErrorEvent] = []
        es.onerror = errors.append
        async with es:
            await cut_once_the_hop_begins(transport, lambda: anext(es))
            with anyio.fail_after(LIMIT), pytest.raises(TransportError) as caught:
                await anext(es)
            assert "reconnect=False" in str(caught.value)  # the first hop's cut says the same
            assert es.readyState is ReadyState.CLOSED
    assert [(r.method, r.path) for r in server.requests] == [("POST", "/hop")]
    assert transport.opens == 2
    assert [error.reconnecting for error in errors] == [False]
    await eventually(lambda: client_sockets_to(server.port) == 0)


@pytest.mark.parametrize("status", [307, 308])
async def test_a_reconnection_cut_while_its_hop_connects_resumes_from_the_original_url(
    combo: Combo, server: LoopbackServer, status: int
) -> None:
    with stalled_port() as stalled:
        url = redirecting(server, status, stalled)
        transport = SecondOpen(combo.make_transport(verify=True))
        es = EventSource(url, transport=transport, **FAST)
        errors: list[ErrorEvent] = []
        es.onerror = errors.append
        async with es:
            with anyio.fail_after(LIMIT):
                got = [(await anext(es)).data]  # its body ends: the stream reconnects
            transport.opens = 0  # the reconnection's first request, then its hop
            transport.hop_begins.clear()
            await cut_once_the_hop_begins(transport, lambda: anext(es))
            assert es.readyState is ReadyState.CONNECTING
            with anyio.fail_after(LIMIT):
                got.append((await anext(es)).data)
    assert got == ["1", "2"]
    assert [(r.path, r.headers.get("Last-Event-ID")) for r in server.requests] == [
        ("/hop", None),
        ("/stream", None),
        ("/hop", "1"),  # redirected to the port that never connects: cut there
        ("/hop", "1"),  # the original URL again, with the last event ID
        ("/stream", "1"),
    ]
    assert [error.reconnecting for error in errors] == [True]  # the first body's end only
    await eventually(lambda: client_sockets_to(server.port) == 0)
