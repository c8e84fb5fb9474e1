"""A StrictStore's blocking save cut short by asyncio's own timeout around ``anext()``.

``asyncio.wait_for`` (and ``asyncio.timeout``) cancel the task natively: the
wait for the worker thread ends, the thread saves on. A second save of the
same store must not start beside it, or the older one can end last and leave
the store at an older ID than the end saved (seen again after a restart).
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time

import anyio
import pytest
from aiohttp import web

from eventsource import EventSource
from eventsource.stores import StrictStore, SyncLastEventIdStore

from ._fixtures import FAST, LIMIT, Combo
from ._fixtures import anyio_backend as anyio_backend
from ._fixtures import combo as combo
from ._fixtures import server as server
from ._servers import LoopbackServer, sse

pytestmark = pytest.mark.anyio

#: Events of the stream read under short timeouts.
EVENTS = 300


def asyncio_only(combo: Combo) -> None:
    if combo.backend != "asyncio":
        pytest.skip("asyncio's own cancellation (trio's thread waits are not cut short)")


def two_events_saved_strictly(
    combo: Combo, server: LoopbackServer, store: SyncLastEventIdStore
) -> EventSource:
    """A one-shot stream of events 1 ("a") and 2 ("b"), each saved before the next."""
    server.handle("/", lambda request: sse(request, b"id: 1\ndata: a\n\n", b"id: 2\ndata: b\n\n"))
    return combo.source(server.url("/"), reconnect=False, last_event_id_store=StrictStore(store))


class FirstSaveWaits:
    """A blocking store whose first save waits for ``gate``; records overlapping saves."""

    def __init__(self) -> None:
        self.value: str | None = None
        self.gate = threading.Event()
        self.calls = 0
        self.running = 0
        self.overlapped = False
        self._lock = threading.Lock()

    def load(self) -> str | None:
        return self.value

    def save(self, last_event_id: str) -> None:
        with self._lock:
            self.calls += 1
            first = self.calls == 1
            self.running += 1
            self.overlapped |= self.running > 1
        if first:
            self.gate.wait(LIMIT)
        with self._lock:
            self.value = last_event_id
            self.running -= 1


async def test_a_save_cut_short_by_wait_for_is_not_overtaken_by_the_next(
    combo: Combo, server: LoopbackServer
) -> None:
    asyncio_only(combo)
    store = FirstSaveWaits()
    es = two_events_saved_strictly(combo, server, store)
    # The first save ends a while after the timeout below cut its wait short.
    opener = threading.Timer(0.3, store.gate.set)
    opener.start()
    try:
        with anyio.fail_after(LIMIT):
            assert (await anext(es)).data == "a"
            with pytest.raises(asyncio.TimeoutError):  # "1" is being saved meanwhile
                await asyncio.wait_for(anext(es), 0.05)
            assert [event.data async for event in es] == ["b"]
            await es.aclose()
    finally:
        opener.join(LIMIT)
    assert store.running == 0  # no save of ours runs on after aclose()
    assert not store.overlapped
    assert store.value == "2"


class Saves:
    """A blocking store whose saves take a moment: a timeout may fall before or during one."""

    def __init__(self) -> None:
        self.value: str | None = None

    def load(self) -> str | None:
        return self.value

    def save(self, last_event_id: str) -> None:
        time.sleep(0.0005)
        self.value = last_event_id


async def test_short_timeouts_around_anext_lose_no_event_and_no_save(
    combo: Combo, server: LoopbackServer
) -> None:
    # Some timeouts fall before the worker thread took the save (it must not
    # stay in flight for ever), some during it (the next save waits for it).
    asyncio_only(combo)

    async def resuming(request: web.Request) -> web.StreamResponse:
        # httpx breaks the body at a cancelled read: the stream resumes from there.
        start = int(request.headers.get("Last-Event-ID", "0"))
        if start >= EVENTS:
            return web.Response(status=204)  # all sent: the stream is over
        body = b"".join(b"id: %d\ndata: %d\n\n" % (n, n) for n in range(start + 1, EVENTS + 1))
        return await sse(request, body)

    server.handle("/", resuming)
    store = Saves()
    es = combo.source(server.url("/"), last_event_id_store=StrictStore(store), **FAST)
    timeouts = itertools.cycle([0.0001, 0.0003, 0.001, 0.0002, 0.05])
    seen: list[str] = []
    with anyio.fail_after(LIMIT):
        while True:
            try:
                event = await asyncio.wait_for(anext(es), next(timeouts))
            except asyncio.TimeoutError:
                continue
            except StopAsyncIteration:
                break
            seen.append(event.data)
        await es.aclose()
    assert seen == [str(n) for n in range(1, EVENTS + 1)]
    assert store.value == str(EVENTS)


async def test_a_save_cut_short_before_its_thread_began_is_due_again(
    combo: Combo, server: LoopbackServer
) -> None:
    asyncio_only(combo)
    store = Saves()
    es = two_events_saved_strictly(combo, server, store)
    release = threading.Event()
    with anyio.fail_after(LIMIT):
        assert (await anext(es)).data == "a"  # loaded and connected: no thread needed now
        # One worker thread for this loop, and it is busy: the save of "1" waits for it.
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = 1
        async with anyio.create_task_group() as group:
            group.start_soon(anyio.to_thread.run_sync, release.wait, LIMIT)
            while not limiter.borrowed_tokens:
                await anyio.sleep(0.001)
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(anext(es), 0.05)
            assert store.value is None  # not saved: due again, not in flight for ever
            release.set()
        assert [event.data async for event in es] == ["b"]
        await es.aclose()
    assert store.value == "2"
