"""`SSEServer.handle` (a test's own aiohttp.web handler) and `with SSEServer()` (in a thread).

The thread-hosted server is read by every transport on every backend, trio
included; the handler tests run the server on the test's own asyncio loop.
"""

from __future__ import annotations

import asyncio
import socket
import threading

import aiohttp
import pytest
from aiohttp import web

from eventsource.testing import Drop, Event, SSEServer

from ._fixtures import Combo, collect
from ._fixtures import anyio_backend as anyio_backend
from ._fixtures import combo as combo

TIMEOUT = 5.0


def server_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "SSEServer"]


def refuses(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.anyio
async def test_a_thread_hosted_server_serves_any_backend_and_leaves_nothing(
    combo: Combo,
) -> None:
    with SSEServer() as server:
        server.script(Event("one", id="1"), Drop())
        server.script(Event("two", id="2"))
        async with combo.source(server.url, retry=0.001) as source:
            events = await collect(source, 2)
        await server.wait_for_requests(2, timeout=TIMEOUT)
        await server.wait_for_idle(timeout=TIMEOUT)
        port = server.port
        assert server_threads()
    assert [(e.data, e.last_event_id) for e in events] == [("one", "1"), ("two", "2")]
    assert [r.last_event_id for r in server.requests] == [None, "1"]
    assert server.connections == 2
    assert not server_threads()
    assert refuses(port)


@pytest.mark.anyio
async def test_a_wait_on_a_thread_hosted_server_times_out_with_a_clear_error(
    combo: Combo,
) -> None:
    with SSEServer() as server, pytest.raises(TimeoutError, match="1 requests"):
        await server.wait_for_requests(1, timeout=0.05)


def test_a_thread_hosted_server_on_a_taken_port_raises_and_leaves_no_thread() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = SSEServer(port=taken.getsockname()[1])
        with pytest.raises(OSError, match="address already in use"):
            server.__enter__()
    assert not server_threads()


def test_a_server_cannot_be_started_twice() -> None:
    with SSEServer() as server, pytest.raises(RuntimeError, match="already started"):
        server.__enter__()


@pytest.mark.asyncio
async def test_a_handler_answers_its_path_before_routes_and_scripts() -> None:
    async def echo(request: web.Request) -> web.Response:
        text = f"data: {request.method} {request.query['q']} {(await request.read()).decode()}"
        return web.Response(body=(text + "\n\n").encode(), content_type="text/event-stream")

    async with SSEServer() as server, aiohttp.ClientSession() as session:
        server.handle("echo", echo)  # a relative path means /echo
        server.route("/echo", Event("the route"))
        server.script(Event("the script"))
        async with session.post(server.url_for("/echo?q=1"), data=b"hi") as response:
            body = await response.read()
        async with session.get(server.url) as response:
            queued = await response.read()
    assert body == b"data: POST 1 hi\n\n"
    assert queued == b"data: the script\n\n"
    seen = server.requests[0]
    assert (seen.method, seen.path, seen.query, seen.body) == ("POST", "/echo", {"q": "1"}, b"hi")
    assert server.connections == 1  # the scripted stream only, not the handler's answer


@pytest.mark.asyncio
async def test_a_handler_on_the_tests_loop_shares_its_events_and_its_transport() -> None:
    release = asyncio.Event()

    async def held(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b"data: first\n\n")
        await release.wait()
        assert request.transport is not None
        request.transport.close()  # in the middle of the chunked body
        return response

    async with SSEServer() as server, aiohttp.ClientSession() as session:
        server.handle("/held", held)
        async with session.get(server.url_for("/held")) as response:
            assert await response.content.readline() == b"data: first\n"
            release.set()
            with pytest.raises(aiohttp.ClientPayloadError):
                await asyncio.wait_for(response.read(), TIMEOUT)
