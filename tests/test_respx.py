"""EventSource on the httpx transport with httpx mocked by respx, on asyncio and trio.

No server: respx answers each request with a scripted ``httpx.Response`` whose
body is streamed chunk by chunk, so chunk boundaries are exactly the test's.
The last section mocks under ``HttpxTransport`` alone, without an EventSource.
"""

from __future__ import annotations

import gc
import json
from collections.abc import AsyncIterator

import httpx
import pytest
import respx

from eventsource import ErrorEvent, EventSource, StatusError, TransportError
from eventsource.transports import HttpxTransport, Request

from ._fixtures import FAST, collect

pytestmark = pytest.mark.anyio

URL = "http://127.0.0.1:8000/events"
SSE = {"Content-Type": "text/event-stream"}


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class Chunks(httpx.AsyncByteStream):
    """A response body that arrives in exactly these chunks.

    An iterator class rather than an async generator: trio flags a generator
    that is dropped before its end, which is what a client closing early does.
    """

    def __init__(self, *chunks: bytes) -> None:
        self._chunks = list(chunks)

    def __aiter__(self) -> Chunks:
        return self

    async def __anext__(self) -> bytes:
        if not self._chunks:
            raise StopAsyncIteration
        return self._chunks.pop(0)

    async def aclose(self) -> None:
        self._chunks.clear()


def stream(*chunks: bytes) -> httpx.Response:
    return httpx.Response(200, headers=SSE, stream=Chunks(*chunks))


async def test_chunks_split_anywhere_still_give_whole_events() -> None:
    # Splits inside a field name, between CR and LF, and inside a UTF-8 character.
    body = stream(b"da", b"ta: caf\xc3", b"\xa9\r", b"\n\r\nevent: ch", b"at\ndata: hi\n", b"\n")
    with respx.mock(assert_all_called=True) as mock:
        mock.get(URL).mock(return_value=body)
        async with EventSource(URL, transport="httpx") as es:
            events = await collect(es, 2)
    assert [(e.type, e.data) for e in events] == [("message", "café"), ("chat", "hi")]
    assert {e.origin for e in events} == {"http://127.0.0.1:8000"}


async def test_a_reconnect_sends_the_last_event_id_of_the_first_response() -> None:
    with respx.mock(assert_all_called=True) as mock:
        route = mock.get(URL).mock(
            side_effect=[
                stream(b"id: 1\ndata: a\n\n"),  # then the body ends: reconnect
                stream(b"id: 2\ndata: b\n\n"),
                httpx.Response(204),  # stop
            ]
        )
        errors: list[ErrorEvent] = []
        es = EventSource(URL, transport="httpx", **FAST)
        es.onerror = errors.append
        events = await collect(es, 3)
        await es.aclose()
    assert [(e.data, e.last_event_id) for e in events] == [("a", "1"), ("b", "2")]
    first, second, third = (call.request for call in route.calls)
    assert "Last-Event-ID" not in first.headers
    assert second.headers["Last-Event-ID"] == "1"
    assert third.headers["Last-Event-ID"] == "2"
    assert second.headers["Accept"] == "text/event-stream"
    assert second.headers["Cache-Control"] == "no-cache"
    assert [(e.reconnecting, e.status) for e in errors] == [
        (True, None),
        (True, None),
        (False, 204),
    ]


async def test_a_401_with_a_json_body_is_a_status_error_carrying_the_body() -> None:
    with respx.mock(assert_all_called=True) as mock:
        route = mock.get(URL).mock(
            return_value=httpx.Response(401, json={"error": "token expired"})
        )
        es = EventSource(URL, transport="httpx", headers={"Authorization": "Bearer old"}, **FAST)
        with pytest.raises(StatusError) as caught:
            await collect(es, 1)
    assert caught.value.status == 401
    assert json.loads(caught.value.body) == {"error": "token expired"}
    assert caught.value.content_type == "application/json"
    assert route.call_count == 1  # a 401 is not retried
    assert route.calls.last.request.headers["Authorization"] == "Bearer old"


async def test_a_connect_error_is_a_transport_error_then_a_reconnect() -> None:
    with respx.mock(assert_all_called=True) as mock:
        mock.get(URL).mock(side_effect=[httpx.ConnectError("refused"), stream(b"data: back\n\n")])
        errors: list[ErrorEvent] = []
        async with EventSource(URL, transport="httpx", **FAST) as es:
            es.onerror = errors.append
            [event] = await collect(es, 1)
    assert event.data == "back"
    assert isinstance(errors[0].error, TransportError)
    assert isinstance(errors[0].error.__cause__, httpx.ConnectError)


async def test_a_users_client_is_mocked_too_and_stays_open() -> None:
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post(URL).mock(return_value=stream(b"data: ok\n\n"))
        async with httpx.AsyncClient(headers={"User-Agent": "my-bot"}) as client:
            async with EventSource(
                URL, transport=HttpxTransport(client=client), method="POST", json={"q": 1}
            ) as es:
                [event] = await collect(es, 1)
            assert not client.is_closed
    assert event.data == "ok"
    sent = route.calls.last.request
    assert (sent.headers["User-Agent"], sent.content) == ("my-bot", b'{"q":1}')


# -- the transport alone: HttpxTransport.open on a mocked httpx ------------------------


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
