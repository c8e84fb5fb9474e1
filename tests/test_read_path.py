"""The read path's guarantees: wire order, cancellation at any await, close from anywhere.

Each test runs on every combo (aiohttp on asyncio, httpx on asyncio and on
trio) against real servers on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import anyio
import anyio.lowlevel
import httpx
import pytest
from aiohttp import web

from eventsource import ErrorEvent, EventSource, MessageEvent, ReadyState
from eventsource.sentinels import is_done
from eventsource.testing import RecordedRequest

from ._fixtures import LIMIT, Combo, eventually
from ._fixtures import anyio_backend as anyio_backend
from ._fixtures import combo as combo
from ._fixtures import server as server
from ._servers import LoopbackServer, open_stream, sse

pytestmark = pytest.mark.anyio


def quiet_after(first: bytes, seconds: float = 5.0) -> Any:
    """A handler: ``first``, then nothing for ``seconds`` (bounded), then the end."""

    async def handler(request: web.Request) -> web.StreamResponse:
        response = await open_stream(request)
        await response.write(first)
        with contextlib.suppress(ConnectionError):
            await asyncio.sleep(seconds)
        return response

    return handler


def first_quiet_then_second() -> Any:
    """A handler: ``first`` (id 1), a quiet moment, ``second`` (id 2), then quiet; a
    request with ``Last-Event-ID: 1`` gets ``second`` at once."""

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.headers.get("Last-Event-ID") == "1":
            return await quiet_after(b"id: 2\ndata: second\n\n")(request)
        response = await open_stream(request)
        await response.write(b"id: 1\ndata: first\n\n")
        with contextlib.suppress(ConnectionError):
            await asyncio.sleep(0.6)
            await response.write(b"id: 2\ndata: second\n\n")
            await asyncio.sleep(5)
        return response

    return handler


def check_kept_or_resumed(transport: str, requests: list[RecordedRequest]) -> None:
    """aiohttp read on over the same connection; httpx reconnected with Last-Event-ID."""
    if transport == "aiohttp":  # the cancelled read was only waiting: nothing was lost
        assert len(requests) == 1
    else:  # httpcore closes a body whose read is cancelled
        assert requests[1].headers["Last-Event-ID"] == "1"


async def test_a_comment_between_two_events_of_one_read_reaches_listeners_in_wire_order(
    combo: Combo, server: LoopbackServer
) -> None:
    server.handle("/", lambda request: sse(request, b"data: a\n\n: ping\ndata: b\n\n"))
    heard: list[str] = []
    es = combo.source(server.url("/"), reconnect=False)
    es.on_comment = lambda text: heard.append(f"comment {text}")
    es.onmessage = lambda event: heard.append(f"message {event.data}")
    with anyio.fail_after(LIMIT):
        await es.run()
    assert heard == ["message a", "comment ping", "message b"]


async def test_async_for_hands_out_a_comment_between_events_of_one_read_in_wire_order(
    combo: Combo, server: LoopbackServer
) -> None:
    # The events before the comment go out together (no check between them);
    # the comment cuts that run where it stands on the wire.
    body = b"data: a\n\ndata: b\n\n: ping\ndata: c\n\ndata: d\n\n"
    server.handle("/", lambda request: sse(request, body))
    heard: list[str] = []
    async with combo.source(server.url("/"), reconnect=False) as es:
        es.on_comment = lambda text: heard.append(f"comment {text}")
        with anyio.fail_after(LIMIT):
            async for event in es:
                heard.append(f"message {event.data}")
    assert heard == ["message a", "message b", "comment ping", "message c", "message d"]


class CountingItems(list):  # type: ignore[type-arg]
    """A Delivery's list of items that counts the items each scan over it looks at."""

    looked = 0

    def __iter__(self) -> Iterator[Any]:
        for item in super().__iter__():
            self.looked += 1
            yield item

    def __reversed__(self) -> Iterator[Any]:  # the front is at the end
        for item in super().__reversed__():
            self.looked += 1
            yield item

    def __getitem__(self, index: Any) -> Any:  # a slice copies what it takes
        taken = super().__getitem__(index)
        self.looked += len(taken) if isinstance(index, slice) else 1
        return taken


@pytest.mark.parametrize("run", [1, 3], ids=["1 event", "3 events"])
@pytest.mark.parametrize("way", ["async for", "batches"])
async def test_events_between_comments_are_handed_out_looking_at_each_item_a_few_times(
    combo: Combo, server: LoopbackServer, way: str, run: int
) -> None:
    # Events with a comment after each `run` of them (it has a listener: a batch
    # ends at each). A step may look ahead as far as the next comment, not at
    # the whole rest of the read each time: that work grew with the read's size
    # squared (a 32 KiB slice holds up to ~6,000 items). Counted, not timed: the
    # items the delivery's scans look at (~1,000,000 here, for 2,000-4,000 items).
    runs = 1000
    body = (b"data: x\n\n" * run + b":\n") * runs
    server.handle("/", lambda request: sse(request, body))
    events = comments = 0

    def heard(text: str) -> None:
        nonlocal comments
        comments += 1

    async with combo.source(server.url("/"), reconnect=False) as es:
        es.on_comment = heard
        items = aiter(es).items = CountingItems()  # what aiter() gives: the delivery
        with anyio.fail_after(LIMIT):
            if way == "async for":
                async for _ in es:
                    events += 1
            else:
                async for batch in es.batches():
                    events += len(batch)
    assert (events, comments) == (run * runs, runs)
    assert items.looked <= 4 * (events + comments)


async def test_batches_after_a_break_from_async_for_go_on_with_the_rest_of_the_read(
    combo: Combo, server: LoopbackServer
) -> None:
    body = b"".join(b"id: %d\ndata: %d\n\n" % (i, i) for i in range(6))
    server.handle("/", lambda request: sse(request, body))
    firsts: list[tuple[str, str]] = []
    async with combo.source(server.url("/"), reconnect=False) as es:
        with anyio.fail_after(LIMIT):
            async for event in es:
                firsts.append((event.data, es.lastEventId))
                if len(firsts) == 2:
                    break
            assert es.lastEventId == "1"
            batches = [[event.data for event in batch] async for batch in es.batches()]
    assert firsts == [("0", "0"), ("1", "1")]
    assert batches == [["2", "3", "4", "5"]]
    assert es.lastEventId == "5"


async def test_a_timeout_around_anext_in_a_quiet_moment_does_not_end_the_stream(
    combo: Combo, server: LoopbackServer
) -> None:
    server.handle("/", first_quiet_then_second())
    async with combo.source(server.url("/"), retry=0.01) as es:
        iterator = aiter(es)
        with anyio.fail_after(LIMIT):
            assert (await anext(iterator)).data == "first"
        with anyio.move_on_after(0.3) as scope:
            await anext(iterator)  # nothing comes: the timeout cancels the read
        assert scope.cancelled_caught
        assert es.readyState is not ReadyState.CLOSED
        with anyio.fail_after(LIMIT):
            event = await anext(iterator)  # goes on
    assert event.data == "second"
    check_kept_or_resumed(combo.transport, server.requests)


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_asyncio_wait_for_around_anext_then_the_stream_goes_on(
    server: LoopbackServer,
) -> None:
    # The pattern of agent frameworks, on asyncio's own timeout.
    for transport in ("aiohttp", "httpx"):
        before = len(server.requests)
        server.handle("/", first_quiet_then_second())
        with anyio.fail_after(LIMIT):
            async with EventSource(server.url("/"), transport=transport, retry=0.01) as es:
                iterator = aiter(es)
                assert (await anext(iterator)).data == "first"
                with pytest.raises(asyncio.TimeoutError):
                    await asyncio.wait_for(anext(iterator), 0.3)
                assert (await anext(iterator)).data == "second"
        check_kept_or_resumed(transport, server.requests[before:])


async def test_aclose_from_another_task_while_one_waits_in_async_for(
    combo: Combo, server: LoopbackServer
) -> None:
    server.handle("/", quiet_after(b"data: first\n\n"))
    seen: list[str] = []
    es = combo.source(server.url("/"))

    async def consume() -> None:
        async for event in es:
            seen.append(event.data)

    with anyio.fail_after(LIMIT):
        async with anyio.create_task_group() as tg:
            tg.start_soon(consume)
            await eventually(lambda: seen == ["first"])
            await anyio.sleep(0.05)  # the consumer waits in a read
            await es.aclose()  # must not raise; ends the consumer's loop
    assert es.readyState is ReadyState.CLOSED
    assert seen == ["first"]


async def test_close_during_the_reconnection_wait_from_another_task_ends_iteration(
    combo: Combo, server: LoopbackServer
) -> None:
    server.handle("/", lambda request: sse(request, b"data: only\n\n"))
    seen: list[str] = []
    es = combo.source(server.url("/"), retry=30.0)

    async def consume() -> None:
        async for event in es:
            seen.append(event.data)

    with anyio.fail_after(LIMIT):
        async with anyio.create_task_group() as tg:
            tg.start_soon(consume)
            await eventually(lambda: seen == ["only"])
            await anyio.sleep(0.05)  # the stream ended: the consumer sleeps 30 s
            es.close()
        await es.aclose()
    assert len(server.requests) == 1


async def test_a_cancelled_reconnection_wait_is_resumed_not_restarted(
    combo: Combo, server: LoopbackServer
) -> None:
    server.handle("/", lambda request: sse(request, b"id: 7\ndata: x\n\n"))
    async with combo.source(server.url("/"), retry=0.4) as es:
        with anyio.fail_after(LIMIT):
            assert (await es.__anext__()).data == "x"
        with anyio.move_on_after(0.2):
            await es.__anext__()  # the stream ended: cancelled during the 0.4 s wait
        assert len(server.requests) == 1
        with anyio.fail_after(LIMIT):
            assert (await es.__anext__()).data == "x"
    assert server.requests[1].headers["Last-Event-ID"] == "7"


async def test_batches_hand_out_the_events_of_each_read_in_order(
    combo: Combo, server: LoopbackServer
) -> None:
    first = b"".join(b"id: %d\ndata: %d\n\n" % (i, i) for i in range(5))

    async def handler(request: web.Request) -> web.StreamResponse:
        response = await open_stream(request)
        await response.write(first)
        await asyncio.sleep(0.1)  # a second read
        await response.write(b"data: last\n\n")
        return response

    server.handle("/", handler)
    batches: list[list[MessageEvent]] = []
    async with combo.source(server.url("/"), reconnect=False) as es:
        with anyio.fail_after(LIMIT):
            async for batch in es.batches():
                batches.append(batch)
                if batch[0].data == "0":
                    assert es.lastEventId == "4"
    assert [[e.data for e in batch] for batch in batches] == [
        ["0", "1", "2", "3", "4"],
        ["last"],
    ]


async def test_batches_apply_the_predicates_and_stop_at_the_sentinel(
    combo: Combo, server: LoopbackServer
) -> None:
    body = b"data: a\n\ndata: b\n\ndata: [DONE]\n\ndata: never\n\n"
    server.handle("/", lambda request: sse(request, body))
    got: list[str] = []
    async with combo.source(server.url("/"), stop_when=lambda e: e.data == "[DONE]") as es:
        with anyio.fail_after(LIMIT):
            async for batch in es.batches():
                got += [event.data for event in batch]
    assert got == ["a", "b"]
    assert es.readyState is ReadyState.CLOSED


async def test_a_cancel_at_the_batch_checkpoint_loses_no_event(
    combo: Combo, server: LoopbackServer
) -> None:
    # One read: 1,100 events, a comment (which cuts the batch: it has a
    # listener), 100 more. The first batch spends more than the checkpoint
    # budget (1,024 events); the next call passes a checkpoint, cancelled here,
    # before it takes anything.
    first = b"".join(b"data: %d\n\n" % i for i in range(1100))
    rest = b"".join(b"data: %d\n\n" % i for i in range(1100, 1200))
    server.handle("/", lambda request: sse(request, first + b": ping\n" + rest))
    got: list[str] = []
    async with combo.source(server.url("/"), reconnect=False) as es:
        es.on_comment = lambda text: None
        batches = es.batches()
        with anyio.fail_after(LIMIT):
            got += [event.data for event in await anext(batches)]
            with anyio.CancelScope() as scope:
                scope.cancel()
                got += [event.data for event in await anext(batches)]
            got += [event.data for event in await anext(batches)]
    assert got == [str(i) for i in range(1200)]


# -- found in review: each of these failed on the first version of the redesign ----------


class Saved:
    """A last-event-id store that records each save."""

    def __init__(self) -> None:
        self.saved: list[str] = []

    def load(self) -> str | None:
        return None

    def save(self, last_event_id: str) -> None:
        self.saved.append(last_event_id)


@contextlib.asynccontextmanager
async def yours(combo: Combo) -> AsyncIterator[dict[str, Any]]:
    """The transport setting for a session or client of the user's, closed after."""
    if combo.transport == "aiohttp":
        async with aiohttp.ClientSession() as session:
            yield {"session": session}
    else:
        async with httpx.AsyncClient() as client:
            yield {"client": client}


async def test_a_timeout_during_the_drain_after_a_sentinel_still_ends_the_stream(
    combo: Combo, server: LoopbackServer
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        response = await open_stream(request)
        await response.write(b"id: 1\ndata: a\n\nid: 2\ndata: [DONE]\n\n")
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            await asyncio.sleep(3)  # the body stays open after the sentinel
        return response

    server.handle("/", handler)
    got: list[str] = []
    async with yours(combo) as settings:  # a pool that outlives the stream: it drains
        es = combo.source(server.url("/"), method="POST", body="q", stop_when=is_done, **settings)
        with anyio.fail_after(LIMIT):
            assert (await anext(es)).data == "a"
            with anyio.move_on_after(0.02):  # cancelled during the drain (0.1 s)
                got.append((await anext(es)).data)
            with pytest.raises(StopAsyncIteration):  # nothing after the sentinel, no new POST
                await anext(es)
        await es.aclose()
    assert got == []
    assert len(server.requests) == 1


async def test_a_timeout_while_an_error_body_is_read_keeps_the_decision(
    combo: Combo, server: LoopbackServer
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            status=503, headers={"Content-Type": "application/json", "Retry-After": "30"}
        )
        await response.prepare(request)
        await response.write(b'{"error": ')
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            await asyncio.sleep(3)  # the rest of the body never comes
        return response

    server.handle("/", handler)
    errors: list[ErrorEvent] = []
    es = combo.source(server.url("/"))
    es.onerror = errors.append
    with anyio.fail_after(LIMIT):
        for _ in range(3):
            with anyio.move_on_after(0.1):  # cancelled while the excerpt is read (0.25 s)
                await anext(es)
    await es.aclose()
    assert len(server.requests) == 1  # the Retry-After stands: no reconnect storm
    assert [(e.status, e.reconnecting) for e in errors] == [(503, True)]


async def test_the_store_never_saves_an_event_the_caller_did_not_handle(
    combo: Combo, server: LoopbackServer
) -> None:
    body = b"".join(b"id: %d\ndata: m%d\n\n" % (i, i) for i in range(1, 6))
    server.handle("/", lambda request: sse(request, body))
    store = Saved()
    es = combo.source(server.url("/"), last_event_id_store=store)
    with anyio.fail_after(LIMIT):
        async for event in es:
            if event.data == "m2":
                es.close()  # m3..m5 were read but are never handed out
    assert store.saved == ["1", "2"]
    assert es.lastEventId == "2"

    crashed = Saved()
    with pytest.raises(ZeroDivisionError), anyio.fail_after(LIMIT):
        async with combo.source(server.url("/"), last_event_id_store=crashed) as es:
            async for event in es:
                if event.data == "m2":
                    raise ZeroDivisionError  # m2 was not handled: it must come again
    assert crashed.saved == ["1"]


async def test_batches_save_the_store_once_each_batch_was_handled(
    combo: Combo, server: LoopbackServer
) -> None:
    body = b"id: 1\ndata: a\n\nid: 2\nevent: message_stop\ndata: b\n\n"
    server.handle("/", lambda request: sse(request, body))
    store = Saved()
    es = combo.source(
        server.url("/"), last_event_id_store=store, stop_after=lambda e: e.type == "message_stop"
    )
    with anyio.fail_after(LIMIT):
        async for _ in es.batches():
            pass
    assert store.saved == ["2"]


def reads_apart(*reads: bytes, gap: float = 0.3) -> Any:
    """A handler: each of ``reads`` written ``gap`` seconds after the one before, then the end."""

    async def handler(request: web.Request) -> web.StreamResponse:
        response = await open_stream(request)
        for index, data in enumerate(reads):
            if index:
                await asyncio.sleep(gap)  # a read of its own
            await response.write(data)
        return response

    return handler


async def test_batches_never_save_a_batch_the_caller_did_not_handle(
    combo: Combo, server: LoopbackServer
) -> None:
    # Two reads of three events each. A caller that fails on a batch has not
    # handled it: its IDs must come again after a restart, so none is saved.
    reads = [
        b"".join(b"id: %d\ndata: m%d\n\n" % (i, i) for i in ids) for ids in ((1, 2, 3), (4, 5, 6))
    ]
    server.handle("/", reads_apart(*reads))
    for failing_batch, handled in ((1, []), (2, ["3"])):
        store = Saved()
        seen = 0
        with pytest.raises(ZeroDivisionError), anyio.fail_after(LIMIT):
            async with combo.source(server.url("/"), last_event_id_store=store) as es:
                async for _batch in es.batches():
                    seen += 1
                    if seen == failing_batch:
                        await anyio.sleep(0.1)  # time enough for a save, were it due
                        raise ZeroDivisionError
        assert store.saved == handled


async def test_a_read_of_comments_alone_gives_no_empty_batch(
    combo: Combo, server: LoopbackServer
) -> None:
    # The second read is comments alone.
    server.handle("/", reads_apart(b"data: a\n\n", b": ping\n\n: ping\n\n", b"data: b\n\n"))
    for listening in (False, True):
        comments: list[str] = []
        batches: list[list[str]] = []
        async with combo.source(server.url("/"), reconnect=False) as es:
            if listening:
                es.on_comment = comments.append
            with anyio.fail_after(LIMIT):
                async for batch in es.batches():
                    batches.append([event.data for event in batch])
        assert batches == [["a"], ["b"]]
        assert comments == (["ping", "ping"] if listening else [])


@pytest.mark.parametrize("how", ["close", "aclose"])
async def test_close_from_another_task_while_batches_waits_on_the_network(
    combo: Combo, server: LoopbackServer, how: str
) -> None:
    server.handle("/", quiet_after(b"id: 1\ndata: first\n\n"))
    batches: list[list[str]] = []
    es = combo.source(server.url("/"))
    first = anyio.Event()
    with anyio.fail_after(LIMIT):
        async with anyio.create_task_group() as tg:

            async def close_soon() -> None:
                await first.wait()
                await anyio.sleep(0.2)  # the reader waits for the next read by then
                if how == "close":
                    es.close()
                else:
                    await es.aclose()

            tg.start_soon(close_soon)
            async for batch in es.batches():
                batches.append([event.data for event in batch])
                first.set()
        await es.aclose()
    assert batches == [["first"]]
    assert es.readyState is ReadyState.CLOSED
    assert len(server.requests) == 1


async def test_a_predicate_set_by_a_listener_hands_out_no_event_twice(
    combo: Combo, server: LoopbackServer
) -> None:
    body = b": arm\n\ndata: a\n\ndata: STOP\n\ndata: b\n\n"
    server.handle("/", lambda request: sse(request, body))
    es = combo.source(server.url("/"), reconnect=False)

    def arm(text: str) -> None:
        es.stop_when = lambda event: event.data == "STOP"

    es.on_comment = arm
    got: list[str] = []
    with anyio.fail_after(LIMIT):
        async for event in es:
            got.append(event.data)
    assert got == ["a"]


async def test_a_second_reader_does_not_close_the_first_ones_stream(
    combo: Combo, server: LoopbackServer
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        response = await open_stream(request)
        await response.write(b"".join(b"data: %d\n\n" % i for i in range(70)))
        await asyncio.sleep(0.3)
        await response.write(b"data: next\n\n")
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            await asyncio.sleep(3)
        return response

    server.handle("/", handler)
    results: dict[str, str] = {}

    async def read(name: str) -> None:
        try:
            results[name] = (await anext(es)).data
        except RuntimeError as exc:
            results[name] = str(exc)

    async with combo.source(server.url("/")) as es:
        with anyio.fail_after(LIMIT):
            for _ in range(70):  # past the checkpoint budget: the next read checkpoints
                await anext(es)
            async with anyio.create_task_group() as tg:
                tg.start_soon(read, "first")
                await anyio.lowlevel.checkpoint()
                tg.start_soon(read, "second")
        assert es.readyState is ReadyState.OPEN
    assert results == {
        "first": "next",
        "second": "this EventSource is already being read by another task",
    }


async def test_aclose_from_inside_prepare_request_returns_at_once_and_sends_nothing(
    combo: Combo, server: LoopbackServer
) -> None:
    server.handle("/", lambda request: sse(request, b"data: a\n\n"))

    async def give_up(attempt: Any) -> None:
        await es.aclose()

    es = combo.source(server.url("/"), prepare_request=give_up)
    with anyio.fail_after(1), pytest.raises(StopAsyncIteration):
        await anext(es)
    assert server.requests == []
    assert es.readyState is ReadyState.CLOSED
