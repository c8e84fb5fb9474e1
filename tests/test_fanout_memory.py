"""When a burst lets other tasks run: at the bounds, not in the middle of every body.

With thousands of streams in one process, a stream that lets the others run
in the middle of a body it has already received keeps that body in memory
while they run; when every stream does so, every body is in memory at the
same moment (bench/README.md, fan-out). So a burst passes a checkpoint that
lets other tasks run only after 1,024 events or 16 reads, and every 64 events
only looks for a cancellation (tests/test_cancellation.py has those tests).

The aiohttp transport (the default on asyncio) hands out what aiohttp has
already received without awaiting: the only switches to other tasks during
such a burst are ours, and the waits for the network once the buffer is empty.
(httpx's reads pass a checkpoint of their own at every read.)
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import anyio
import anyio.lowlevel
import pytest
from aiohttp import web

from eventsource import EventSource
from eventsource import _delivery as delivery
from eventsource.decode import aiter_events
from eventsource.transports import AiohttpTransport, Request

from ._fixtures import LIMIT
from ._fixtures import server as server
from ._servers import LoopbackServer, open_stream

pytestmark = [pytest.mark.anyio, pytest.mark.parametrize("anyio_backend", ["asyncio"])]


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


async def test_a_received_burst_of_small_events_lets_other_tasks_run_only_every_1024_events(
    server: LoopbackServer,
) -> None:
    # 6,000 events of 100 bytes: 160 in each 16 KiB the driver decodes at a
    # time. A checkpoint before every read once 64 events went out let the
    # other task run ~37 times; at most every 1,024 events, ~6, plus the waits
    # for the network each time aiohttp's buffer runs dry (~128 KiB apart).
    total = 6000
    body = b"".join(b"data: %05d %s\n\n" % (i, b"x" * 86) for i in range(total))
    assert len(body) == total * 100
    turns = await turns_during_the_rest(server, body, total)
    assert 1 <= turns <= 20


async def test_a_burst_of_big_events_lets_other_tasks_run_every_so_many_reads(
    server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 80 events of 8 KiB: every 16 KiB slice completes one, so the driver
    # decodes 16 KiB a step, 40 steps. With at most 2 steps between
    # checkpoints, the other task runs at least every third step, whatever the
    # network waits add (at the default, 16, it ran only at those waits).
    monkeypatch.setattr(delivery, "CHECKPOINT_AT_MOST_READS", 2)
    total = 80
    body = b"".join(b"data: %s\n\n" % (b"%02d" % i * 4096) for i in range(total))
    turns = await turns_during_the_rest(server, body, total)
    assert turns >= len(body) // (16 * 1024) // 3


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
