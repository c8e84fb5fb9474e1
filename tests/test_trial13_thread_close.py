"""close() of the async EventSource from another thread, while its loop reads (new-user trial 13).

A bot's admin or shutdown thread called ``es.close()`` while ``async for``
waited in the event loop's thread. anyio raised ``RuntimeError: no running
event loop`` in that thread (asyncio) after the EventSource had been marked
closed: the loop read on, a half-closed stream. Now the call is refused before
it changes anything, with a message that says how to do it, and the stream is
left as it was.
"""

from __future__ import annotations

import gc
import threading
import warnings
from collections.abc import Callable

import anyio
import pytest
from aiohttp import web

from eventsource import EventSource, ReadyState

from ._fixtures import FAST, LIMIT, Combo
from ._fixtures import anyio_backend as anyio_backend
from ._fixtures import combo as combo
from ._fixtures import server as server
from ._servers import LoopbackServer, open_stream


async def one_event_then_silence(request: web.Request) -> web.StreamResponse:
    response = await open_stream(request)
    await response.write(b"id: 1\ndata: a\n\n")
    await anyio.sleep(LIMIT)
    return response


def refusal(call: Callable[[], None]) -> BaseException | None:
    """What ``call()`` raised in this thread, to look at in the test's."""
    try:
        call()
    except BaseException as exc:
        return exc
    return None


@pytest.mark.anyio
@pytest.mark.parametrize("what", ["close", "restart"])
async def test_close_from_another_thread_while_the_loop_reads_is_refused_and_changes_nothing(
    combo: Combo, server: LoopbackServer, what: str
) -> None:
    server.handle("/", one_event_then_silence)
    es = combo.source(server.url("/"), **FAST)
    async with es:
        with anyio.fail_after(LIMIT):
            assert (await anext(es)).data == "a"
            async with anyio.create_task_group() as tg:
                ended = anyio.Event()

                async def read_on() -> None:
                    async for _ in es:
                        pass
                    ended.set()

                tg.start_soon(read_on)
                await anyio.sleep(0.1)  # read_on waits for the server's next bytes
                got = await anyio.to_thread.run_sync(refusal, getattr(es, what))
                assert isinstance(got, RuntimeError)
                assert "from another thread" in str(got)
                assert f"call_soon_threadsafe(es.{what})" in str(got)
                await anyio.sleep(0.1)
                assert not ended.is_set()
                assert es.readyState == ReadyState.OPEN
                assert len(server.requests) == 1  # not dropped, nor reconnected
                es.close()  # in the loop's thread: ends the reading task
                await ended.wait()
    assert es.readyState == ReadyState.CLOSED


@pytest.mark.anyio
@pytest.mark.parametrize("what", ["close", "restart"])
@pytest.mark.parametrize("where", ["async for body", "async listener"])
async def test_close_from_another_thread_while_the_caller_awaits_is_refused_too(
    combo: Combo, server: LoopbackServer, where: str, what: str
) -> None:
    # Between reads (the body of ``async for``, or a listener of run(), awaits)
    # no read is in progress, but the response is held: close() from another
    # thread let go of it there, off its event loop. Refused as during a read.
    server.handle("/", one_event_then_silence)
    es = combo.source(server.url("/"), **FAST)
    seen: list[tuple[BaseException | None, ReadyState]] = []

    async def from_another_thread() -> None:
        got = await anyio.to_thread.run_sync(refusal, getattr(es, what))
        await anyio.sleep(0.05)  # a restart let through would be acted on here
        seen.append((got, es.readyState))
        es.close()  # in the loop's thread: the stream ends here

    async with es:
        with anyio.fail_after(LIMIT):
            if where == "async for body":
                async for _ in es:
                    await from_another_thread()
            else:

                async def onmessage(_event: object) -> None:
                    await from_another_thread()

                es.onmessage = onmessage
                await es.run()
    [(got, state)] = seen
    assert isinstance(got, RuntimeError)
    assert "from another thread" in str(got)
    assert state == ReadyState.OPEN  # changed nothing
    assert es.readyState == ReadyState.CLOSED
    assert len(server.requests) == 1  # not dropped, nor reconnected


@pytest.mark.parametrize("what", ["close", "aclose"])
def test_close_once_the_thread_whose_loop_read_has_ended_is_let_through(
    combo: Combo, server: LoopbackServer, what: str
) -> None:
    # A worker thread ran the loop (asyncio.run, trio.run) and returned with the
    # stream open. No loop holds it any more: close(), or aclose() in another
    # loop, must not be refused as if one read it ("call it in that loop").
    server.handle("/", one_event_then_silence)
    made: list[EventSource] = []
    failed: list[BaseException] = []

    async def read_one() -> None:
        es = combo.source(server.url("/"), **FAST)
        made.append(es)
        with anyio.fail_after(LIMIT):
            assert (await anext(es)).data == "a"

    def worker() -> None:
        try:
            anyio.run(read_one, backend=combo.backend)
        except BaseException as exc:
            failed.append(exc)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(LIMIT)
    assert not thread.is_alive()
    assert failed == []
    [es] = made
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        if what == "close":
            es.close()
            assert es.readyState == ReadyState.CLOSED
        anyio.run(es.aclose, backend=combo.backend)  # released: nothing left to warn of
        assert es.readyState == ReadyState.CLOSED
        made.clear()
        del es
        gc.collect()
    assert [w.message for w in caught if issubclass(w.category, ResourceWarning)] == []
    assert len(server.requests) == 1
