"""The EventSources of one event loop share one aiohttp session of ours.

Made without a transport (or with ``AiohttpTransport()`` and no session
arguments), they share one session and connector, as aiohttp
advises: a session is ~7 KiB, a tenth of what a stream holds in a fan-out
(bench/README.md). Sharing must not change what one stream sees: no pool
limit holds a stream back, a closed stream leaves no socket beside the
others, and the last one to close closes the session.
"""

from __future__ import annotations

import asyncio
import gc
import tracemalloc

import anyio
import pytest
from aiohttp import web

from eventsource import EventSource
from eventsource.transports import AiohttpTransport

from ._fixtures import FAST, LIMIT
from ._fixtures import server as server
from ._servers import LoopbackServer, client_sockets_to, open_fd_count, open_stream

pytestmark = [pytest.mark.anyio, pytest.mark.parametrize("anyio_backend", ["asyncio"])]

#: More streams than aiohttp's default pool allows at once (100).
STREAMS = 110
#: aiohttp's modules of a client session, its connector and its cookie jar.
SESSION_FILES = ("*/aiohttp/client.py", "*/aiohttp/connector.py", "*/aiohttp/cookiejar.py")


async def one_then_hold(request: web.Request) -> web.StreamResponse:
    """One event, then nothing until the client goes (or the server stops)."""
    response = await open_stream(request)
    await response.write(b"data: first\n\n")
    with anyio.move_on_after(LIMIT):
        await asyncio.Event().wait()
    return response


async def one_then_end(request: web.Request) -> web.Response:
    """One event and a clean end: a connection aiohttp could keep for another request."""
    return web.Response(body=b"id: 1\ndata: only\n\n", content_type="text/event-stream")


async def first_events(sources: list[EventSource]) -> list[str]:
    async def first(es: EventSource) -> str:
        return (await es.__anext__()).data

    with anyio.fail_after(LIMIT * 2):
        return list(await asyncio.gather(*(first(es) for es in sources)))


async def aclose_all(sources: list[EventSource]) -> None:
    await asyncio.gather(*(es.aclose() for es in sources))


async def test_more_streams_than_aiohttps_pool_limit_are_all_open_at_once(
    server: LoopbackServer,
) -> None:
    server.handle("/hold", one_then_hold)
    sources = [EventSource(server.url("/hold"), **FAST) for _ in range(STREAMS)]
    try:
        assert await first_events(sources) == ["first"] * STREAMS
        assert client_sockets_to(server.port) == STREAMS
    finally:
        await aclose_all(sources)
    assert client_sockets_to(server.port) == 0


async def test_a_stream_that_ended_and_closed_leaves_no_socket_beside_the_others(
    server: LoopbackServer,
) -> None:
    # The first stream's connection ended cleanly (aiohttp would pool it for
    # another request); once that EventSource is closed, only the other's is open.
    server.handle("/hold", one_then_hold)
    server.handle("/once", one_then_end)
    holding = EventSource(server.url("/hold"), **FAST)
    ended = EventSource(server.url("/once"), reconnect=False)
    try:
        assert await first_events([holding, ended]) == ["first", "only"]
        with pytest.raises(StopAsyncIteration):
            await ended.__anext__()
        await ended.aclose()
        assert client_sockets_to(server.port) == 1
    finally:
        await aclose_all([holding, ended])
    assert client_sockets_to(server.port) == 0


async def test_a_stream_reads_on_after_another_closed_and_the_last_closes_the_session(
    server: LoopbackServer,
) -> None:
    # /stream: one event, then a second once gate "second" opens.
    baseline = open_fd_count()
    first = EventSource(server.url("/stream"), **FAST)
    second = EventSource(server.url("/stream"), transport=AiohttpTransport(), **FAST)
    try:
        assert await first_events([first, second]) == ["one", "one"]
        await first.aclose()
        server.open_gate("second")
        with anyio.fail_after(LIMIT):
            assert (await second.__anext__()).data == "two"
    finally:
        await aclose_all([first, second])
    assert client_sockets_to(server.port) == 0
    gc.collect()
    assert open_fd_count() <= baseline


def in_session_files(snapshot: tracemalloc.Snapshot) -> int:
    keep = [tracemalloc.Filter(True, pattern) for pattern in SESSION_FILES]
    return sum(stat.size for stat in snapshot.filter_traces(keep).statistics("filename"))


async def test_held_streams_share_one_sessions_objects(server: LoopbackServer) -> None:
    # Without sharing, each stream held a session, a connector and a cookie jar
    # (~4 KiB traced in these three modules); with it, what a connection needs.
    server.handle("/hold", one_then_hold)
    tracemalloc.start()
    try:
        before = in_session_files(tracemalloc.take_snapshot())
        sources = [EventSource(server.url("/hold"), **FAST) for _ in range(50)]
        try:
            await first_events(sources)
            gc.collect()
            per_stream = (in_session_files(tracemalloc.take_snapshot()) - before) / 50
        finally:
            await aclose_all(sources)
    finally:
        tracemalloc.stop()
    assert per_stream < 1_500
