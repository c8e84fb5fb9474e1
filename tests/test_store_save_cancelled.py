"""A StrictStore's blocking save cut short by asyncio's own timeout around ``anext()``.

``asyncio.wait_for`` (and ``asyncio.timeout``) cancel the task natively: the
wait for the worker thread ends, the thread saves on. A second save of the
same store must not start beside it, or the older one can end last and leave
the store at an older ID than the end saved (seen again after a restart).
"""

from __future__ import annotations

import asyncio
import threading

import anyio
import pytest

from ._fixtures import LIMIT, Combo
from ._fixtures import anyio_backend as anyio_backend
from ._fixtures import combo as combo
from ._fixtures import server as server
from ._servers import LoopbackServer, sse

pytestmark = pytest.mark.anyio


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
    if combo.backend != "asyncio":
        pytest.skip("asyncio's own cancellation (trio's thread waits are not cut short)")
    from eventsource.stores import StrictStore

    server.handle("/", lambda request: sse(request, b"id: 1\ndata: a\n\n", b"id: 2\ndata: b\n\n"))
    store = FirstSaveWaits()
    es = combo.source(server.url("/"), reconnect=False, last_event_id_store=StrictStore(store))
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
