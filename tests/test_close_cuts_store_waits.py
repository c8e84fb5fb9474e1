"""close() or aclose() from another task while the reader waits for a store's save.

The reader came back after event 1, and the save of its ID hangs (a store on
a network that stopped answering): a ``StrictStore``'s save before the next
event, an async store's save beside the read, or the save of a blocking
store's worker thread that the end of the stream waits for. The reader ends
at once, as it does when the close cuts the store's load; the save is not
forgotten: ``aclose()`` waits for it (within its bound, ``FLUSH_LIMIT``) and
the handled ID ends up saved once, with no save of it beside the one that
hung. Every combo, ``async for`` and ``batches()``. A timeout around
``anext()`` cuts the wait for a ``StrictStore``'s blocking save too.
"""

from __future__ import annotations

import threading
from typing import Any

import anyio
import pytest
from aiohttp import web

from eventsource import ReadyState
from eventsource.stores import StrictStore

from ._fixtures import LIMIT, Combo, eventually
from ._fixtures import anyio_backend as anyio_backend
from ._fixtures import combo as combo
from ._fixtures import server as server
from ._servers import LoopbackServer, client_sockets_to, open_stream

pytestmark = pytest.mark.anyio

#: Seconds that prove "at once": the reader waited for the save (for ever, or
#: FLUSH_LIMIT's 10 s at the end of the stream).
PROMPT = 2.0


class HangingSaves:
    """The save of ID "1" waits for ``go`` (bounded); each save begun and ended is noted."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.go = threading.Event()
        self.begun: list[str] = []
        self.saved: list[str] = []

    def load_now(self) -> str | None:
        return None

    def wait_now(self, last_event_id: str) -> None:
        self.begun.append(last_event_id)
        if last_event_id == "1":
            self.reached.set()
            self.go.wait(LIMIT)

    async def wait_on_loop(self, last_event_id: str) -> None:
        self.begun.append(last_event_id)
        if last_event_id == "1":
            self.reached.set()
            with anyio.move_on_after(LIMIT):
                while not self.go.is_set():
                    await anyio.sleep(0.005)


class BlockingStore(HangingSaves):
    def load(self) -> str | None:
        return self.load_now()

    def save(self, last_event_id: str) -> None:
        self.wait_now(last_event_id)
        self.saved.append(last_event_id)


class AsyncStore(HangingSaves):
    async def load(self) -> str | None:
        return self.load_now()

    async def save(self, last_event_id: str) -> None:
        await self.wait_on_loop(last_event_id)
        self.saved.append(last_event_id)


#: The store, and whether StrictStore wraps it.
STORES = {
    "strict, blocking": (BlockingStore, True),
    "strict, async": (AsyncStore, True),
    "async, beside the read": (AsyncStore, False),
    "blocking, in its thread": (BlockingStore, False),
}


def one_event_then_quiet(server: LoopbackServer) -> str:
    async def handler(request: web.Request) -> web.StreamResponse:
        response = await open_stream(request)
        await response.write(b"id: 1\ndata: a\n\n")
        with anyio.move_on_after(LIMIT):  # the body stays open (bounded)
            await anyio.sleep(LIMIT)
        return response

    server.handle("/", handler)
    return server.url("/")


@pytest.mark.parametrize("way", ["anext", "batches"])
@pytest.mark.parametrize("how", ["close", "aclose"])
@pytest.mark.parametrize("kind", list(STORES))
async def test_a_close_while_the_reader_waits_for_a_save_ends_it_and_aclose_waits_for_the_save(
    combo: Combo, server: LoopbackServer, kind: str, how: str, way: str
) -> None:
    cls, strict = STORES[kind]
    store = cls()
    es = combo.source(
        one_event_then_quiet(server),
        last_event_id_store=StrictStore(store) if strict else store,
        retry=LIMIT,
    )
    reader: Any = aiter(es) if way == "anext" else aiter(es.batches())
    got: list[Any] = []
    ended = anyio.Event()
    closed = anyio.Event()

    async def read() -> None:
        got.append(await anext(reader))  # event 1 (or the batch of it)
        with pytest.raises(StopAsyncIteration):
            await anext(reader)  # it is back: "1" is saved, and that save hangs
        ended.set()

    async def close() -> None:
        if how == "close":
            es.close()
        else:
            await es.aclose()  # waits for the save that hangs
        closed.set()

    try:
        async with anyio.create_task_group() as group:
            group.start_soon(read)
            with anyio.fail_after(LIMIT):
                await anyio.to_thread.run_sync(store.reached.wait, LIMIT)
            group.start_soon(close)
            with anyio.fail_after(PROMPT):
                await ended.wait()
            assert es.readyState is ReadyState.CLOSED
            if how == "aclose":
                assert not closed.is_set()  # the save it waits for still hangs
            assert store.saved == []
            store.go.set()
            with anyio.fail_after(LIMIT):
                await closed.wait()
                await es.aclose()  # after close(): what aclose() waits for is saved
    finally:
        store.go.set()
        await es.aclose()
    assert store.saved == ["1"]  # saved once: no second save of it beside the first
    # A blocking store's thread runs on and is waited for; an async save that the
    # close cut (unknown whether it reached the store) is made again by aclose().
    assert store.begun == (["1"] if cls is BlockingStore else ["1", "1"])
    assert len(server.requests) == 1
    await eventually(lambda: client_sockets_to(server.port) == 0)


async def test_a_timeout_around_anext_cuts_the_wait_for_a_strict_blocking_save(
    combo: Combo, server: LoopbackServer
) -> None:
    # The worker thread's save could not be cut: a timeout around anext() fired
    # only once the save returned (for ever, for a store that hangs). The thread
    # saves on; the next save waits for it, and none begins beside it.
    store = BlockingStore()
    es = combo.source(one_event_then_quiet(server), last_event_id_store=StrictStore(store))
    try:
        with anyio.fail_after(LIMIT):
            assert (await anext(es)).data == "a"
        with anyio.fail_after(PROMPT), anyio.move_on_after(0.1) as scope:
            await anext(es)  # it is back: "1" is saved, and that save hangs
        assert scope.cancelled_caught
        assert store.reached.is_set()
        assert es.readyState is ReadyState.OPEN
        store.go.set()
        with anyio.fail_after(LIMIT):
            await es.aclose()
    finally:
        store.go.set()
        await es.aclose()
    assert store.saved == ["1"]
    assert store.begun == ["1"]
