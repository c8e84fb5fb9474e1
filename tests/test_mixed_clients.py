"""The async and the blocking EventSource, mixed up: a TypeError that names the right form.

``for``/``with`` on ``eventsource.EventSource`` and ``async for``/``async with``
on ``eventsource.sync.EventSource`` gave Python's bare "is not iterable" or
"does not support the context manager protocol". Each now raises a
``TypeError`` that says which statement or which client to use, before any
request is sent; the right forms keep working.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import eventsource.sync
from eventsource import EventSource

from ._fixtures import FAST, Combo, collect
from ._fixtures import anyio_backend as anyio_backend
from ._fixtures import combo as combo
from ._fixtures import hello_server as hello_server
from ._servers import LoopbackServer

USE_ASYNC = (
    r"use 'async for' and 'async with' with eventsource\.EventSource, "
    r"or eventsource\.sync\.EventSource for a blocking 'for' loop"
)
USE_BLOCKING = (
    r"use 'for' and 'with' with eventsource\.sync\.EventSource, "
    r"or eventsource\.EventSource for 'async for' and 'async with'"
)


def test_a_plain_for_loop_on_the_async_client_names_async_for_and_the_blocking_client(
    server: LoopbackServer,
) -> None:
    es = EventSource(server.url("/feed"))
    with pytest.raises(TypeError, match=USE_ASYNC):
        for _ in es:
            pass
    assert server.requests == []


def test_a_plain_with_on_the_async_client_names_async_with_and_the_blocking_client(
    server: LoopbackServer,
) -> None:
    es = EventSource(server.url("/feed"))
    with pytest.raises(TypeError, match=USE_ASYNC), es:
        pass
    with pytest.raises(TypeError, match=USE_ASYNC):
        es.__exit__(None, None, None)
    assert server.requests == []


@pytest.mark.anyio
async def test_the_async_client_still_works_with_async_with_and_async_for(
    combo: Combo, server: LoopbackServer
) -> None:
    async with combo.source(server.url("/feed"), **FAST) as es:
        events = await collect(es, 2)
    assert [event.data for event in events] == ["hello", "hello"]


def test_async_for_on_the_blocking_client_names_for_and_the_async_client(
    server: LoopbackServer,
) -> None:
    # Where the mistake is likely: a coroutine that imported the wrong class.
    async def main() -> None:
        with eventsource.sync.EventSource(server.url("/feed")) as es:
            async for _ in es:
                pass

    with pytest.raises(TypeError, match=USE_BLOCKING):
        asyncio.run(main())
    assert server.requests == []


def test_async_with_on_the_blocking_client_names_with_and_the_async_client(
    server: LoopbackServer,
) -> None:
    es = eventsource.sync.EventSource(server.url("/feed"))

    async def main() -> None:
        async with es:
            pass

    try:
        with pytest.raises(TypeError, match=USE_BLOCKING):
            asyncio.run(main())
        with pytest.raises(TypeError, match=USE_BLOCKING):
            es.__aexit__(None, None, None)
    finally:
        es.close()
    assert server.requests == []


def test_the_blocking_client_still_works_with_with_and_for(server: LoopbackServer) -> None:
    events: list[Any] = []
    with eventsource.sync.EventSource(server.url("/feed"), **FAST) as es:
        for event in es:
            events.append(event)
            if len(events) == 2:
                break
    assert [event.data for event in events] == ["hello", "hello"]
