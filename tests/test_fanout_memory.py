"""When a burst lets other tasks run: at the bounds, not in the middle of every body.

With thousands of streams in one process, a stream that lets the others run
in the middle of a body it has already received keeps that body in memory
while they run; when every stream does so, every body is in memory at the
same moment (bench/README.md, fan-out). So in the middle of a read a burst
lets other tasks run only once it has held the read for 5 ms (or after
1,024 events or 16 reads); between reads, every 64 events.

The aiohttp transport (the default on asyncio) hands out what aiohttp has
already received without awaiting: the only switches to other tasks during
such a burst are ours, and the waits for the network once the buffer is empty.
(httpx's reads pass a checkpoint of their own at every read.)
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import threading
import time
import tracemalloc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import anyio
import anyio.lowlevel
import pytest
from aiohttp import web

from eventsource import EventSource
from eventsource import _delivery_receive as delivery
from eventsource.decode import aiter_events
from eventsource.transports import AiohttpTransport, Request

from ._fixtures import LIMIT, eventually, traced_in_package
from ._fixtures import server as server
from ._servers import LoopbackServer, burst_between_quiet_moments, open_stream

pytestmark = [pytest.mark.anyio, pytest.mark.parametrize("anyio_backend", ["asyncio"])]

#: docs/design.md: a big network read is decoded this many bytes at a time.
FEED_SLICE = 32 * 1024


def first_then_body(body: bytes) -> Any:
    """A handler: one event ``first``, a pause, then ``body`` at once, then the end."""

    async def handler(request: web.Request) -> web.StreamResponse:
        response = await open_stream(request)
        await response.write(b"data: first\n\n")
        await asyncio.sleep(0.05)
        await response.write(body)
        await response.write_eof()
        return response

    return handler


@asynccontextmanager
async def ticker() -> AsyncIterator[list[int]]:
    """Count how often another task gets to run while the block runs."""
    turns = [0]

    async def tick() -> None:
        while True:
            await anyio.lowlevel.checkpoint()
            turns[0] += 1

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(tick)
        await anyio.lowlevel.checkpoint()  # it runs once before the block
        turns[0] = 0
        yield turns
        tasks.cancel_scope.cancel()


async def turns_during_the_rest(server: LoopbackServer, body: bytes, total: int) -> int:
    """Take the first event, wait for ``body`` to arrive, and count the other
    task's turns while the ``total`` events of ``body`` are handed out."""
    server.handle("/", first_then_body(body))
    async with EventSource(server.url("/"), reconnect=False) as es:
        with anyio.fail_after(LIMIT):
            assert (await es.__anext__()).data == "first"
            await anyio.sleep(0.3)  # what aiohttp takes in before it pauses the socket
            async with ticker() as turns:
                seen = 0
                async for _event in es:
                    seen += 1
                # counted before the ticker's own last turns, once the stream ended
                during = turns[0]
    assert seen == total
    return during


async def test_a_received_read_is_handed_out_before_other_tasks_run_unless_held_long(
    server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 12,000 events of 100 bytes, received at once: 327 in each 32 KiB slice
    # the driver decodes at a time (FEED_SLICE). With no time limit on holding
    # a read, other tasks run between reads and every 1,024 events, not before
    # every slice.
    monkeypatch.setattr(delivery, "HOLD_AT_MOST", 60.0)
    total = 12_000
    body = b"".join(b"data: %05d %s\n\n" % (i, b"x" * 86) for i in range(total))
    assert len(body) == total * 100
    held = await turns_during_the_rest(server, body, total)
    # Held for no time at all, a read lets them run before each slice once 64
    # events went out: 36 slices, two turns each.
    monkeypatch.setattr(delivery, "HOLD_AT_MOST", 0.0)
    every = await turns_during_the_rest(server, body, total)
    slices = len(body) // FEED_SLICE
    assert held >= 1
    assert every >= held + slices // 2  # a checkpoint at (nearly) every slice: 78 vs 32


async def test_a_deadline_during_a_burst_ends_it_within_a_slice_or_two(
    server: LoopbackServer,
) -> None:
    # A consumer that never awaits; the deadline passes while it works on an
    # event. The checkpoint lets the deadline's timer fire and then delivers it
    # (on asyncio that takes two turns): it took ~2,000 events to end.
    body = b"".join(b"data: " + b"y" * 230 + b"\n\n" for _ in range(20_000))
    server.handle("/", first_then_body(body))
    after = n = 0
    async with EventSource(server.url("/"), reconnect=False) as es:
        with anyio.fail_after(LIMIT):
            assert (await es.__anext__()).data == "first"
            await anyio.sleep(0.3)  # the body is in aiohttp's buffer
        with anyio.move_on_after(0.05) as scope:
            async for _event in es:
                n += 1
                if n == 3:
                    time.sleep(0.06)  # noqa: ASYNC251 - the deadline passes while it works
                elif n > 3:
                    after += 1
    assert scope.cancelled_caught
    assert after <= 400  # 64 events, and the rest of a slice (136 events of 32 KiB)


async def test_a_burst_of_big_events_lets_other_tasks_run_every_so_many_reads(
    server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 40 events of 16 KiB: every slice completes one or two (the next slice is
    # then 32 or 64 KiB: docs/design.md), at least 10 steps, and the 40 events
    # never spend the budget of 64. At the default limit (16 steps) the other
    # task runs only at the network's waits; with a checkpoint after every
    # step it runs more, whatever those waits add.
    total = 40
    body = b"".join(b"data: %s\n\n" % (b"%02d" % i * 8192) for i in range(total))
    default = await turns_during_the_rest(server, body, total)
    monkeypatch.setattr(delivery, "CHECKPOINT_AT_MOST_READS", 1)
    every_step = await turns_during_the_rest(server, body, total)
    # 24 against 6-9 measured: at least one turn more for every two 64 KiB steps
    assert every_step >= default + len(body) // (128 * 1024)


# -- a chunk handed on is let go before the next read waits ----------------------------


async def one_event_then_quiet(request: web.Request) -> web.StreamResponse:
    response = await open_stream(request)
    await response.write(b"data: one\n\n")
    with contextlib.suppress(ConnectionError):
        await asyncio.sleep(5)
    return response


def bytes_held_by(generator: Any) -> list[bytes]:
    """The bytes a suspended async generator's frame refers to (its locals)."""
    return [v for v in generator.ag_frame.f_locals.values() if isinstance(v, bytes | bytearray)]


def bytes_held_by_coroutines(coroutine: Any) -> list[bytes]:
    """The bytes the frames of a suspended coroutine, and of those it awaits, refer to."""
    held: list[bytes] = []
    while getattr(coroutine, "cr_frame", None) is not None:
        locals_ = coroutine.cr_frame.f_locals.values()
        held += [v for v in locals_ if isinstance(v, bytes | bytearray)]
        coroutine = coroutine.cr_await
    return held


async def held_while_the_next_read_waits(generator: Any) -> list[bytes]:
    """Ask ``generator`` for its next item; while that waits for the network,
    what bytes does it hold? (Then the wait is cancelled.) An iterator that is
    not a generator: what the coroutines of its pending ``__anext__`` hold."""
    pending = generator.__anext__()
    waiting = asyncio.ensure_future(pending)
    try:
        await asyncio.sleep(0.05)
        assert not waiting.done()  # it waits for bytes the server does not send
        if hasattr(generator, "ag_frame"):
            return bytes_held_by(generator)
        return bytes_held_by_coroutines(pending)
    finally:
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)


async def test_the_aiohttp_transport_keeps_no_chunk_while_the_next_read_waits(
    server: LoopbackServer,
) -> None:
    # It kept the last chunk (up to 256 KiB) until the next one replaced it.
    server.handle("/", one_event_then_quiet)
    transport = AiohttpTransport()
    try:
        with anyio.fail_after(LIMIT):
            response = await transport.open(Request("GET", server.url("/")))
            try:
                chunks: Any = response.aiter_bytes()
                assert await chunks.__anext__() == b"data: one\n\n"
                assert await held_while_the_next_read_waits(chunks) == []
            finally:
                await response.aclose()
    finally:
        await transport.aclose()


async def test_aiter_events_keeps_no_chunk_while_the_next_read_waits(
    server: LoopbackServer,
) -> None:
    server.handle("/", one_event_then_quiet)
    timeout = aiohttp.ClientTimeout(total=None)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        with anyio.fail_after(LIMIT):
            async with session.get(server.url("/")) as response:
                events: Any = aiter_events(response)
                assert (await events.__anext__()).data == "one"
                assert await held_while_the_next_read_waits(events) == []
                await events.aclose()


# -- a burst leaves nothing behind in a stream that goes quiet ---------------------------


@pytest.mark.parametrize("way", ["async for", "batches"])
async def test_a_stream_that_goes_quiet_after_a_burst_holds_no_more_than_before_it(
    server: LoopbackServer, way: str
) -> None:
    # 1,500 events in one write: the delivery holds ~1,500 items at once. Once
    # they are handed out and the stream waits for the network, what it held
    # for them must be gone: a deque kept up to 16 of its 64-item blocks
    # (8,448 B) for the rest of the stream's life.
    burst = 1500
    go = threading.Event()
    server.handle("/", burst_between_quiet_moments(b"data: x\n\n" * burst, go))
    seen = 0

    async def consume(es: EventSource) -> None:
        nonlocal seen
        if way == "async for":
            async for _event in es:
                seen += 1
        else:
            async for batch in es.batches():
                seen += len(batch)
                del batch  # the caller's to keep or not: the stream's own is the question

    async def quiet_with(count: int) -> int:
        await eventually(lambda: seen == count)
        await asyncio.sleep(0.1)  # the consumer is back in its wait for the network
        gc.collect()
        return traced_in_package(tracemalloc.take_snapshot())

    async def before_and_after_a_burst() -> tuple[int, int]:
        nonlocal seen
        seen = 0
        go.clear()
        async with EventSource(server.url("/")) as es, anyio.create_task_group() as tasks:
            tasks.start_soon(consume, es)
            with anyio.fail_after(LIMIT):
                before = await quiet_with(10)
                go.set()
                after = await quiet_with(10 + burst)
            tasks.cancel_scope.cancel()
        return before, after

    tracemalloc.start()
    try:
        # A first stream takes every path once: code that runs for the first time
        # allocates for good, and not for the stream (coverage's record of it).
        await before_and_after_a_burst()
        before, after = await before_and_after_a_burst()
    finally:
        tracemalloc.stop()
    assert after - before < 1024
