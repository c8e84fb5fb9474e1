"""The aiohttp transport against a real loopback server (asyncio only).

The server is the same threaded scenario server the httpx tests use.

What aiohttp gives when the server drops the connection in the middle of a
chunked body: ``aiohttp.ClientPayloadError`` ("Response payload is not
completed"), which the adapter turns into ``TransportError`` -- never a clean
EOF. A stall before the response headers is a ``ReadTimeout``, as with httpx.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import aiohttp
import anyio
import pytest
from aiohttp import web

from eventsource import ConnectError, ReadTimeout, TransportError
from eventsource._transport import Request
from eventsource._transport._aiohttp import READ_SIZE, AiohttpResponse, AiohttpTransport

from ._servers import (
    LoopbackServer,
    client_sockets_to,
    drop,
    open_fd_count,
    refused_port,
    running_server,
    stalled_port,
)
from ._web import serve, stream

pytestmark = pytest.mark.asyncio

LIMIT = 5.0


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with running_server() as server:
        yield server


async def read_all(response: AiohttpResponse) -> bytes:
    return b"".join([chunk async for chunk in response.aiter_bytes()])


async def read_into(response: AiohttpResponse, received: list[bytes]) -> None:
    async for chunk in response.aiter_bytes():
        received.append(chunk)


async def test_a_200_event_stream_gives_status_headers_and_url(server: LoopbackServer) -> None:
    transport = AiohttpTransport()
    try:
        with anyio.fail_after(LIMIT):
            response = await transport.open(Request("GET", server.url("/echo")))
            try:
                assert response.status == 200
                assert response.headers["content-type"].startswith("text/event-stream")
                assert response.headers["CONTENT-TYPE"] == response.headers["Content-Type"]
                assert response.url == server.url("/echo")
                assert await read_all(response) == b"data: ok\n\n"
            finally:
                await response.aclose()
    finally:
        await transport.aclose()


async def test_chunks_arrive_as_the_server_flushes_them(server: LoopbackServer) -> None:
    # The server sends "two" only after the test saw "one": a transport that
    # buffered the body to its end would wait here until the limit.
    transport = AiohttpTransport()
    try:
        with anyio.fail_after(LIMIT):
            response = await transport.open(Request("GET", server.url("/stream")))
            received = b""
            async for chunk in response.aiter_bytes():
                received += chunk
                if received == b"data: one\n\n":
                    server.open_gate("second")
            await response.aclose()
        assert received == b"data: one\n\ndata: two\n\n"
    finally:
        await transport.aclose()


async def test_a_gzip_encoded_body_is_decoded(server: LoopbackServer) -> None:
    transport = AiohttpTransport()
    try:
        with anyio.fail_after(LIMIT):
            response = await transport.open(Request("GET", server.url("/gzip")))
            assert response.headers["content-encoding"] == "gzip"
            assert await read_all(response) == b"data: zipped\n\n"
            await response.aclose()
    finally:
        await transport.aclose()


async def test_a_307_comes_back_as_a_307_with_its_location(server: LoopbackServer) -> None:
    transport = AiohttpTransport()
    try:
        with anyio.fail_after(LIMIT):
            response = await transport.open(Request("GET", server.url("/redirect")))
            assert response.status == 307
            assert response.headers["location"] == "/stream"
            assert response.url == server.url("/redirect")
            await response.aclose()
    finally:
        await transport.aclose()
    assert server.requests == []


async def test_method_body_and_headers_are_sent_as_given(server: LoopbackServer) -> None:
    transport = AiohttpTransport()
    headers = {"Accept": "text/event-stream", "Last-Event-ID": "42", "X-Token": "t0ken"}
    try:
        with anyio.fail_after(LIMIT):
            request = Request("POST", server.url("/echo"), headers=headers, content=b'{"q": 1}')
            response = await transport.open(request)
            await read_all(response)
            await response.aclose()
    finally:
        await transport.aclose()
    [seen] = server.requests
    assert (seen.method, seen.path, seen.body) == ("POST", "/echo", b'{"q": 1}')
    for name, value in headers.items():
        assert seen.headers[name] == value


async def test_a_refused_connection_is_a_connect_error_caused_by_aiohttp() -> None:
    transport = AiohttpTransport()
    try:
        with refused_port() as port, anyio.fail_after(LIMIT):
            request = Request(
                "GET", f"http://127.0.0.1:{port}/", headers={"Authorization": "Bearer s3cret"}
            )
            with pytest.raises(TransportError) as caught:
                await transport.open(request)
    finally:
        await transport.aclose()
    assert isinstance(caught.value, ConnectError)  # the request was not sent
    assert not isinstance(caught.value, ReadTimeout)
    assert isinstance(caught.value.__cause__, aiohttp.ClientConnectorError)
    assert "ClientConnectorError" in str(caught.value)
    assert "s3cret" not in str(caught.value)


async def test_a_connect_timeout_is_a_connect_error() -> None:
    transport = AiohttpTransport()
    try:
        with stalled_port() as port, anyio.fail_after(LIMIT):
            request = Request("GET", f"http://127.0.0.1:{port}/", connect_timeout=0.2)
            with pytest.raises(ConnectError) as caught:
                await transport.open(request)
    finally:
        await transport.aclose()
    assert isinstance(caught.value.__cause__, aiohttp.ServerTimeoutError)


async def test_a_connection_dropped_after_the_request_was_sent_is_not_a_connect_error(
    server: LoopbackServer,
) -> None:
    async def hang_up(request: web.Request) -> web.StreamResponse:
        await request.read()
        drop(request)  # the server has the request, and answers nothing
        return web.Response()

    server.handle("/hang-up", hang_up)
    transport = AiohttpTransport()
    try:
        with anyio.fail_after(LIMIT), pytest.raises(TransportError) as caught:
            await transport.open(Request("POST", server.url("/hang-up"), content=b"{}"))
    finally:
        await transport.aclose()
    assert not isinstance(caught.value, ConnectError)
    assert [(seen.method, seen.body) for seen in server.requests] == [("POST", b"{}")]


async def test_a_stalled_body_is_a_read_timeout(server: LoopbackServer) -> None:
    transport = AiohttpTransport()
    try:
        with anyio.fail_after(LIMIT):
            request = Request("GET", server.url("/stall-body"), read_timeout=0.2)
            response = await transport.open(request)
            chunks: list[bytes] = []
            with pytest.raises(ReadTimeout) as caught:
                await read_into(response, chunks)
            await response.aclose()
    finally:
        await transport.aclose()
    assert chunks == [b": heartbeat\n\n"]
    assert isinstance(caught.value.__cause__, (aiohttp.ServerTimeoutError, asyncio.TimeoutError))


async def test_stalled_response_headers_are_a_transport_error(server: LoopbackServer) -> None:
    transport = AiohttpTransport()
    try:
        with anyio.fail_after(LIMIT), pytest.raises(TransportError) as caught:
            await transport.open(Request("GET", server.url("/stall-headers"), read_timeout=0.2))
    finally:
        await transport.aclose()
    assert isinstance(caught.value.__cause__, (aiohttp.ServerTimeoutError, asyncio.TimeoutError))


async def test_a_drop_mid_body_is_a_transport_error(server: LoopbackServer) -> None:
    transport = AiohttpTransport()
    try:
        with anyio.fail_after(LIMIT):
            response = await transport.open(Request("GET", server.url("/drop")))
            received: list[bytes] = []
            with pytest.raises(TransportError) as caught:
                await read_into(response, received)
            await response.aclose()
    finally:
        await transport.aclose()
    assert b"".join(received) == b"data: one\n\n"
    assert not isinstance(caught.value, ReadTimeout)
    assert isinstance(caught.value.__cause__, aiohttp.ClientPayloadError)


async def test_aclose_closes_the_session_we_made(server: LoopbackServer) -> None:
    transport = AiohttpTransport()
    with anyio.fail_after(LIMIT):
        response = await transport.open(Request("GET", server.url("/echo")))
        await response.aclose()
        await response.aclose()  # a second close is harmless
    session = transport._session
    assert session is not None
    assert not session.closed
    await transport.aclose()
    assert session.closed
    await transport.aclose()  # a second close is harmless


async def test_a_user_session_stays_open_after_aclose(server: LoopbackServer) -> None:
    async with aiohttp.ClientSession() as session:
        transport = AiohttpTransport(session)
        with anyio.fail_after(LIMIT):
            response = await transport.open(Request("GET", server.url("/echo")))
            await response.aclose()
            await transport.aclose()
            assert not session.closed
            response = await transport.open(Request("GET", server.url("/echo")))
            assert await read_all(response) == b"data: ok\n\n"
            await response.aclose()
    assert session.closed


async def test_no_socket_or_fd_of_ours_outlives_aclose() -> None:
    baseline = open_fd_count()
    with running_server() as server:
        transport = AiohttpTransport()
        with anyio.fail_after(LIMIT):
            response = await transport.open(Request("GET", server.url("/echo")))
            await read_all(response)
            await response.aclose()
            response = await transport.open(Request("GET", server.url("/stall-body")))
            async for _ in response.aiter_bytes():
                break
            assert client_sockets_to(server.port) >= 1
            await response.aclose()
            await transport.aclose()
        # Bounded wait for the loop to finish closing; no timing is asserted.
        for _ in range(200):
            if client_sockets_to(server.port) == 0:
                break
            await asyncio.sleep(0.01)
        assert client_sockets_to(server.port) == 0
    for _ in range(200):
        if open_fd_count() <= baseline:
            break
        await asyncio.sleep(0.01)
    assert open_fd_count() <= baseline


async def test_reads_take_at_most_read_size_from_aiohttps_buffer() -> None:
    # The rest stays under aiohttp's flow control (in the kernel, not in our memory).
    body = b"".join(b"data: %06d\n\n" % i for i in range(4 * READ_SIZE // 14))

    async def handler(request: web.Request) -> web.StreamResponse:
        return await stream(request, body)

    transport = AiohttpTransport()
    try:
        async with serve({"/": handler}) as web_server:
            with anyio.fail_after(LIMIT):
                response = await transport.open(Request("GET", web_server.url("/")))
                await asyncio.sleep(0.2)  # let the whole body arrive in aiohttp's buffer
                sizes = []
                received = []
                async for chunk in response.aiter_bytes():
                    sizes.append(len(chunk))
                    received.append(chunk)
                await response.aclose()
        assert b"".join(received) == body
        assert max(sizes) == READ_SIZE
    finally:
        await transport.aclose()
