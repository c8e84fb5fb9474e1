"""Durable consumers: saving beside delivery, coalescing, strict saves, store failures."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from aiohttp import web

from eventsource import MessageEvent, ReadyState, TransportError
from eventsource.stores import LastEventIdStore, StoreError, StrictStore, SyncLastEventIdStore

from ._fixtures import LIMIT, Combo, eventually
from ._fixtures import anyio_backend as anyio_backend
from ._fixtures import combo as combo
from ._fixtures import server as server
from ._servers import LoopbackServer, open_stream, sse

pytestmark = pytest.mark.anyio

WORKER = "eventsource-store-save"


def numbered(first: int, last: int) -> bytes:
    return b"".join(f"id: {i}\ndata: {i}\n\n".encode() for i in range(first, last + 1))


class MemoryStore:
    """A blocking store that remembers every save; ``pause`` seconds per save."""

    def __init__(self, value: str | None = None, *, pause: float = 0.0) -> None:
        self.value = value
        self.pause = pause
        self.saves: list[str] = []
        self.gate = threading.Event()
        self.gate.set()

    def load(self) -> str | None:
        return self.value

    def save(self, last_event_id: str) -> None:
        assert self.gate.wait(LIMIT)
        time.sleep(self.pause)
        self.saves.append(last_event_id)
        self.value = last_event_id


class AsyncMemoryStore:
    """A store with coroutine methods; ``save`` waits for ``gate`` when it is closed."""

    def __init__(self, value: str | None = None) -> None:
        self.value = value
        self.saves: list[str] = []
        self.started: list[str] = []
        self.gate: anyio.Event | None = None

    async def load(self) -> str | None:
        await anyio.lowlevel.checkpoint()
        return self.value

    async def save(self, last_event_id: str) -> None:
        self.started.append(last_event_id)
        if self.gate is not None:
            await self.gate.wait()
        self.saves.append(last_event_id)
        self.value = last_event_id


def workers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == WORKER]


async def test_a_slow_store_never_holds_up_the_event_loop(
    combo: Combo, server: LoopbackServer
) -> None:
    # Each save blocks its caller for 0.25 s. Saved on the event loop, 20 events
    # held every other task up 20 times (5 s in all); in a worker thread, never.
    async def handler(request: web.Request) -> web.StreamResponse:
        response = await open_stream(request)
        for i in range(1, 21):
            await response.write(numbered(i, i))
            await asyncio.sleep(0.005)  # a read each
        await response.write_eof()
        return response

    server.handle("/slow", handler)
    store = MemoryStore(pause=0.25)
    lags: list[float] = []
    got: list[str] = []

    async def ticker() -> None:
        while True:
            start = anyio.current_time()
            await anyio.sleep(0.001)
            lags.append(anyio.current_time() - start - 0.001)

    async with anyio.create_task_group() as group:
        group.start_soon(ticker)
        es = combo.source(server.url("/slow"), reconnect=False, last_event_id_store=store)
        with anyio.fail_after(LIMIT):
            async for event in es:
                got.append(event.data)
        group.cancel_scope.cancel()
    assert got == [str(i) for i in range(1, 21)]
    assert max(lags) < 0.15, max(lags)  # the old code: >= 0.25, each save
    assert sum(lags) < 1.0, sum(lags)  # the old code: >= 5 s
    # The end of iteration waited for the last save; those between coalesced.
    assert store.value == "20"
    assert len(store.saves) < 10, store.saves
    assert store.saves == sorted(store.saves, key=int)
    assert workers() == []


async def test_ids_handled_during_a_save_coalesce_into_one_next_save(
    combo: Combo, server: LoopbackServer
) -> None:
    server.handle("/fifty", lambda request: sse(request, numbered(1, 50)))
    store = MemoryStore()
    store.gate.clear()  # the first save hangs until the 50 events were handled
    es = combo.source(server.url("/fifty"), reconnect=False, last_event_id_store=store)
    got = 0
    with anyio.fail_after(LIMIT):
        async for _event in es:
            got += 1
            if got == 50:
                break
    assert store.saves == []  # "1" is in flight, in a worker thread
    assert len(workers()) == 1
    store.gate.set()
    with anyio.fail_after(LIMIT):
        await es.aclose()  # waits for the save in flight, then saves "50"
    # 2 to 48 were superseded while "1" was saved; "49" was handled when that save
    # ended, unless aclose() came first and took the 50th as handled.
    assert store.saves in (["1", "49", "50"], ["1", "50"])
    assert workers() == []


async def test_events_of_one_read_are_saved_as_they_are_handled_not_at_its_end(
    combo: Combo, server: LoopbackServer
) -> None:
    # 200 events in one read go out as a run, with no check before each; the
    # store must still hear of each one handled, or a consumer that stalls (or
    # crashes) in the middle of the read would see the whole read again.
    server.handle("/burst", lambda request: sse(request, numbered(1, 200)))
    store = MemoryStore()
    es = combo.source(server.url("/burst"), reconnect=False, last_event_id_store=store)
    with anyio.fail_after(LIMIT):
        async for event in es:
            if event.data == "100":
                # The caller came back for 100: 99 is handled, and saved meanwhile.
                await eventually(lambda: store.value == "99")
                break
        await es.aclose()
    assert store.value == "100"  # the one being handled counts at the close by its reader


async def test_an_async_store_saves_while_the_stream_waits_for_the_network(
    combo: Combo, server: LoopbackServer
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        response = await open_stream(request)
        await response.write(numbered(1, 5))
        if await server.wait_gate("more"):
            await response.write(numbered(6, 10))
        await response.write_eof()
        return response

    server.handle("/held", handler)
    store = AsyncMemoryStore("0")
    assert isinstance(store, LastEventIdStore)
    es = combo.source(server.url("/held"), reconnect=False, last_event_id_store=store)
    got: list[str] = []

    async def consume() -> None:
        async for event in es:
            got.append(event.data)

    with anyio.fail_after(LIMIT):
        async with anyio.create_task_group() as group:
            group.start_soon(consume)
            await eventually(lambda: store.value == "5")  # while the consumer waits
            assert got == ["1", "2", "3", "4", "5"]
            server.open_gate("more")
    assert got == [str(i) for i in range(1, 11)]
    assert server.requests[0].headers["Last-Event-ID"] == "0"
    assert store.value == "10"  # the end of iteration waited for it
    assert store.saves == ["5", "10"]


async def test_a_strict_store_saves_each_handled_id_before_the_next_event(
    combo: Combo, server: LoopbackServer
) -> None:
    server.handle(
        "/", lambda request: sse(request, b"id: 8\ndata: a\n\ndata: same id\n\nid: 9\n\n")
    )
    store = MemoryStore("7")
    es = combo.source(server.url("/"), reconnect=False, last_event_id_store=StrictStore(store))
    seen: dict[str, str | None] = {}
    with anyio.fail_after(LIMIT):
        async for event in es:
            seen[event.data] = store.value  # the events before this one are saved
    assert seen == {"a": "7", "same id": "8"}
    assert server.requests[0].headers["Last-Event-ID"] == "7"
    assert store.saves == ["8", "9"]  # the id-only block after them counts at the end
    assert "StrictStore(" in repr(StrictStore(store))


async def test_run_and_aclose_wait_for_the_save_of_the_last_handled_id(
    combo: Combo, server: LoopbackServer
) -> None:
    server.handle("/run", lambda request: sse(request, numbered(1, 30)))
    store = MemoryStore(pause=0.02)
    es = combo.source(server.url("/run"), reconnect=False, last_event_id_store=store)
    got: list[str] = []
    es.onmessage = lambda event: got.append(event.data)
    with anyio.fail_after(LIMIT):
        await es.run()
    assert len(got) == 30
    assert store.value == "30"
    assert workers() == []


async def test_a_store_that_fails_to_load_stops_the_stream_before_any_request(
    combo: Combo, server: LoopbackServer
) -> None:
    class Broken(MemoryStore):
        def load(self) -> str | None:
            raise OSError("disk on fire")

    class AsyncBroken(AsyncMemoryStore):
        async def load(self) -> str | None:
            raise ConnectionRefusedError("no redis here")

    class Wrong(MemoryStore):
        def load(self) -> Any:
            return 42

    for store, cause in [(Broken(), OSError), (AsyncBroken(), ConnectionRefusedError)]:
        es = combo.source(server.url("/stream"), last_event_id_store=store)
        with anyio.fail_after(LIMIT), pytest.raises(StoreError, match="failed to load") as caught:
            await es.__anext__()
        assert isinstance(caught.value.__cause__, cause)
        assert es.readyState is ReadyState.CLOSED
        await es.aclose()
    es = combo.source(server.url("/stream"), last_event_id_store=Wrong())
    with anyio.fail_after(LIMIT), pytest.raises(StoreError, match="loaded a int, not a str"):
        await es.__anext__()
    await es.aclose()
    assert server.requests == []  # never a silent start from the beginning


class Flaky(MemoryStore):
    """Fails to save while ``failing`` is set."""

    failing = True

    def save(self, last_event_id: str) -> None:
        if self.failing:
            raise OSError(28, "No space left on device")
        super().save(last_event_id)


#: What saves failing for IDs 1-3 of six, then working, log (the 3rd failure is not logged).
FLAKY_LOG = [
    "the last-event-id store failed to save (1 in a row); the next ID will be tried, "
    "and a restart may see more events again",
    "the last-event-id store failed to save (2 in a row); the next ID will be tried, "
    "and a restart may see more events again",
    "the last-event-id store saves again after 3 failures",
]


def assert_went_on_past_failed_saves(
    got: list[str], store: MemoryStore, records: list[logging.LogRecord]
) -> None:
    """Six events read while saves failed for 1-3: all delivered, 4-6 saved, FLAKY_LOG logged."""
    assert got == ["1", "2", "3", "4", "5", "6"]  # the stream went on
    assert store.saves == ["4", "5", "6"]
    assert [r.getMessage() for r in records] == FLAKY_LOG
    assert records[0].exc_info is not None  # the first one with its traceback


async def test_failed_saves_are_logged_and_the_next_id_saved_instead(
    combo: Combo, server: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.handle("/six", lambda request: sse(request, numbered(1, 6)))
    store = Flaky()
    es = combo.source(server.url("/six"), reconnect=False, last_event_id_store=StrictStore(store))
    got: list[str] = []
    with caplog.at_level(logging.WARNING, "eventsource"), anyio.fail_after(LIMIT):
        async for event in es:
            got.append(event.data)
            if event.data == "4":
                store.failing = False  # the disk has room again
    assert_went_on_past_failed_saves(got, store, caplog.records)


async def test_the_save_of_the_last_handled_id_failing_at_the_end_raises(
    combo: Combo, server: LoopbackServer
) -> None:
    server.handle("/three", lambda request: sse(request, numbered(1, 3)))
    store = Flaky()
    es = combo.source(server.url("/three"), last_event_id_store=store)
    events: list[MessageEvent] = []
    with anyio.fail_after(LIMIT):
        async for event in es:
            events.append(event)
            if len(events) == 3:
                break
        with pytest.raises(StoreError, match="failed to save the last handled ID") as caught:
            await es.aclose()
    assert isinstance(caught.value.__cause__, OSError)
    assert es.readyState is ReadyState.CLOSED
    assert workers() == []
    # Iteration that reaches the end raises it too, instead of ending quietly.
    es = combo.source(server.url("/three"), reconnect=False, last_event_id_store=Flaky())
    with anyio.fail_after(LIMIT), pytest.raises(StoreError):
        async for _event in es:
            pass


async def test_a_failed_last_save_is_raised_once_not_again_when_the_block_ends(
    combo: Combo, server: LoopbackServer
) -> None:
    # The end of iteration raised StoreError; leaving the `async with` block
    # (aclose) tried the same save again and raised it a second time.
    server.handle("/three", lambda request: sse(request, numbered(1, 3)))
    raised: list[StoreError] = []
    with anyio.fail_after(LIMIT):
        async with combo.source(
            server.url("/three"), reconnect=False, last_event_id_store=Flaky()
        ) as es:
            try:
                async for _event in es:
                    pass
            except StoreError as exc:
                raised.append(exc)
    assert len(raised) == 1
    assert es.readyState is ReadyState.CLOSED


class Hangs(MemoryStore):
    """A store whose saves take longer than the end waits (``FLUSH_LIMIT``, made short)."""

    def save(self, last_event_id: str) -> None:
        time.sleep(0.6)


async def test_a_last_save_that_takes_too_long_is_raised_once(
    combo: Combo, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The end's "took over ... s to save" was raised again by the aclose() after it.
    monkeypatch.setattr("eventsource._checkpoint.FLUSH_LIMIT", 0.2)
    server.handle("/three", lambda request: sse(request, numbered(1, 3)))
    es = combo.source(server.url("/three"), reconnect=False, last_event_id_store=Hangs())
    raised: list[StoreError] = []
    with anyio.fail_after(LIMIT):
        try:
            async for _event in es:
                pass
        except StoreError as exc:
            raised.append(exc)
        await es.aclose()  # no second StoreError
        await eventually(lambda: workers() == [])  # the hanging save ends: no thread left
    assert [str(exc).endswith("took over 0.2 s to save") for exc in raised] == [True]


async def test_leaving_by_an_exception_saves_nothing_new(
    combo: Combo, server: LoopbackServer
) -> None:
    server.handle("/three", lambda request: sse(request, numbered(1, 3)))
    store = MemoryStore()
    with anyio.fail_after(LIMIT), pytest.raises(ZeroDivisionError):
        async with combo.source(server.url("/three"), last_event_id_store=store) as es:
            async for event in es:
                if event.data == "2":
                    raise ZeroDivisionError  # the handler of "2" failed
    assert store.value == "1"  # "2" comes again after a restart
    assert workers() == []


async def test_a_cancelled_read_leaves_an_async_save_due_and_the_stream_going(
    combo: Combo, server: LoopbackServer
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        start = int(request.headers.get("Last-Event-ID", "0"))
        response = await open_stream(request)
        await response.write(numbered(start + 1, 3))
        if await server.wait_gate("more"):
            await response.write(numbered(4, 5))
        await response.write_eof()
        return response

    server.handle("/held", handler)
    store = AsyncMemoryStore()
    store.gate = anyio.Event()  # saves hang
    es = combo.source(server.url("/held"), reconnect=False, last_event_id_store=store)
    got = [event.data for event in [await es.__anext__() for _ in range(3)]]
    with anyio.move_on_after(0.2) as scope:
        await es.__anext__()  # saves "3" while it reads; both cancelled
    assert scope.cancelled_caught
    assert store.started == ["3"]
    assert store.saves == []
    store.gate.set()
    server.open_gate("more")
    if combo.transport == "aiohttp":  # the cancelled read was only waiting: it reads on
        with anyio.fail_after(LIMIT):
            async for event in es:
                got.append(event.data)
        assert got == ["1", "2", "3", "4", "5"]
        assert store.saves == ["3", "5"]  # "3" was due again
    else:  # httpx: the cancel broke the body; a one-shot stream is not requested again
        with anyio.fail_after(LIMIT), pytest.raises(TransportError, match="reconnect=False"):
            async for event in es:
                got.append(event.data)
        assert got == ["1", "2", "3"]
        assert store.saves == ["3"]  # "3" was due again: saved as the stream ended
    assert len(server.requests) == 1


def test_the_built_in_blocking_stores_and_the_wrapper_have_their_protocols() -> None:
    store = MemoryStore()
    assert isinstance(store, SyncLastEventIdStore)
    assert isinstance(StrictStore(store), LastEventIdStore)


async def test_a_strict_store_runs_an_async_store_and_a_sync_one() -> None:
    sync, asynchronous = MemoryStore("1"), AsyncMemoryStore("2")
    assert await StrictStore(sync).load() == "1"
    assert await StrictStore(asynchronous).load() == "2"
    await StrictStore(sync).save("3")
    await StrictStore(asynchronous).save("4")
    assert (sync.value, asynchronous.value) == ("3", "4")


async def test_an_explicit_last_event_id_skips_the_load(
    combo: Combo, server: LoopbackServer
) -> None:
    class NoLoad(MemoryStore):
        def load(self) -> str | None:
            raise AssertionError("not loaded when last_event_id= is given")

    server.handle("/three", lambda request: sse(request, numbered(4, 6)))
    es = combo.source(
        server.url("/three"), last_event_id="3", reconnect=False, last_event_id_store=NoLoad()
    )
    with anyio.fail_after(LIMIT):
        assert [event.data async for event in es] == ["4", "5", "6"]
    assert server.requests[0].headers["Last-Event-ID"] == "3"


async def test_a_blocking_store_saves_while_the_stream_waits_for_the_network(
    combo: Combo, server: LoopbackServer
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        response = await open_stream(request)
        for i in (1, 2):
            await response.write(numbered(i, i))
            if not await server.wait_gate(f"after {i}"):
                break
        await response.write(b"data: end\n\n")
        await response.write_eof()
        return response

    server.handle("/held", handler)
    store = MemoryStore()
    es = combo.source(server.url("/held"), reconnect=False, last_event_id_store=store)
    got: list[str] = []

    async def consume() -> None:
        async for event in es:
            got.append(event.data)

    with anyio.fail_after(LIMIT):
        async with anyio.create_task_group() as group:
            group.start_soon(consume)
            await eventually(lambda: store.value == "1")  # saved while the read waits
            server.open_gate("after 1")
            await eventually(lambda: store.value == "2")  # the waiting worker was woken
            assert len(workers()) == 1  # one worker, alive while the stream is
            server.open_gate("after 2")
    assert got == ["1", "2", "end"]
    assert store.saves == ["1", "2"]
    assert workers() == []


async def test_the_end_waits_for_a_hanging_store_only_so_long(
    combo: Combo,
    server: LoopbackServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import eventsource._checkpoint

    monkeypatch.setattr(eventsource._checkpoint, "FLUSH_LIMIT", 0.2)
    server.handle("/three", lambda request: sse(request, numbered(1, 3)))
    store = MemoryStore()
    store.gate.clear()  # every save hangs
    try:
        es = combo.source(server.url("/three"), last_event_id_store=store)
        with anyio.fail_after(LIMIT):
            async for event in es:
                if event.data == "3":
                    break
            with pytest.raises(StoreError, match=r"took over 0\.2 s to save"):
                await es.aclose()
        assert es.readyState is ReadyState.CLOSED
        # Leaving by an exception saves nothing new: the wait is only logged.
        with (
            caplog.at_level(logging.WARNING, "eventsource"),
            anyio.fail_after(LIMIT),
            pytest.raises(ZeroDivisionError),
        ):
            async with combo.source(server.url("/three"), last_event_id_store=store) as es:
                async for event in es:
                    if event.data == "3":
                        raise ZeroDivisionError
        assert "closed without waiting further" in caplog.text
    finally:
        store.gate.set()
    await eventually(lambda: workers() == [])


async def test_a_hook_error_during_an_async_save_is_raised_as_itself_once_saved(
    combo: Combo, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import eventsource._checkpoint

    monkeypatch.setattr(eventsource._checkpoint, "SAVE_INTERVAL", 0.0)  # a save beside each read

    async def handler(request: web.Request) -> web.StreamResponse:
        response = await open_stream(request)
        await response.write(b"id: 1\ndata: a\n\n")
        await asyncio.sleep(0.05)
        await response.write(b"id: 2\n\n")  # an id-only block, then the end
        await response.write_eof()
        return response

    def refuse_reconnect(attempt: Any) -> None:
        if attempt.number > 0:
            raise ZeroDivisionError("the hook broke")

    server.handle("/", handler)
    store = AsyncMemoryStore()
    es = combo.source(
        server.url("/"), retry=0.01, prepare_request=refuse_reconnect, last_event_id_store=store
    )
    got: list[str] = []
    with anyio.fail_after(LIMIT), pytest.raises(ZeroDivisionError, match="the hook broke"):
        async for event in es:
            got.append(event.data)
    assert got == ["a"]
    # "2" (the id-only block's) was saved beside the reconnection the hook refused.
    assert store.saves == ["1", "2"]
    assert es.readyState is ReadyState.CLOSED


async def test_aclose_from_another_task_saves_no_id_of_an_event_still_being_handled(
    combo: Combo, server: LoopbackServer
) -> None:
    # The reading task holds event "2" when another task closes: "2" is not
    # handled yet, so aclose() saves "1" (what the reader came back for); once
    # the reader comes back, its iteration ends and saves "2".
    server.handle("/two", lambda request: sse(request, numbered(1, 2)))
    store = AsyncMemoryStore()
    es = combo.source(server.url("/two"), last_event_id_store=store)
    holding = anyio.Event()
    release = anyio.Event()

    async def read() -> None:
        async for event in es:
            if event.data == "2":
                holding.set()
                await release.wait()  # still handling "2"

    with anyio.fail_after(LIMIT):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(read)
            await holding.wait()
            await es.aclose()
            assert store.value == "1"
            release.set()
    assert store.value == "2"
