"""The blocking client cut between the hops of a redirect (a 307 or 308 keeps the body).

An exception in the reading thread (Ctrl-C, a ``signal.alarm`` timeout) while
it lets go of the redirect's answer, before the hop is sent: the request went
out at the first hop, so a one-shot stream (``reconnect=False``) is not
requested again (the next ``next()`` raises what a cut of the first hop
raises), and a stream that reconnects goes back to the original URL with
``Last-Event-ID``, with no ``error`` event for the cut. The answer's close is
held here (a TLS close may wait on the network) so that the signal lands
exactly there.
"""

from __future__ import annotations

import signal
from typing import Any

import pytest
from aiohttp import web

from eventsource import ErrorEvent, ReadyState, TransportError
from eventsource.sync import EventSource, HttpxTransport

from ._fixtures import FAST, LIMIT
from ._fixtures import server as server
from ._servers import LoopbackServer, client_sockets_to, open_stream
from .test_cancel_points_sync import Hold, Interrupt, interrupted

pytestmark = pytest.mark.skipif(
    not hasattr(signal, "pthread_kill"), reason="needs signal.pthread_kill"
)


class HeldClose:
    """A response whose ``close()`` waits at ``hold`` (bounded) before it closes."""

    def __init__(self, inner: Any, hold: Hold) -> None:
        self._inner = inner
        self._hold = hold

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def close(self) -> None:
        self._hold.reached.set()
        self._hold.go.wait(LIMIT)
        self._inner.close()


class HeldRedirectClose:
    """A real blocking transport whose ``which``-th redirect answer closes at ``hold``."""

    def __init__(self, hold: Hold, which: int) -> None:
        self.inner = HttpxTransport()
        self.hold = hold
        self.which = which
        self.redirects = 0

    def open(self, request: Any, interrupter: Any) -> Any:
        response = self.inner.open(request, interrupter)
        if response.status in (307, 308):
            self.redirects += 1
            if self.redirects == self.which:
                return HeldClose(response, self.hold)
        return response

    def close(self) -> None:
        self.inner.close()


def redirecting(server: LoopbackServer, status: int) -> str:
    """``/hop`` redirects to a stream of the event after ``Last-Event-ID``, then its end."""

    async def hop(request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, headers={"Location": "/stream"})

    async def stream(request: web.Request) -> web.StreamResponse:
        after = int(request.headers.get("Last-Event-ID", "0"))
        response = await open_stream(request)
        await response.write(b"id: %d\ndata: %d\n\n" % (after + 1, after + 1))
        return response

    server.handle("/hop", hop)
    server.handle("/stream", stream)
    return server.url("/hop")


@pytest.mark.parametrize("status", [307, 308])
def test_a_one_shot_post_cut_between_hops_is_not_sent_again(
    server: LoopbackServer, status: int
) -> None:
    hold = Hold()
    transport = HeldRedirectClose(hold, which=1)
    url = redirecting(server, status)
    es = EventSource(url, method="POST", body="q", reconnect=False, transport=transport, **FAST)
    errors: list[ErrorEvent] = []
    es.onerror = errors.append
    try:
        with interrupted("close", "wait", hold.reached), pytest.raises(Interrupt):
            next(es)
        hold.go.set()
        with pytest.raises(TransportError) as caught:
            next(es)
        assert "reconnect=False" in str(caught.value)  # the first hop's cut says the same
        assert es.readyState is ReadyState.CLOSED
    finally:
        hold.go.set()
        es.close()
    assert [(r.method, r.path) for r in server.requests] == [("POST", "/hop")]
    assert [error.reconnecting for error in errors] == [False]
    assert client_sockets_to(server.port) == 0


@pytest.mark.parametrize("status", [307, 308])
def test_a_reconnection_cut_between_hops_resumes_from_the_original_url(
    server: LoopbackServer, status: int
) -> None:
    hold = Hold()
    transport = HeldRedirectClose(hold, which=2)  # the reconnection's redirect
    es = EventSource(redirecting(server, status), transport=transport, **FAST)
    errors: list[ErrorEvent] = []
    es.onerror = errors.append
    try:
        got = [next(es).data]  # its body ends: the stream reconnects
        with interrupted("close", "wait", hold.reached), pytest.raises(Interrupt):
            next(es)
        hold.go.set()
        assert es.readyState is ReadyState.CONNECTING
        got.append(next(es).data)
    finally:
        hold.go.set()
        es.close()
    assert got == ["1", "2"]
    assert [(r.path, r.headers.get("Last-Event-ID")) for r in server.requests] == [
        ("/hop", None),
        ("/stream", None),
        ("/hop", "1"),  # its answer was cut as it closed: the hop never went
        ("/hop", "1"),  # the original URL again, with the last event ID
        ("/stream", "1"),
    ]
    assert [error.reconnecting for error in errors] == [True]  # the first body's end only
    assert client_sockets_to(server.port) == 0
