"""The read path's guarantees: wire order, cancellation at any await, close from anywhere.

Each test runs on every combo (aiohttp on asyncio, httpx on asyncio and on
trio) against real servers on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import anyio
import pytest
from aiohttp import web

from eventsource import EventSource, MessageEvent, ReadyState

from ._fixtures import LIMIT, Combo, eventually
from ._fixtures import anyio_backend as anyio_backend
from ._fixtures import combo as combo
from ._fixtures import server as server
from ._servers import LoopbackServer, open_stream, sse

pytestmark = pytest.mark.anyio


def quiet_after(first: bytes, seconds: float = 5.0) -> Any:
    """A handler: ``first``, then nothing for ``seconds`` (bounded), then the end."""

    async def handler(request: web.Request) -> web.StreamResponse:
        response = await open_stream(request)
        await response.write(first)
        with contextlib.suppress(ConnectionError):
            await asyncio.sleep(seconds)
        return response

    return handler


async def test_a_comment_between_two_events_of_one_read_reaches_listeners_in_wire_order(
    combo: Combo, server: LoopbackServer
) -> None:
    server.handle("/", lambda request: sse(request, b"data: a\n\n: ping\ndata: b\n\n"))
    heard: list[str] = []
    es = combo.source(server.url("/"), reconnect=False)
    es.on_comment = lambda text: heard.append(f"comment {text}")
    es.onmessage = lambda event: heard.append(f"message {event.data}")
    with anyio.fail_after(LIMIT):
        await es.run()
    assert heard == ["message a", "comment ping", "message b"]


async def test_a_timeout_around_anext_in_a_quiet_moment_does_not_end_the_stream(
    combo: Combo, server: LoopbackServer
) -> None:
    served = 0

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal served
        served += 1
        if served == 1:
            return await quiet_after(b"id: 1\ndata: first\n\n")(request)
        return await sse(request, b"id: 2\ndata: second\n\n")

    server.handle("/", handler)
    async with combo.source(server.url("/"), retry=0.01) as es:
        iterator = aiter(es)
        with anyio.fail_after(LIMIT):
            assert (await anext(iterator)).data == "first"
        with anyio.move_on_after(0.3) as scope:
            await anext(iterator)  # nothing comes: the timeout cancels the read
        assert scope.cancelled_caught
        assert es.readyState is not ReadyState.CLOSED
        with anyio.fail_after(LIMIT):
            event = await anext(iterator)  # goes on: reconnects with Last-Event-ID
    assert event.data == "second"
    assert server.requests[1].headers["Last-Event-ID"] == "1"


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_asyncio_wait_for_around_anext_then_the_stream_goes_on(
    server: LoopbackServer,
) -> None:
    # The pattern of agent frameworks, on asyncio's own timeout.
    served = 0

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal served
        served += 1
        if served == 1:
            return await quiet_after(b"id: 1\ndata: first\n\n")(request)
        return await sse(request, b"id: 2\ndata: second\n\n")

    server.handle("/", handler)
    for transport in ("aiohttp", "httpx"):
        served = 0
        with anyio.fail_after(LIMIT):
            async with EventSource(server.url("/"), transport=transport, retry=0.01) as es:
                iterator = aiter(es)
                assert (await anext(iterator)).data == "first"
                with pytest.raises(asyncio.TimeoutError):
                    await asyncio.wait_for(anext(iterator), 0.3)
                assert (await anext(iterator)).data == "second"


async def test_aclose_from_another_task_while_one_waits_in_async_for(
    combo: Combo, server: LoopbackServer
) -> None:
    server.handle("/", quiet_after(b"data: first\n\n"))
    seen: list[str] = []
    es = combo.source(server.url("/"))

    async def consume() -> None:
        async for event in es:
            seen.append(event.data)

    with anyio.fail_after(LIMIT):
        async with anyio.create_task_group() as tg:
            tg.start_soon(consume)
            await eventually(lambda: seen == ["first"])
            await anyio.sleep(0.05)  # the consumer waits in a read
            await es.aclose()  # must not raise; ends the consumer's loop
    assert es.readyState is ReadyState.CLOSED
    assert seen == ["first"]


async def test_close_during_the_reconnection_wait_from_another_task_ends_iteration(
    combo: Combo, server: LoopbackServer
) -> None:
    server.handle("/", lambda request: sse(request, b"data: only\n\n"))
    seen: list[str] = []
    es = combo.source(server.url("/"), retry=30.0)

    async def consume() -> None:
        async for event in es:
            seen.append(event.data)

    with anyio.fail_after(LIMIT):
        async with anyio.create_task_group() as tg:
            tg.start_soon(consume)
            await eventually(lambda: seen == ["only"])
            await anyio.sleep(0.05)  # the stream ended: the consumer sleeps 30 s
            es.close()
        await es.aclose()
    assert len(server.requests) == 1


async def test_a_cancelled_reconnection_wait_is_resumed_not_restarted(
    combo: Combo, server: LoopbackServer
) -> None:
    server.handle("/", lambda request: sse(request, b"id: 7\ndata: x\n\n"))
    async with combo.source(server.url("/"), retry=0.4) as es:
        with anyio.fail_after(LIMIT):
            assert (await es.__anext__()).data == "x"
        with anyio.move_on_after(0.2):
            await es.__anext__()  # the stream ended: cancelled during the 0.4 s wait
        assert len(server.requests) == 1
        with anyio.fail_after(LIMIT):
            assert (await es.__anext__()).data == "x"
    assert server.requests[1].headers["Last-Event-ID"] == "7"


async def test_batches_hand_out_the_events_of_each_read_in_order(
    combo: Combo, server: LoopbackServer
) -> None:
    first = b"".join(b"id: %d\ndata: %d\n\n" % (i, i) for i in range(5))

    async def handler(request: web.Request) -> web.StreamResponse:
        response = await open_stream(request)
        await response.write(first)
        await asyncio.sleep(0.1)  # a second read
        await response.write(b"data: last\n\n")
        return response

    server.handle("/", handler)
    batches: list[list[MessageEvent]] = []
    async with combo.source(server.url("/"), reconnect=False) as es:
        with anyio.fail_after(LIMIT):
            async for batch in es.batches():
                batches.append(batch)
                if batch[0].data == "0":
                    assert es.lastEventId == "4"
    assert [[e.data for e in batch] for batch in batches] == [
        ["0", "1", "2", "3", "4"],
        ["last"],
    ]


async def test_batches_apply_the_predicates_and_stop_at_the_sentinel(
    combo: Combo, server: LoopbackServer
) -> None:
    body = b"data: a\n\ndata: b\n\ndata: [DONE]\n\ndata: never\n\n"
    server.handle("/", lambda request: sse(request, body))
    got: list[str] = []
    async with combo.source(server.url("/"), stop_when=lambda e: e.data == "[DONE]") as es:
        with anyio.fail_after(LIMIT):
            async for batch in es.batches():
                got += [event.data for event in batch]
    assert got == ["a", "b"]
    assert es.readyState is ReadyState.CLOSED


async def test_a_cancel_at_the_batch_checkpoint_loses_no_event(
    combo: Combo, server: LoopbackServer
) -> None:
    # One read: 1,100 events, a comment (which cuts the batch: it has a
    # listener), 100 more. The first batch spends more than the checkpoint
    # budget (1,024 events); the next call passes a checkpoint, cancelled here,
    # before it takes anything.
    first = b"".join(b"data: %d\n\n" % i for i in range(1100))
    rest = b"".join(b"data: %d\n\n" % i for i in range(1100, 1200))
    server.handle("/", lambda request: sse(request, first + b": ping\n" + rest))
    got: list[str] = []
    async with combo.source(server.url("/"), reconnect=False) as es:
        es.on_comment = lambda text: None
        batches = es.batches()
        with anyio.fail_after(LIMIT):
            got += [event.data for event in await anext(batches)]
            with anyio.CancelScope() as scope:
                scope.cancel()
                got += [event.data for event in await anext(batches)]
            got += [event.data for event in await anext(batches)]
    assert got == [str(i) for i in range(1200)]
