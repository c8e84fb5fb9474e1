"""close() from another thread while the reader waits for an async store's load.

The refusal of a close() from another thread (tests/test_trial13_thread_close.py)
looked only at the driver's read; before the first connection the reader waits
for the store's ``load()`` instead, and there the call went through: the stream
was marked closed, then cancelling the load raised anyio's ``no running event
loop`` in the other thread, and the reader waited for the load to return.
"""

from __future__ import annotations

import anyio
import pytest

from eventsource import ReadyState

from ._fixtures import FAST, LIMIT, Combo
from ._fixtures import anyio_backend as anyio_backend
from ._fixtures import combo as combo
from ._fixtures import server as server
from ._servers import LoopbackServer
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
