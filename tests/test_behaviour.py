"""The behaviour of EventSource, the same on every transport and backend.

Each test runs three times (``combo``): aiohttp on asyncio, httpx on asyncio
and httpx on trio, against real servers on 127.0.0.1 that live in their own
threads. A test that passes on one combo and fails on another is a bug in a
transport adapter: the behaviour belongs to the processing model.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
import anyio
import anyio.lowlevel
import httpx
import pytest
from aiohttp import web

import eventsource
from eventsource import (
    ContentTypeError,
    ErrorEvent,
    Event,
    EventSource,
    MessageEvent,
    ProtocolError,
    ReadTimeout,
    ReadyState,
    RetryPolicy,
    StatusError,
    TransportError,
)

from ._fixtures import FAST, LIMIT, Combo, collect, eventually
from ._fixtures import anyio_backend as anyio_backend
from ._fixtures import combo as combo
from ._fixtures import other_server as other_server
from ._fixtures import server as server
from ._servers import (
    HOST,
    LoopbackServer,
    client_sockets_to,
    drop,
    open_fd_count,
    open_stream,
    refused_port,
    running_server,
    sse,
)

pytestmark = pytest.mark.anyio

#: docs/design.md: a big network read is decoded this many bytes at a time.
FEED_SLICE = 32 * 1024


def pinging(first: bytes, pings: int = 500) -> Any:
    """A handler: ``first``, then a comment every 20 ms until the client goes (bounded)."""

    async def handler(request: web.Request) -> web.StreamResponse:
        response = await open_stream(request)
        await response.write(first)
        try:
            for _ in range(pings):
                await asyncio.sleep(0.02)
                await response.write(b": ping\n")
        except ConnectionError:
            pass
        return response

    return handler


# -- events and listeners -----------------------------------------------------------


async def test_events_arrive_in_order_with_type_data_id_and_origin(
    combo: Combo, server: LoopbackServer
) -> None:
    body = (
        b": a comment\r\n"
        b"data: plain\r\n\r\n"
        b"event: chat\nid: 7\ndata: line 1\ndata: line 2\n\n"
        b'data: {"n": 1}\n\n'
        b"event: done\rdata:\r\r"
    )

    async def handler(request: web.Request) -> web.StreamResponse:
        return await sse(request, body)

    server.handle("/", handler)
    async with combo.source(server.url("/")) as es:
        events = await collect(es, 4)
    assert [(e.type, e.data, e.last_event_id) for e in events] == [
        ("message", "plain", ""),
        ("chat", "line 1\nline 2", "7"),
        ("message", '{"n": 1}', "7"),
        ("done", "", "7"),
    ]
    assert events[2].json() == {"n": 1}
    assert {e.origin for e in events} == {server.origin}


async def test_big_and_small_events_mixed_in_big_reads_arrive_whole_and_in_order(
    combo: Combo, server: LoopbackServer
) -> None:
    # Big reads are decoded a slice at a time, bigger slices inside a big event:
    # whatever the slicing, every event whole, in wire order, with its id.
    def big(n: int, lines: int) -> list[str]:
        return [f"{n}-{j}-" + "x" * 500 for j in range(lines)]

    expected: list[tuple[str, str]] = []
    parts: list[str] = []
    for n in range(6):
        rows = big(n, 3000 if n % 2 else 40)  # ~1.5 MB or ~20 KB of data
        parts.append(f"id: big{n}\n" + "".join(f"data: {row}\n" for row in rows) + "\n")
        expected.append((f"big{n}", "\n".join(rows)))
        for k in range(300):
            parts.append(f"id: {n}.{k}\ndata: small {k}\n\n")
            expected.append((f"{n}.{k}", f"small {k}"))
    body = "".join(parts).encode()

    async def handler(request: web.Request) -> web.StreamResponse:
        return await sse(request, body)

    server.handle("/", handler)
    async with combo.source(server.url("/")) as es:
        events = await collect(es, len(expected))
    assert [(e.last_event_id, e.data) for e in events] == expected


async def batch_sizes(combo: Combo, url: str, total: int) -> list[int]:
    """The sizes of the batches of ``url`` (events up to 4 MiB) until ``total`` events came."""
    sizes: list[int] = []
    async with combo.source(url, max_event_size=4 * 1024 * 1024) as es:
        with anyio.fail_after(LIMIT):
            async for batch in es.batches():
                sizes.append(len(batch))
                if sum(sizes) == total:
                    break
    return sizes


async def test_after_a_big_event_small_events_are_decoded_a_slice_at_a_time_again(
    combo: Combo, server: LoopbackServer
) -> None:
    # Inside a big event the slices are 64 KiB; after it, a batch (the events
    # one slice completed) is back to a slice's worth (FEED_SLICE, 32 KiB), not
    # a whole read's.
    small = [b"data: %d\n\n" % i for i in range(60_000)]
    body = b"data: " + b"x" * (2 * 1024 * 1024) + b"\n\n" + b"".join(small)

    async def handler(request: web.Request) -> web.StreamResponse:
        return await sse(request, body)

    server.handle("/", handler)
    sizes = await batch_sizes(combo, server.url("/"), 1 + len(small))
    # The first batch ends the big event: the rest of its slice may follow it,
    # and the next is 64 KiB's worth if the first ended just inside a small event.
    assert max(sizes[1:]) <= 64 * 1024 // len(small[0])
    assert max(sizes[2:]) <= FEED_SLICE // len(small[0])


async def test_small_events_after_a_big_event_that_ended_a_read_come_a_slice_at_a_time(
    combo: Combo, server: LoopbackServer
) -> None:
    # The big event ends exactly where a read ends; the small events come in
    # the next read. The slice size must not carry over from inside the big
    # event (that gave a batch of 64 KiB's worth of small events): FEED_SLICE.
    small = b"".join(b"data: %d\n\n" % i for i in range(20_000))

    async def handler(request: web.Request) -> web.StreamResponse:
        response = await open_stream(request)
        await response.write(b"data: " + b"x" * (1024 * 1024) + b"\n\n")
        await asyncio.sleep(0.2)  # two reads: the big event's, then the small ones'
        await response.write(small)
        await server.wait_gate("never")
        return response

    server.handle("/", handler)
    sizes = await batch_sizes(combo, server.url("/"), 20_001)
    assert sizes[0] == 1
    assert max(sizes[1:]) <= FEED_SLICE // len(b"data: 0\n\n")


async def test_onmessage_gets_message_events_and_listeners_get_their_type_via_run(
    combo: Combo, server: LoopbackServer
) -> None:
    calls: list[tuple[str, str]] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        body = b"event: chat\ndata: c1\n\ndata: m1\n\nevent: other\ndata: o\n\ndata: end\n\n"
        return await sse(request, body)

    server.handle("/", handler)
    es = combo.source(server.url("/"))

    async def on_message(event: MessageEvent) -> None:
        await anyio.lowlevel.checkpoint()
        calls.append(("onmessage", event.data))
        if event.data == "end":
            es.close()

    def removed(event: MessageEvent) -> None:
        calls.append(("removed", event.data))

    def on_chat(event: MessageEvent) -> None:
        calls.append(("chat", event.data))

    es.onopen = lambda event: calls.append(("onopen", event.type))
    es.onmessage = on_message
    es.addEventListener("chat", on_chat)
    es.addEventListener("chat", on_chat)  # the same listener twice: added once
    es.addEventListener("other", removed)
    es.removeEventListener("other", removed)
    es.add_event_listener("other", removed)  # the snake_case names do the same
    es.remove_event_listener("other", removed)
    es.removeEventListener("never", removed)  # removing what was never added: no error
    with anyio.fail_after(LIMIT):
        await es.run()
    assert calls == [
        ("onopen", "open"),
        ("chat", "c1"),
        ("onmessage", "m1"),
        ("onmessage", "end"),
    ]
    assert es.readyState == ReadyState.CLOSED


async def test_ready_state_goes_connecting_open_connecting_open_closed(
    combo: Combo, server: LoopbackServer
) -> None:
    states: list[tuple[str, ReadyState]] = []
    served = 0

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal served
        served += 1
        return await sse(request, b"data: x\n\n")

    server.handle("/", handler)
    es = combo.source(server.url("/"), **FAST)
    states.append(("new", es.readyState))
    es.onopen = lambda e: states.append(("open", es.readyState))
    es.onerror = lambda e: states.append(("error", es.readyState))

    def on_message(event: MessageEvent) -> None:
        states.append(("message", es.readyState))
        if served == 2:
            es.close()
            states.append(("closed", es.readyState))

    es.onmessage = on_message
    with anyio.fail_after(LIMIT):
        await es.run()
    assert states == [
        ("new", ReadyState.CONNECTING),
        ("open", ReadyState.OPEN),
        ("message", ReadyState.OPEN),
        ("error", ReadyState.CONNECTING),
        ("open", ReadyState.OPEN),
        ("message", ReadyState.OPEN),
        ("closed", ReadyState.CLOSED),
    ]
    assert (es.CONNECTING, es.OPEN, es.CLOSED) == (0, 1, 2)
    assert (EventSource.CONNECTING, EventSource.OPEN, EventSource.CLOSED) == (0, 1, 2)


async def test_a_gzip_encoded_stream_is_decoded(combo: Combo, server: LoopbackServer) -> None:
    async with combo.source(server.url("/gzip")) as es:
        [event] = await collect(es, 1)
    assert event.data == "zipped"


async def test_a_listener_exception_is_logged_and_the_stream_goes_on(
    combo: Combo, server: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await sse(request, b"data: 1\n\ndata: 2\n\n")

    server.handle("/", handler)
    es = combo.source(server.url("/"))
    got: list[str] = []

    def on_message(event: MessageEvent) -> None:
        got.append(event.data)
        if event.data == "1":
            raise RuntimeError("boom")
        es.close()

    es.onmessage = on_message
    with caplog.at_level(logging.ERROR, logger="eventsource"), anyio.fail_after(LIMIT):
        await es.run()
    assert got == ["1", "2"]
    [logged] = [record.exc_text or "" for record in caplog.records if record.exc_info]
    assert "boom" in logged
    # The traceback starts in the listener: no frame of the library's own.
    assert "in on_message" in logged
    assert os.path.dirname(eventsource.__file__) not in logged


async def test_raise_listener_errors_propagates_out_of_run(
    combo: Combo, server: LoopbackServer
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await sse(request, b"data: 1\n\n")

    server.handle("/", handler)
    es = combo.source(server.url("/"), raise_listener_errors=True)
    es.onmessage = lambda event: 1 / 0
    with anyio.fail_after(LIMIT), pytest.raises(ZeroDivisionError):
        await es.run()
    assert es.readyState == ReadyState.CLOSED


async def test_open_and_error_listeners_receive_event_objects(
    combo: Combo, server: LoopbackServer
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await sse(request, b"data: 1\n\n")

    server.handle("/", handler)
    seen: list[Event] = []
    es = combo.source(server.url("/"), **FAST)
    es.addEventListener("open", seen.append)
    es.addEventListener("error", seen.append)
    async with es:
        await collect(es, 2)
    assert [(type(e).__name__, e.type) for e in seen] == [
        ("Event", "open"),
        ("ErrorEvent", "error"),
        ("Event", "open"),
    ]


# -- requests -----------------------------------------------------------------------


async def test_request_headers_on_first_connect_and_on_reconnect(
    combo: Combo, server: LoopbackServer
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await sse(request, b"id: abc\ndata: x\n\n")

    server.handle("/", handler)
    async with combo.source(server.url("/"), headers={"X-Token": "t"}, **FAST) as es:
        await collect(es, 2)
    first, second = server.requests[0].headers, server.requests[1].headers
    assert (first["Accept"], first["Cache-Control"], first["X-Token"]) == (
        "text/event-stream",
        "no-cache",
        "t",
    )
    assert "Last-Event-ID" not in first
    assert (second["Accept"], second["Cache-Control"], second["Last-Event-ID"]) == (
        "text/event-stream",
        "no-cache",
        "abc",
    )
    assert second["X-Token"] == "t"


async def test_a_starting_last_event_id_is_sent_on_the_first_request(
    combo: Combo, server: LoopbackServer
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await sse(request, b"data: x\n\n")

    server.handle("/", handler)
    async with combo.source(server.url("/"), last_event_id="41") as es:
        [event] = await collect(es, 1)
        assert es.lastEventId == es.last_event_id == "41"
    assert server.requests[0].headers["Last-Event-ID"] == "41"
    assert event.last_event_id == "41"


async def test_an_id_only_block_sets_the_last_event_id_sent_on_reconnect(
    combo: Combo, server: LoopbackServer
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await sse(request, b"data: a\n\nid: 9\n\n")

    server.handle("/", handler)
    async with combo.source(server.url("/"), **FAST) as es:
        events = await collect(es, 2)
    assert [e.last_event_id for e in events] == ["", "9"]
    assert server.requests[1].headers["Last-Event-ID"] == "9"


async def test_any_method_query_params_and_body_are_sent(
    combo: Combo, server: LoopbackServer
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await sse(request, b"data: x\n\n")

    server.handle("/p", handler)
    url = server.url("/p?a=1")
    async with combo.source(url, method="REPORT", params={"b": "2 3"}, body="hi") as es:
        await collect(es, 1)
        assert es.url == url + "&b=2+3"
    [seen] = server.requests
    assert (seen.method, dict(parse_qsl(seen.query_string)), seen.body) == (
        "REPORT",
        {"a": "1", "b": "2 3"},
        b"hi",
    )


async def test_last_event_id_follows_each_event_handed_out_of_one_read(
    combo: Combo, server: LoopbackServer
) -> None:
    # One write: the events of one read are handed out in a batch, and the
    # EventSource's lastEventId still moves with each one, then takes the id of
    # the id-only block after the last event.
    body = b"id: 1\ndata: a\n\nid: 2\ndata: b\n\ndata: c\n\nid: 4\ndata: d\n\nid: 5\n\n"

    async def handler(request: web.Request) -> web.StreamResponse:
        return await sse(request, body)

    server.handle("/", handler)
    seen: list[tuple[str, str]] = []
    async with combo.source(server.url("/"), reconnect=False) as es:
        with anyio.fail_after(LIMIT):
            async for event in es:
                seen.append((event.data, es.lastEventId))
    assert seen == [("a", "1"), ("b", "2"), ("c", "2"), ("d", "5")]
    assert es.last_event_id == "5"


async def test_a_predicate_set_in_the_middle_of_a_read_sees_the_rest_of_it(
    combo: Combo, server: LoopbackServer
) -> None:
    body = b"".join(b"id: %d\ndata: %d\n\n" % (i, i) for i in range(1, 9))

    async def handler(request: web.Request) -> web.StreamResponse:
        return await sse(request, body)

    server.handle("/", handler)
    seen: list[str] = []
    async with combo.source(server.url("/"), reconnect=False) as es:
        with anyio.fail_after(LIMIT):
            async for event in es:
                seen.append(event.data)
                if event.data == "2":
                    es.stop_when = lambda e: e.data == "5"
                    assert es.lastEventId == "2"
    assert seen == ["1", "2", "3", "4"]
    assert es.lastEventId == "4"


async def test_an_async_for_after_a_break_goes_on_where_the_last_one_stopped(
    combo: Combo, server: LoopbackServer
) -> None:
    # One iterator per EventSource while it is unfinished: the events after the
    # break are neither lost nor repeated, and closing finishes the iterator,
    # so nothing is left for trio (or asyncio) to finalize or warn about.
    body = b"".join(b"data: %d\n\n" % i for i in range(6))

    async def handler(request: web.Request) -> web.StreamResponse:
        return await sse(request, body)

    server.handle("/", handler)
    async with combo.source(server.url("/"), reconnect=False) as es:
        first = [e.data for e in await collect(es, 2)]
        with anyio.fail_after(LIMIT):
            rest = [e.data async for e in es]
    gc.collect()  # an unfinished async generator would warn here (warnings are errors)
    assert (first, rest) == (["0", "1"], ["2", "3", "4", "5"])


@pytest.mark.parametrize("how", ["close() inside the loop", "aclose() after a break"])
async def test_closing_finishes_the_async_for_iterator(
    combo: Combo, server: LoopbackServer, how: str
) -> None:
    body = b"".join(b"data: %d\n\n" % i for i in range(6))

    async def handler(request: web.Request) -> web.StreamResponse:
        return await sse(request, body)

    server.handle("/", handler)
    seen: list[str] = []
    es = combo.source(server.url("/"))
    iterator = aiter(es)
    with anyio.fail_after(LIMIT):
        async for event in iterator:
            seen.append(event.data)
            if event.data == "1":
                if how.startswith("close()"):
                    es.close()  # the loop then ends by itself
                else:
                    break
    await es.aclose()
    assert seen == ["0", "1"]
    with pytest.raises(StopAsyncIteration):  # finished: nothing more, and nothing reconnects
        await anext(iterator)
    assert len(server.requests) == 1
    gc.collect()  # nothing unfinished is left to warn about (warnings are errors)


async def test_a_second_task_cannot_iterate_while_the_first_waits(
    combo: Combo, server: LoopbackServer
) -> None:
    server.handle("/", pinging(b"data: first\n\n"))
    got: list[str] = []
    async with combo.source(server.url("/")) as es:

        async def reader() -> None:
            async for event in es:
                got.append(event.data)

        with anyio.fail_after(LIMIT):
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(reader)
                await eventually(lambda: got == ["first"])  # now it waits for more
                with pytest.raises(RuntimeError, match="already"):
                    async for _ in es:
                        pass
                tasks.cancel_scope.cancel()
    assert got == ["first"]


async def test_a_post_json_body_is_sent_again_on_reconnect(
    combo: Combo, server: LoopbackServer
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await sse(request, b"data: x\n\n")

    server.handle("/", handler)
    async with combo.source(server.url("/"), method="POST", json={"q": 1}, **FAST) as es:
        await collect(es, 3)
    sent = [(r.method, r.headers["Content-Type"], r.body) for r in server.requests]
    assert sent == [("POST", "application/json", b'{"q":1}')] * 3


# -- reconnection ---------------------------------------------------------------------


async def test_the_servers_retry_sets_the_next_delay(combo: Combo, server: LoopbackServer) -> None:
    errors: list[ErrorEvent] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        return await sse(request, b"retry: 20\ndata: x\n\n")

    server.handle("/", handler)
    async with combo.source(
        server.url("/"),
        retry=5.0,
        retry_policy=RetryPolicy(jitter=0.0, min_retry=0.0),
    ) as es:
        assert es.reconnection_time == 5.0
        es.onerror = errors.append
        await collect(es, 2)
        assert es.reconnection_time == pytest.approx(0.02)
    assert [(e.delay, e.attempt, e.reconnecting) for e in errors] == [
        (pytest.approx(0.02), 1, True)
    ]
    assert errors[0].error is None  # the server ended the stream


async def test_backoff_grows_on_consecutive_failures_up_to_the_cap(
    combo: Combo, server: LoopbackServer
) -> None:
    served = 0

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal served
        served += 1
        return await sse(request, b"data: ok\n\n" if served == 5 else b": nothing\n\n")

    server.handle("/", handler)
    es = combo.source(
        server.url("/"),
        retry=0.001,
        retry_policy=RetryPolicy(backoff_factor=3.0, max_backoff=0.02, jitter=0.0),
    )
    errors: list[ErrorEvent] = []
    es.onerror = errors.append
    async with es:
        await collect(es, 1)
    assert [e.delay for e in errors] == pytest.approx([0.001, 0.003, 0.009, 0.02])
    assert [e.attempt for e in errors] == [1, 2, 3, 4]


async def test_backoff_resets_after_a_connection_that_delivered_an_event(
    combo: Combo, server: LoopbackServer
) -> None:
    served = 0

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal served
        served += 1
        return await sse(request, b"data: ok\n\n" if served in (3, 5) else b"")

    server.handle("/", handler)
    errors: list[ErrorEvent] = []
    es = combo.source(
        server.url("/"),
        retry=0.001,
        retry_policy=RetryPolicy(backoff_factor=2.0, jitter=0.0),
    )
    es.onerror = errors.append
    async with es:
        await collect(es, 2)
    assert [e.attempt for e in errors] == [1, 2, 1, 2]
    assert [e.delay for e in errors] == pytest.approx([0.001, 0.002, 0.001, 0.002])


async def test_after_retry_0_failures_in_a_row_back_off_from_a_floor(
    combo: Combo, server: LoopbackServer
) -> None:
    # Issue 13: the backoff multiplied a zero base, so a dead server was asked
    # about a thousand times a second.
    served = 0

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal served
        served += 1
        if served == 1:
            return await sse(request, b"retry: 0\nid: 1\ndata: x\n\n")
        return await sse(request, b"id: 2\ndata: y\n\n" if served == 4 else b"")

    server.handle("/", handler)
    errors: list[ErrorEvent] = []
    es = combo.source(
        server.url("/"),
        retry_policy=RetryPolicy(jitter=0.0, min_retry=0.0),
    )
    es.onerror = errors.append
    async with es:
        assert [e.data for e in await collect(es, 2)] == ["x", "y"]
    # The floor after a stream that closed at once (a longer one: at once, as
    # in the browser); then growing from it.
    assert [(e.attempt, e.delay) for e in errors] == [(1, 0.1), (2, 0.1), (3, 0.2)]


#: What a server that makes a reconnect storm sends on each connection before closing it.
STORMS = {
    "an-event": b"retry: 0\nid: 1\ndata: x\n\n",
    "part-of-an-event": b"retry: 0\n\ndata: " + b"x" * 1000,
}


async def reconnects_within(es: EventSource, server: LoopbackServer, window: float) -> int:
    """How many connections ``es`` made to ``server`` in ``window`` seconds of iterating."""
    with anyio.move_on_after(window):
        async for _ in es:
            pass
    await es.aclose()
    return len(server.requests)


@pytest.mark.parametrize("body", STORMS.values(), ids=STORMS.keys())
async def test_a_server_sending_retry_0_and_closing_at_once_gets_no_reconnect_storm(
    combo: Combo, server: LoopbackServer, body: bytes
) -> None:
    # Issue 13: each such connection made progress, so the delay stayed 0: about
    # 8,000 connections in 2 s on aiohttp, 2,000 on httpx. By default a server's
    # `retry:` is at least 0.5 s, less up to half of it as jitter.
    server.handle("/", lambda request: sse(request, body))
    count = await reconnects_within(combo.source(server.url("/")), server, 1.0)
    assert 2 <= count <= 6  # the first, then one every 0.25 to 0.5 s


@pytest.mark.parametrize("body", STORMS.values(), ids=STORMS.keys())
async def test_with_min_retry_0_such_a_server_is_still_asked_at_most_ten_times_a_second(
    combo: Combo, server: LoopbackServer, body: bytes
) -> None:
    server.handle("/", lambda request: sse(request, body))
    es = combo.source(
        server.url("/"),
        retry_policy=RetryPolicy(min_retry=0.0, jitter=0.0),
    )
    count = await reconnects_within(es, server, 1.0)
    assert 2 <= count <= 15  # the first, then one every 0.1 s


async def test_a_retry_too_big_for_a_float_is_clamped_not_raised(
    combo: Combo, server: LoopbackServer
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await sse(request, b"retry: " + b"9" * 400 + b"\ndata: x\n\n")

    server.handle("/", handler)
    async with combo.source(server.url("/")) as es:
        [event] = await collect(es, 1)  # was OverflowError, out of `async for`
        assert event.data == "x"
        assert es.reconnection_time == 60.0  # the default max_retry


async def test_a_backoff_past_the_float_range_ends_with_the_last_real_error(
    combo: Combo,
) -> None:
    # The power was computed before the cap: with the defaults at failure 1,025
    # (~8.5 hours of outage), here at failure 3.
    errors: list[ErrorEvent] = []
    with refused_port() as port:
        es = combo.source(
            f"http://{HOST}:{port}/",
            retry=0.001,
            retry_policy=RetryPolicy(
                backoff_factor=1e300, max_backoff=0.002, jitter=0.0, max_reconnects=4
            ),
        )
        es.onerror = errors.append
        with pytest.raises(TransportError):
            await collect(es, 1)
    assert [e.delay for e in errors[:-1]] == [0.001, 0.002, 0.002, 0.002]


async def test_a_huge_retry_after_waits_the_cap_plus_at_most_half_of_it(
    combo: Combo, server: LoopbackServer
) -> None:
    # Issue 13: the docs said "capped at 300 s", and waits of 320 and 427 s were
    # seen: jitter adds to a Retry-After. The documented bound is 450 s.
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=503, headers={"Retry-After": "100000"})

    server.handle("/", handler)
    errors: list[ErrorEvent] = []
    es = combo.source(server.url("/"))
    es.onerror = errors.append
    async with es, anyio.create_task_group() as tg:
        tg.start_soon(collect, es, 1)
        await eventually(lambda: bool(errors))
        es.close()  # not waiting five minutes
    [error] = errors
    assert error.status == 503
    assert error.delay is not None
    assert 300.0 <= error.delay <= 450.0


async def test_429_and_gateway_statuses_reconnect_by_default_with_backoff(
    combo: Combo, server: LoopbackServer
) -> None:
    # Issue 13: a deploy behind a load balancer ended the stream for good.
    answers = [
        web.Response(status=502, text="bad gateway"),
        web.Response(status=503, text="deploying", headers={"Retry-After": "0"}),
        web.Response(status=504),
        web.Response(status=429, text="slow down"),
    ]

    async def handler(request: web.Request) -> web.StreamResponse:
        if answers:
            return answers.pop(0)
        return await sse(request, b"data: up\n\n")

    server.handle("/", handler)
    errors: list[ErrorEvent] = []
    es = combo.source(
        server.url("/"),
        retry=0.001,
        retry_policy=RetryPolicy(jitter=0.0),
    )
    es.onerror = errors.append
    async with es:
        [event] = await collect(es, 1)
    assert event.data == "up"
    assert [(e.status, e.attempt, e.reconnecting) for e in errors] == [
        (502, 1, True),
        (503, 2, True),
        (504, 3, True),
        (429, 4, True),
    ]
    assert [e.delay for e in errors] == pytest.approx([0.001, 0.002, 0.004, 0.008])
    assert isinstance(errors[1].error, StatusError)
    assert errors[1].error.body == "deploying"


async def test_a_second_failure_in_a_row_is_logged_as_a_warning(
    combo: Combo, server: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    # A stream that cannot connect (a server down, https to a plain port) was
    # retried for ever with INFO lines only: silent where logging is not set
    # up. A drop after a working stream stays routine (INFO).
    answers: list[web.Response | None] = [None, web.Response(status=503), web.Response(status=502)]

    async def handler(request: web.Request) -> web.StreamResponse:
        answer = answers.pop(0) if answers else None
        if answer is not None:
            return answer
        return await sse(request, b"data: up\n\n")  # then the end: a drop

    server.handle("/", handler)
    caplog.set_level(logging.INFO, logger="eventsource")
    async with combo.source(server.url("/"), **FAST) as es:
        assert [event.data for event in await collect(es, 2)] == ["up", "up"]
    reconnects = [r for r in caplog.records if r.getMessage().startswith("reconnecting to")]
    assert [(r.levelname, r.getMessage().split("(")[1][:9]) for r in reconnects[:3]] == [
        ("INFO", "attempt 1"),  # the first stream ended after its event: routine
        ("WARNING", "attempt 2"),  # 503 on the next attempt
        ("WARNING", "attempt 3"),  # 502
    ]
    assert "503 Service Unavailable" in reconnects[1].getMessage()


@pytest.mark.parametrize(
    ("status", "policy"), [(500, None), (503, "strict"), (429, "strict"), (404, None)]
)
async def test_a_500_or_with_strict_any_status_fails_at_once(
    combo: Combo, server: LoopbackServer, status: int, policy: str | None
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, headers={"Retry-After": "0"})

    server.handle("/", handler)
    es = combo.source(server.url("/"), status_policy=policy, **FAST)
    with pytest.raises(StatusError) as caught:
        await collect(es, 1)
    assert caught.value.status == status
    assert len(server.requests) == 1
    assert es.readyState == ReadyState.CLOSED


async def test_connections_cut_inside_a_large_first_event_do_not_grow_the_delay(
    combo: Combo, server: LoopbackServer
) -> None:
    # Issue 13: each connection opens and receives bytes, but the path cuts it
    # before the 15 KB event completes; the server resends it from its start.
    # Those connections are no failures in a row: no growth, no budget spent.
    event = b"id: 1\ndata: " + b"x" * 15_000 + b"\n\n"
    served = 0

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal served
        served += 1
        response = await open_stream(request)
        await response.write(b"retry: 5\n")
        if served == 5:
            await response.write(event)
            await response.write_eof()
            return response
        await response.write(event[: 3000 * served])
        drop(request)
        return response

    server.handle("/", handler)
    errors: list[ErrorEvent] = []
    es = combo.source(
        server.url("/"),
        retry_policy=RetryPolicy(jitter=0.0, min_retry=0.0, max_reconnects=2),
    )
    es.onerror = errors.append
    async with es:
        [got] = await collect(es, 1)
    assert got.data == "x" * 15_000
    assert [(e.attempt, e.delay) for e in errors] == [(1, 0.005)] * 4
    assert all(isinstance(e.error, TransportError) for e in errors)


async def test_a_stalled_body_is_a_read_timeout_and_a_reconnect(
    combo: Combo, server: LoopbackServer
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        response = await open_stream(request)
        await response.write(b"id: 1\ndata: first\n\n")
        await server.wait_gate("never")
        return response

    server.handle("/", handler)
    errors: list[ErrorEvent] = []
    es = combo.source(server.url("/"), read_timeout=0.2, **FAST)
    es.onerror = errors.append
    async with es:
        events = await collect(es, 2)
    assert [e.data for e in events] == ["first", "first"]
    assert isinstance(errors[0].error, ReadTimeout)
    assert errors[0].reconnecting
    assert server.requests[1].headers["Last-Event-ID"] == "1"


async def test_heartbeat_comments_keep_the_read_timeout_from_firing(
    combo: Combo, server: LoopbackServer
) -> None:
    # 6 comments 50 ms apart: 300 ms in all, under a 400 ms read timeout only
    # if each comment restarts it.
    async def handler(request: web.Request) -> web.StreamResponse:
        response = await open_stream(request)
        for _ in range(6):
            await response.write(b": ping\n")
            await asyncio.sleep(0.05)
        await response.write(b"data: after\n\n")
        return response

    server.handle("/", handler)
    errors: list[ErrorEvent] = []
    es = combo.source(server.url("/"), read_timeout=0.4, **FAST)
    es.onerror = errors.append
    async with es:
        [event] = await collect(es, 1)
    assert event.data == "after"
    assert errors == []
    assert len(server.requests) == 1


async def test_stalled_response_headers_are_a_read_timeout_and_a_reconnect(
    combo: Combo, server: LoopbackServer
) -> None:
    served = 0

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal served
        served += 1
        if served == 1 and not await server.wait_gate("never"):
            return web.Response(status=503)  # the server is stopping
        return await sse(request, b"data: late\n\n")

    server.handle("/", handler)
    errors: list[ErrorEvent] = []
    es = combo.source(server.url("/"), read_timeout=0.2, **FAST)
    es.onerror = errors.append
    async with es:
        [event] = await collect(es, 1)
    assert event.data == "late"
    assert isinstance(errors[0].error, ReadTimeout)
    assert errors[0].reconnecting


async def test_network_errors_reconnect_until_max_reconnects_then_raise_the_last_one(
    combo: Combo,
) -> None:
    errors: list[ErrorEvent] = []
    with refused_port() as port:
        es = combo.source(
            f"http://{HOST}:{port}/",
            retry=0.001,
            retry_policy=RetryPolicy(backoff_factor=1.0, max_reconnects=2),
        )
        es.onerror = errors.append
        with pytest.raises(TransportError) as caught:
            await collect(es, 1)
    library_error = aiohttp.ClientError if combo.transport == "aiohttp" else httpx.ConnectError
    assert isinstance(caught.value.__cause__, library_error)
    assert [(e.attempt, e.reconnecting) for e in errors] == [(1, True), (2, True), (3, False)]
    assert es.readyState == ReadyState.CLOSED


async def test_drops_every_7_events_still_deliver_500_exactly_once_in_order(
    combo: Combo, server: LoopbackServer
) -> None:
    total = 500

    async def handler(request: web.Request) -> web.StreamResponse:
        start = int(request.headers.get("Last-Event-ID", "0"))
        response = await open_stream(request)
        await response.write(b"retry: 1\n\n")
        for i in range(start + 1, min(start + 7, total) + 1):
            await response.write(f"id: {i}\ndata: message {i}\n\n".encode())
        drop(request)
        return response

    server.handle("/", handler)
    errors: list[ErrorEvent] = []
    es = combo.source(server.url("/"), **FAST)
    es.onerror = errors.append
    async with es:
        events = await collect(es, total, limit=60)
    assert [e.data for e in events] == [f"message {i}" for i in range(1, total + 1)]
    assert [e.last_event_id for e in events] == [str(i) for i in range(1, total + 1)]
    # One request per 7 events: none fetched twice (events that arrived just
    # before a cut are handed out before its error).
    assert len(server.requests) == -(-total // 7)
    assert all(isinstance(e.error, TransportError) for e in errors)


# -- redirects ------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 307, 308])
async def test_redirects_are_followed_and_credentials_never_cross_origins(
    combo: Combo, server: LoopbackServer, other_server: LoopbackServer, status: int
) -> None:
    async def start(request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, headers={"Location": "/hop"})

    async def hop(request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, headers={"Location": other_server.url("/target")})

    async def target(request: web.Request) -> web.StreamResponse:
        return await sse(request, b"data: here\n\n")

    server.handle("/start", start)
    server.handle("/hop", hop)
    other_server.handle("/target", target)
    headers = {"Authorization": "Bearer s3", "Cookie": "a=b", "X-API-Key": "k", "X-Ok": "1"}
    es = combo.source(server.url("/start"), headers=headers, secret_headers=["x-api-key"], **FAST)
    async with es:
        events = await collect(es, 2)
    assert [(e.data, e.origin) for e in events] == [("here", other_server.origin)] * 2
    # A reconnect starts again from the original URL.
    assert [r.path for r in server.requests] == ["/start", "/hop", "/start", "/hop"]
    assert [r.path for r in other_server.requests] == ["/target", "/target"]
    for same_origin in server.requests:
        assert same_origin.headers["Authorization"] == "Bearer s3"
        assert same_origin.headers["X-API-Key"] == "k"
    for other_origin in other_server.requests:
        for name in ("Authorization", "Cookie", "X-API-Key"):
            assert name not in other_origin.headers
        assert other_origin.headers["X-Ok"] == "1"
        assert other_origin.headers["Accept"] == "text/event-stream"


async def test_well_known_api_key_headers_never_follow_a_redirect_to_another_origin(
    combo: Combo, server: LoopbackServer, other_server: LoopbackServer
) -> None:
    # A key pasted from an API's documentation (Anthropic's x-api-key, Azure's
    # api-key, Google's x-goog-api-key) went to whatever origin a redirect named.
    async def start(request: web.Request) -> web.StreamResponse:
        return web.Response(status=307, headers={"Location": other_server.url("/target")})

    async def target(request: web.Request) -> web.StreamResponse:
        return await sse(request, b"data: here\n\n")

    server.handle("/start", start)
    other_server.handle("/target", target)
    keys = {"x-api-key": "1", "Api-Key": "2", "X-Goog-Api-Key": "3", "X-Auth-Token": "4"}
    es = combo.source(server.url("/start"), headers={**keys, "X-Ok": "1"}, **FAST)
    async with es:
        await collect(es, 1)
    [home], [there] = server.requests, other_server.requests
    assert all(home.headers[name] == value for name, value in keys.items())
    assert [name for name in keys if name in there.headers] == []
    assert there.headers["X-Ok"] == "1"


async def test_a_redirect_to_the_same_url_that_sets_a_cookie_is_followed(
    combo: Combo, server: LoopbackServer
) -> None:
    # A gateway sets a session cookie and sends the client back to the same
    # URL, as browsers follow (fetch bounds redirects by their count only). It
    # was refused as a "redirect loop", for good.
    async def gate(request: web.Request) -> web.StreamResponse:
        if request.cookies.get("session") != "ok":
            headers = {"Location": "/gate", "Set-Cookie": "session=ok; Path=/"}
            return web.Response(status=302, headers=headers)
        return await sse(request, b"data: in\n\n")

    server.handle("/gate", gate)
    options: dict[str, Any] = {}
    if combo.transport == "aiohttp":  # its default jar takes no cookie from an IP address
        options["session"] = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    try:
        async with combo.source(server.url("/gate"), reconnect=False, **options) as es:
            [event] = await collect(es, 1)
    finally:
        if options:
            await options["session"].close()
    assert event.data == "in"
    assert [r.headers.get("Cookie") for r in server.requests] == [None, "session=ok"]


@pytest.mark.parametrize("location", ["http://", "https://"])
async def test_a_location_without_a_host_is_an_invalid_target(
    combo: Combo, server: LoopbackServer, location: str
) -> None:
    # urljoin keeps the base's host for "http://": it read as the same URL.
    async def bad(request: web.Request) -> web.StreamResponse:
        return web.Response(status=302, headers={"Location": location})

    server.handle("/bad", bad)
    es = combo.source(server.url("/bad"), **FAST)
    with pytest.raises(eventsource.RedirectError, match=r"redirect to an invalid URL \(no host"):
        await collect(es, 1)
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("status", "method", "body"),
    [(301, "GET", b""), (302, "GET", b""), (307, "POST", b'{"q":1}'), (308, "POST", b'{"q":1}')],
)
async def test_a_post_is_resent_after_307_and_308_and_becomes_a_get_after_301_and_302(
    combo: Combo, server: LoopbackServer, status: int, method: str, body: bytes
) -> None:
    async def start(request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, headers={"Location": "/target"})

    async def target(request: web.Request) -> web.StreamResponse:
        return await sse(request, b"data: here\n\n")

    server.handle("/start", start)
    server.handle("/target", target)
    async with combo.source(server.url("/start"), method="POST", json={"q": 1}) as es:
        await collect(es, 1)
    first, second = server.requests
    assert (first.method, first.body) == ("POST", b'{"q":1}')
    assert (second.method, second.body) == (method, body)


# -- failures -------------------------------------------------------------------------


async def test_a_401_is_a_status_error_with_the_body_and_no_reconnect(
    combo: Combo, server: LoopbackServer
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.json_response(
            {"error": "bad token"}, status=401, headers={"WWW-Authenticate": "Bearer"}
        )

    server.handle("/", handler)
    errors: list[ErrorEvent] = []
    es = combo.source(server.url("/"), **FAST)
    es.onerror = errors.append
    with pytest.raises(StatusError) as caught:
        await collect(es, 1)
    assert len(server.requests) == 1
    assert caught.value.status == 401
    assert json.loads(caught.value.body) == {"error": "bad token"}
    assert caught.value.content_type.startswith("application/json")
    # Compared by lower-cased name: the key's case (and whether lookups ignore
    # it) still differs between the transports.
    received = {name.lower(): value for name, value in caught.value.headers.items()}
    assert received["www-authenticate"] == "Bearer"
    assert "401" in str(caught.value)
    assert es.readyState == ReadyState.CLOSED
    assert [(e.status, e.reconnecting) for e in errors] == [(401, False)]


async def test_a_large_error_body_is_cut_to_a_bounded_excerpt(
    combo: Combo, server: LoopbackServer
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=500, text="x" * 100_000)

    server.handle("/", handler)
    with pytest.raises(StatusError) as caught:
        await collect(combo.source(server.url("/")), 1)
    assert caught.value.status == 500
    assert caught.value.body == "x" * 4096


async def test_a_wrong_content_type_is_a_content_type_error_with_the_body(
    combo: Combo, server: LoopbackServer
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(text="<html>nope</html>", content_type="text/html")

    server.handle("/", handler)
    es = combo.source(server.url("/"), **FAST)
    with pytest.raises(ContentTypeError, match="text/html") as caught:
        await collect(es, 1)
    assert (caught.value.status, caught.value.body) == (200, "<html>nope</html>")
    assert len(server.requests) == 1


async def test_content_type_parameters_and_case_are_allowed(
    combo: Combo, server: LoopbackServer
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await sse(request, b"data: ok\n\n", content_type="Text/Event-Stream; charset=utf-8")

    server.handle("/", handler)
    async with combo.source(server.url("/")) as es:
        [event] = await collect(es, 1)
    assert event.data == "ok"


async def test_an_event_over_max_event_size_is_a_protocol_error_after_the_ones_before(
    combo: Combo, server: LoopbackServer
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await sse(request, b"data: ok\n\ndata: " + b"x" * 5000 + b"\n\n")

    server.handle("/", handler)
    es = combo.source(server.url("/"), max_event_size=1000, **FAST)
    got: list[str] = []
    with anyio.fail_after(LIMIT), pytest.raises(ProtocolError, match="max_event_size"):
        async for event in es:
            got.append(event.data)
    assert got == ["ok"]
    assert len(server.requests) == 1  # a broken limit is fatal: no reconnect
    assert es.readyState == ReadyState.CLOSED


async def test_a_204_ends_iteration_without_error_or_reconnect(
    combo: Combo, server: LoopbackServer
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=204)

    server.handle("/", handler)
    errors: list[Event] = []
    es = combo.source(server.url("/"), **FAST)
    es.onerror = errors.append
    assert await collect(es, 1) == []
    assert len(server.requests) == 1
    assert es.readyState == ReadyState.CLOSED
    assert [(e.status, e.error) for e in errors if isinstance(e, ErrorEvent)] == [(204, None)]


# -- close and cancellation -------------------------------------------------------------


async def test_close_while_connecting_ends_iteration_and_releases_the_socket(
    combo: Combo, server: LoopbackServer
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        if not await server.wait_gate("never"):
            return web.Response(status=503)  # the server is stopping
        return await sse(request, b"data: late\n\n")

    server.handle("/", handler)
    es = combo.source(server.url("/"))
    got: list[MessageEvent] = []

    async def consume() -> None:
        async for event in es:
            got.append(event)

    with anyio.fail_after(LIMIT):
        async with anyio.create_task_group() as tg:
            tg.start_soon(consume)
            await eventually(lambda: len(server.requests) == 1)
            es.close()
            assert es.readyState == ReadyState.CLOSED
    assert got == []
    await eventually(lambda: client_sockets_to(server.port) == 0)
    assert len(server.requests) == 1


async def test_close_from_another_task_during_a_read_ends_iteration(
    combo: Combo, server: LoopbackServer
) -> None:
    server.handle("/", pinging(b"data: one\n\n"))
    es = combo.source(server.url("/"))
    got: list[str] = []

    async def consume() -> None:
        async for event in es:
            got.append(event.data)

    with anyio.fail_after(LIMIT):
        async with anyio.create_task_group() as tg:
            tg.start_soon(consume)
            await eventually(lambda: got == ["one"])
            es.close()
    assert got == ["one"]
    assert len(server.requests) == 1
    await eventually(lambda: client_sockets_to(server.port) == 0)


async def test_close_inside_a_listener_stops_dispatch_and_requests(
    combo: Combo, server: LoopbackServer
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await sse(request, b"data: 1\n\ndata: 2\n\ndata: 3\n\n")

    server.handle("/", handler)
    es = combo.source(server.url("/"), **FAST)
    seen: list[str] = []
    others: list[str] = []

    def on_message(event: MessageEvent) -> None:
        seen.append(event.data)
        if event.data == "2":
            es.close()

    es.onmessage = on_message
    es.addEventListener("message", lambda e: others.append(e.data))
    with anyio.fail_after(LIMIT):
        await es.run()
    assert (seen, others) == (["1", "2"], ["1"])
    assert len(server.requests) == 1
    assert es.readyState == ReadyState.CLOSED


async def test_cancelling_a_pending_read_keeps_or_resumes_the_stream(
    combo: Combo, server: LoopbackServer
) -> None:
    # aiohttp's read survives the cancel: the connection stays open and the next
    # read goes on. httpx's does not (httpcore closes the body): the connection
    # is released and the next read reconnects at once with Last-Event-ID.
    server.handle("/", pinging(b"id: 1\ndata: one\n\n"))
    async with combo.source(server.url("/")) as es:
        with anyio.fail_after(LIMIT):
            assert (await es.__anext__()).data == "one"
        with anyio.move_on_after(0.2) as scope:
            await es.__anext__()  # only pings follow: blocks until cancelled
        assert scope.cancelled_caught
        if combo.transport == "aiohttp":
            assert es.readyState == ReadyState.OPEN
            with anyio.move_on_after(0.2):
                await es.__anext__()  # the pings go on arriving, on the same connection
            assert client_sockets_to(server.port) == 1
            assert len(server.requests) == 1
            return
        assert es.readyState == ReadyState.CONNECTING
        await eventually(lambda: client_sockets_to(server.port) == 0)
        with anyio.fail_after(LIMIT):
            again = await es.__anext__()
    assert again.data == "one"
    assert server.requests[1].headers["Last-Event-ID"] == "1"


async def test_no_socket_or_fd_outlives_aclose(combo: Combo) -> None:
    baseline = open_fd_count()
    with running_server() as server:
        server.handle("/", pinging(b"data: one\n\n"))
        es = combo.source(server.url("/"))
        await collect(es, 1)
        assert client_sockets_to(server.port) == 1
        await es.aclose()
        await eventually(lambda: client_sockets_to(server.port) == 0)
    await eventually(lambda: open_fd_count() <= baseline)


async def _users_client(combo: Combo) -> Any:
    if combo.transport == "aiohttp":
        return aiohttp.ClientSession()
    return httpx.AsyncClient()


async def test_a_users_session_or_client_is_used_and_never_closed(
    combo: Combo, server: LoopbackServer
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await sse(request, b"data: x\n\n")

    server.handle("/", handler)
    theirs = await _users_client(combo)
    key = "session" if combo.transport == "aiohttp" else "client"
    try:
        for _ in range(2):  # still usable after the first EventSource closed
            async with combo.source(server.url("/"), **{key: theirs}) as es:
                [event] = await collect(es, 1)
            assert event.data == "x"
            assert not (theirs.closed if key == "session" else theirs.is_closed)
            es.close()
            await es.aclose()
            assert not (theirs.closed if key == "session" else theirs.is_closed)
    finally:
        await (theirs.close() if key == "session" else theirs.aclose())
    assert len(server.requests) == 2


# -- construction (no server) ---------------------------------------------------------


async def test_with_credentials_is_false_as_the_browsers_default(combo: Combo) -> None:
    es = combo.source("http://127.0.0.1:9/")
    assert es.withCredentials is False
    assert es.with_credentials is False
    await es.aclose()


@pytest.mark.parametrize("url", ["ftp://x/", "/relative", "ws://127.0.0.1/"])
async def test_urls_must_be_absolute_http(combo: Combo, url: str) -> None:
    with pytest.raises(ValueError, match="http"):
        combo.source(url)


@pytest.mark.parametrize(("transport", "error"), [("nope", ValueError), (object(), TypeError)])
def test_an_unknown_transport_is_refused(transport: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        EventSource("http://127.0.0.1:9/", transport=transport)
