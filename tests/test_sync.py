"""The blocking client's own promises: threads, close(), notebooks, its options and refusals.

What both clients share is in test_both_clients.py. Here: ``close()`` from
another thread ends a blocked loop at once and releases everything, the
client runs inside a running event loop, and what it cannot do (await) is
refused with a clear error.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import itertools
import logging
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from aiohttp import web

import eventsource
from eventsource import ReadTimeout, ReadyState, StatusError
from eventsource.sync import EventSource, HttpxTransport
from eventsource.transports import HttpxTransport as AsyncHttpxTransport

from ._fixtures import FAST, LIMIT, traced_in_package
from ._fixtures import server as server
from ._servers import (
    LoopbackServer,
    burst_between_quiet_moments,
    client_sockets_to,
    open_fd_count,
    open_stream,
    sse,
)

#: close() from another thread must end a blocked loop within this (the issue's bound).
CLOSE_BOUND = 1.0


class Reader:
    """Iterate ``es`` in a thread of the test's; record the events and how it ended."""

    def __init__(self, es: EventSource) -> None:
        self.es = es
        self.events: list[str] = []
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._read, name="test-reader")

    def _read(self) -> None:
        try:
            for event in self.es:
                self.events.append(event.data)
        except BaseException as exc:  # the test looks at it
            self.error = exc

    def __enter__(self) -> Reader:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.es.close()
        self.thread.join(LIMIT)


def wait_until(condition: Callable[[], bool], limit: float = LIMIT) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.005)


def closed_within(reader: Reader) -> float:
    """Close ``reader``'s EventSource from this thread; seconds until its loop ended."""
    start = time.monotonic()
    reader.es.close()
    reader.thread.join(LIMIT)
    elapsed = time.monotonic() - start
    assert not reader.thread.is_alive()
    return elapsed


@pytest.fixture
def baseline() -> tuple[set[threading.Thread], int]:
    return set(threading.enumerate()), open_fd_count()


# -- close() from another thread ----------------------------------------------------


def test_close_from_another_thread_ends_a_blocked_read_at_once_and_releases_it(
    server: LoopbackServer, baseline: tuple[set[threading.Thread], int]
) -> None:
    threads, fds = baseline

    async def one_then_silence(request: web.Request) -> web.StreamResponse:
        response = await open_stream(request)
        await response.write(b"data: one\n\n")
        await server.wait_gate("never")
        return response

    server.handle("/", one_then_silence)
    reader = Reader(EventSource(server.url("/")))
    with reader:
        wait_until(lambda: reader.events == ["one"])
        time.sleep(0.05)  # the reader is blocked in the next read
        assert client_sockets_to(server.port) == 1
        assert closed_within(reader) < CLOSE_BOUND
        # close() returned after the reader let go: nothing of ours is left.
        assert client_sockets_to(server.port) == 0
    assert reader.error is None  # the loop simply ended
    assert reader.es.readyState is ReadyState.CLOSED
    assert set(threading.enumerate()) <= threads
    assert open_fd_count() <= fds


def test_close_from_another_thread_ends_the_reconnection_wait(server: LoopbackServer) -> None:
    server.handle("/", lambda request: sse(request, b"data: one\n\n"))
    reader = Reader(EventSource(server.url("/"), retry=60.0))
    with reader:
        wait_until(lambda: reader.events == ["one"])
        wait_until(lambda: reader.es.readyState is ReadyState.CONNECTING)
        assert closed_within(reader) < CLOSE_BOUND
    assert len(server.requests) == 1  # and no request after close()
    assert reader.error is None


def test_close_from_another_thread_ends_a_wait_for_the_response_headers(
    server: LoopbackServer,
) -> None:
    reader = Reader(EventSource(server.url("/stall-headers")))
    with reader:
        wait_until(lambda: len(server.requests) == 1)
        time.sleep(0.05)
        assert closed_within(reader) < CLOSE_BOUND
        assert client_sockets_to(server.port) == 0
    assert reader.error is None


def test_a_second_thread_cannot_read_while_the_first_one_waits(server: LoopbackServer) -> None:
    reader = Reader(EventSource(server.url("/stall-body")))
    with reader:
        wait_until(lambda: reader.es.readyState is ReadyState.OPEN)
        time.sleep(0.05)
        with pytest.raises(RuntimeError, match="another thread"):
            next(reader.es)
    assert reader.error is None


def test_a_blocking_stream_that_goes_quiet_after_a_burst_holds_no_more_than_before_it(
    server: LoopbackServer,
) -> None:
    # As the async delivery (test_fanout_memory): once 1,500 events of one write
    # are handed out and the reader blocks on the network, nothing held for
    # them is left (a deque kept up to 16 of its blocks, 8,448 B, for good).
    burst = 1500
    go = threading.Event()
    server.handle("/", burst_between_quiet_moments(b"data: x\n\n" * burst, go))

    def before_and_after_a_burst() -> list[int]:
        go.clear()
        traced = []
        with Reader(EventSource(server.url("/"))) as reader:
            for count in (10, 10 + burst):
                wait_until(lambda: len(reader.events) == count)  # noqa: B023 - waited on here
                time.sleep(0.1)  # the reader is blocked in the next read
                gc.collect()
                traced.append(traced_in_package(tracemalloc.take_snapshot()))
                go.set()
        return traced

    tracemalloc.start()
    try:
        before_and_after_a_burst()  # every path once first: see test_fanout_memory
        traced = before_and_after_a_burst()
    finally:
        tracemalloc.stop()
    before, after = traced
    assert after - before < 1024


# -- inside a running event loop (a notebook cell) ----------------------------------


def test_it_runs_in_code_that_runs_inside_an_event_loop(server: LoopbackServer) -> None:
    server.handle("/", lambda request: sse(request, b"data: a\n\ndata: b\n\n"))

    async def cell() -> list[str]:
        # What a notebook cell does: blocking code, with the cell's loop running.
        with EventSource(server.url("/"), **FAST) as es:
            return [event.data for event in itertools.islice(es, 2)]

    assert asyncio.run(cell()) == ["a", "b"]


# -- timeouts and bounded reads -----------------------------------------------------


def test_a_stalled_body_is_a_read_timeout_and_a_reconnect(server: LoopbackServer) -> None:
    errors: list[Any] = []
    es = EventSource(server.url("/stall-body"), read_timeout=0.2, **FAST)

    def on_error(event: Any) -> None:
        errors.append(event)
        es.close()

    es.onerror = on_error
    es.run()
    assert len(errors) == 1
    assert isinstance(errors[0].error, ReadTimeout)
    assert str(errors[0].error) == "no data received within read_timeout (0.2 s)"
    assert errors[0].reconnecting


def test_the_excerpt_of_an_error_body_that_stalls_is_bounded(server: LoopbackServer) -> None:
    async def stalled_401(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=401, headers={"Content-Type": "application/json"})
        await response.prepare(request)
        await response.write(b'{"error": "token expired"}')
        await server.wait_gate("never")
        return response

    server.handle("/", stalled_401)
    start = time.monotonic()
    with pytest.raises(StatusError) as caught, EventSource(server.url("/")) as es:
        next(es)
    assert time.monotonic() - start < 2.0  # the excerpt waits 0.25 s, not forever
    assert caught.value.status == 401
    assert caught.value.body == '{"error": "token expired"}'


# -- transports ---------------------------------------------------------------------


def test_a_users_client_is_used_and_never_closed(server: LoopbackServer) -> None:
    server.handle("/", lambda request: sse(request, b"data: a\n\n"))
    with httpx.Client(headers={"X-From": "users-client"}) as users:
        with EventSource(server.url("/"), transport=HttpxTransport(client=users), **FAST) as es:
            assert next(es).data == "a"
        assert not users.is_closed
    assert server.requests[0].headers.get("X-From") == "users-client"


def test_the_transport_refuses_what_it_cannot_use() -> None:
    with pytest.raises(TypeError, match=r"httpx\.Client"):
        HttpxTransport(client=httpx.AsyncClient())  # type: ignore[arg-type]  # opens nothing
    with httpx.Client() as client, pytest.raises(TypeError, match="set them on the"):
        HttpxTransport(client=client, http2=True)
    with pytest.raises(TypeError, match="event loop"):
        EventSource("http://127.0.0.1:1/", transport=AsyncHttpxTransport())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown transport"):
        EventSource("http://127.0.0.1:1/", transport="aiohttp")  # type: ignore[arg-type]


def test_importing_the_sync_module_does_not_import_httpx() -> None:
    code = "import sys, eventsource.sync; print('httpx' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "False"


def test_without_the_httpx_extra_the_error_names_it() -> None:
    code = (
        "import sys; sys.modules['httpx'] = None\n"
        "from eventsource.sync import EventSource\n"
        "try:\n"
        "    EventSource('http://127.0.0.1:1/')\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert "pip install 'eventsource-client[httpx]'" in result.stdout


# -- what it cannot await is refused --------------------------------------------------


class AsyncStore:
    async def load(self) -> str | None:
        return None

    async def save(self, last_event_id: str) -> None:
        pass


def test_an_async_store_is_refused_with_a_type_error() -> None:
    with pytest.raises(TypeError, match="blocking load"):
        EventSource("http://127.0.0.1:1/", last_event_id_store=AsyncStore())  # type: ignore[arg-type]


def test_an_async_listener_is_reported_as_a_type_error_and_the_stream_goes_on(
    server: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.handle("/", lambda request: sse(request, b"data: a\n\ndata: b\n\n"))
    heard: list[str] = []
    es = EventSource(server.url("/"), **FAST)

    async def async_listener(event: Any) -> None:
        heard.append("awaited")  # pragma: no cover - never awaited

    def plain_listener(event: Any) -> None:
        heard.append(event.data)
        if event.data == "b":
            es.close()

    es.onmessage = async_listener
    es.addEventListener("message", plain_listener)
    with caplog.at_level(logging.ERROR, logger="eventsource"):
        es.run()
    assert heard == ["a", "b"]
    refused = [r for r in caplog.records if r.exc_info and r.exc_info[0] is TypeError]
    assert len(refused) == 2
    assert "without an event loop" in str(refused[0].exc_info[1])  # type: ignore[index]


def test_an_async_prepare_request_is_a_type_error_from_the_loop(server: LoopbackServer) -> None:
    async def prepare(attempt: Any) -> None:
        pass  # pragma: no cover - never awaited

    es = EventSource(server.url("/stream"), prepare_request=prepare)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="prepare_request"):
        next(es)
    assert es.readyState is ReadyState.CLOSED
    assert server.requests == []


# -- the same options -----------------------------------------------------------------


def test_it_takes_the_async_clients_option_names() -> None:
    blocking = inspect.signature(EventSource).parameters
    async_ = inspect.signature(eventsource.EventSource).parameters
    assert list(blocking) == list(async_)
    for name, parameter in blocking.items():
        assert parameter.default == async_[name].default, name


def test_the_sync_module_exports_a_small_public_surface() -> None:
    import eventsource.sync as sync

    assert sorted(sync.__all__) == ["EventSource", "HttpxTransport"]
    assert len(eventsource.__all__) == 19
