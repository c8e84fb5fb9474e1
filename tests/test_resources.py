"""Nothing leaks: file descriptors and tasks return to baseline; every way out releases.

Counts are asserted, never durations: "promptly" means the server sees the
disconnect within a bounded wait.
"""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import aiohttp
import anyio
import httpx
import pytest

from eventsource import EventSource, ReadyState, RetryPolicy
from eventsource.testing import ChatRoom, Comment, Event, SSEServer, Stall
from eventsource.transports import AiohttpTransport, HttpxTransport, Request

from ._servers import client_sockets_to, open_fd_count

pytestmark = pytest.mark.asyncio

CYCLES = 1_000


def _is_server_task(task: asyncio.Task[Any]) -> bool:
    code = getattr(task.get_coro(), "cr_code", None)
    return code is not None and "aiohttp/web_" in code.co_filename


def our_tasks() -> set[asyncio.Task[Any]]:
    """Running tasks, except the test's own and the aiohttp server's request handlers."""
    current = asyncio.current_task()
    return {
        task for task in asyncio.all_tasks() if task is not current and not _is_server_task(task)
    }


async def test_a_thousand_reconnect_cycles_leave_fds_and_tasks_at_baseline() -> None:
    room = ChatRoom(drop_every=1)
    room.preload(CYCLES + 10)
    async with SSEServer(room=room) as server:
        es = EventSource(
            server.url,
            retry=0.001,  # not 0: a zero delay after a short connection waits 0.1 s
            retry_policy=RetryPolicy(backoff_factor=1.0, jitter=0.0),
        )
        async with es:
            ids = [(await es.__anext__()).last_event_id for _ in range(10)]
            # The baseline: after the session, its connector and a connection exist.
            base_fds = open_fd_count()
            base_tasks = len(our_tasks())
            with anyio.fail_after(120):
                for _ in range(CYCLES):
                    ids.append((await es.__anext__()).last_event_id)
            assert open_fd_count() <= base_fds
            assert len(our_tasks()) <= base_tasks
            assert server.connections >= CYCLES
        assert ids == [str(n) for n in range(1, CYCLES + 11)]
        assert es.readyState == ReadyState.CLOSED
        await server.wait_for_idle()
        assert client_sockets_to(server.port) == 0
        assert our_tasks() == set()
    assert open_fd_count() <= base_fds


async def test_cancelling_the_consuming_task_keeps_the_connection_until_aclose() -> None:
    # The consumer's read only waited (aiohttp, the default): the connection
    # stays open for the next read, and aclose() releases it.
    async with SSEServer() as server:
        server.script(Event("one", id="1"), Stall())
        es = EventSource(server.url)
        got: list[str] = []

        async def consume() -> None:
            async for event in es:
                got.append(event.data)

        async with anyio.create_task_group() as tg:
            tg.start_soon(consume)
            await server.wait_for_connections(1)
            with anyio.fail_after(5):
                while not got:
                    await anyio.sleep(0.001)
            tg.cancel_scope.cancel()
        assert got == ["one"]
        assert es.readyState is ReadyState.OPEN
        assert client_sockets_to(server.port) == 1
        await es.aclose()
        await server.wait_for_idle(timeout=5)  # the server saw the disconnect
        assert client_sockets_to(server.port) == 0
        assert our_tasks() == set()


async def test_breaking_out_of_async_for_inside_async_with_releases_the_connection() -> None:
    async with SSEServer() as server:
        server.script(Event("one"), Event("two"), Stall())
        async with EventSource(server.url) as es:
            async for event in es:
                if event.data == "two":
                    break
        assert es.readyState == ReadyState.CLOSED
        await server.wait_for_idle(timeout=5)
        assert client_sockets_to(server.port) == 0
        assert our_tasks() == set()


async def test_an_unclosed_event_source_warns_and_releases_its_connection_when_collected() -> None:
    # The session outlives the forgotten EventSource, as a bot's shared session
    # does: the connection must not stay checked out of its pool.
    async with SSEServer() as server, aiohttp.ClientSession() as session:
        server.script(Event("one"), Comment("still here"), Stall())
        es = EventSource(server.url, transport=AiohttpTransport(session=session))
        assert (await es.__anext__()).data == "one"
        assert server.active_connections == 1
        holder = [es]
        del es
        with pytest.warns(ResourceWarning, match="unclosed EventSource"):
            holder.clear()  # the last reference: collected at once
        await server.wait_for_idle(timeout=5)  # the server saw the disconnect
        assert client_sockets_to(server.port) == 0
        assert not session.closed  # a session the user passed is never closed by us


async def test_an_unclosed_event_source_with_its_own_session_releases_when_collected() -> None:
    async with SSEServer() as server:
        server.script(Event("one"), Stall())
        # A transport without a session makes and owns one, as the default does;
        # holding it lets the test close that session by hand.
        transport = AiohttpTransport()
        es = EventSource(server.url, transport=transport)
        assert (await es.__anext__()).data == "one"
        holder = [es]
        del es
        with pytest.warns(ResourceWarning, match="unclosed EventSource"):
            holder.clear()  # the last reference: collected at once
        await server.wait_for_idle(timeout=5)
        assert client_sockets_to(server.port) == 0
        await transport.aclose()


async def test_close_with_no_task_reading_lets_the_connection_go_at_once() -> None:
    # The browser's close(): sync, and the connection goes now, not at aclose().
    async with SSEServer() as server:
        server.script(Event("one"), Stall())
        es = EventSource(server.url)  # aiohttp: closes without awaiting
        assert (await es.__anext__()).data == "one"
        es.close()
        await server.wait_for_idle(timeout=2)  # the server saw the disconnect
        assert client_sockets_to(server.port) == 0
        await es.aclose()
        assert our_tasks() == set()


async def test_one_closed_with_close_alone_says_it_was_closed_but_not_released() -> None:
    # It said "unclosed EventSource" after close() had been called.
    async with SSEServer() as server:
        server.script(Event("one"), Stall())
        es = EventSource(server.url)
        assert (await es.__anext__()).data == "one"
        es.close()
        holder = [es]
        del es
        with pytest.warns(ResourceWarning, match=r"closed with close\(\) but not released"):
            holder.clear()
        await server.wait_for_idle(timeout=2)
        assert client_sockets_to(server.port) == 0


async def test_an_unclosed_default_event_source_says_so_once_not_through_aiohttp() -> None:
    # `async for event in EventSource(url): break`, never closed: our warning
    # (hidden by default, as ResourceWarnings are), not aiohttp's "Unclosed
    # client session" printed through the loop's exception handler.
    reported: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    try:
        async with SSEServer() as server:
            server.script(Event("one"), Stall())
            holder = [EventSource(server.url)]
            assert (await holder[0].__anext__()).data == "one"
            with pytest.warns(ResourceWarning, match="unclosed EventSource"):
                holder.clear()  # the last reference: collected at once
            gc.collect()  # and whatever a cycle held
            await server.wait_for_idle(timeout=5)
            assert client_sockets_to(server.port) == 0
        await asyncio.sleep(0.05)  # the session's close, started at collection
        gc.collect()
    finally:
        loop.set_exception_handler(None)
    assert [context.get("message") for context in reported] == []


async def test_a_transport_of_ours_closed_browser_style_serves_a_second_stream_cleanly() -> None:
    # close(), aclose(), then the same AiohttpTransport() for another stream:
    # its second session is closed too (it was left open, unsaid).
    reported: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    try:
        async with SSEServer() as server:
            transport = AiohttpTransport()
            for _ in range(2):
                server.script(Event("one"), Stall())  # a script answers one request
                es = EventSource(server.url, transport=transport)
                with anyio.fail_after(5):
                    assert (await es.__anext__()).data == "one"
                es.close()
                await es.aclose()
            await server.wait_for_idle(timeout=5)
            assert client_sockets_to(server.port) == 0
            del es, transport
            gc.collect()
            await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(None)
    assert [context.get("message") for context in reported] == []


async def test_an_abort_from_another_thread_runs_on_the_streams_loop() -> None:
    # Garbage collection may run an abort in any thread: aiohttp's objects are
    # touched in their loop's thread only (asyncio's debug mode checks it).
    loop = asyncio.get_running_loop()
    loop.set_debug(True)
    try:
        async with SSEServer() as server:
            server.script(Event("one"), Stall())
            transport = AiohttpTransport()
            response = await transport.open(Request("GET", server.url))
            await anyio.to_thread.run_sync(response.abort)
            await anyio.to_thread.run_sync(transport.abort)
            await server.wait_for_idle(timeout=5)  # the connection went all the same
            await transport.aclose()  # waits for the session's close begun on the loop
            assert client_sockets_to(server.port) == 0
    finally:
        loop.set_debug(False)


async def test_an_unclosed_event_source_on_a_users_httpx_client_releases_when_collected() -> None:
    async with SSEServer() as server, httpx.AsyncClient() as http_client:
        server.script(Event("one"), Stall())
        es = EventSource(server.url, transport=HttpxTransport(client=http_client))
        assert (await es.__anext__()).data == "one"
        holder = [es]
        del es
        with pytest.warns(ResourceWarning, match="unclosed EventSource"):
            holder.clear()
        await server.wait_for_idle(timeout=5)
        assert client_sockets_to(server.port) == 0
        assert not http_client.is_closed
