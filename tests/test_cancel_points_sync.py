"""The blocking client cut at each blocking point: close() from another thread, or an exception.

``close()`` from another thread at each point where the reading thread
blocks (the headers of a reconnection, a redirect's answer and its hop, the
body, the reconnection wait, an error body's excerpt) ends the reading
thread at once, with no request after it, no socket left, and no
"reconnecting" said about a stream that was closed.

An exception raised in the reading thread while it blocks (Ctrl-C, or a
timeout a ``signal.alarm`` handler raises around ``next()``) is the blocking
client's cancel: here a signal handler raises one exactly there, in a real
socket read or in a hook's wait. Then, as after a cancel in the async
client, nothing is left open and the next ``next()`` goes on: the events
after the last one handed out, resumed with ``Last-Event-ID`` at once; an
error's decision stands; a one-shot request is not sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
import time
from collections.abc import Iterator
from types import FrameType
from typing import Any

import pytest
from aiohttp import web

from eventsource import ErrorEvent, ReadyState, StatusError, TransportError, _sync_driver_connect
from eventsource.sync import EventSource

from ._fixtures import FAST, LIMIT
from ._fixtures import server as server
from ._servers import LoopbackServer, client_sockets_to, open_stream

#: Seconds that prove "at once": the old faults took the server's whole hold.
PROMPT = 2.0


class Hold:
    """One held point of the server: ``reached`` once something waits there, until ``go``."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.go = threading.Event()

    async def wait(self) -> None:
        self.reached.set()
        for _ in range(int(LIMIT / 0.005)):  # bounded
            if self.go.is_set():
                return
            await asyncio.sleep(0.005)


def events(first: int, last: int) -> bytes:
    return b"".join(b"id: %d\ndata: event %d\n\n" % (i, i) for i in range(first, last + 1))


def scripted(server: LoopbackServer, point: str, hold: Hold) -> str:
    """The stream held at ``point`` on its second attempt (the first ends after 2 events)."""
    calls = {"/hop": 0, "/stream": 0}

    async def hop(request: web.Request) -> web.StreamResponse:
        calls["/hop"] += 1
        if point == "redirect" and calls["/hop"] == 2:
            await hold.wait()
        raise web.HTTPTemporaryRedirect("/stream")

    async def stream(request: web.Request) -> web.StreamResponse:
        calls["/stream"] += 1
        second = calls["/stream"] == 2
        if point in ("headers", "hop") and second:
            await hold.wait()
        if point == "excerpt" and second:
            response = web.StreamResponse(status=500, headers={"Content-Type": "text/plain"})
            await response.prepare(request)
            await response.write(b"partial")
            await hold.wait()  # the rest of the error body never comes
            return response
        after = int(request.headers.get("Last-Event-ID", "0"))
        response = await open_stream(request)
        with contextlib.suppress(ConnectionError):
            await response.write(events(after + 1, after + 2))
            if calls["/stream"] > 1 or (point == "one-shot" and not second):
                if point == "body":
                    hold.reached.set()
                await asyncio.sleep(LIMIT)  # holds the body open (bounded)
        return response  # the first ends its body: the stream reconnects

    server.handle("/hop", hop)
    server.handle("/stream", stream)
    return server.url("/hop" if point in ("redirect", "hop") else "/stream")


@pytest.fixture
def long_excerpt(monkeypatch: pytest.MonkeyPatch) -> None:
    """An error body's excerpt waits LIMIT, not 0.25 s: long enough to be cut there."""
    monkeypatch.setattr(_sync_driver_connect, "EXCERPT_WAIT", LIMIT)


@pytest.mark.usefixtures("long_excerpt")
@pytest.mark.parametrize("point", ["headers", "redirect", "hop", "body", "excerpt", "wait"])
def test_close_from_another_thread_at_each_blocking_point_ends_the_reader_at_once(
    server: LoopbackServer, point: str, caplog: pytest.LogCaptureFixture
) -> None:
    hold = Hold()
    options: dict[str, Any] = dict(FAST)
    if point == "wait":  # the reconnection wait after the first body ends
        options["retry"] = 2 * LIMIT
    es = EventSource(scripted(server, point, hold), **options)
    got: list[str] = []
    ended: list[object] = []

    def read() -> None:
        try:
            for event in es:
                got.append(event.data)
                if point == "wait" and len(got) == 2:
                    threading.Timer(0.05, hold.reached.set).start()
        except BaseException as exc:  # pragma: no cover - shown by the assertion
            ended.append(exc)
        else:
            ended.append("end")

    reader = threading.Thread(target=read)
    reader.start()
    try:
        assert hold.reached.wait(LIMIT)
        time.sleep(0.05)  # the reader blocks there (the server holds it, or the wait)
        requests = len(server.requests)
        caplog.clear()
        caplog.set_level(logging.DEBUG, logger="eventsource")
        started = time.monotonic()
        es.close()
        reader.join(PROMPT)
        took = time.monotonic() - started
    finally:
        hold.go.set()
        es.close()
        reader.join(LIMIT)
    assert ended == ["end"]
    assert took < PROMPT
    assert got == [f"event {i}" for i in range(1, 5 if point == "body" else 3)]
    assert es.readyState is ReadyState.CLOSED
    assert len(server.requests) == requests
    # Nothing was lost that a closed stream would reconnect for.
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert not [text for text in said if "reconnect" in text or "failed" in text], said
    assert client_sockets_to(server.port) == 0


class Interrupt(BaseException):
    """What a Ctrl-C or a ``signal.alarm`` timeout raises: not an ``Exception``."""


@contextlib.contextmanager
def interrupted(caller: str, blocked_in: str, start: threading.Event) -> Iterator[None]:
    """Raise ``Interrupt`` in this (the main) thread once it blocks in ``blocked_in``
    called (at any depth) from ``caller``, trying from when ``start`` is set.

    Signals go to the main thread every few milliseconds from then; the handler
    raises only when the thread is exactly there, so the cut lands where it is
    meant to (``start`` is set once nothing else could block there).
    """
    done = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        if frame is None or frame.f_code.co_name != blocked_in:
            return
        outer: FrameType | None = frame
        while outer is not None:
            if outer.f_code.co_name == caller:
                done.set()
                raise Interrupt(caller)
            outer = outer.f_back

    def pester(main: int) -> None:
        start.wait(LIMIT)
        deadline = time.monotonic() + LIMIT
        while not done.is_set() and time.monotonic() < deadline:
            signal.pthread_kill(main, signal.SIGUSR1)
            time.sleep(0.005)

    previous = signal.signal(signal.SIGUSR1, handler)
    thread = threading.Thread(target=pester, args=(threading.get_ident(),), daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(LIMIT)
        signal.signal(signal.SIGUSR1, previous)


#: Where each point blocks: the function on the stack, and the one that blocks.
BLOCKED = {
    "headers": ("open", "read"),  # httpcore's socket read, waiting for the headers
    "hop": ("open", "read"),
    "body": ("_step", "read"),
    "excerpt": ("_excerpt", "read"),
    "validate_response": ("validate_response", "wait"),
}


def source(server: LoopbackServer, point: str, hold: Hold, **options: Any) -> EventSource:
    opened = 0

    def validate_response(info: object) -> None:
        nonlocal opened
        opened += 1
        if point == "validate_response" and opened == 2:
            hold.reached.set()
            hold.go.wait(LIMIT)

    url = scripted(server, point, hold)
    return EventSource(url, validate_response=validate_response, **options)


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs signal.pthread_kill")
@pytest.mark.parametrize("point", ["headers", "hop", "body", "validate_response"])
def test_an_exception_at_a_blocking_point_releases_and_the_next_call_resumes(
    server: LoopbackServer, point: str
) -> None:
    hold = Hold()
    errors: list[ErrorEvent] = []
    es = source(server, point, hold, **FAST)
    es.onerror = errors.append
    try:
        got = [next(es).data, next(es).data]
        start = threading.Event() if point == "body" else hold.reached
        with interrupted(*BLOCKED[point], start):
            if point == "body":  # the second body's two events, then it waits
                got += [next(es).data, next(es).data]
                start.set()
            with pytest.raises(Interrupt):
                next(es)
        # Nothing left open: the response is released, the stream reconnects.
        assert es.readyState is ReadyState.CONNECTING
        assert client_sockets_to(server.port) == 0
        requests = len(server.requests)
        hold.go.set()
        started = time.monotonic()
        got.append(next(es).data)
        assert time.monotonic() - started < PROMPT
    finally:
        hold.go.set()
        es.close()
    resumed_after = got[-2].split()[-1]
    assert got[-1] == f"event {int(resumed_after) + 1}"  # none lost, none twice
    assert len(server.requests) == requests + (2 if point == "hop" else 1)  # a new attempt
    assert server.requests[-1].headers.get("Last-Event-ID") == resumed_after
    assert [e.reconnecting for e in errors] == [True]  # the first body's end only
    assert client_sockets_to(server.port) == 0


@pytest.mark.usefixtures("long_excerpt")
@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs signal.pthread_kill")
def test_an_exception_while_an_error_body_is_read_keeps_the_failure(
    server: LoopbackServer,
) -> None:
    hold = Hold()
    es = source(server, "excerpt", hold, **FAST)
    try:
        assert [next(es).data, next(es).data] == ["event 1", "event 2"]
        with interrupted(*BLOCKED["excerpt"], hold.reached), pytest.raises(Interrupt):
            next(es)
        assert client_sockets_to(server.port) == 0
        with pytest.raises(StatusError) as failed:  # the 500's own failure, no new request
            next(es)
    finally:
        hold.go.set()
        es.close()
    assert failed.value.status == 500
    assert es.readyState is ReadyState.CLOSED
    assert len(server.requests) == 2


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs signal.pthread_kill")
def test_an_exception_while_a_one_shot_post_reads_never_sends_it_twice(
    server: LoopbackServer,
) -> None:
    hold = Hold()
    es = source(server, "one-shot", hold, method="POST", body="q", reconnect=False, **FAST)
    try:
        assert [next(es).data, next(es).data] == ["event 1", "event 2"]
        start = threading.Event()
        with interrupted(*BLOCKED["body"], start):
            start.set()  # both events are out: the next read waits
            with pytest.raises(Interrupt):
                next(es)
        with pytest.raises(TransportError):
            next(es)
    finally:
        es.close()
    assert len(server.requests) == 1
    assert client_sockets_to(server.port) == 0


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs signal.pthread_kill")
def test_an_exception_while_the_first_request_waits_for_its_answer_asks_again_later(
    server: LoopbackServer,
) -> None:
    # Cut before its answer, with no reconnection wait before it: a failed
    # attempt, as in the async client (backoff, no error event), then asked again.
    hold = Hold()

    async def slow_first(request: web.Request) -> web.StreamResponse:
        if len(server.requests) == 1:
            await hold.wait()
        response = await open_stream(request)
        await response.write(events(1, 1))
        return response

    server.handle("/slow", slow_first)
    errors: list[ErrorEvent] = []
    es = EventSource(server.url("/slow"), **FAST)
    es.onerror = errors.append
    try:
        with interrupted(*BLOCKED["headers"], hold.reached), pytest.raises(Interrupt):
            next(es)
        assert es.readyState is ReadyState.CONNECTING
        assert client_sockets_to(server.port) == 0
        hold.go.set()
        assert next(es).data == "event 1"
    finally:
        hold.go.set()
        es.close()
    assert len(server.requests) == 2
    assert errors == []
