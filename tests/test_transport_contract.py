"""The transport contract, against a real loopback server: one suite, every transport.

Each contract test runs as aiohttp on asyncio, httpx on asyncio and httpx on
trio (``combo``). The server runs in its own thread (``_servers``), so the same
tests run under both anyio backends. What differs between the transports is
only which library exception is kept as ``__cause__`` (``CAUSES``); what each
one raises is the library's own: ``ConnectError`` before the request was sent,
``ReadTimeout`` for a stall, ``TransportError`` for a connection dropped in the
middle of a chunked body (aiohttp: ``ClientPayloadError``; httpx:
``RemoteProtocolError``) -- never a clean EOF.

The sections at the end hold what belongs to one transport only: aiohttp's
read size, httpx's client arguments, TLS context sharing and optional import.
The respx (mocked httpx) tests of the transport are in ``test_respx.py``.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import ssl
import subprocess
import sys
from typing import Any

import aiohttp
import anyio
import httpx
import pytest
from aiohttp import web

from eventsource import ConnectError, ReadTimeout, TransportError
from eventsource.transports import AiohttpTransport, HttpxTransport, Request, Response

from ._fixtures import Combo, eventually
from ._fixtures import anyio_backend as anyio_backend
from ._fixtures import combo as combo
from ._fixtures import server as server
from ._servers import (
    LoopbackServer,
    client_sockets_to,
    drop,
    open_fd_count,
    refused_port,
    running_server,
    sse,
    stalled_port,
)

pytestmark = pytest.mark.anyio

# Every test is bounded by this, so a transport that buffers or hangs fails fast.
LIMIT = 5.0

#: The library exception each transport keeps as ``__cause__``, by failure.
CAUSES: dict[str, dict[str, Any]] = {
    "aiohttp": {
        "refused": aiohttp.ClientConnectorError,
        "connect timeout": aiohttp.ServerTimeoutError,
        "read timeout": (aiohttp.ServerTimeoutError, asyncio.TimeoutError),
        "drop": aiohttp.ClientPayloadError,
    },
    "httpx": {
        "refused": httpx.ConnectError,
        "connect timeout": httpx.ConnectTimeout,
        "read timeout": httpx.ReadTimeout,
        "drop": httpx.RemoteProtocolError,
    },
}


def new_transport(combo: Combo) -> AiohttpTransport | HttpxTransport:
    """A transport of ``combo``'s kind that makes (and owns) its session or client.

    On aiohttp, one of its own (a session argument): ``AiohttpTransport()``
    shares the loop's session, whose connections are not pooled.
    """
    if combo.transport == "aiohttp":
        return AiohttpTransport(connector_owner=True)
    return HttpxTransport()


def users_client(combo: Combo) -> aiohttp.ClientSession | httpx.AsyncClient:
    """A session or client of ``combo``'s kind, as a user would make and own it."""
    return aiohttp.ClientSession() if combo.transport == "aiohttp" else httpx.AsyncClient()


def is_closed(client: aiohttp.ClientSession | httpx.AsyncClient) -> bool:
    if isinstance(client, aiohttp.ClientSession):
        return client.closed
    return client.is_closed


async def read_all(response: Response) -> bytes:
    return b"".join([chunk async for chunk in response.aiter_bytes()])


async def read_into(response: Response, received: list[bytes]) -> None:
    async for chunk in response.aiter_bytes():
        received.append(chunk)


# -- the contract: responses ---------------------------------------------------------


async def test_a_200_event_stream_gives_status_headers_and_url(
    combo: Combo, server: LoopbackServer
) -> None:
    transport = new_transport(combo)
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


async def test_chunks_arrive_as_the_server_flushes_them(
    combo: Combo, server: LoopbackServer
) -> None:
    # The server sends "two" only after the test saw "one": a transport that
    # buffered the body to its end would wait here until the limit.
    transport = new_transport(combo)
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


async def test_a_gzip_encoded_body_is_decoded(combo: Combo, server: LoopbackServer) -> None:
    transport = new_transport(combo)
    try:
        with anyio.fail_after(LIMIT):
            response = await transport.open(Request("GET", server.url("/gzip")))
            assert response.headers["content-encoding"] == "gzip"
            assert await read_all(response) == b"data: zipped\n\n"
            await response.aclose()
    finally:
        await transport.aclose()


async def test_a_307_comes_back_as_a_307_with_its_location(
    combo: Combo, server: LoopbackServer
) -> None:
    transport = new_transport(combo)
    try:
        with anyio.fail_after(LIMIT):
            response = await transport.open(Request("GET", server.url("/redirect")))
            assert response.status == 307
            assert response.headers["location"] == "/stream"
            assert response.url == server.url("/redirect")
            await response.aclose()
    finally:
        await transport.aclose()
    assert [r.path for r in server.requests] == ["/redirect"]  # /stream never asked for


async def test_method_body_and_headers_are_sent_as_given(
    combo: Combo, server: LoopbackServer
) -> None:
    transport = new_transport(combo)
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


async def test_stopping_early_then_aclose_leaves_no_unfinished_generator(
    combo: Combo, server: LoopbackServer
) -> None:
    # trio warns about an async generator dropped before its end, and pytest
    # turns that warning into a failure; httpx's body iterators are generators.
    transport = new_transport(combo)
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


# -- the contract: failures ----------------------------------------------------------


async def test_a_refused_connection_is_a_connect_error_caused_by_the_library(
    combo: Combo,
) -> None:
    transport = new_transport(combo)
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
    cause = caught.value.__cause__
    assert isinstance(cause, CAUSES[combo.transport]["refused"])
    # the same words on each transport: the library's class is the cause, not the text
    said = f"could not connect to http://127.0.0.1:{port}/: connection refused"
    assert str(caught.value) == said
    assert "s3cret" not in str(caught.value)


async def test_a_connect_timeout_is_a_connect_error(combo: Combo) -> None:
    transport = new_transport(combo)
    try:
        with stalled_port() as port, anyio.fail_after(LIMIT):
            request = Request("GET", f"http://127.0.0.1:{port}/", connect_timeout=0.2)
            with pytest.raises(ConnectError) as caught:
                await transport.open(request)
    finally:
        await transport.aclose()
    assert isinstance(caught.value.__cause__, CAUSES[combo.transport]["connect timeout"])


async def test_a_connection_dropped_after_the_request_was_sent_is_not_a_connect_error(
    combo: Combo, server: LoopbackServer
) -> None:
    async def hang_up(request: web.Request) -> web.StreamResponse:
        await request.read()
        drop(request)  # the server has the request, and answers nothing
        return web.Response()

    server.handle("/hang-up", hang_up)
    transport = new_transport(combo)
    try:
        with anyio.fail_after(LIMIT), pytest.raises(TransportError) as caught:
            await transport.open(Request("POST", server.url("/hang-up"), content=b"{}"))
    finally:
        await transport.aclose()
    assert not isinstance(caught.value, ConnectError)
    assert [(seen.method, seen.body) for seen in server.requests] == [("POST", b"{}")]


async def test_a_stalled_body_is_a_read_timeout(combo: Combo, server: LoopbackServer) -> None:
    transport = new_transport(combo)
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
    assert isinstance(caught.value.__cause__, CAUSES[combo.transport]["read timeout"])
    assert str(caught.value) == "no data received within read_timeout (0.2 s)"


async def test_stalled_response_headers_are_a_read_timeout(
    combo: Combo, server: LoopbackServer
) -> None:
    transport = new_transport(combo)
    try:
        with anyio.fail_after(LIMIT), pytest.raises(ReadTimeout) as caught:
            await transport.open(Request("GET", server.url("/stall-headers"), read_timeout=0.2))
    finally:
        await transport.aclose()
    assert isinstance(caught.value.__cause__, CAUSES[combo.transport]["read timeout"])
    assert str(caught.value) == "no response received within read_timeout (0.2 s)"


async def test_a_drop_mid_body_is_a_transport_error(combo: Combo, server: LoopbackServer) -> None:
    transport = new_transport(combo)
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
    assert isinstance(caught.value.__cause__, CAUSES[combo.transport]["drop"])


# -- the contract: closing -----------------------------------------------------------


async def test_aclose_closes_the_session_or_client_we_made(
    combo: Combo, server: LoopbackServer
) -> None:
    transport = new_transport(combo)
    with anyio.fail_after(LIMIT):
        response = await transport.open(Request("GET", server.url("/echo")))
        assert await read_all(response) == b"data: ok\n\n"
        await response.aclose()
        await response.aclose()  # a second close is harmless
    # A complete body gives the connection back to the pool: it stays open
    # until the transport closes the session or client that pools it.
    assert client_sockets_to(server.port) == 1
    await transport.aclose()
    await eventually(lambda: client_sockets_to(server.port) == 0)
    await transport.aclose()  # a second close is harmless


async def test_a_closed_transport_opens_again_and_one_never_opened_closes_quietly(
    combo: Combo, server: LoopbackServer
) -> None:
    transport = new_transport(combo)
    await transport.aclose()  # never opened: nothing to close, and no error
    try:
        with anyio.fail_after(LIMIT):
            for _ in range(2):
                response = await transport.open(Request("GET", server.url("/echo")))
                assert await read_all(response) == b"data: ok\n\n"
                await response.aclose()
                await transport.aclose()
                await eventually(lambda: client_sockets_to(server.port) == 0)
    finally:
        await transport.aclose()
    assert len(server.requests) == 2


async def test_a_users_session_or_client_stays_open_after_aclose(
    combo: Combo, server: LoopbackServer
) -> None:
    theirs = users_client(combo)
    try:
        transport = (
            AiohttpTransport(theirs)
            if isinstance(theirs, aiohttp.ClientSession)
            else HttpxTransport(theirs)
        )
        with anyio.fail_after(LIMIT):
            response = await transport.open(Request("GET", server.url("/echo")))
            await response.aclose()
            await transport.aclose()
            assert not is_closed(theirs)
            # Still usable by its owner, and by the transport.
            response = await transport.open(Request("GET", server.url("/echo")))
            assert await read_all(response) == b"data: ok\n\n"
            await response.aclose()
    finally:
        await (theirs.close() if isinstance(theirs, aiohttp.ClientSession) else theirs.aclose())
    assert is_closed(theirs)


async def test_no_socket_or_fd_of_ours_outlives_aclose(combo: Combo) -> None:
    baseline = open_fd_count()
    with running_server() as server:
        transport = new_transport(combo)
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
        await eventually(lambda: client_sockets_to(server.port) == 0)
    await eventually(lambda: open_fd_count() <= baseline)


# -- construction (no server) ------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda: AiohttpTransport(http2=True), TypeError),
        (lambda: AiohttpTransport(session=object(), verify=False), TypeError),  # type: ignore[arg-type]
        (lambda: HttpxTransport(client=object(), http2=True), TypeError),  # type: ignore[arg-type]
        (lambda: HttpxTransport(httpx.AsyncClient(), verify=False), TypeError),
    ],
    ids=[
        "aiohttp-http2",
        "aiohttp-session-and-verify",
        "httpx-client-and-http2",
        "httpx-client-and-verify",
    ],
)
def test_a_users_session_or_client_with_settings_for_one_we_make_is_refused(
    make: Any, error: type[Exception]
) -> None:
    with pytest.raises(error):
        make()


def test_a_client_certificate_with_a_callers_ssl_context_is_refused() -> None:
    context = ssl.create_default_context()
    with pytest.raises(TypeError, match="load the client certificate into that context"):
        AiohttpTransport(verify=context, cert="client.pem")


# -- aiohttp only ------------------------------------------------------------------------


@pytest.mark.parametrize("combo", [Combo("aiohttp", "asyncio")], ids=str)
async def test_aiohttp_reads_take_at_most_read_size_from_its_buffer(
    combo: Combo, server: LoopbackServer
) -> None:
    # The rest stays under aiohttp's flow control (in the kernel, not in our memory).
    from eventsource._transport._aiohttp_response import READ_SIZE

    body = b"".join(b"data: %06d\n\n" % i for i in range(4 * READ_SIZE // 14))

    async def handler(request: web.Request) -> web.StreamResponse:
        return await sse(request, body)

    server.handle("/", handler)
    transport = AiohttpTransport()
    try:
        with anyio.fail_after(LIMIT):
            response = await transport.open(Request("GET", server.url("/")))
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


# -- httpx only (asyncio and trio) -------------------------------------------------------


httpx_only = pytest.mark.parametrize(
    "combo", [Combo("httpx", "asyncio"), Combo("httpx", "trio")], ids=str
)


@httpx_only
async def test_httpx_a_users_client_that_follows_redirects_does_not_follow_here(
    combo: Combo, server: LoopbackServer
) -> None:
    async with httpx.AsyncClient(follow_redirects=True) as client:
        transport = HttpxTransport(client)
        with anyio.fail_after(LIMIT):
            response = await transport.open(Request("GET", server.url("/redirect")))
            assert response.status == 307
            assert response.headers["location"] == "/stream"
            await response.aclose()
    assert [r.path for r in server.requests] == ["/redirect"]  # /stream never asked for


@httpx_only
async def test_httpx_client_kwargs_configure_the_client_we_make(
    combo: Combo, server: LoopbackServer
) -> None:
    transport = HttpxTransport(headers={"X-Default": "yes"}, trust_env=False)
    try:
        with anyio.fail_after(LIMIT):
            response = await transport.open(Request("GET", server.url("/echo")))
            await response.aclose()
    finally:
        await transport.aclose()
    assert server.requests[0].headers["X-Default"] == "yes"


@httpx_only
async def test_httpx_clients_we_make_share_one_verifying_tls_context(
    combo: Combo, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # httpx would load the CA bundle for every client (about 1 MB each).
    from eventsource._transport import _httpx_common

    made: list[object] = []
    original = httpx.create_ssl_context

    def counting(*args: object, **kwargs: object) -> object:
        context = original(*args, **kwargs)  # type: ignore[arg-type]
        made.append(context)
        return context

    monkeypatch.setattr(httpx, "create_ssl_context", counting)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    _httpx_common._verifying_context.cache_clear()
    transports = [HttpxTransport(), HttpxTransport(), HttpxTransport(http2=True)]
    try:
        with anyio.fail_after(LIMIT):
            for transport in transports:
                response = await transport.open(Request("GET", server.url("/echo")))
                await response.aclose()
    finally:
        for transport in transports:
            await transport.aclose()
        _httpx_common._verifying_context.cache_clear()
    assert len(made) == 2  # one for HTTP/1.1 clients, one for HTTP/2 (its ALPN differs)
    assert server.requests  # the clients worked


def test_httpx_verify_false_and_a_client_certificate_keep_their_own_context() -> None:
    from eventsource._transport._httpx_common import _client_kwargs

    assert _client_kwargs({"verify": False}) == {"verify": False}
    assert _client_kwargs({"cert": "client.pem"}) == {"cert": "client.pem"}
    shared = _client_kwargs({"trust_env": False})["verify"]
    assert isinstance(shared, ssl.SSLContext)
    assert shared.verify_mode == ssl.CERT_REQUIRED
    assert _client_kwargs({"trust_env": False})["verify"] is shared


@httpx_only
async def test_httpx_an_invalid_url_is_a_transport_error(combo: Combo) -> None:
    transport = HttpxTransport()
    try:
        with pytest.raises(TransportError) as caught:
            await transport.open(Request("GET", "http://[::1/"))
    finally:
        await transport.aclose()
    assert isinstance(caught.value.__cause__, httpx.InvalidURL)


@httpx_only
async def test_httpx_reading_a_closed_response_is_a_transport_error(
    combo: Combo, server: LoopbackServer
) -> None:
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


def test_httpx_missing_names_the_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
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
