"""One-shot streams for LLM APIs: sentinels, mid-stream errors, error bodies, aiter_events."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import anyio
import httpx
import pytest
from aiohttp import web

from eventsource import (
    ContentTypeError,
    EventSource,
    EventSourceError,
    MessageEvent,
    ReadyState,
    ServerEventError,
    StatusError,
    TransportError,
)
from eventsource.decode import aiter_events
from eventsource.sentinels import is_done, is_error_event, is_message_stop, is_response_completed
from eventsource.testing import Drop, Event, SSEServer
from eventsource.transports import AiohttpTransport

from ._servers import Handler, sse

pytestmark = pytest.mark.asyncio

OPENAI_TOKENS = ["Hel", "lo", ", wor", "ld"]


def openai_body(tokens: list[str]) -> bytes:
    chunks = [
        "data: " + json.dumps({"choices": [{"delta": {"content": t}}]}) + "\n\n" for t in tokens
    ]
    return ("".join(chunks) + "data: [DONE]\n\n").encode()


def anthropic_body(tokens: list[str]) -> bytes:
    parts = ['event: message_start\ndata: {"type": "message_start"}\n\n']
    for t in tokens:
        delta = {"type": "content_block_delta", "delta": {"type": "text_delta", "text": t}}
        parts.append(f"event: content_block_delta\ndata: {json.dumps(delta)}\n\n")
    parts.append('event: message_stop\ndata: {"type": "message_stop"}\n\n')
    return "".join(parts).encode()


async def openai_like(request: web.Request) -> web.StreamResponse:
    payload = await request.json()
    if request.headers.get("Authorization") != "Bearer good":
        return web.json_response({"error": {"message": "invalid api key"}}, status=401)
    if payload.get("model") == "overloaded":
        return web.json_response({"error": {"message": "slow down"}}, status=429)
    # a trailing comment after [DONE]: drained, never parsed as an event
    return await sse(request, openai_body(OPENAI_TOKENS), b": bye\n")


async def anthropic_like(request: web.Request) -> web.StreamResponse:
    payload = await request.json()
    if payload.get("fail"):
        error = {"type": "error", "error": {"type": "overloaded_error"}}
        body = (
            b"event: message_start\ndata: {}\n\nevent: error\ndata: " + json.dumps(error).encode()
        )
        return await sse(request, body + b"\n\nevent: ping\ndata: {}\n\n")
    return await sse(request, anthropic_body(["Hi", " there"]))


async def responses_like(request: web.Request) -> web.StreamResponse:
    body = (
        b'event: response.output_text.delta\ndata: {"delta": "ok"}\n\n'
        b'event: response.completed\ndata: {"response": {"status": "completed"}}\n\n'
    )
    return await sse(request, body)


@asynccontextmanager
async def serving(handlers: dict[str, Handler]) -> AsyncIterator[SSEServer]:
    """An `SSEServer` answering each path with its handler."""
    async with SSEServer() as server:
        for path, handler in handlers.items():
            server.handle(path, handler)
        yield server


def llm_server() -> Any:
    return serving(
        {"/v1/chat": openai_like, "/v1/messages": anthropic_like, "/v1/responses": responses_like}
    )


def text_of(events: list[MessageEvent]) -> str:
    return "".join(e.json()["choices"][0]["delta"]["content"] for e in events)


async def consume(es: EventSource) -> list[MessageEvent]:
    with anyio.fail_after(5):
        return [event async for event in es]


async def test_openai_stream_stops_at_done_without_delivering_it_or_reconnecting() -> None:
    async with llm_server() as server:
        es = EventSource(
            server.url_for("/v1/chat"),
            method="POST",
            json={"model": "m", "stream": True},
            headers={"Authorization": "Bearer good"},
            stop_when=is_done,
            reconnect=False,
        )
        events = await consume(es)
        assert len(server.requests) == 1
    assert text_of(events) == "Hello, world"
    assert es.readyState == ReadyState.CLOSED


async def test_stop_when_alone_also_prevents_a_reconnect() -> None:
    async with llm_server() as server:
        es = EventSource(
            server.url_for("/v1/chat"),
            method="POST",
            json={},
            headers={"Authorization": "Bearer good"},
            stop_when=is_done,
            retry=0.001,
        )
        events = await consume(es)
        assert len(server.requests) == 1
    assert len(events) == len(OPENAI_TOKENS)


async def test_anthropic_stream_delivers_message_stop_then_ends() -> None:
    async with llm_server() as server:
        es = EventSource(
            server.url_for("/v1/messages"), method="POST", json={}, stop_after=is_message_stop
        )
        events = await consume(es)
    assert [e.type for e in events][-1] == "message_stop"
    deltas = [e.json()["delta"]["text"] for e in events if e.type == "content_block_delta"]
    assert "".join(deltas) == "Hi there"


async def test_responses_stream_ends_after_response_completed() -> None:
    async with llm_server() as server:
        es = EventSource(
            server.url_for("/v1/responses"),
            method="POST",
            json={},
            stop_after=is_response_completed,
        )
        events = await consume(es)
    assert events[-1].json() == {"response": {"status": "completed"}}


async def test_mid_stream_error_event_raises_server_event_error() -> None:
    async with llm_server() as server:
        es = EventSource(
            server.url_for("/v1/messages"),
            method="POST",
            json={"fail": True},
            error_when=is_error_event,
            reconnect=False,
        )
        got: list[str] = []
        with anyio.fail_after(5), pytest.raises(ServerEventError) as info:
            async for event in es:
                got.append(event.type)
    assert got == ["message_start"]
    assert info.value.event.json()["error"]["type"] == "overloaded_error"  # type: ignore[attr-defined]
    assert "error" in str(info.value)
    assert es.readyState == ReadyState.CLOSED


async def test_a_401_with_a_json_body_is_a_status_error_not_a_content_type_error() -> None:
    async with llm_server() as server:
        es = EventSource(
            server.url_for("/v1/chat"),
            method="POST",
            json={},
            headers={"Authorization": "Bearer bad"},
        )
        with pytest.raises(StatusError) as info:
            await consume(es)
    assert info.value.status == 401
    assert json.loads(info.value.body)["error"]["message"] == "invalid api key"


async def test_one_shot_end_of_body_ends_iteration_without_an_error_event() -> None:
    errors: list[object] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        return await sse(request, b"data: a\n\ndata: b\n\n")

    async with SSEServer() as server:
        server.handle("/", handler)
        es = EventSource(server.url_for("/"), reconnect=False)
        es.onerror = errors.append
        events = await consume(es)
        assert len(server.requests) == 1
    assert [e.data for e in events] == ["a", "b"]
    assert errors == []


async def test_one_shot_network_error_raises_instead_of_reconnecting() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b"data: a\n\n")
        request.transport.close()  # type: ignore[union-attr]
        return response

    async with SSEServer() as server:
        server.handle("/", handler)
        es = EventSource(server.url_for("/"), reconnect=False)
        got: list[str] = []
        with pytest.raises(TransportError):
            async for event in es:
                got.append(event.data)
        assert len(server.requests) == 1
    assert got == ["a"]


async def test_the_rest_of_the_body_is_drained_so_the_connection_is_reused() -> None:
    peers: list[object] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        peers.append(request.transport.get_extra_info("peername"))  # type: ignore[union-attr]
        return await sse(request, b"data: 1\n\ndata: [DONE]\n\n", b": trailing\n" * 50)

    async with SSEServer() as server:
        server.handle("/", handler)
        connector = aiohttp.TCPConnector(limit=1)
        async with aiohttp.ClientSession(connector=connector) as session:
            for _ in range(2):
                es = EventSource(
                    server.url_for("/"),
                    transport=AiohttpTransport(session=session),
                    stop_when=is_done,
                )
                assert [e.data for e in await consume(es)] == ["1"]
    assert len(peers) == 2
    assert peers[0] == peers[1]


# -- aiter_events: the user made the request ----------------------------------------


async def test_aiter_events_decodes_an_aiohttp_response_and_stops_at_done() -> None:
    async with (
        llm_server() as server,
        aiohttp.ClientSession() as session,
        session.post(
            server.url_for("/v1/chat"), json={}, headers={"Authorization": "Bearer good"}
        ) as response,
    ):
        events = [e async for e in aiter_events(response, stop_when=is_done)]
    assert text_of(events) == "Hello, world"
    assert events[0].origin == server.base_url


async def test_aiter_events_decodes_an_httpx_response() -> None:
    async with (
        llm_server() as server,
        httpx.AsyncClient() as client,
        client.stream("POST", server.url_for("/v1/messages"), json={}) as response,
    ):
        events = [e async for e in aiter_events(response, stop_after=is_message_stop)]
    assert events[-1].type == "message_stop"


async def test_aiter_events_raises_status_error_with_the_body() -> None:
    async with (
        llm_server() as server,
        httpx.AsyncClient() as client,
        client.stream(
            "POST",
            server.url_for("/v1/chat"),
            json={"model": "overloaded"},
            headers={"Authorization": "Bearer good"},
        ) as response,
    ):
        with pytest.raises(StatusError) as info:
            [e async for e in aiter_events(response)]
    assert info.value.status == 429
    assert "slow down" in info.value.body


async def test_aiter_events_raises_content_type_error_and_error_events() -> None:
    async def html(request: web.Request) -> web.StreamResponse:
        return web.Response(text="<p>", content_type="text/html")

    async with (
        llm_server() as server,
        aiohttp.ClientSession() as session,
        session.post(server.url_for("/v1/messages"), json={"fail": True}) as r,
    ):
        with pytest.raises(ServerEventError):
            [e async for e in aiter_events(r, error_when=is_error_event)]
    async with (
        serving({"/": html}) as other,
        aiohttp.ClientSession() as session,
        session.get(other.url_for("/")) as response,
    ):
        with pytest.raises(ContentTypeError):
            [e async for e in aiter_events(response)]


@pytest.mark.parametrize("client", ["aiohttp", "httpx"])
async def test_aiter_events_hands_comments_to_on_comment_in_wire_order(client: str) -> None:
    async def comments(request: web.Request) -> web.StreamResponse:
        return await sse(request, b"data: a\n\n: ping\ndata: b\n\n:pong\n")

    seen: list[str] = []
    async with SSEServer() as server:
        server.handle("/", comments)
        if client == "aiohttp":
            async with aiohttp.ClientSession() as session, session.get(server.url_for("/")) as r:
                async for event in aiter_events(r, on_comment=seen.append):
                    seen.append(event.data)
        else:
            async with httpx.AsyncClient() as http, http.stream("GET", server.url_for("/")) as r:
                async for event in aiter_events(r, on_comment=seen.append):
                    seen.append(event.data)
    assert seen == ["a", "ping", "b", "pong"]


async def test_aiter_events_without_on_comment_yields_only_the_events() -> None:
    async def comments(request: web.Request) -> web.StreamResponse:
        return await sse(request, b": hi\ndata: a\n\n: ping\ndata: b\n\n")

    async with (
        serving({"/": comments}) as server,
        aiohttp.ClientSession() as session,
        session.get(server.url_for("/")) as response,
    ):
        events = [event async for event in aiter_events(response)]
    assert [event.data for event in events] == ["a", "b"]


async def test_aiter_events_rejects_other_objects() -> None:
    with pytest.raises(TypeError, match="aiohttp"):
        [e async for e in aiter_events(object())]


async def test_sentinel_predicates() -> None:
    assert is_done(MessageEvent(data="[DONE]"))
    assert not is_done(MessageEvent(data="[DONE] "))
    assert is_message_stop(MessageEvent(type="message_stop"))
    assert is_response_completed(MessageEvent(type="response.completed"))
    assert is_error_event(MessageEvent(type="error"))
    assert not is_error_event(MessageEvent(type="message", data="error"))


@pytest.mark.parametrize("reset", [False, True], ids=["closed", "reset"])
@pytest.mark.parametrize("client", ["aiohttp", "httpx"])
async def test_aiter_events_raises_transport_error_when_the_stream_is_cut(
    client: str, reset: bool
) -> None:
    # As EventSource raises it: the library's error, the HTTP library's as its
    # cause (it was aiohttp's ClientPayloadError, httpx's RemoteProtocolError or
    # ReadError, which `except EventSourceError` missed). The event before the
    # cut comes first.
    seen: list[str] = []
    async with SSEServer() as server:
        server.script(Event("a"), Drop(reset=reset))
        with pytest.raises(TransportError) as info:
            if client == "aiohttp":
                async with aiohttp.ClientSession() as session, session.get(server.url) as r:
                    async for event in aiter_events(r):
                        seen.append(event.data)
            else:
                async with httpx.AsyncClient() as http, http.stream("GET", server.url) as r:
                    async for event in aiter_events(r):
                        seen.append(event.data)
    assert seen == ["a"]
    assert isinstance(info.value, EventSourceError)
    assert isinstance(info.value.__cause__, aiohttp.ClientError | httpx.TransportError)
    assert "reading the stream failed" in str(info.value)
