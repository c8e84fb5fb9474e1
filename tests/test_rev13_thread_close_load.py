"""close() from another thread while the reader waits for a store: its load, a save.

The refusal of a close() from another thread (tests/test_trial13_thread_close.py)
looked only at the driver's read; before the first connection the reader waits
for the store's ``load()`` instead, and there the call went through: the stream
was marked closed, then cancelling the load raised anyio's ``no running event
loop`` in the other thread, and the reader waited for the load to return. So
for a save the reader waits for (a ``StrictStore``'s before the next event, an
async store's beside the read).
"""

from __future__ import annotations

import anyio
import pytest

from eventsource import ReadyState
from eventsource.stores import StrictStore

from ._fixtures import FAST, LIMIT, Combo
from ._fixtures import anyio_backend as anyio_backend
from ._fixtures import combo as combo
from ._fixtures import server as server
from ._servers import LoopbackServer
from .test_close_cuts_store_waits import STORES, one_event_then_quiet
from .test_trial13_thread_close import one_event_then_silence, refusal


class SlowStore:
    """An async store on a slow network: its load waits until told to go on."""

    def __init__(self) -> None:
        self.loading = anyio.Event()
        self.go_on = anyio.Event()
        self.saved: list[str] = []

    async def load(self) -> str | None:
        self.loading.set()
        await self.go_on.wait()
        return "0"

    async def save(self, last_event_id: str) -> None:
        self.saved.append(last_event_id)


@pytest.mark.anyio
@pytest.mark.parametrize("what", ["close", "restart"])
async def test_close_from_another_thread_during_the_store_load_is_refused_and_changes_nothing(
    combo: Combo, server: LoopbackServer, what: str
) -> None:
    server.handle("/", one_event_then_silence)
    store = SlowStore()
    es = combo.source(server.url("/"), last_event_id_store=store, **FAST)
    async with es:
        with anyio.fail_after(LIMIT):
            async with anyio.create_task_group() as tg:
                first: list[str] = []

                async def read() -> None:
                    async for event in es:
                        first.append(event.data)

                tg.start_soon(read)
                await store.loading.wait()
                try:
                    got = await anyio.to_thread.run_sync(refusal, getattr(es, what))
                    state = es.readyState
                finally:
                    store.go_on.set()  # the load returns: the stream goes on, as if never asked
                assert isinstance(got, RuntimeError), repr(got)
                assert "from another thread" in str(got)
                assert state == ReadyState.CONNECTING
                while not first:
                    await anyio.sleep(0.01)
                assert first == ["a"]
                assert es.readyState == ReadyState.OPEN
                assert len(server.requests) == 1
                assert server.requests[0].headers.get("Last-Event-ID") == "0"
                es.close()
    assert es.readyState == ReadyState.CLOSED


@pytest.mark.anyio
@pytest.mark.parametrize("kind", list(STORES))
async def test_close_from_another_thread_during_a_save_is_refused_and_changes_nothing(
    combo: Combo, server: LoopbackServer, kind: str
) -> None:
    # A StrictStore's save comes before the next event, outside the read: the
    # check looked at the read alone, and there close() went through.
    cls, strict = STORES[kind]
    store = cls()
    es = combo.source(
        one_event_then_quiet(server),
        last_event_id_store=StrictStore(store) if strict else store,
        retry=LIMIT,
    )
    try:
        async with anyio.create_task_group() as group:
            ended = anyio.Event()

            async def read() -> None:
                assert (await anext(es)).data == "a"
                with pytest.raises(StopAsyncIteration):
                    await anext(es)  # it is back: "1" is saved, and that save hangs
                ended.set()

            group.start_soon(read)
            with anyio.fail_after(LIMIT):
                await anyio.to_thread.run_sync(store.reached.wait, LIMIT)
            try:
                got = await anyio.to_thread.run_sync(refusal, es.close)
                state = es.readyState
            finally:
                store.go.set()
            assert isinstance(got, RuntimeError), repr(got)
            assert "from another thread" in str(got)
            assert state is ReadyState.OPEN
            es.close()  # in the loop's thread: ends the reader
            with anyio.fail_after(LIMIT):
                await ended.wait()
    finally:
        store.go.set()
        await es.aclose()
    assert len(server.requests) == 1
