"""A timeout around ``anext()`` while the stream is quiet keeps the connection (aiohttp).

The pattern of agent frameworks and bots with periodic housekeeping::

    while True:
        try:
            event = await asyncio.wait_for(anext(es), timeout=0.5)
        except asyncio.TimeoutError:
            continue

Each timeout cancels a read that is only waiting for bytes. On aiohttp, whose
reads survive that, the next ``anext()`` reads on from the same response: one
connection for the whole run, every event once, in order, and ``readyState``
OPEN after each timeout. On httpx a cancelled read breaks the body (httpcore
closes it), so the stream reconnects with ``Last-Event-ID``: every event once
all the same, from a server that resumes. Real servers on 127.0.0.1, every
combo (aiohttp on asyncio, httpx on asyncio and on trio).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import sys
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import pytest
from aiohttp import web

from eventsource import EventSource, ReadyState, RetryPolicy, TransportError

from ._fixtures import FAST, LIMIT, Combo
from ._fixtures import anyio_backend as anyio_backend
from ._fixtures import combo as combo
from ._fixtures import server as server
from ._servers import LoopbackServer, drop, open_stream

pytestmark = pytest.mark.anyio

#: Events of the paced stream, and the quiet moment after each.
EVENTS = 6
PAUSE = 0.15
#: The caller's timeout around anext(): several in each quiet moment.
TIMEOUT = 0.04


def resuming(total: int, pause: float = 0.0, burst: int = 1) -> Callable[[web.Request], Any]:
    """A handler: events ``1..total`` after ``Last-Event-ID``, ``burst`` per write,
    ``pause`` seconds after each write; then it holds the stream open (bounded)."""

    async def handler(request: web.Request) -> web.StreamResponse:
        after = int(request.headers.get("Last-Event-ID", "0"))
        response = await open_stream(request)
        with contextlib.suppress(ConnectionError):
            for start in range(after + 1, total + 1, burst):
                stop = min(start + burst, total + 1)
                await response.write(
                    b"".join(b"id: %d\ndata: event %d\n\n" % (i, i) for i in range(start, stop))
                )
                await asyncio.sleep(pause)
            await asyncio.sleep(LIMIT)
        return response

    return handler


def expected(total: int) -> list[tuple[str, str]]:
    return [(str(i), f"event {i}") for i in range(1, total + 1)]


def keeps_reading(combo: Combo) -> bool:
    """Whether a read cancelled while it waits leaves the connection open on this combo."""
    return combo.transport == "aiohttp"


@contextlib.asynccontextmanager
async def paced_source(combo: Combo, server: LoopbackServer) -> AsyncIterator[EventSource]:
    server.handle("/paced", resuming(EVENTS, PAUSE))
    async with combo.source(server.url("/paced"), **FAST) as es:
        yield es


def check_the_run(
    combo: Combo,
    server: LoopbackServer,
    seen: list[tuple[str, str]],
    states: list[ReadyState],
) -> None:
    assert seen == expected(EVENTS)  # every event exactly once, in order
    assert len(states) >= EVENTS - 1  # the caller timed out in every quiet moment
    if keeps_reading(combo):
        assert len(server.requests) == 1
        assert set(states) == {ReadyState.OPEN}
    else:  # httpx: each timeout dropped the connection; each reconnect resumed
        assert len(server.requests) > 1
        assert ReadyState.CONNECTING in states
        resumed = [r.headers.get("Last-Event-ID") for r in server.requests[1:]]
        assert all(value is not None for value in resumed)


async def test_anyio_move_on_after_around_anext(combo: Combo, server: LoopbackServer) -> None:
    seen: list[tuple[str, str]] = []
    states: list[ReadyState] = []
    async with paced_source(combo, server) as es:
        with anyio.fail_after(LIMIT):
            while len(seen) < EVENTS:
                with anyio.move_on_after(TIMEOUT) as scope:
                    event = await anext(es)
                    seen.append((event.last_event_id, event.data))
                if scope.cancelled_caught:
                    states.append(es.readyState)
    check_the_run(combo, server, seen, states)


@pytest.mark.parametrize("style", ["wait_for", "timeout"])
async def test_asyncio_timeouts_around_anext(
    combo: Combo, server: LoopbackServer, style: str
) -> None:
    if combo.backend != "asyncio":
        pytest.skip("asyncio's own timeouts")
    if style == "timeout" and sys.version_info < (3, 11):
        pytest.skip("asyncio.timeout is new in Python 3.11")
    seen: list[tuple[str, str]] = []
    states: list[ReadyState] = []
    async with paced_source(combo, server) as es:
        with anyio.fail_after(LIMIT):
            while len(seen) < EVENTS:
                try:
                    if style == "wait_for":  # the user's pattern, as reported
                        event = await asyncio.wait_for(anext(es), timeout=TIMEOUT)
                    else:
                        async with asyncio.timeout(TIMEOUT):
                            event = await anext(es)
                except asyncio.TimeoutError:
                    states.append(es.readyState)
                    continue
                seen.append((event.last_event_id, event.data))
    check_the_run(combo, server, seen, states)


async def test_batches_under_a_timeout_keep_the_connection(
    combo: Combo, server: LoopbackServer
) -> None:
    seen: list[tuple[str, str]] = []
    states: list[ReadyState] = []
    async with paced_source(combo, server) as es:
        batches = es.batches()
        with anyio.fail_after(LIMIT):
            while len(seen) < EVENTS:
                with anyio.move_on_after(TIMEOUT) as scope:
                    batch = await anext(batches)
                    seen.extend((event.last_event_id, event.data) for event in batch)
                if scope.cancelled_caught:
                    states.append(es.readyState)
    check_the_run(combo, server, seen, states)


async def test_cancels_landing_anywhere_while_a_burst_is_handed_out_lose_nothing(
    combo: Combo, server: LoopbackServer
) -> None:
    # Bursts of 2,000 small events (about 50 KiB a write: reads bigger than
    # the driver's 32 KiB slice, so a backlog is held), and more than 64 per
    # read (the hand-out's checkpoints). Deadlines of 0 to 2 ms cancel
    # anext() at its awaits: the checkpoints, the read, the wait for bytes.
    # The first event comes with no deadline: one cut while connecting (a slow
    # connect, under load) would rightly send the request again.
    total = 12_000
    server.handle("/burst", resuming(total, pause=0.02, burst=2_000))
    rng = random.Random(14)
    seen: list[str] = []
    cancels = 0
    async with combo.source(server.url("/burst"), **FAST) as es:
        with anyio.fail_after(4 * LIMIT):
            seen.append((await anext(es)).last_event_id)
            while len(seen) < total:
                with anyio.move_on_after(rng.choice((0, 0, 0.0001, 0.0005, 0.002))) as scope:
                    seen.append((await anext(es)).last_event_id)
                cancels += scope.cancelled_caught
    # At the reads, the waits and the checkpoints between reads: 28-61 measured,
    # 4 on a machine running two test suites at once (fewer, longer reads).
    assert cancels >= 2
    assert seen == [str(i) for i in range(1, total + 1)]
    if keeps_reading(combo):
        assert len(server.requests) == 1


async def test_a_cancel_while_connecting_still_resumes_with_last_event_id(
    combo: Combo, server: LoopbackServer
) -> None:
    # Cancelled before the response's headers came: that attempt is given up,
    # and the next anext() connects again at once, with Last-Event-ID.
    calls = 0

    async def slow_second(request: web.Request) -> web.StreamResponse:
        nonlocal calls
        calls += 1
        if calls == 2:
            await asyncio.sleep(LIMIT)  # the headers never come (bounded)
        after = int(request.headers.get("Last-Event-ID", "0"))
        response = await open_stream(request)
        await response.write(b"id: %d\ndata: event %d\n\n" % (after + 1, after + 1))
        return response  # the end of the stream: reconnect

    server.handle("/slow", slow_second)
    async with combo.source(server.url("/slow"), **FAST) as es:
        with anyio.fail_after(LIMIT):
            assert (await anext(es)).data == "event 1"
        with anyio.move_on_after(0.3) as scope:
            await anext(es)  # the stream ended; the reconnection hangs
        assert scope.cancelled_caught
        assert es.readyState is ReadyState.CONNECTING
        with anyio.fail_after(LIMIT):
            assert (await anext(es)).data == "event 2"
    assert [r.headers.get("Last-Event-ID") for r in server.requests] == [None, "1", "1"]


async def test_close_and_restart_still_drop_a_read_that_waits(
    combo: Combo, server: LoopbackServer
) -> None:
    # close() and restart() from another task cancel the read too: they, unlike
    # a caller's timeout, let go of the response.
    server.handle("/paced", resuming(3, pause=LIMIT))
    es = combo.source(server.url("/paced"), **FAST)
    with anyio.fail_after(LIMIT):
        assert (await anext(es)).data == "event 1"
        async with anyio.create_task_group() as tg:
            tg.start_soon(anext, es)
            await anyio.sleep(0.1)  # the read waits
            es.restart()
        assert len(server.requests) == 2  # restarted at once, and read event 2
        assert server.requests[1].headers["Last-Event-ID"] == "1"

        async def read_on() -> None:
            with pytest.raises(StopAsyncIteration):
                await anext(es)

        async with anyio.create_task_group() as tg:
            tg.start_soon(read_on)
            await anyio.sleep(0.1)
            es.close()
    assert es.readyState is ReadyState.CLOSED
    await es.aclose()


class GatedStore:
    """An async store whose saves wait for ``gate``."""

    def __init__(self) -> None:
        self.gate = anyio.Event()
        self.saves: list[str] = []

    async def load(self) -> str | None:
        return None

    async def save(self, last_event_id: str) -> None:
        await self.gate.wait()
        self.saves.append(last_event_id)


async def test_a_cancel_while_a_save_beside_the_read_ends_keeps_the_read_s_events(
    combo: Combo, server: LoopbackServer
) -> None:
    # The read returns events 4 and 5 while the save of "3" beside it still
    # waits; the caller's timeout then cancels the wait for that save. The
    # events were read from the connection: they must still come out.
    async def handler(request: web.Request) -> web.StreamResponse:
        response = await open_stream(request)
        await response.write(b"".join(b"id: %d\ndata: %d\n\n" % (i, i) for i in (1, 2, 3)))
        if await server.wait_gate("more"):
            await response.write(b"id: 4\ndata: 4\n\nid: 5\ndata: 5\n\n")
        await response.write_eof()
        return response

    server.handle("/held", handler)
    store = GatedStore()
    es = combo.source(server.url("/held"), reconnect=False, last_event_id_store=store)
    with anyio.fail_after(LIMIT):
        got = [(await anext(es)).data for _ in range(3)]
    server.open_gate("more")
    with anyio.move_on_after(0.3) as scope:
        got.append((await anext(es)).data)  # saves "3" beside the read: held
    assert scope.cancelled_caught
    store.gate.set()
    with anyio.fail_after(LIMIT):
        got += [event.data async for event in es]
    assert got == ["1", "2", "3", "4", "5"]
    assert len(server.requests) == 1
    assert store.saves[-1] == "5"


async def test_a_timeout_on_a_one_shot_post_never_sends_it_twice(
    combo: Combo, server: LoopbackServer
) -> None:
    # reconnect=False, a POST: a timeout that cuts the read either keeps it
    # (aiohttp) or ends the stream with an error; never a second request
    # (it re-sent the POST and lost the rest of the first answer on httpx).
    answers = iter([b"id: 1\ndata: a\n\n", b"id: 9\ndata: SECOND\n\n"])

    async def handler(request: web.Request) -> web.StreamResponse:
        response = await open_stream(request)
        await response.write(next(answers))
        await asyncio.sleep(0.3)
        with contextlib.suppress(ConnectionError):
            await response.write(b"id: 2\ndata: b\n\n")
        return response

    server.handle("/", handler)
    got: list[str] = []
    error: Exception | None = None
    es = combo.source(server.url("/"), method="POST", body=b"{}", reconnect=False)
    async with es:
        with anyio.fail_after(LIMIT):
            while True:
                with anyio.move_on_after(0.1):
                    try:
                        got.append((await anext(es)).data)
                    except StopAsyncIteration:
                        break
                    except TransportError as exc:
                        error = exc
                        break
    assert [request.method for request in server.requests] == ["POST"]
    if keeps_reading(combo):
        assert (got, error) == (["a", "b"], None)
    else:
        assert got == ["a"]
        assert error is not None
        assert "reconnect=False" in str(error)


class SlowSaves:
    """A blocking store whose saves take a while (a slow disk)."""

    def __init__(self) -> None:
        self.saved: list[str] = []

    def load(self) -> str | None:
        return None

    def save(self, last_event_id: str) -> None:
        time.sleep(0.4)
        self.saved.append(last_event_id)


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_timeout_while_a_failed_stream_ends_keeps_its_error_for_the_next_call(
    server: LoopbackServer,
) -> None:
    # asyncio.wait_for's cancel reaches through anyio's shields: landing while
    # the end of a failed stream waits for the store, it dropped the End, and
    # the next anext() stopped as if the stream had ended well.
    async def handler(request: web.Request) -> web.StreamResponse:
        response = await open_stream(request)
        await response.write(b"id: 1\ndata: one\n\nid: 2\ndata: two\n\n")
        await asyncio.sleep(0.1)
        drop(request)
        return response

    server.handle("/", handler)
    store = SlowSaves()
    es = EventSource(server.url("/"), reconnect=False, last_event_id_store=store)
    async with es:
        with anyio.fail_after(LIMIT):
            assert [(await anext(es)).data for _ in range(2)] == ["one", "two"]
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(anext(es), 0.2)  # the save of "2" takes 0.4 s
            with pytest.raises(TransportError):
                await anext(es)
    assert store.saved[-1] == "2"


async def test_timeouts_shorter_than_the_answer_say_so_in_a_warning(
    combo: Combo, server: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    # A timeout around anext() shorter than the server takes to answer cuts
    # every attempt before its answer, so the stream never opens; each cut is
    # a failed attempt (backoff), which was logged at INFO only: a silent loop.
    # From the second in a row a WARNING names the likely cause.
    async def slow_headers(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(0.1)
        response = await open_stream(request)
        await response.write(b"data: late\n\n")
        return response

    server.handle("/slow", slow_headers)
    policy = RetryPolicy(backoff_factor=1.0, max_backoff=0.01, jitter=0.0)
    caplog.set_level(logging.INFO, logger="eventsource")
    async with combo.source(server.url("/slow"), retry=0.01, retry_policy=policy) as es:
        with anyio.fail_after(LIMIT):
            while len(server.requests) < 3:
                with anyio.move_on_after(0.03):
                    await anext(es)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings
    assert "timeout around anext() shorter than the server takes to answer" in (
        warnings[0].getMessage()
    )
    assert "2 attempts in a row" in warnings[0].getMessage()
