"""Cancellation at every await: connecting, reading, sleeping; and garbage collection."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import anyio
import pytest
from aiohttp import web

from eventsource import EventSource, ReadyState
from eventsource.testing import SSEServer
from eventsource.transports import AiohttpTransport

from ._servers import Handler, sse

pytestmark = pytest.mark.asyncio

#: docs/iteration.md: after this many events, a checkpoint comes before the next
#: read; never more than CHECKPOINT_AT_MOST buffered events go out without one.
CHECKPOINT_EVERY = 64
CHECKPOINT_AT_MOST = 1024
#: docs/design.md: a network read is decoded this many bytes at a time.
FEED_SLICE = 32 * 1024


def sse_handler(first: bytes, disconnected: asyncio.Event) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(first)
        try:
            for _ in range(100):
                await asyncio.sleep(0.02)
                await response.write(b": ping\n")
        except ConnectionError:
            disconnected.set()
        except asyncio.CancelledError:  # how SSEServer tells a handler its client has gone
            disconnected.set()
            raise
        return response

    return handler


async def test_cancelling_a_waiting_read_keeps_the_connection_until_aclose() -> None:
    # The default transport (aiohttp): a read cancelled while it waits for bytes
    # takes nothing, so the connection stays open for the next read.
    disconnected = asyncio.Event()
    handler = sse_handler(b"id: 1\ndata: one\n\n", disconnected)
    async with SSEServer() as server, EventSource(server.url_for("/")) as es:
        server.handle("/", handler)
        assert (await es.__anext__()).data == "one"
        with anyio.move_on_after(0.1) as scope:
            await es.__anext__()  # only pings follow: blocks until cancelled
        assert scope.cancelled_caught
        assert es.readyState == ReadyState.OPEN
        await asyncio.sleep(0.1)  # the server goes on writing pings
        assert not disconnected.is_set()
        await es.aclose()
        with anyio.fail_after(5):
            await disconnected.wait()
        assert len(server.requests) == 1


async def test_cancelling_while_connecting_releases_and_restarts_from_the_original_url() -> None:
    entered = asyncio.Event()
    calls = 0

    async def slow(request: web.Request) -> web.StreamResponse:
        nonlocal calls
        calls += 1
        if calls == 1:
            entered.set()
            await asyncio.sleep(5)
        return await sse(request, b"data: ok\n\n")

    async def hop(request: web.Request) -> web.StreamResponse:
        raise web.HTTPTemporaryRedirect("/slow")

    async with SSEServer() as server:
        server.handle("/hop", hop)
        server.handle("/slow", slow)
        async with EventSource(server.url_for("/hop")) as es:
            async with anyio.create_task_group() as tg:
                tg.start_soon(es.__anext__)
                with anyio.fail_after(5):
                    await entered.wait()
                tg.cancel_scope.cancel()
            assert es.readyState == ReadyState.CONNECTING
            with anyio.fail_after(5):
                assert (await es.__anext__()).data == "ok"
        assert [r.path for r in server.requests] == ["/hop", "/slow", "/hop", "/slow"]


async def test_cancelling_during_the_reconnect_sleep_then_close_is_clean() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await sse(request, b"data: x\n\n")

    async with SSEServer() as server:
        server.handle("/", handler)
        es = EventSource(server.url_for("/"), retry=30.0)
        assert (await es.__anext__()).data == "x"
        with anyio.move_on_after(0.1) as scope:
            await es.__anext__()  # the stream ended: now sleeping 30 s
        assert scope.cancelled_caught
        assert es.readyState == ReadyState.CONNECTING
        await es.aclose()
        assert es.readyState == ReadyState.CLOSED
        assert len(server.requests) == 1


async def test_cancelling_run_closes_the_event_source() -> None:
    disconnected = asyncio.Event()
    handler = sse_handler(b"data: one\n\n", disconnected)
    async with SSEServer() as server:
        server.handle("/", handler)
        es = EventSource(server.url_for("/"))
        got: list[str] = []
        es.onmessage = lambda e: got.append(e.data)
        with anyio.move_on_after(0.2):
            await es.run()
        assert got == ["one"]
        assert es.readyState == ReadyState.CLOSED
        with anyio.fail_after(5):
            await disconnected.wait()


async def test_an_unclosed_event_source_warns_when_collected() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await sse(request, b"data: x\n\n")

    async with SSEServer() as server:
        server.handle("/", handler)
        transport = AiohttpTransport()  # owns its session: kept to close it ourselves
        es = EventSource(server.url_for("/"), transport=transport)
        await es.__anext__()
        holder = [es]
        del es
        with pytest.warns(ResourceWarning, match="unclosed EventSource"):
            holder.clear()
        await transport.aclose()


async def test_an_event_source_left_after_a_break_still_warns_when_collected() -> None:
    # `async for` holds no iterator of its own: the EventSource is collected as
    # soon as the last reference goes, and warns then.
    async def handler(request: web.Request) -> web.StreamResponse:
        return await sse(request, b"data: x\n\ndata: y\n\n")

    async with SSEServer() as server:
        server.handle("/", handler)
        transport = AiohttpTransport()
        es = EventSource(server.url_for("/"), transport=transport)
        async for _ in es:
            break
        holder = [es]
        del es
        with pytest.warns(ResourceWarning, match="unclosed EventSource"):
            holder.clear()
        await transport.aclose()


async def test_an_iterator_outlives_its_event_source_and_warns_when_it_goes() -> None:
    # `it = aiter(EventSource(url))`: nothing else refers to the EventSource,
    # and the stream goes on through the iterator.
    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for data in (b"x", b"y"):
            await response.write(b"data: %b\n\n" % data)
            await asyncio.sleep(0.05)  # a read per event
        return response

    async with SSEServer() as server:
        server.handle("/", handler)
        transport = AiohttpTransport()
        it = aiter(EventSource(server.url_for("/"), transport=transport))
        gc.collect()  # filterwarnings=error: a warning here fails the test
        seen = [(await anext(it)).data for _ in range(2)]
        assert seen == ["x", "y"]
        assert len(server.requests) == 1  # no reconnect: the stream was never cut
        holder = [it]
        del it
        with pytest.warns(ResourceWarning, match="unclosed EventSource"):
            holder.clear()
        await transport.aclose()


async def test_a_closed_event_source_does_not_warn() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await sse(request, b"data: x\n\n")

    async with SSEServer() as server:
        server.handle("/", handler)
        es = EventSource(server.url_for("/"))
        await es.__anext__()
        await es.aclose()
        del es
        gc.collect()  # filterwarnings=error turns any warning into a failure


async def events_seen_after_a_cancel(body: bytes, **options: Any) -> list[str]:
    """Iterate ``body``'s events, cancel after the third; return the data seen."""

    async def handler(request: web.Request) -> web.StreamResponse:
        return await sse(request, body)

    seen: list[str] = []
    async with SSEServer() as server, EventSource(server.url_for("/"), **options) as es:
        server.handle("/", handler)
        with anyio.fail_after(5), anyio.CancelScope() as scope:
            async for event in es:
                seen.append(event.data)
                if len(seen) == 3:
                    scope.cancel()
    return seen


@pytest.mark.parametrize("judged", [False, True], ids=["in batches", "one by one"])
async def test_a_cancel_is_noticed_within_a_bounded_number_of_buffered_events(
    judged: bool,
) -> None:
    # Plain events go out in batches capped by the checkpoint budget; with a
    # predicate to apply, one by one with a countdown: both checkpoint in time.
    body = b"".join(f"data: {i}\n\n".encode() for i in range(3000))  # tiny: one read
    options = {"stop_when": lambda event: False} if judged else {}
    seen = await events_seen_after_a_cancel(body, **options)
    assert 3 <= len(seen) <= 3 + CHECKPOINT_AT_MOST
    assert len(seen) < 3000


async def test_a_cancel_is_noticed_within_a_bounded_number_of_events_after_a_comment() -> None:
    # A comment near the front of the read: the runs after it look only as far
    # as the events in front go, and no further than the checkpoint budget.
    body = b"data: 0\n\ndata: 1\n\n: c\n" + b"".join(b"data: %d\n\n" % i for i in range(2, 3000))
    seen = await events_seen_after_a_cancel(body)
    assert 3 <= len(seen) <= 3 + CHECKPOINT_AT_MOST
    assert seen == [str(i) for i in range(len(seen))]


async def test_a_burst_of_reads_passes_a_checkpoint_before_the_next_read() -> None:
    # Events of 1 KiB: a read holds at most about 64, and is decoded 32 KiB at a
    # time (FEED_SLICE), so the checkpoint before the next read (once
    # CHECKPOINT_EVERY events went out) is the one that counts.
    body = b"".join(b"data: %04d%s\n\n" % (i, b"x" * 1020) for i in range(400))
    seen = await events_seen_after_a_cancel(body)
    assert 3 <= len(seen) <= 3 + CHECKPOINT_EVERY + FEED_SLICE // 1024
    assert [data[:4] for data in seen] == [f"{i:04d}" for i in range(len(seen))]


@pytest.mark.parametrize("style", ["tiny events, one read", "1 KiB events, many reads"])
async def test_a_cancel_noticed_during_a_burst_loses_no_event(style: str) -> None:
    # The burst checkpoints come before an event is taken: iterating again after
    # the cancellation goes on with the very next event.
    if style.startswith("tiny"):
        body = b"".join(b"data: %d\n\n" % i for i in range(3000))
    else:
        body = b"".join(b"data: %d %s\n\n" % (i, b"x" * 1020) for i in range(400))
    total = body.count(b"\n\n")

    async def handler(request: web.Request) -> web.StreamResponse:
        return await sse(request, body)

    async with SSEServer() as server:
        server.handle("/", handler)
        es = EventSource(server.url_for("/"), reconnect=False)
        seen: list[int] = []
        with anyio.fail_after(5):
            with anyio.CancelScope() as scope:
                async for event in es:
                    seen.append(int(event.data.split()[0]))
                    if len(seen) == 3:
                        scope.cancel()
            cancelled_at = len(seen)
            async for event in es:
                seen.append(int(event.data.split()[0]))
        await es.aclose()
    assert 3 <= cancelled_at < total
    assert seen == list(range(total))


async def test_predicates_set_after_construction_take_effect_on_buffered_events() -> None:
    body = b"data: a\n\ndata: b\n\ndata: [DONE]\n\ndata: never\n\n"

    async def handler(request: web.Request) -> web.StreamResponse:
        return await sse(request, body)

    async with SSEServer() as server, EventSource(server.url_for("/")) as es:
        server.handle("/", handler)
        first = await es.__anext__()
        es.stop_when = lambda e: e.data == "[DONE]"
        rest = [e.data async for e in es]
        assert es.stop_when is not None
        assert es.stop_after is None
    assert (first.data, rest) == ("a", ["b"])
