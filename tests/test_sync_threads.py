"""The blocking client with more than one thread: close() while another thread reads.

The reading thread may be handling an event when another thread closes the
EventSource; what close() does then must not depend on the reader's timing.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import threading
import time

import httpx
from aiohttp import web

from eventsource import MessageEvent, ReadyState
from eventsource.sync import EventSource, HttpxTransport
from eventsource.testing import Event

from ._fixtures import FAST, LIMIT
from ._fixtures import server as server
from ._servers import LoopbackServer, client_sockets_to, open_fd_count, open_stream


class RecordingStore:
    """A blocking last-event-id store that keeps every ID saved, in order."""

    def __init__(self) -> None:
        self.saved: list[str] = []

    def load(self) -> str | None:
        return None

    def save(self, last_event_id: str) -> None:
        self.saved.append(last_event_id)


def serve_one_read(server: LoopbackServer, body: bytes) -> None:
    """Serve ``body`` at ``/`` in one write, then hold the stream open (bounded)."""

    async def one_read_then_silence(request: web.Request) -> web.StreamResponse:
        response = await open_stream(request)
        await response.write(body)
        await server.wait_gate("never")
        return response

    server.handle("/", one_read_then_silence)


def test_close_from_another_thread_does_not_save_the_id_of_an_event_being_handled(
    server: LoopbackServer,
) -> None:
    async def one_then_silence(request: web.Request) -> web.StreamResponse:
        response = await open_stream(request)
        await response.write(b"id: 1\ndata: one\n\n")
        await server.wait_gate("never")
        return response

    server.handle("/", one_then_silence)
    store = RecordingStore()
    es = EventSource(server.url("/"), last_event_id_store=store, **FAST)
    handling = threading.Event()
    handled = threading.Event()
    seen: list[str] = []

    def consume() -> None:
        for event in es:
            seen.append(event.data)
            handling.set()
            handled.wait(LIMIT)  # the handler of event 1 is still running

    reader = threading.Thread(target=consume)
    reader.start()
    try:
        assert handling.wait(LIMIT)
        es.close()  # from this thread, while the reader handles event 1
        assert store.saved == []  # event 1 is not handled yet: a crash now must resend it
    finally:
        handled.set()
        reader.join(LIMIT)
    assert not reader.is_alive()
    assert seen == ["one"]
    assert store.saved == ["1"]  # saved by the reader once it came back


def test_close_does_not_shut_down_a_connection_back_in_the_users_pool(
    server: LoopbackServer,
) -> None:
    async def busy(request: web.Request) -> web.Response:
        return web.Response(status=503, text="busy", headers={"Retry-After": "30"})

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(0.3)
        return web.Response(text="slow answer")

    server.handle("/", busy)
    server.handle("/slow", slow)
    outcome: list[object] = []
    with httpx.Client() as users:
        es = EventSource(server.url("/"), transport=HttpxTransport(client=users))
        reader = threading.Thread(target=lambda: list(es))
        reader.start()
        deadline = time.monotonic() + LIMIT
        while es.readyState is not ReadyState.CONNECTING or not server.requests:
            assert time.monotonic() < deadline
            time.sleep(0.005)
        time.sleep(0.05)  # the 503's body was read: its connection went back to the pool

        def other_request() -> None:  # the user's own request on the same client
            try:
                outcome.append(users.get(server.url("/slow")).text)
            except httpx.HTTPError as exc:
                outcome.append(exc)

        other = threading.Thread(target=other_request)
        other.start()
        while len(server.requests) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.005)
        assert client_sockets_to(server.port) == 1  # the pooled connection was reused
        es.close()  # ends our reconnection wait; the user's request is none of ours
        reader.join(LIMIT)
        other.join(LIMIT)
    assert not reader.is_alive()
    assert outcome == ["slow answer"]


def test_a_wait_for_ever_is_a_wait_that_close_from_another_thread_ends(
    server: LoopbackServer,
) -> None:
    async def busy(request: web.Request) -> web.Response:
        return web.Response(status=503, text="busy")

    server.handle("/", busy)
    # A status policy may answer any number of seconds; math.inf waits for ever.
    es = EventSource(server.url("/"), status_policy=lambda info: math.inf)
    errors: list[BaseException] = []

    def consume() -> None:
        try:
            list(es)
        except BaseException as exc:  # the test looks at it
            errors.append(exc)

    reader = threading.Thread(target=consume)
    reader.start()
    deadline = time.monotonic() + LIMIT
    while reader.is_alive() and es.readyState is not ReadyState.CONNECTING:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    time.sleep(0.1)  # the reader is in the reconnection wait
    assert errors == []
    assert reader.is_alive()
    es.close()
    reader.join(LIMIT)
    assert not reader.is_alive()
    assert errors == []
    assert len(server.requests) == 1


def test_close_ends_a_wait_for_headers_on_a_connection_reused_from_our_pool(
    server: LoopbackServer,
) -> None:
    count = 0

    async def busy_then_stall(request: web.Request) -> web.Response:
        nonlocal count
        count += 1
        if count == 1:  # read to its end: the connection goes back to the pool
            return web.Response(status=503, text="busy")
        await server.wait_gate("never")
        return web.Response(status=503, text="never sent")  # pragma: no cover

    server.handle("/", busy_then_stall)
    es = EventSource(server.url("/"), **FAST)
    reader = threading.Thread(target=lambda: list(es))
    reader.start()
    deadline = time.monotonic() + LIMIT
    while len(server.requests) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    time.sleep(0.05)  # the reader waits for the second response's headers
    assert client_sockets_to(server.port) == 1  # on the connection of the first one
    start = time.monotonic()
    es.close()
    reader.join(LIMIT)
    assert time.monotonic() - start < 1.0
    assert not reader.is_alive()
    assert client_sockets_to(server.port) == 0


def test_a_transport_object_without_a_client_of_yours_is_closed_with_the_eventsource(
    server: LoopbackServer,
) -> None:
    server.server.route("/", Event(data="a"))  # a scripted response keeps the connection
    # TLS or proxy options go on a transport object: its client is ours to close.
    fds = open_fd_count()
    transport = HttpxTransport()
    with EventSource(server.url("/"), reconnect=False, transport=transport) as es:
        assert [event.data for event in es] == ["a"]
    # The body was read to its end, so its connection went back to the client's pool:
    # the client must be closed for its socket to be (the server's end closes after it).
    deadline = time.monotonic() + 2.0
    while open_fd_count() > fds and time.monotonic() < deadline:
        time.sleep(0.01)
    assert open_fd_count() <= fds


def test_a_predicate_set_from_another_thread_hands_out_no_event_twice(
    server: LoopbackServer,
) -> None:
    # stop_when set from another thread while the reading thread hands out the
    # events of one read: judged in the setting thread, the waiting events were
    # copied, judged and written back while the reader went on taking them, so
    # events it had already handed out came back. The reading thread judges them.
    body = b"".join(b"id: %d\ndata: %d\n\n" % (i, i) for i in range(1, 21))
    serve_one_read(server, body)
    setter: list[int] = []  # the thread that sets the predicate
    judging_in_setter = threading.Event()
    reader_went_on = threading.Event()

    def stop_at_15(event: MessageEvent) -> bool:
        if threading.get_ident() in setter:  # the setter's judge holds a copy now
            judging_in_setter.set()
            reader_went_on.wait(LIMIT)
        return event.data == "15"

    es = EventSource(server.url("/"), **FAST)

    def set_predicate() -> None:
        setter.append(threading.get_ident())
        es.stop_when = stop_at_15

    with es:
        events = iter(es)
        seen = [next(events).data]  # 2 to 20 wait, from the same read
        other = threading.Thread(target=set_predicate)
        other.start()
        judging_in_setter.wait(0.5)  # (set at once if the setter judges)
        seen += [next(events).data for _ in range(3)]
        reader_went_on.set()
        other.join(LIMIT)
        seen += [event.data for event in events]
    assert seen == [str(i) for i in range(1, 15)]
    assert es.readyState is ReadyState.CLOSED


def test_a_predicate_set_from_another_thread_while_a_listener_runs_judges_the_next_event(
    server: LoopbackServer,
) -> None:
    # The reading thread runs a listener in the middle of handing out a read's
    # items; stop_when is set from another thread meanwhile. The event after
    # the listener was handed out unjudged (and nothing stopped the stream).
    body = b": ping\n\n" + b"".join(b"id: %d\ndata: %d\n\n" % (i, i) for i in range(1, 21))
    serve_one_read(server, body)
    in_listener = threading.Event()
    predicate_set = threading.Event()

    def on_comment(text: str) -> None:
        in_listener.set()
        predicate_set.wait(LIMIT)

    es = EventSource(server.url("/"), on_comment=on_comment, **FAST)

    def set_predicate() -> None:
        in_listener.wait(LIMIT)
        es.stop_when = lambda event: event.data == "1"
        predicate_set.set()

    other = threading.Thread(target=set_predicate)
    other.start()
    with es:
        seen = [event.data for event in itertools.islice(es, 20)]
    other.join(LIMIT)
    assert predicate_set.is_set()
    assert seen == []
    assert es.readyState is ReadyState.CLOSED


def test_a_predicate_set_by_the_thread_that_read_before_hands_out_no_event_twice(
    server: LoopbackServer,
) -> None:
    # This thread reads an event, then another thread takes over the reading;
    # stop_when set here meanwhile was judged here (this thread had read last)
    # while the new reader took the waiting events, so events came back.
    body = b"".join(b"id: %d\ndata: %d\n\n" % (i, i) for i in range(1, 21))
    serve_one_read(server, body)
    me = threading.get_ident()
    judging_here = threading.Event()
    took_three = threading.Event()
    predicate_set = threading.Event()

    def stop_at_15(event: MessageEvent) -> bool:
        if threading.get_ident() == me:  # a judge here holds a copy of the waiting events
            judging_here.set()
            took_three.wait(LIMIT)
        return event.data == "15"

    with EventSource(server.url("/"), **FAST) as es:
        events = iter(es)
        seen = [next(events).data]  # 2 to 20 wait, from the same read

        def consume() -> None:
            judging_here.wait(0.5)  # (set at once if this thread judges)
            for event in itertools.islice(events, 19):
                seen.append(event.data)
                if len(seen) == 4:
                    took_three.set()
                    predicate_set.wait(LIMIT)

        reader = threading.Thread(target=consume)
        reader.start()
        es.stop_when = stop_at_15
        predicate_set.set()
        reader.join(LIMIT)
    assert not reader.is_alive()
    assert seen == [str(i) for i in range(1, 15)]
    assert es.readyState is ReadyState.CLOSED
