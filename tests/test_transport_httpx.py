"""The httpx transport against a real loopback server, on asyncio and on trio.

The server runs in a thread with its own asyncio loop (``_servers``), so the
same tests run under both anyio backends. A few tests use respx where a mocked
httpx response is the right tool.

What httpx gives when the server drops the connection in the middle of a
chunked body: ``httpx.RemoteProtocolError`` ("incomplete chunked read"), which
the adapter turns into ``TransportError`` -- never a clean EOF.
"""

from __future__ import annotations

import gc
import importlib
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator

import anyio
import httpx
import pytest
import respx
from aiohttp import web

from eventsource import ConnectError, ReadTimeout, TransportError
from eventsource._transport import Request
from eventsource._transport._httpx import HttpxResponse, HttpxTransport

from ._servers import (
    LoopbackServer,
    client_sockets_to,
    drop,
    open_fd_count,
    refused_port,
    running_server,
    stalled_port,
)

pytestmark = pytest.mark.anyio

# Every test is bounded by this, so a transport that buffers or hangs fails fast.
LIMIT = 5.0


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with running_server() as server:
        yield server


async def read_all(response: HttpxResponse) -> bytes:
    return b"".join([chunk async for chunk in response.aiter_bytes()])


async def read_into(response: HttpxResponse, received: list[bytes]) -> None:
    async for chunk in response.aiter_bytes():
        received.append(chunk)


async def test_a_200_event_stream_gives_status_headers_and_url(server: LoopbackServer) -> None:
    transport = HttpxTransport()
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
    transport = HttpxTransport()
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
    transport = HttpxTransport()
    try:
        with anyio.fail_after(LIMIT):
            response = await transport.open(Request("GET", server.url("/gzip")))
            assert response.headers["content-encoding"] == "gzip"
            assert await read_all(response) == b"data: zipped\n\n"
            await response.aclose()
    finally:
        await transport.aclose()


@pytest.mark.parametrize("client_follows", [False, True])
async def test_a_307_comes_back_as_a_307_with_its_location(
    server: LoopbackServer, client_follows: bool
) -> None:
    # Even a user client configured to follow redirects does not follow them here.
    async with httpx.AsyncClient(follow_redirects=client_follows) as client:
        transport = HttpxTransport(client)
        with anyio.fail_after(LIMIT):
            response = await transport.open(Request("GET", server.url("/redirect")))
            assert response.status == 307
            assert response.headers["location"] == "/stream"
            assert response.url == server.url("/redirect")
            await response.aclose()
    assert [r.path for r in server.requests] == []


async def test_method_body_and_headers_are_sent_as_given(server: LoopbackServer) -> None:
    transport = HttpxTransport()
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


async def test_client_kwargs_configure_the_client_we_make(server: LoopbackServer) -> None:
    transport = HttpxTransport(headers={"X-Default": "yes"}, trust_env=False)
    try:
        with anyio.fail_after(LIMIT):
            response = await transport.open(Request("GET", server.url("/echo")))
            await response.aclose()
    finally:
        await transport.aclose()
    assert server.requests[0].headers["X-Default"] == "yes"


async def test_clients_we_make_share_one_verifying_tls_context(
    server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # httpx would load the CA bundle for every client (about 1 MB each).
    from eventsource._transport import _httpx

    made: list[object] = []
    original = httpx.create_ssl_context

    def counting(*args: object, **kwargs: object) -> object:
        context = original(*args, **kwargs)  # type: ignore[arg-type]
        made.append(context)
        return context

    monkeypatch.setattr(httpx, "create_ssl_context", counting)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    _httpx._verifying_context.cache_clear()
    transports = [HttpxTransport(), HttpxTransport(), HttpxTransport(http2=True)]
    try:
        with anyio.fail_after(LIMIT):
            for transport in transports:
                response = await transport.open(Request("GET", server.url("/echo")))
                await response.aclose()
    finally:
        for transport in transports:
            await transport.aclose()
        _httpx._verifying_context.cache_clear()
    assert len(made) == 2  # one for HTTP/1.1 clients, one for HTTP/2 (its ALPN differs)
    assert server.requests  # the clients worked


async def test_verify_false_and_a_client_certificate_keep_their_own_context() -> None:
    from eventsource._transport._httpx import _client_kwargs

    assert _client_kwargs({"verify": False}) == {"verify": False}
    assert _client_kwargs({"cert": "client.pem"}) == {"cert": "client.pem"}
    shared = _client_kwargs({"trust_env": False})["verify"]
    assert isinstance(shared, ssl.SSLContext)
    assert shared.verify_mode == ssl.CERT_REQUIRED
    assert _client_kwargs({"trust_env": False})["verify"] is shared


async def test_a_refused_connection_is_a_connect_error_caused_by_httpx() -> None:
    transport = HttpxTransport()
    secret = "Bearer s3cret-value"
    try:
        with refused_port() as port, anyio.fail_after(LIMIT):
            request = Request(
                "GET", f"http://127.0.0.1:{port}/", headers={"Authorization": secret}
            )
            with pytest.raises(TransportError) as caught:
                await transport.open(request)
    finally:
        await transport.aclose()
    assert isinstance(caught.value, ConnectError)  # the request was not sent
    assert not isinstance(caught.value, ReadTimeout)
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert "ConnectError" in str(caught.value)
    assert "s3cret" not in str(caught.value)


async def test_a_connect_timeout_is_a_connect_error() -> None:
    transport = HttpxTransport()
    try:
        with stalled_port() as port, anyio.fail_after(LIMIT):
            request = Request("GET", f"http://127.0.0.1:{port}/", connect_timeout=0.2)
            with pytest.raises(ConnectError) as caught:
                await transport.open(request)
    finally:
        await transport.aclose()
    assert isinstance(caught.value.__cause__, httpx.ConnectTimeout)


async def test_a_connection_dropped_after_the_request_was_sent_is_not_a_connect_error(
    server: LoopbackServer,
) -> None:
    async def hang_up(request: web.Request) -> web.StreamResponse:
        await request.read()
        drop(request)  # the server has the request, and answers nothing
        return web.Response()

    server.handle("/hang-up", hang_up)
    transport = HttpxTransport()
    try:
        with anyio.fail_after(LIMIT), pytest.raises(TransportError) as caught:
            await transport.open(Request("POST", server.url("/hang-up"), content=b"{}"))
    finally:
        await transport.aclose()
    assert not isinstance(caught.value, ConnectError)
    assert [(seen.method, seen.body) for seen in server.requests] == [("POST", b"{}")]


async def test_an_invalid_url_is_a_transport_error() -> None:
    transport = HttpxTransport()
    try:
        with pytest.raises(TransportError) as caught:
            await transport.open(Request("GET", "http://[::1/"))
    finally:
        await transport.aclose()
    assert isinstance(caught.value.__cause__, httpx.InvalidURL)


async def test_a_stalled_body_is_a_read_timeout(server: LoopbackServer) -> None:
    transport = HttpxTransport()
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
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)


async def test_stalled_response_headers_are_a_read_timeout(server: LoopbackServer) -> None:
    transport = HttpxTransport()
    try:
        with anyio.fail_after(LIMIT), pytest.raises(ReadTimeout) as caught:
            await transport.open(Request("GET", server.url("/stall-headers"), read_timeout=0.2))
    finally:
        await transport.aclose()
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)


async def test_a_drop_mid_body_is_a_transport_error(server: LoopbackServer) -> None:
    transport = HttpxTransport()
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
    assert isinstance(caught.value.__cause__, httpx.RemoteProtocolError)


async def test_reading_a_closed_response_is_a_transport_error(server: LoopbackServer) -> None:
    transport = HttpxTransport()
    try:
        with anyio.fail_after(LIMIT):
            response = await transport.open(Request("GET", server.url("/echo")))
            await response.aclose()
            await response.aclose()  # a second close is harmless
            with pytest.raises(TransportError) as caught:
                await read_all(response)
    finally:
        await transport.aclose()
    assert isinstance(caught.value.__cause__, httpx.StreamError)


async def test_stopping_early_then_aclose_leaves_no_unfinished_generator(
    server: LoopbackServer,
) -> None:
    # trio warns about an async generator dropped before its end, and pytest
    # turns that warning into a failure; httpx's body iterators are generators.
    transport = HttpxTransport()
    try:
        with anyio.fail_after(LIMIT):
            response = await transport.open(Request("GET", server.url("/stream")))
            async for chunk in response.aiter_bytes():
                assert chunk == b"data: one\n\n"
                break
            await response.aclose()
        gc.collect()
    finally:
        await transport.aclose()


async def test_aclose_closes_the_client_we_made(server: LoopbackServer) -> None:
    transport = HttpxTransport()
    with anyio.fail_after(LIMIT):
        response = await transport.open(Request("GET", server.url("/echo")))
        await response.aclose()
    client = transport._client
    assert client is not None
    assert not client.is_closed
    await transport.aclose()
    assert client.is_closed
    await transport.aclose()  # a second close is harmless


async def test_a_transport_that_never_opened_closes_quietly() -> None:
    transport = HttpxTransport()
    await transport.aclose()
    assert transport._client is None


async def test_a_closed_transport_makes_a_new_client_on_next_open(server: LoopbackServer) -> None:
    transport = HttpxTransport()
    try:
        with anyio.fail_after(LIMIT):
            for _ in range(2):
                response = await transport.open(Request("GET", server.url("/echo")))
                assert await read_all(response) == b"data: ok\n\n"
                await response.aclose()
                await transport.aclose()
    finally:
        await transport.aclose()
    assert len(server.requests) == 2


async def test_a_user_client_stays_open_after_aclose(server: LoopbackServer) -> None:
    async with httpx.AsyncClient() as client:
        transport = HttpxTransport(client)
        with anyio.fail_after(LIMIT):
            response = await transport.open(Request("GET", server.url("/echo")))
            await response.aclose()
            await transport.aclose()
            assert not client.is_closed
            # Still usable by its owner, and by the transport.
            response = await transport.open(Request("GET", server.url("/echo")))
            assert await read_all(response) == b"data: ok\n\n"
            await response.aclose()
    assert client.is_closed


def test_a_client_and_client_kwargs_together_are_refused() -> None:
    client = httpx.AsyncClient()
    with pytest.raises(TypeError):
        HttpxTransport(client, verify=False)


async def test_no_socket_or_fd_of_ours_outlives_aclose() -> None:
    baseline = open_fd_count()
    with running_server() as server:
        transport = HttpxTransport()
        with anyio.fail_after(LIMIT):
            response = await transport.open(Request("GET", server.url("/echo")))
            await read_all(response)
            await response.aclose()
            # A second response left unread, as a reconnecting client would.
            response = await transport.open(Request("GET", server.url("/stall-body")))
            async for _ in response.aiter_bytes():
                break
            assert client_sockets_to(server.port) >= 1
            await response.aclose()
            await transport.aclose()
        # Bounded wait for the backend to finish closing; no timing is asserted.
        for _ in range(200):
            if client_sockets_to(server.port) == 0:
                break
            await anyio.sleep(0.01)
        assert client_sockets_to(server.port) == 0
    for _ in range(200):
        if open_fd_count() <= baseline:
            break
        await anyio.sleep(0.01)
    assert open_fd_count() <= baseline


# -- respx: a mocked httpx, where no server is needed ----------------------------


async def _chunks(chunks: list[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def test_a_mocked_streamed_response_yields_the_given_chunks() -> None:
    chunks = [b"data: a\n", b"\n", b"data: b\r\n\r\n"]
    url = "http://127.0.0.1/sse"
    with respx.mock(assert_all_called=True) as mock:
        mock.get(url).mock(
            return_value=httpx.Response(
                200, headers={"Content-Type": "text/event-stream"}, content=_chunks(chunks)
            )
        )
        transport = HttpxTransport()
        try:
            response = await transport.open(Request("GET", url))
            assert response.status == 200
            assert [chunk async for chunk in response.aiter_bytes()] == chunks
            await response.aclose()
        finally:
            await transport.aclose()


async def test_aclose_after_a_partial_read_runs_httpx_iterator_to_its_end() -> None:
    # With a mocked stream, chunks remain after the close: aclose drains them
    # rather than leave httpx's generators half-finished.
    url = "http://127.0.0.1/sse"
    with respx.mock(assert_all_called=True) as mock:
        mock.get(url).mock(return_value=httpx.Response(200, content=_chunks([b"a", b"b", b"c"])))
        transport = HttpxTransport()
        try:
            response = await transport.open(Request("GET", url))
            chunks = response.aiter_bytes()
            assert await chunks.__anext__() == b"a"
            await response.aclose()
            with pytest.raises(StopAsyncIteration):
                await chunks.__anext__()
        finally:
            await transport.aclose()
        gc.collect()


async def test_the_request_headers_reach_respx() -> None:
    url = "http://127.0.0.1/sse?x=1"
    headers = {"Last-Event-ID": "7", "Authorization": "Bearer abc", "Cache-Control": "no-cache"}
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post(url).mock(return_value=httpx.Response(204))
        transport = HttpxTransport()
        try:
            response = await transport.open(Request("POST", url, headers=headers, content=b"hi"))
            assert response.status == 204
            await response.aclose()
        finally:
            await transport.aclose()
    sent = route.calls.last.request
    assert sent.method == "POST"
    assert str(sent.url) == url
    assert sent.content == b"hi"
    for name, value in headers.items():
        assert sent.headers[name] == value


async def test_a_mocked_read_error_is_a_transport_error() -> None:
    url = "http://127.0.0.1/sse"
    with respx.mock(assert_all_called=True) as mock:
        mock.get(url).mock(side_effect=httpx.ReadError("boom"))
        transport = HttpxTransport()
        try:
            with pytest.raises(TransportError) as caught:
                await transport.open(Request("GET", url))
        finally:
            await transport.aclose()
    assert isinstance(caught.value.__cause__, httpx.ReadError)
    assert str(caught.value) == "request failed: ReadError"


# -- the optional dependency ---------------------------------------------------------


def test_a_missing_httpx_names_the_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "httpx", None)  # makes `import httpx` fail
    monkeypatch.delitem(sys.modules, "eventsource._transport._httpx")
    with pytest.raises(ImportError) as caught:
        importlib.import_module("eventsource._transport._httpx")
    assert str(caught.value) == (
        "the httpx transport needs the 'httpx' extra: pip install 'eventsource-client[httpx]'"
    )
    assert caught.value.name == "httpx"


def test_importing_the_package_does_not_import_httpx() -> None:
    code = (
        "import sys, eventsource, eventsource._transport, eventsource._transport._aiohttp;"
        "assert 'httpx' not in sys.modules, 'httpx imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
