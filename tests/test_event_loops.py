"""One EventSource across event loops: each ``asyncio.run()`` a loop of its own.

Pytest fixtures, notebooks and scripts that call ``asyncio.run()`` per job use
one EventSource in several loops. A loop that ended leaves nothing of ours
open, the stream goes on in the next loop (aiohttp: a new session; its session
was closed as its loop shut down), and closing works from any loop or none.
A session of the user's cannot follow into another loop: a clear error says so.

The tests are plain functions: each runs its own loops. The server runs in its
own thread, so it outlives them.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import warnings
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import aiohttp
import anyio
import pytest
import trio
from aiohttp import web

from eventsource import EventSource, ReadyState
from eventsource.transports import AiohttpTransport

from ._fixtures import FAST, LIMIT
from ._servers import LoopbackServer, client_sockets_to, open_fd_count, running_server

T = TypeVar("T")

#: A transport and the run that starts each loop (trio: the httpx transport only).
RUNS = ["aiohttp-asyncio", "httpx-asyncio", "httpx-trio"]


def run(way: str, step: Callable[..., Awaitable[T]], *args: Any) -> T:
    """``step(*args)`` in a loop of its own: ``asyncio.run()`` or ``trio.run()``."""
    if way.endswith("trio"):
        return trio.run(step, *args)
    return asyncio.run(step(*args))


@pytest.fixture
def counting() -> Iterator[LoopbackServer]:
    """``/count``: two events numbered on from the request's ``Last-Event-ID``, left open."""

    with running_server() as server:

        async def count_on(request: web.Request) -> web.StreamResponse:
            start = int(request.headers.get("Last-Event-ID", "0"))
            response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await response.prepare(request)
            for n in range(start + 1, start + 3):
                await response.write(f"id: {n}\ndata: {n}\n\n".encode())
            await server.wait_gate("never")  # open until the server stops (bounded)
            return response

        server.handle("/count", count_on)
        yield server


async def take(es: EventSource, n: int) -> list[str]:
    """The data of the next ``n`` events; the stream is left open."""
    got: list[str] = []
    with anyio.fail_after(LIMIT):
        async for event in es:
            got.append(event.data)
            if len(got) == n:
                break
    return got


@contextlib.contextmanager
def leaves_nothing_open(port: int) -> Iterator[list[warnings.WarningMessage]]:
    """Asserts that the block leaves no ResourceWarning, socket to ``port`` or fd behind.

    Yields the warnings caught (all of them, for the block to look at others).
    """
    before = open_fd_count()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught
        gc.collect()  # unclosed sessions, connections, transports, sockets warn here
    leaked = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert leaked == []
    assert client_sockets_to(port) == 0
    assert open_fd_count() <= before


@pytest.mark.parametrize("way", RUNS)
def test_the_stream_goes_on_in_a_second_run_and_closes_in_a_third(
    counting: LoopbackServer, way: str
) -> None:
    # The repro: module-level EventSource, a stream open when the first run ends.
    with leaves_nothing_open(counting.port):
        es = EventSource(counting.url("/count"), transport=way.split("-")[0], **FAST)
        assert run(way, take, es, 2) == ["1", "2"]
        # The connection of the ended loop is gone; the next one resumes after "2".
        assert run(way, take, es, 2) == ["3", "4"]
        assert counting.requests[-1].headers["Last-Event-ID"] == "2"
        run(way, es.aclose)
        assert es.readyState == ReadyState.CLOSED
        del es


@pytest.mark.parametrize("way", RUNS)
def test_close_outside_any_loop_after_the_loop_ended_mid_stream(
    counting: LoopbackServer, way: str
) -> None:
    with leaves_nothing_open(counting.port):
        es = EventSource(counting.url("/count"), transport=way.split("-")[0], **FAST)
        assert run(way, take, es, 1) == ["1"]
        es.close()  # no loop runs here: nothing may be awaited
        assert es.readyState == ReadyState.CLOSED
        assert client_sockets_to(counting.port) == 0
        run(way, es.aclose)  # what close() could not release without a loop
        del es


@pytest.mark.parametrize("way", RUNS)
def test_aclose_in_another_loop_after_the_loop_ended_mid_stream(
    counting: LoopbackServer, way: str
) -> None:
    with leaves_nothing_open(counting.port):
        es = EventSource(counting.url("/count"), transport=way.split("-")[0], **FAST)
        assert run(way, take, es, 1) == ["1"]
        run(way, es.aclose)
        assert es.readyState == ReadyState.CLOSED
        del es


def test_an_eventsource_used_in_two_runs_leaves_no_session_between_them(
    counting: LoopbackServer,
) -> None:
    # The first run's session is closed as that loop shuts down: by the second
    # run, no socket of the first is open (it was not left for the collector).
    with leaves_nothing_open(counting.port):
        es = EventSource(counting.url("/count"), transport="aiohttp", **FAST)
        asyncio.run(take(es, 2))
        assert client_sockets_to(counting.port) == 0

        async def second(es: EventSource) -> tuple[list[str], int]:
            got = await take(es, 2)
            return got, client_sockets_to(counting.port)

        assert asyncio.run(second(es)) == (["3", "4"], 1)  # the new loop's one
        asyncio.run(es.aclose())
        del es


def test_your_session_in_a_second_loop_is_a_clear_error_and_stays_yours(
    counting: LoopbackServer,
) -> None:
    with leaves_nothing_open(counting.port):
        first = asyncio.new_event_loop()
        try:
            session = first.run_until_complete(_a_session())
            es = EventSource(
                counting.url("/count"), transport=AiohttpTransport(session=session), **FAST
            )
            assert first.run_until_complete(take(es, 1)) == ["1"]
            with pytest.raises(RuntimeError, match="used in another event loop"):
                asyncio.run(take(es, 2))  # "2" came in the first loop's read
            assert es.readyState == ReadyState.CLOSED
            assert not session.closed  # it is the user's to close, in its loop
            first.run_until_complete(session.close())
            first.run_until_complete(first.shutdown_asyncgens())
        finally:
            first.close()
        del es, session


async def _a_session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession()


def test_a_loop_shut_down_closes_the_session_it_made(counting: LoopbackServer) -> None:
    # asyncio.run() is one way to end a loop; a loop run by hand and shut down
    # the documented way (shutdown_asyncgens, then close) is another.
    with leaves_nothing_open(counting.port):
        es = EventSource(counting.url("/count"), transport="aiohttp", **FAST)
        loop = asyncio.new_event_loop()
        try:
            assert loop.run_until_complete(take(es, 2)) == ["1", "2"]
            assert client_sockets_to(counting.port) == 1
            loop.run_until_complete(loop.shutdown_asyncgens())
            assert client_sockets_to(counting.port) == 0
        finally:
            loop.close()
        assert asyncio.run(take(es, 2)) == ["3", "4"]
        asyncio.run(es.aclose())
        del es
