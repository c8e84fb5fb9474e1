"""Bodies nobody needs are not waited for: error excerpts and drains after a terminal event.

An error answer whose body trickles and hangs fails at once, with what of the
body had arrived; a one-shot stream ends right after its terminal event even
when the server keeps the socket open, and that connection is then closed
rather than reused. Each test runs on every transport and backend (``combo``;
``aiter_events`` on asyncio with both clients), against servers that send part
of a body and then hold the connection until the client goes (bounded by
``SERVER_WAIT``). The bound ``PROMPT`` is generous:
it only tells "at once" from the 5 s these waits once took.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import anyio
import httpx
import pytest
from aiohttp import web

from eventsource import (
    ContentTypeError,
    ErrorEvent,
    ReadyState,
    ServerEventError,
    StatusError,
    _decode,
    retry_transient,
)
from eventsource.decode import aiter_events
from eventsource.sentinels import is_done, is_error_event, is_message_stop
from eventsource.testing import SSEServer

from ._fixtures import FAST, LIMIT, Combo, eventually
from ._fixtures import anyio_backend as anyio_backend
from ._fixtures import combo as combo
from ._fixtures import server as server
from ._servers import SERVER_WAIT, LoopbackServer, client_sockets_to, open_stream

pytestmark = pytest.mark.anyio

#: Upper bound for what must happen at once (these waits once took 5 s).
PROMPT = 2.0

PARTIAL_JSON = b'{"error": {"message": "invalid api k'


async def until_gone(request: web.Request) -> bool:
    """Hold the connection until the client closes it; ``False`` after ``SERVER_WAIT``."""
    deadline = time.monotonic() + SERVER_WAIT
    while time.monotonic() < deadline:
        transport = request.transport
        if transport is None or transport.is_closing():
            return True
        await asyncio.sleep(0.01)
    return False


def hanging(
    status: int,
    content_type: str,
    first: bytes,
    gone: list[bool] | None = None,
    sent: list[bool] | None = None,
) -> Any:
    """A handler: ``status`` with ``first`` of the body, then the connection held open.

    ``sent`` gets an item once ``first`` is written, ``gone`` once the client
    closed the connection (``True``) or ``SERVER_WAIT`` passed (``False``).
    """

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=status, headers={"Content-Type": content_type})
        await response.prepare(request)
        await response.write(first)
        if sent is not None:
            sent.append(True)
        try:
            closed = await until_gone(request)
        except asyncio.CancelledError:  # how SSEServer tells a handler its client has gone
            if gone is not None:
                gone.append(True)
            raise
        if gone is not None:
            gone.append(closed)
        return response

    return handler


@contextlib.asynccontextmanager
async def shared_pool(combo: Combo) -> AsyncIterator[dict[str, Any]]:
    """A session or client of the test's own, one connection at most: it outlives the stream."""
    if combo.transport == "aiohttp":
        connector = aiohttp.TCPConnector(limit=1)
        async with aiohttp.ClientSession(connector=connector) as session:
            yield {"session": session}
    else:
        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=1)) as client:
            yield {"client": client}


# -- item 5: an error answer whose body hangs -------------------------------------------


async def test_a_401_whose_json_body_hangs_fails_at_once_with_the_part_that_arrived(
    combo: Combo, server: LoopbackServer
) -> None:
    server.handle("/", hanging(401, "application/json", PARTIAL_JSON))
    es = combo.source(server.url("/"), method="POST", json={}, **FAST)
    seen: list[tuple[str, ReadyState]] = []
    es.onerror = lambda event: seen.append(("onerror", es.readyState))
    es.addEventListener("error", lambda event: seen.append(("listener", es.readyState)))
    start = time.monotonic()
    with anyio.fail_after(LIMIT), pytest.raises(StatusError) as caught:
        async for _ in es:
            pass
    assert time.monotonic() - start < PROMPT
    assert caught.value.status == 401
    assert caught.value.body == PARTIAL_JSON.decode()
    assert seen == [("onerror", ReadyState.CLOSED), ("listener", ReadyState.CLOSED)]
    assert len(server.requests) == 1
    await eventually(lambda: client_sockets_to(server.port) == 0)


async def test_a_200_text_plain_stream_fails_at_once_with_what_arrived(
    combo: Combo, server: LoopbackServer
) -> None:
    async def trickle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await response.prepare(request)
        with contextlib.suppress(ConnectionError):
            for _ in range(500):  # 10 s at most
                if request.transport is None or request.transport.is_closing():
                    break
                await response.write(b"line\n")
                await asyncio.sleep(0.02)
        return response

    server.handle("/", trickle)
    es = combo.source(server.url("/"), **FAST)
    start = time.monotonic()
    with anyio.fail_after(LIMIT), pytest.raises(ContentTypeError, match="text/plain") as caught:
        async for _ in es:
            pass
    assert time.monotonic() - start < PROMPT
    assert caught.value.body
    assert ("line\n" * 500).startswith(caught.value.body)
    assert es.readyState == ReadyState.CLOSED
    await eventually(lambda: client_sockets_to(server.port) == 0)


async def test_a_status_the_policy_retries_reports_its_error_at_once(
    combo: Combo, server: LoopbackServer
) -> None:
    server.handle("/", hanging(503, "application/json", PARTIAL_JSON))
    es = combo.source(server.url("/"), status_policy=retry_transient(), **FAST)
    errors: list[ErrorEvent] = []

    def on_error(event: ErrorEvent) -> None:
        errors.append(event)
        es.close()

    es.onerror = on_error
    start = time.monotonic()
    with anyio.fail_after(LIMIT):
        async for _ in es:
            pass
    assert time.monotonic() - start < PROMPT
    [event] = errors
    assert (event.status, event.reconnecting) == (503, True)
    assert isinstance(event.error, StatusError)
    assert event.error.body == PARTIAL_JSON.decode()
    await eventually(lambda: client_sockets_to(server.port) == 0)


async def test_close_while_the_error_body_is_read_ends_at_once(
    combo: Combo, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_decode, "EXCERPT_WAIT", 30.0)  # the excerpt read outlasts the test
    server.handle("/", hanging(401, "application/json", PARTIAL_JSON))
    es = combo.source(server.url("/"), **FAST)
    errors: list[object] = []
    es.onerror = errors.append
    ended: list[float] = []

    async def consume() -> None:
        async for _ in es:
            pass
        ended.append(time.monotonic())

    with anyio.fail_after(LIMIT):
        async with anyio.create_task_group() as tg:
            tg.start_soon(consume)
            # The headers decided it: CLOSED already, while the body is still read.
            await eventually(lambda: es.readyState == ReadyState.CLOSED)
            assert not ended
            closed_at = time.monotonic()
            es.close()
    assert ended[0] - closed_at < PROMPT
    assert errors == []  # close(): no event after it
    await eventually(lambda: client_sockets_to(server.port) == 0)


# -- item 6: a one-shot stream whose server keeps the socket open after the end ---------


async def test_stop_when_ends_at_once_and_closes_the_connection_it_cannot_reuse(
    combo: Combo, server: LoopbackServer
) -> None:
    gone: list[bool] = []
    server.handle("/", hanging(200, "text/event-stream", b"data: 1\n\ndata: [DONE]\n\n", gone))
    async with shared_pool(combo) as pool:
        es = combo.source(
            server.url("/"), method="POST", json={}, stop_when=is_done, reconnect=False, **pool
        )
        start = time.monotonic()
        with anyio.fail_after(LIMIT):
            got = [event.data async for event in es]
        assert time.monotonic() - start < PROMPT
        assert got == ["1"]
        assert es.readyState == ReadyState.CLOSED
        # The session or client is still open: the server sees the connection
        # closed because we closed it, not because a pool went away.
        await eventually(lambda: gone == [True])
        await es.aclose()
    assert len(server.requests) == 1


async def test_stop_after_delivers_the_terminal_event_at_once_then_ends(
    combo: Combo, server: LoopbackServer
) -> None:
    gone: list[bool] = []
    body = b"event: message_start\ndata: {}\n\nevent: message_stop\ndata: {}\n\n"
    server.handle("/", hanging(200, "text/event-stream", body, gone))
    async with shared_pool(combo) as pool:
        es = combo.source(server.url("/"), stop_after=is_message_stop, reconnect=False, **pool)
        start = time.monotonic()
        arrived: list[tuple[str, float, ReadyState]] = []
        with anyio.fail_after(LIMIT):
            async for event in es:
                arrived.append((event.type, time.monotonic() - start, es.readyState))
        assert time.monotonic() - start < PROMPT
        assert [(kind, state) for kind, _, state in arrived] == [
            ("message_start", ReadyState.OPEN),
            ("message_stop", ReadyState.OPEN),  # CLOSED once the loop asks for more
        ]
        assert es.readyState is ReadyState.CLOSED
        assert arrived[-1][1] < PROMPT
        await eventually(lambda: gone == [True])
        await es.aclose()


async def test_the_terminal_event_comes_before_the_drain_and_close_cuts_the_drain_short(
    combo: Combo, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_decode, "DRAIN_WAIT", 30.0)  # the drain outlasts the test
    gone: list[bool] = []
    body = b"event: message_start\ndata: {}\n\nevent: message_stop\ndata: {}\n\n"
    server.handle("/", hanging(200, "text/event-stream", body, gone))
    async with shared_pool(combo) as pool:
        es = combo.source(server.url("/"), stop_after=is_message_stop, reconnect=False, **pool)
        got: list[str] = []
        ended: list[float] = []

        async def consume() -> None:
            async for event in es:
                got.append(event.type)
            ended.append(time.monotonic())

        with anyio.fail_after(LIMIT):
            async with anyio.create_task_group() as tg:
                tg.start_soon(consume)
                # Handed out at once, though the drain after it would take 30 s.
                await eventually(lambda: got == ["message_start", "message_stop"], PROMPT)
                await anyio.sleep(0.05)  # the next step drains (or is about to)
                assert not ended
                closed_at = time.monotonic()
                es.close()
        assert ended[0] - closed_at < PROMPT
        await eventually(lambda: gone == [True])
        await es.aclose()
    await eventually(lambda: client_sockets_to(server.port) == 0)


async def test_close_during_the_drain_after_stop_when_ends_at_once(
    combo: Combo, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_decode, "DRAIN_WAIT", 30.0)  # the drain outlasts the test
    gone: list[bool] = []
    sent: list[bool] = []
    body = b"data: 1\n\ndata: [DONE]\n\n"
    server.handle("/", hanging(200, "text/event-stream", body, gone, sent))
    async with shared_pool(combo) as pool:
        es = combo.source(server.url("/"), stop_when=is_done, reconnect=False, **pool)
        got: list[str] = []
        ended: list[float] = []

        async def consume() -> None:
            async for event in es:
                got.append(event.data)
            ended.append(time.monotonic())

        with anyio.fail_after(LIMIT):
            async with anyio.create_task_group() as tg:
                tg.start_soon(consume)
                await eventually(lambda: sent == [True] and got == ["1"])
                await anyio.sleep(0.05)  # [DONE] read: draining (or about to)
                assert not ended
                closed_at = time.monotonic()
                es.close()
        assert ended[0] - closed_at < PROMPT
        await eventually(lambda: gone == [True])
        await es.aclose()
    await eventually(lambda: client_sockets_to(server.port) == 0)


async def test_error_when_ends_at_once_and_closes_the_connection(
    combo: Combo, server: LoopbackServer
) -> None:
    gone: list[bool] = []
    body = b'data: 1\n\nevent: error\ndata: {"type": "overloaded"}\n\n'
    server.handle("/", hanging(200, "text/event-stream", body, gone))
    async with shared_pool(combo) as pool:
        es = combo.source(server.url("/"), error_when=is_error_event, reconnect=False, **pool)
        got: list[str] = []
        start = time.monotonic()
        with anyio.fail_after(LIMIT), pytest.raises(ServerEventError):
            async for event in es:
                got.append(event.data)
        assert time.monotonic() - start < PROMPT
        assert got == ["1"]
        await eventually(lambda: gone == [True])
        await es.aclose()


async def test_a_body_that_ends_right_after_the_sentinel_is_drained_and_reused(
    combo: Combo, server: LoopbackServer
) -> None:
    peers: list[object] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        peers.append(request.transport.get_extra_info("peername"))
        response = await open_stream(request)
        await response.write(b"data: 1\n\ndata: [DONE]\n\n")
        await response.write(b": trailing\n" * 50)
        await response.write_eof()
        return response

    server.handle("/", handler)
    async with shared_pool(combo) as pool:
        for _ in range(2):
            es = combo.source(server.url("/"), stop_when=is_done, **pool)
            with anyio.fail_after(LIMIT):
                assert [event.data async for event in es] == ["1"]
            await es.aclose()
    assert len(peers) == 2
    assert peers[0] == peers[1]


# -- aiter_events: a response the caller opened -------------------------------------------


@contextlib.asynccontextmanager
async def held_open(status: int, content_type: str, first: bytes) -> AsyncIterator[str]:
    """A server on this loop whose one route sends ``first`` and holds the connection."""
    release = asyncio.Event()

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=status, headers={"Content-Type": content_type})
        await response.prepare(request)
        await response.write(first)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(release.wait(), SERVER_WAIT)
        return response

    async with SSEServer() as web_server:
        web_server.handle("/", handler)
        try:
            yield web_server.url_for("/")
        finally:
            release.set()


@contextlib.asynccontextmanager
async def opened(client: str, url: str) -> AsyncIterator[Any]:
    """A response opened by the caller with aiohttp or httpx, body not yet read."""
    if client == "aiohttp":
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            yield response
    else:
        async with httpx.AsyncClient() as http, http.stream("GET", url) as response:
            yield response


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize("client", ["aiohttp", "httpx"])
async def test_aiter_events_stops_at_done_at_once_when_the_server_keeps_the_socket_open(
    client: str, anyio_backend: str
) -> None:
    body = b"data: 1\n\ndata: [DONE]\n\n"
    async with (
        held_open(200, "text/event-stream", body) as url,
        opened(client, url) as response,
    ):
        start = time.monotonic()
        with anyio.fail_after(LIMIT):
            got = [event.data async for event in aiter_events(response, stop_when=is_done)]
        assert time.monotonic() - start < PROMPT
    assert got == ["1"]


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize("client", ["aiohttp", "httpx"])
async def test_aiter_events_raises_a_status_error_at_once_with_the_part_that_arrived(
    client: str, anyio_backend: str
) -> None:
    async with (
        held_open(401, "application/json", PARTIAL_JSON) as url,
        opened(client, url) as response,
    ):
        start = time.monotonic()
        with anyio.fail_after(LIMIT), pytest.raises(StatusError) as caught:
            async for _ in aiter_events(response):
                pass
        assert time.monotonic() - start < PROMPT
    assert caught.value.body == PARTIAL_JSON.decode()
