"""What an error says and carries, on every transport and backend.

A response error names the status and its reason, the endpoint (never the
query or the userinfo), the content type and the start of the body, and shows
as ``eventsource.StatusError`` in a traceback. A failed connection says why
(refused, name resolution, certificate). Headers on errors and on
``ResponseInfo`` are case-insensitive and keep each value of a repeated header.
"""

from __future__ import annotations

import errno
import json
import pickle
import socket
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

import eventsource
from eventsource import (
    ConnectError,
    ContentTypeError,
    EventSourceError,
    MessageEvent,
    ProtocolError,
    RedirectError,
    ResponseError,
    ResponseInfo,
    RetryPolicy,
    ServerEventError,
    StatusError,
)
from eventsource.mcp import RequestMayHaveRunError
from eventsource.transports import HttpxTransport, Request

from ._fixtures import Combo, collect
from ._fixtures import anyio_backend as anyio_backend
from ._fixtures import combo as combo
from ._fixtures import server as server
from ._servers import LoopbackServer, refused_port, running_server, sse, stalled_port
from .test_tls_proxy import make_pair, server_context

if sys.version_info < (3, 11):
    from exceptiongroup import ExceptionGroup

pytestmark = pytest.mark.anyio

BODY = json.dumps({"error": "invalid token", "detail": "x" * 300})
# Sent twice, and a name in mixed case: what a plain dict loses or lower-cases.
REPEATED = [("Retry-After", "7"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")]


def with_secrets(url: str) -> str:
    """``url`` with a login and a query token, neither of which a message may show."""
    return url.replace("://", "://alice:pa55word@", 1) + "?token=s3cret"


def last_line(error: BaseException) -> str:
    return traceback.format_exception_only(error)[-1]


async def raised_by(es: eventsource.EventSource) -> EventSourceError:
    with pytest.raises(EventSourceError) as caught:
        async with es:
            await collect(es, 1)
    return caught.value


# -- response errors ----------------------------------------------------------------


async def test_an_uncaught_status_error_names_status_reason_endpoint_content_type_and_body(
    combo: Combo, server: LoopbackServer
) -> None:
    async def unauthorized(request: web.Request) -> web.Response:
        return web.Response(status=401, body=BODY.encode(), content_type="application/json")

    server.handle("/feed", unauthorized)
    error = await raised_by(combo.source(with_secrets(server.url("/feed"))))
    assert isinstance(error, StatusError)
    assert last_line(error) == (
        "eventsource.StatusError: server answered 401 Unauthorized; "
        f"url {server.url('/feed')}; content type 'application/json'; body {BODY[:200]}...\n"
    )
    assert error.body == BODY  # the attribute keeps the whole excerpt
    for secret in ("s3cret", "alice", "pa55word"):
        assert secret not in str(error)


async def test_a_page_instead_of_a_stream_shows_its_content_type_and_body(
    combo: Combo, server: LoopbackServer
) -> None:
    page = "<html>\n  <body>Please log in</body>\n</html>"

    async def login_page(request: web.Request) -> web.Response:
        return web.Response(body=page.encode(), content_type="text/html")

    server.handle("/feed", login_page)
    error = await raised_by(combo.source(with_secrets(server.url("/feed"))))
    assert isinstance(error, ContentTypeError)
    assert last_line(error) == (
        "eventsource.ContentTypeError: server answered 200 OK, not with text/event-stream; "
        f"url {server.url('/feed')}; content type 'text/html'; "
        "body <html> <body>Please log in</body> </html>\n"
    )


def test_a_message_shows_a_short_body_whole_and_a_status_without_a_reason_bare() -> None:
    from eventsource._errors import status_line

    assert status_line(503) == "503 Service Unavailable"
    assert status_line(599) == "599"  # no standard reason phrase
    error = StatusError(
        "server answered 599", status=599, headers={"content-type": "text/plain"}, body="busy"
    )
    assert str(error) == "server answered 599; content type 'text/plain'; body busy"
    assert str(StatusError("server answered 500", status=500)) == (
        "server answered 500; no content type"
    )
    redirect = RedirectError("redirect loop", status=302, url="http://[::1]:8080/a?b=c")
    assert str(redirect) == "redirect loop; url http://[::1]:8080/a"


PUBLIC_ERRORS = [
    name
    for name in eventsource.__all__
    if isinstance(getattr(eventsource, name), type)
    and issubclass(getattr(eventsource, name), BaseException)
]


@pytest.mark.parametrize("name", PUBLIC_ERRORS)
def test_public_errors_go_by_the_name_they_are_imported_by(name: str) -> None:
    cls = getattr(eventsource, name)
    assert f"{cls.__module__}.{cls.__qualname__}" == f"eventsource.{name}"


def test_the_mcp_error_goes_by_its_public_module() -> None:
    error = RequestMayHaveRunError("the stream broke")
    assert last_line(error) == "eventsource.mcp.RequestMayHaveRunError: the stream broke\n"


@pytest.mark.parametrize(
    "error",
    [
        StatusError(
            "server answered 503",
            status=503,
            headers=REPEATED,
            body="down",
            url="http://127.0.0.1:1/x?token=s3cret",
        ),
        ContentTypeError("server answered 200 OK", status=200, headers={"Content-Type": "x/y"}),
        RedirectError("redirect loop", status=302, url="http://127.0.0.1:1/x"),
        ProtocolError("line too long", limit=10),
        ServerEventError(
            "the server sent an error", event=MessageEvent(type="error", data="boom")
        ),
        ConnectError("could not connect"),
        RequestMayHaveRunError("the stream broke"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_errors_survive_pickling_with_their_attributes(error: EventSourceError) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert copy.args == error.args
    assert str(copy) == str(error)
    assert vars(copy) == vars(error)
    if isinstance(error, ResponseError):
        assert isinstance(copy.headers, CIMultiDictProxy)
        assert copy.headers.getall("set-cookie", []) == error.headers.getall("set-cookie", [])


# -- headers --------------------------------------------------------------------------


async def repeated_headers(request: web.Request) -> web.Response:
    return web.Response(status=503, text="busy", headers=CIMultiDict(REPEATED))


async def test_error_headers_are_case_insensitive_and_keep_repeated_values(
    combo: Combo, server: LoopbackServer
) -> None:
    server.handle("/busy", repeated_headers)
    error = await raised_by(combo.source(server.url("/busy"), status_policy="strict"))
    assert isinstance(error, StatusError)
    assert isinstance(error.headers, CIMultiDictProxy)
    assert error.headers.get("Retry-After") == "7"
    assert error.headers.get("retry-after") == "7"
    assert error.headers.getall("Set-Cookie") == ["a=1", "b=2"]
    assert ("Retry-After", "7") in error.headers.items()  # the name as the server sent it


async def test_response_info_headers_are_the_same_multidict_on_every_transport(
    combo: Combo, server: LoopbackServer
) -> None:
    async def stream_with_links(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers=CIMultiDict([*REPEATED, ("Content-Type", "text/event-stream")])
        )
        await response.prepare(request)
        await response.write(b"data: hello\n\n")
        await response.write_eof()
        return response

    seen: list[ResponseInfo] = []

    def policy(info: ResponseInfo) -> str:
        seen.append(info)
        return "fail"

    server.handle("/busy", repeated_headers)
    server.handle("/linked", stream_with_links)
    await raised_by(combo.source(server.url("/busy"), status_policy=policy))
    es = combo.source(server.url("/linked"), validate_response=seen.append)
    async with es:
        [event] = await collect(es, 1)
    assert event.data == "hello"
    assert [info.status for info in seen] == [503, 200]
    for info in seen:
        assert isinstance(info.headers, CIMultiDictProxy)
        assert info.headers.get("Retry-After") == info.header("retry-after") == "7"
        assert info.headers.getall("set-cookie") == ["a=1", "b=2"]


def test_response_info_made_by_hand_looks_headers_up_case_insensitively() -> None:
    info = ResponseInfo(429, {"Retry-After": "1"}, "http://127.0.0.1/x")
    assert info.headers.get("retry-after") == "1"
    assert info.header("RETRY-AFTER") == "1"
    pairs = ResponseInfo(200, [("Link", "<a>"), ("link", "<b>")], "http://127.0.0.1/x")
    assert pairs.headers.getall("LINK") == ["<a>", "<b>"]


# -- why a connection failed ----------------------------------------------------------


async def test_a_refused_connection_says_so(combo: Combo) -> None:
    with refused_port() as port:
        url = f"http://127.0.0.1:{port}/feed"
        es = combo.source(with_secrets(url), retry_policy=RetryPolicy(max_reconnects=0))
        error = await raised_by(es)
    assert isinstance(error, ConnectError)
    assert str(error) == f"could not connect to {url}: connection refused"


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackServer]:
    pair = make_pair(Path(tmp_path_factory.mktemp("certs")), "127.0.0.1")

    async def hello(request: web.Request) -> web.StreamResponse:
        return await sse(request, b"data: hello\n\n")

    with running_server(server_context(pair)) as https_server:
        https_server.handle("/feed", hello)
        yield https_server


async def test_an_untrusted_certificate_says_the_verification_failed(
    combo: Combo, self_signed: LoopbackServer
) -> None:
    url = self_signed.url("/feed")
    error = await raised_by(combo.source(url, retry_policy=RetryPolicy(max_reconnects=0)))
    assert isinstance(error, ConnectError)
    assert str(error) == (
        f"could not connect to {url}: certificate verify failed: self-signed certificate"
    )


async def test_a_connect_timeout_says_so(combo: Combo) -> None:
    with stalled_port() as port:
        url = f"http://127.0.0.1:{port}/feed"
        es = combo.source(url, connect_timeout=0.1, retry_policy=RetryPolicy(max_reconnects=0))
        error = await raised_by(es)
    assert isinstance(error, ConnectError)
    assert str(error) == f"could not connect to {url}: timed out"


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize(
    ("failure", "said"),
    [
        (
            httpx.ConnectError("[Errno -2] Name or service not known"),
            "name resolution failed: Name or service not known",
        ),
        (
            httpx.ConnectError("[Errno 101] Network is unreachable"),
            "Network is unreachable",
        ),
        (
            httpx.ConnectError("all attempts to connect to nowhere.invalid:8443 failed"),
            "connection refused",
        ),
        (httpx.ConnectError("no cause"), "ConnectError"),
        (httpx.PoolTimeout("no cause"), "no pooled connection was free in time"),
    ],
    ids=["name-lookup", "unreachable", "group", "no-cause", "pool"],
)
async def test_httpx_connect_failures_say_what_lies_under_them(
    failure: httpx.TransportError, said: str
) -> None:
    # No real lookup or routing (tests reach only 127.0.0.1): httpx's errors as
    # its network layer raises them, with the system's error as the cause. (respx
    # would replace that cause with its own.)
    causes: dict[str, BaseException] = {
        "[Errno -2] Name or service not known": socket.gaierror(
            socket.EAI_NONAME, "Name or service not known"
        ),
        "[Errno 101] Network is unreachable": OSError(errno.ENETUNREACH, "Network is unreachable"),
        "all attempts to connect to nowhere.invalid:8443 failed": ExceptionGroup(
            "all attempts failed",
            [ConnectionRefusedError(errno.ECONNREFUSED, "refused") for _ in ("::1", "127.0.0.1")],
        ),
    }

    def fail(request: httpx.Request) -> httpx.Response:
        raise failure from causes.get(str(failure))

    url = "http://nowhere.invalid:8443/feed"
    async with httpx.AsyncClient(transport=httpx.MockTransport(fail)) as client:
        with pytest.raises(ConnectError) as caught:
            await HttpxTransport(client).open(Request("GET", with_secrets(url)))
    assert str(caught.value) == f"could not connect to {url}: {said}"


def test_a_message_never_fails_on_a_url_it_cannot_parse() -> None:
    error = StatusError("server answered 500", status=500, url="http://[::1/feed?token=s3cret")
    assert str(error) == "server answered 500; url (an invalid URL); no content type"
