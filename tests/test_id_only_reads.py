"""An id-only block that arrives in a network read of its own still counts when you close.

The server sends an event, then, in a later write, a block with only an
``id:``. The client reads it while it waits for the next event, and nothing
is handed out for it. On closing, the store kept the event's ID ("1") and
not the block's ("2"); a reconnect sent "2" all along. The ID it saves
depended on how TCP split the writes. Both clients, real servers on 127.0.0.1.
"""

from __future__ import annotations

import threading

import anyio
import pytest
from aiohttp import web

from eventsource import MessageEvent
from eventsource.sync import EventSource as SyncEventSource

from ._fixtures import FAST, LIMIT, Combo
from ._fixtures import anyio_backend as anyio_backend
from ._fixtures import combo as combo
from ._fixtures import server as server
from ._servers import LoopbackServer, open_stream
from .test_durable import MemoryStore


def serve(server: LoopbackServer, *chunks: bytes, end: bool) -> str:
    """Write ``chunks``, each a read of its own; then end the body, or keep it open."""

    async def handler(request: web.Request) -> web.StreamResponse:
        response = await open_stream(request)
        for chunk in chunks:
            await response.write(chunk)
            await anyio.sleep(0.1)
        if end:
            await response.write_eof()
        else:
            await anyio.sleep(LIMIT)
        return response

    server.handle("/", handler)
    return server.url("/")


#: An event, then a block with only an ``id:``, in a write of its own.
AN_EVENT_THEN_AN_ID = (b"id: 1\ndata: a\n\n", b"id: 2\n\n")
#: An event, the sentinel (id 2) and one more (id 3) in one write.
A_CUT = (b"id: 1\ndata: a\n\nid: 2\ndata: STOP\n\nid: 3\ndata: c\n\n",)


@pytest.mark.anyio
async def test_closing_after_an_id_only_read_saves_its_id(
    combo: Combo, server: LoopbackServer
) -> None:
    store = MemoryStore()
    es = combo.source(
        serve(server, *AN_EVENT_THEN_AN_ID, end=False), last_event_id_store=store, **FAST
    )
    async with es:
        with anyio.fail_after(LIMIT):
            assert (await anext(es)).data == "a"
            with anyio.move_on_after(0.5):  # the read takes "id: 2", then waits on
                await anext(es)
    assert es.lastEventId == "2"
    assert store.saves[-1] == "2"


def test_the_blocking_client_closed_from_another_thread_saves_it_too(
    server: LoopbackServer,
) -> None:
    store = MemoryStore()
    es = SyncEventSource(serve(server, *AN_EVENT_THEN_AN_ID, end=False), last_event_id_store=store)
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.extend(event.data for event in es))
    reader.start()
    threading.Event().wait(0.5)  # it has "a", and waits after reading "id: 2"
    es.close()
    reader.join(LIMIT)
    assert not reader.is_alive()
    assert got == ["a"]
    assert es.lastEventId == "2"
    assert store.saves[-1] == "2"


@pytest.mark.anyio
async def test_a_one_shot_stream_that_ends_after_an_id_only_read_saves_its_id(
    combo: Combo, server: LoopbackServer
) -> None:
    store = MemoryStore()
    url = serve(server, *AN_EVENT_THEN_AN_ID, end=True)
    es = combo.source(url, reconnect=False, last_event_id_store=store, **FAST)
    with anyio.fail_after(LIMIT):
        assert [event.data async for event in es] == ["a"]
    assert (es.lastEventId, store.saves[-1]) == ("2", "2")


def test_the_blocking_client_at_such_an_end_saves_it_too(server: LoopbackServer) -> None:
    store = MemoryStore()
    url = serve(server, *AN_EVENT_THEN_AN_ID, end=True)
    with SyncEventSource(url, reconnect=False, last_event_id_store=store) as es:
        assert [event.data for event in es] == ["a"]
    assert (es.lastEventId, store.saves[-1]) == ("2", "2")


@pytest.mark.anyio
async def test_a_sentinels_cut_keeps_the_id_of_the_last_event_handed_out(
    combo: Combo, server: LoopbackServer
) -> None:
    # The parser read the sentinel (id 2) and an id-only block (id 3) past it;
    # neither was handed out, so neither is saved.
    store = MemoryStore()
    url = serve(server, b"id: 1\ndata: a\n\nid: 2\ndata: [DONE]\n\nid: 3\n\n", end=True)
    es = combo.source(
        url, last_event_id_store=store, stop_when=lambda e: e.data == "[DONE]", **FAST
    )
    with anyio.fail_after(LIMIT):
        assert [event.data async for event in es] == ["a"]
    assert (es.lastEventId, store.saves[-1]) == ("1", "1")


def is_stop(event: MessageEvent) -> bool:
    return event.data == "STOP"


def test_the_blocking_client_closed_after_a_cut_keeps_the_last_handed_id(
    server: LoopbackServer,
) -> None:
    # The close's End was taken for the close's own, and the ID of the event
    # read past the sentinel ("3") was saved.
    store = MemoryStore()
    es = SyncEventSource(
        serve(server, *A_CUT, end=False), last_event_id_store=store, stop_when=is_stop
    )
    got: list[str] = []
    for event in es:
        got.append(event.data)
        es.close()
    assert got == ["a"]
    assert (es.lastEventId, store.saves) == ("1", ["1"])


@pytest.mark.anyio
async def test_a_close_from_another_task_while_a_cut_drains_keeps_the_last_handed_id(
    combo: Combo, server: LoopbackServer
) -> None:
    store = MemoryStore()
    es = combo.source(
        serve(server, *A_CUT, end=False), last_event_id_store=store, stop_when=is_stop
    )
    got: list[str] = []
    seen = anyio.Event()

    async def read() -> None:
        async for event in es:
            got.append(event.data)
            seen.set()

    async def close_soon() -> None:
        await seen.wait()
        await anyio.sleep(0.03)  # the reader drains the rest of the body after the cut
        es.close()

    with anyio.fail_after(LIMIT):
        async with anyio.create_task_group() as tg:
            tg.start_soon(read)
            tg.start_soon(close_soon)
        await es.aclose()
    assert got == ["a"]
    assert (es.lastEventId, store.saves) == ("1", ["1"])
