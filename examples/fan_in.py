"""Many streams merged into one ``async for``, with anyio: a task per stream, a bounded buffer.

Each stream is read by its own task, which sends ``(url, event)`` into a memory
object stream with a small buffer: a slow consumer makes the readers wait
(back-pressure) instead of growing a queue. Leaving the ``async with`` block
cancels the readers, and each closes its connection.

    python examples/fan_in.py                               # three local streams
    python examples/fan_in.py URL URL ...
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import anyio
from anyio.abc import ObjectSendStream
from anyio.streams.memory import MemoryObjectReceiveStream

from eventsource import EventSource, MessageEvent

Item = tuple[str, MessageEvent]


async def _pump(url: str, send: ObjectSendStream[Item]) -> None:
    async with send, EventSource(url, retry=1.0) as source:
        async for event in source:
            await send.send((url, event))  # waits while the buffer is full


@asynccontextmanager
async def merged(
    urls: Sequence[str], *, buffer: int = 16
) -> AsyncIterator[MemoryObjectReceiveStream[Item]]:
    """Read every stream in ``urls`` at once; iterate the result for ``(url, event)`` pairs.

    Iteration ends when every stream has ended; a stream that fails for good
    raises its error here (in an exception group), cancelling the others.
    """
    send, receive = anyio.create_memory_object_stream[Item](buffer)
    async with anyio.create_task_group() as tg:
        for url in urls:
            tg.start_soon(_pump, url, send.clone())
        send.close()  # the clones keep it open until the last reader is done
        with receive:
            try:
                yield receive
            finally:
                tg.cancel_scope.cancel()


async def main(url: str, *more: str, limit: int | None = None) -> list[Item]:
    """Print events from every URL as they come, until ``limit`` or until all streams end."""
    seen: list[Item] = []
    async with merged([url, *more]) as events:
        async for source, event in events:
            print(f"{source}: {event.data}")
            seen.append((source, event))
            if limit is not None and len(seen) >= limit:
                break
    return seen


async def _standalone() -> None:
    from eventsource.testing import SSEServer

    async with SSEServer() as one, SSEServer() as two, SSEServer() as three:
        for name, server in (("one", one), ("two", two), ("three", three)):
            server.room.preload(3, template=f"{name}: message {{id}}")
        await main(one.url, two.url, three.url, limit=9)


if __name__ == "__main__":
    if len(sys.argv) > 1:
        anyio.run(main, *sys.argv[1:])
    else:
        anyio.run(_standalone)
