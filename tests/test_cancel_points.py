"""A cancel or a close at each await of the read path leaves the stream consistent.

Each point is held by a real server on 127.0.0.1 (or a hook) until the test
lets it go: the wait for the response headers of a reconnection, the answer
of a redirect and the hop after it, the body, the ``prepare_request`` and
``validate_response`` hooks. There a caller's timeout around ``anext()``
cuts the read, and the next ``anext()`` goes on: the events after the last
one handed out, once each, resumed with ``Last-Event-ID``; or ``aclose()``
comes from another task, and returns promptly, the reader ends, no request
follows and no socket is left. Every combo (aiohttp, httpx on asyncio and trio).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio
import pytest
from aiohttp import web

from eventsource import ConnectAttempt, EventSource, ReadyState, ResponseInfo, _decode

from ._fixtures import FAST, LIMIT, Combo, eventually
from ._fixtures import anyio_backend as anyio_backend
from ._fixtures import combo as combo
from ._fixtures import other_server as other_server
from ._fixtures import server as server
from ._servers import LoopbackServer, client_sockets_to, open_stream

pytestmark = pytest.mark.anyio

T = TypeVar("T")

#: Where the second connection attempt is held (the first one hands out events
#: 1 and 2, then ends its body, so the stream reconnects with Last-Event-ID 2).
RECONNECT_POINTS = [
    "headers",
    "redirect",
    "hop",
    "cross-origin hop",
    "prepare_request",
    "validate_response",
]
#: Seconds that prove "promptly": the old faults took the full LIMIT or more.
PROMPT = 2.0


class Hold:
    """One held point: ``reached`` once something waits there, until ``go``."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.go = threading.Event()

    async def wait_on_server(self) -> None:
        self.reached.set()
        for _ in range(int(LIMIT / 0.005)):  # bounded
            if self.go.is_set():
                return
            await asyncio.sleep(0.005)

    async def wait_in_client(self) -> None:
        self.reached.set()
        with anyio.move_on_after(LIMIT):
            while not self.go.is_set():
                await anyio.sleep(0.005)

    async def until_reached(self) -> None:
        await eventually(self.reached.is_set)


async def cut_once(
    reached: Callable[[], Awaitable[None]], take: Callable[[], Awaitable[T]]
) -> list[T]:
    """``take()``, cut by a caller's timeout once ``reached()`` returns: what it gave (if any)."""
    got: list[T] = []
    with anyio.move_on_after(LIMIT) as scope:
        async with anyio.create_task_group() as group:

            async def cut() -> None:
                await reached()
                scope.cancel()

            group.start_soon(cut)
            got.append(await take())
    assert scope.cancel_called
    assert not scope.deadline < anyio.current_time()  # the cut, not the bound
    return got


def events(first: int, last: int) -> bytes:
    return b"".join(b"id: %d\ndata: event %d\n\n" % (i, i) for i in range(first, last + 1))


def scripted(
    server: LoopbackServer, point: str, hold: Hold, other: LoopbackServer | None = None
) -> str:
    """Install the stream held at ``point`` on its second attempt; its URL.

    With ``other``, the redirect goes there (another origin), and the stream is its.
    """
    calls = {"/hop": 0, "/stream": 0}
    streams = other or server

    async def hop(request: web.Request) -> web.StreamResponse:
        calls["/hop"] += 1
        if point == "redirect" and calls["/hop"] == 2:
            await hold.wait_on_server()
        raise web.HTTPTemporaryRedirect(streams.url("/stream"))

    async def stream(request: web.Request) -> web.StreamResponse:
        calls["/stream"] += 1
        second = calls["/stream"] == 2
        if point in ("headers", "hop", "cross-origin hop") and second:
            await hold.wait_on_server()
        if point == "excerpt" and second:
            response = web.StreamResponse(status=500, headers={"Content-Type": "text/plain"})
            await response.prepare(request)
            await response.write(b"partial")
            await hold.wait_on_server()  # the rest of the error body never comes
            return response
        after = int(request.headers.get("Last-Event-ID", "0"))
        response = await open_stream(request)
        with contextlib.suppress(ConnectionError):
            await response.write(events(after + 1, after + 2))
            if calls["/stream"] > 1:
                await asyncio.sleep(LIMIT)  # holds the body open (bounded)
        return response  # the first ends its body: the stream reconnects

    server.handle("/hop", hop)
    streams.handle("/stream", stream)
    redirected = point in ("redirect", "hop", "cross-origin hop")
    return server.url("/hop" if redirected else "/stream")


def held_source(
    combo: Combo,
    server: LoopbackServer,
    point: str,
    hold: Hold,
    other: LoopbackServer | None = None,
) -> EventSource:
    attempts = 0

    async def prepare_request(attempt: ConnectAttempt) -> None:
        nonlocal attempts
        attempts += 1
        if point == "prepare_request" and attempts == 2:
            await hold.wait_in_client()

    opened = 0

    async def validate_response(info: ResponseInfo) -> None:
        nonlocal opened
        opened += 1
        if point == "validate_response" and opened == 2:
            await hold.wait_in_client()

    options: dict[str, Any] = dict(FAST)
    if point == "backoff":
        options["retry"] = 2 * LIMIT
    return combo.source(
        scripted(server, point, hold, other),
        prepare_request=prepare_request,
        validate_response=validate_response,
        **options,
    )


def data(got: list[Any]) -> list[str]:
    return [event.data for event in got]


def other_origin(point: str, request: pytest.FixtureRequest) -> LoopbackServer | None:
    """A second server for a cross-origin hop (``None`` for the other points)."""
    if point != "cross-origin hop":
        return None
    other: LoopbackServer = request.getfixturevalue("other_server")
    return other


@pytest.mark.parametrize("way", ["anext", "batches"])
@pytest.mark.parametrize("point", RECONNECT_POINTS)
async def test_a_timeout_at_each_point_of_a_reconnection_resumes_after_the_last_event(
    combo: Combo, server: LoopbackServer, point: str, way: str, request: pytest.FixtureRequest
) -> None:
    hold = Hold()
    opens: list[ReadyState] = []
    other = other_origin(point, request)
    es = held_source(combo, server, point, hold, other)
    es.onopen = lambda _: opens.append(es.readyState)
    reader = aiter(es) if way == "anext" else aiter(es.batches())

    async def take() -> list[Any]:
        got = await anext(reader)
        return got if isinstance(got, list) else [got]

    try:
        with anyio.fail_after(LIMIT):
            got = await take()  # events 1 and 2 (in one read or two)
            if len(got) == 1:
                got += await take()
        for more in await cut_once(hold.until_reached, take):
            got += more
        assert es.readyState is ReadyState.CONNECTING
        hold.go.set()
        with anyio.fail_after(LIMIT):
            while len(got) < 4:
                got += await take()
        assert data(got) == ["event 1", "event 2", "event 3", "event 4"]
        assert (other or server).requests[-1].headers.get("Last-Event-ID") == "2"
        assert opens == [ReadyState.OPEN, ReadyState.OPEN]  # no open of the cut attempt
    finally:
        hold.go.set()
        with anyio.fail_after(PROMPT):
            await es.aclose()
    await eventually(lambda: client_sockets_to((other or server).port) == 0)
    assert client_sockets_to(server.port) == 0


@pytest.fixture
def long_excerpt(monkeypatch: pytest.MonkeyPatch) -> None:
    """An error body's excerpt waits LIMIT, not 0.25 s: long enough to be cut there."""
    monkeypatch.setattr(_decode, "EXCERPT_WAIT", LIMIT)


@pytest.mark.usefixtures("long_excerpt")
@pytest.mark.parametrize("point", [*RECONNECT_POINTS, "body", "backoff", "excerpt"])
async def test_aclose_from_another_task_at_each_point_ends_the_reader_promptly(
    combo: Combo, server: LoopbackServer, point: str, request: pytest.FixtureRequest
) -> None:
    hold = Hold()
    other = other_origin(point, request)
    es = held_source(combo, server, point, hold, other)
    ended = anyio.Event()
    got: list[Any] = []
    # The reader reaches these itself: the wait for the second body's next bytes
    # (after its two events), and the reconnection wait (after the first body's).
    reached_after = {"body": 4, "backoff": 2}.get(point)

    async def read() -> None:
        with pytest.raises(StopAsyncIteration):
            while True:
                got.append(await anext(es))
                if len(got) == reached_after:
                    hold.reached.set()
        ended.set()

    try:
        async with anyio.create_task_group() as group:
            group.start_soon(read)
            await hold.until_reached()
            requests = len(server.requests) + len(other.requests if other else ())
            with anyio.fail_after(PROMPT):
                await es.aclose()
                await ended.wait()
        assert es.readyState is ReadyState.CLOSED
        hold.go.set()
        assert len(server.requests) + len(other.requests if other else ()) == requests
        assert data(got) == [f"event {i}" for i in range(1, len(got) + 1)]
    finally:
        hold.go.set()
        await es.aclose()
    await eventually(lambda: client_sockets_to((other or server).port) == 0)
    assert client_sockets_to(server.port) == 0


async def test_a_timeout_in_an_async_listener_between_events_of_one_read_loses_none(
    combo: Combo, server: LoopbackServer
) -> None:
    hold = Hold()

    async def handler(request: web.Request) -> web.StreamResponse:
        response = await open_stream(request)
        with contextlib.suppress(ConnectionError):
            await response.write(b"id: 1\ndata: a\n\n: note\n\nid: 2\ndata: b\n\n")
            await asyncio.sleep(LIMIT)
        return response

    async def on_comment(text: str) -> None:
        await hold.wait_in_client()

    server.handle("/", handler)
    async with combo.source(server.url("/"), on_comment=on_comment, **FAST) as es:
        opened: list[object] = []
        es.onopen = opened.append
        with anyio.fail_after(LIMIT):
            got = [await anext(es)]
        got += await cut_once(hold.until_reached, lambda: anext(es))
        assert len(got) == 1
        hold.go.set()
        with anyio.fail_after(LIMIT):
            got.append(await anext(es))
        assert es.readyState is ReadyState.OPEN
    assert data(got) == ["a", "b"]
    assert len(server.requests) == 1
    assert len(opened) == 1


class LoadingStore:
    """An async store whose load waits at ``hold`` (bounded); it holds ID "7"."""

    def __init__(self, hold: Hold) -> None:
        self.hold = hold
        self.saved: list[str] = []

    async def load(self) -> str | None:
        await self.hold.wait_in_client()
        return "7"

    async def save(self, last_event_id: str) -> None:
        self.saved.append(last_event_id)


@pytest.mark.parametrize("how", ["close", "aclose"])
async def test_a_close_from_another_task_while_the_store_loads_ends_the_reader_at_once(
    combo: Combo, server: LoopbackServer, how: str
) -> None:
    # The load waits before the first connection (a store on a slow network):
    # the reader was left waiting for it after the EventSource was closed.
    hold = Hold()
    store = LoadingStore(hold)
    es = combo.source(scripted(server, "body", hold), last_event_id_store=store, **FAST)
    ended = anyio.Event()

    async def read() -> None:
        with pytest.raises(StopAsyncIteration):
            await anext(es)
        ended.set()

    try:
        async with anyio.create_task_group() as group:
            group.start_soon(read)
            await hold.until_reached()
            with anyio.fail_after(PROMPT):
                if how == "close":
                    es.close()
                else:
                    await es.aclose()
                await ended.wait()
        assert es.readyState is ReadyState.CLOSED
    finally:
        hold.go.set()
        await es.aclose()
    assert server.requests == []
    assert store.saved == []  # nothing handled: the store keeps its "7"


class BlockingLoadStore:
    """A blocking store (run in a worker thread) whose load waits for ``hold``."""

    def __init__(self, hold: Hold) -> None:
        self.hold = hold

    def load(self) -> str | None:
        self.hold.reached.set()
        self.hold.go.wait(LIMIT)
        return "2"

    def save(self, last_event_id: str) -> None:
        pass


async def test_a_timeout_that_passed_during_a_blocking_load_does_not_count_as_a_failure(
    combo: Combo, server: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    # A worker thread's load cannot be cut: the caller's deadline passes while
    # it runs, and the cancel lands at the next await, before any request is
    # begun. It counted as a request cut before its answer: the next anext()
    # waited the backoff delay (here up to LIMIT) before its first request.
    hold = Hold()
    store = BlockingLoadStore(hold)
    url = scripted(server, "body", hold)
    es = combo.source(url, last_event_id_store=store, retry=LIMIT)
    try:
        with anyio.move_on_after(0.05) as scope:
            async with anyio.create_task_group() as group:

                async def let_the_load_end_late() -> None:
                    with anyio.CancelScope(shield=True):
                        await hold.until_reached()
                        await anyio.sleep_until(scope.deadline + 0.05)
                    hold.go.set()

                group.start_soon(let_the_load_end_late)
                await anext(es)
        assert scope.cancelled_caught
        assert server.requests == []
        with anyio.fail_after(PROMPT):
            event = await anext(es)
    finally:
        hold.go.set()
        await es.aclose()
    assert event.data == "event 3"
    assert [r.headers.get("Last-Event-ID") for r in server.requests] == ["2"]
    assert "no answer before a cancel" not in caplog.text


class ClosingResponse:
    """A response whose ``read()`` calls ``close`` before it returns, at ``on_read``."""

    def __init__(self, inner: Any, close: Callable[[], None], on_read: int | None) -> None:
        self._inner = inner
        self._close = close
        self._on_read = on_read
        self._reads = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def read(self) -> bytes:
        chunk: bytes = await self._inner.read()
        self._reads += 1
        if self._reads == self._on_read:
            self._close()
        return chunk


class ClosingTransport:
    """A real transport; ``close`` is called as a chosen open or read returns.

    What happens on trio when another task calls ``close()`` after the awaited
    open or read completed but before the reading task runs on: the reader
    then goes on with what it awaited, in a cancelled scope.
    """

    def __init__(self, inner: Any, on_open: int | None, on_read: tuple[int, int] | None) -> None:
        self.inner = inner
        self.on_open = on_open
        self.on_read = on_read  # (which open, which read of its response)
        self.opens = 0
        self.close: Callable[[], None] = lambda: None

    async def open(self, request: Any) -> Any:
        response = await self.inner.open(request)
        self.opens += 1
        if self.opens == self.on_open:
            self.close()
        which, read = self.on_read or (0, 0)
        return ClosingResponse(response, self.close, read if which == self.opens else None)

    async def aclose(self) -> None:
        await self.inner.aclose()


#: Where close() comes as the awaited call returns: (open, (open, read)).
CLOSED_AS_IT_RETURNS = {
    "the end of the first body": (None, (1, 2)),  # the read that returns b""
    "the second response": (2, None),
    "a read of the second body": (None, (2, 1)),  # the read with events 3 and 4
    "a redirect": (3, None),  # the second attempt's redirect (the first: 2 opens)
}


@pytest.mark.parametrize("point", list(CLOSED_AS_IT_RETURNS))
async def test_a_close_just_as_an_awaited_open_or_read_returns_stays_closed(
    combo: Combo, server: LoopbackServer, point: str
) -> None:
    hold = Hold()
    hold.go.set()  # nothing is held by the server here
    url = scripted(server, "redirect" if point == "a redirect" else "body", hold)
    on_open, on_read = CLOSED_AS_IT_RETURNS[point]
    transport = ClosingTransport(combo.make_transport(verify=True), on_open, on_read)
    es = EventSource(url, transport=transport, **FAST)
    transport.close = es.close
    opens: list[object] = []
    es.onopen = opens.append
    got: list[Any] = []
    try:
        with anyio.fail_after(LIMIT):
            async for event in es:
                got.append(event)
        requests = len(server.requests)
        assert es.readyState is ReadyState.CLOSED
    finally:
        await es.aclose()
    assert data(got) == ["event 1", "event 2"]  # nothing handed out after close()
    assert len(opens) == (2 if point == "a read of the second body" else 1)
    assert requests == transport.opens  # no request after close()
    assert es.readyState is ReadyState.CLOSED
    await eventually(lambda: client_sockets_to(server.port) == 0)
