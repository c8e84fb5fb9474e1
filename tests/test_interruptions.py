"""Who ends a cut read: the driver tells the connection, the connection decides.

A timeout that cuts the read of a one-shot stream (``reconnect=False``) on a
transport that cannot go on with it ends the stream (tests/test_cancel_keeps_reading.py);
``restart()`` is the caller asking for a new request, so it reconnects even a
one-shot stream, with ``Last-Event-ID``, and raises nothing. Real servers on
127.0.0.1, every combo (aiohttp on asyncio, httpx on asyncio and on trio).
"""

from __future__ import annotations

import anyio
import pytest
from aiohttp import web

from eventsource import MessageEvent, ReadyState, RetryPolicy, TransportError

from ._fixtures import FAST, LIMIT, Combo
from ._fixtures import anyio_backend as anyio_backend
from ._fixtures import combo as combo
from ._fixtures import server as server
from ._servers import LoopbackServer, open_stream, sse, stalled_port
from .test_cancel_keeps_reading import resuming

pytestmark = pytest.mark.anyio


async def test_restart_while_a_one_shot_stream_reads_requests_it_again(
    combo: Combo, server: LoopbackServer
) -> None:
    server.handle("/paced", resuming(3, pause=LIMIT))
    got: list[MessageEvent] = []

    async def read_one() -> None:
        got.append(await anext(es))

    async with combo.source(server.url("/paced"), reconnect=False, **FAST) as es:
        with anyio.fail_after(LIMIT):
            await read_one()
            async with anyio.create_task_group() as tg:
                tg.start_soon(read_one)
                await anyio.sleep(0.1)  # the read waits for event 2
                es.restart()
        assert [event.data for event in got] == ["event 1", "event 2"]
        assert es.readyState is ReadyState.OPEN
    assert [request.headers.get("Last-Event-ID") for request in server.requests] == [None, "1"]


async def test_a_timeout_while_a_one_shot_post_waits_for_its_answer_never_sends_it_twice(
    combo: Combo, server: LoopbackServer
) -> None:
    # The server has the POST and answers late (an LLM thinking): a timeout
    # around the first anext() cuts the wait for the headers. The request may
    # have run: a one-shot stream is not requested again, the next call raises.
    async def late(request: web.Request) -> web.StreamResponse:
        await server.wait_gate("answer")
        return await sse(request, b"data: done\n\n")

    server.handle("/late", late)
    es = combo.source(server.url("/late"), method="POST", body=b"{}", reconnect=False, **FAST)
    async with es:
        with anyio.fail_after(LIMIT), anyio.CancelScope() as scope:

            async def cut_once_the_server_has_it() -> None:
                while not server.requests:
                    await anyio.sleep(0.01)
                scope.cancel()  # a timeout around anext(), at a moment we know

            async with anyio.create_task_group() as tasks:
                tasks.start_soon(cut_once_the_server_has_it)
                await anext(es)
        assert scope.cancelled_caught
        server.open_gate("answer")
        with anyio.fail_after(LIMIT), pytest.raises(TransportError) as caught:
            await anext(es)
        assert "reconnect=False" in str(caught.value)
        assert es.readyState is ReadyState.CLOSED
    assert [request.method for request in server.requests] == ["POST"]


async def test_timeouts_that_cut_the_wait_for_an_answer_back_off_instead_of_asking_every_tick(
    combo: Combo, server: LoopbackServer
) -> None:
    # A bot ticking with a timeout around anext() against a server slower than
    # the tick: each cut attempt counts as a failed one, so the next waits the
    # backoff delay (0.4 s, then 0.8 s) instead of asking again at every tick.
    async def slow(request: web.Request) -> web.StreamResponse:
        if not await server.wait_gate("fast"):
            return web.Response(status=503)
        return await sse(request, b"data: at last\n\n")

    server.handle("/slow", slow)
    errors: list[object] = []
    policy = RetryPolicy(backoff_factor=2.0, jitter=0.0, min_retry=0.0)
    es = combo.source(server.url("/slow"), retry=0.4, retry_policy=policy)
    es.onerror = errors.append
    async with es:
        for _ in range(8):  # 8 ticks of 0.2 s: 1.6 s
            with anyio.move_on_after(0.2) as tick:
                await anext(es)
            assert tick.cancelled_caught
        # Asked at 0 s, 0.6 s (0.2 + 0.4), and not again before 1.6 s (0.8 +
        # 0.8): not at every tick (8 requests before). A slow machine may cut
        # the second before it reaches the server.
        assert 1 <= len(server.requests) <= 3
        assert errors == []  # the caller's timeouts are not the server's errors
        server.open_gate("fast")
        with anyio.fail_after(LIMIT):
            assert (await anext(es)).data == "at last"


async def test_a_request_that_only_had_what_the_wait_left_of_a_tick_is_not_a_failure(
    combo: Combo, server: LoopbackServer
) -> None:
    # The first answer is slow, the others at once. A backoff wait that ends
    # as a tick does leaves the request after it cut at once, with no real
    # chance: it must not count as one more failure (spending the budget of
    # two reconnections on such cuts failed the stream), and the next tick
    # reaches the server.
    async def first_slow(request: web.Request) -> web.StreamResponse:
        if len(server.requests) == 1 and not await server.wait_gate("never"):
            return web.Response(status=503)
        return await sse(request, b"data: at last\n\n")

    server.handle("/slow", first_slow)
    policy = RetryPolicy(backoff_factor=2.0, jitter=0.0, min_retry=0.0, max_reconnects=2)
    es = combo.source(server.url("/slow"), retry=0.4, retry_policy=policy)
    got: list[str] = []
    async with es:
        for _ in range(20):  # ticks of 0.2 s: each wait ends as a tick does
            with anyio.move_on_after(0.2):
                got.append((await anext(es)).data)
                break
    assert got == ["at last"]


async def test_a_cut_before_a_one_shot_request_was_sent_sends_it_once_later(
    combo: Combo, server: LoopbackServer
) -> None:
    # A poll timeout of 0 cuts the connect itself: the transports we make say
    # when the headers go out, and none had, so the stream goes on (it ended
    # with "the server may have run it" before, though the server had nothing).
    server.handle("/once", lambda request: sse(request, b"data: done\n\n"))
    es = combo.source(server.url("/once"), method="POST", body=b"{}", reconnect=False, **FAST)
    async with es:
        with anyio.move_on_after(0) as scope:
            await anext(es)
        assert scope.cancelled_caught
        assert server.requests == []
        with anyio.fail_after(LIMIT):
            assert (await anext(es)).data == "done"
    assert [request.method for request in server.requests] == ["POST"]


@pytest.mark.parametrize("reconnect", [True, False])
async def test_timeouts_shorter_than_the_connect_back_off_and_end_past_the_budget(
    combo: Combo, reconnect: bool
) -> None:
    # A port whose connections never complete, ticks of 0.1 s: each cut of the
    # connect counts as a failed attempt, so the stream ends past its budget
    # instead of connecting again at every tick, for ever (nothing was sent:
    # a one-shot stream is not ended by the first cut).
    policy = RetryPolicy(backoff_factor=2.0, jitter=0.0, min_retry=0.0, max_reconnects=2)
    with stalled_port() as port:
        es = combo.source(
            f"http://127.0.0.1:{port}/", retry=0.05, retry_policy=policy, reconnect=reconnect
        )
        async with es:
            with pytest.raises(TransportError) as caught:
                for _ in range(40):
                    with anyio.move_on_after(0.1):
                        await anext(es)
    assert "no answer before a cancel" in str(caught.value)


async def test_restart_delivers_every_event_of_the_read_it_interrupts(
    combo: Combo, server: LoopbackServer
) -> None:
    # "Events already received are delivered first": a read of ~35 KB is decoded
    # a slice at a time, and restart() after its first event dropped the rest of
    # it, bytes already off the socket (1,029 of 2,000 events lost here).
    burst = b"".join(b"data: burst %d\n\n" % n for n in range(2_000))
    assert 32 * 1024 < len(burst) < 64 * 1024  # more than a slice (32 KiB), one read

    async def handler(request: web.Request) -> web.StreamResponse:
        if len(server.requests) > 1:
            return await sse(request, b"data: second\n\n")
        response = await open_stream(request)
        await response.write(b"data: first\n\n")
        await anyio.sleep(0.2)  # the client waits for all of the burst (below)
        await response.write(burst)
        await anyio.sleep(LIMIT)
        return response

    server.handle("/", handler)
    got: list[str] = []
    async with combo.source(server.url("/"), **FAST) as es:
        with anyio.fail_after(LIMIT):
            got.append((await anext(es)).data)
            await anyio.sleep(0.5)  # the burst arrives: the next read takes it whole
            async for event in es:
                got.append(event.data)
                if event.data == "burst 0":
                    es.restart()
                if event.data == "second":
                    break
    assert got == ["first", *(f"burst {n}" for n in range(2_000)), "second"]
    assert len(server.requests) == 2
