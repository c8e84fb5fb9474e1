"""Behaviour scenarios run against both clients: the async EventSource and the blocking one.

The same scenario, the same server, the same assertions: each runs three
times (``client``: async on aiohttp, async on httpx, blocking on httpx). A
scenario that passes for one client and fails for another is a bug in a
driver: the behaviour belongs to the shared processing model.
"""

from __future__ import annotations

import asyncio
import math
import sys
from typing import Any

import pytest
from aiohttp import web

from eventsource import (
    ConnectError,
    ContentTypeError,
    ErrorEvent,
    EventSourceError,
    MessageEvent,
    ProtocolError,
    ReadyState,
    RetryPolicy,
    ServerEventError,
    StatusError,
)
from eventsource.sentinels import is_done

from ._clients import Client
from ._clients import client as client
from ._fixtures import FAST
from ._fixtures import other_server as other_server
from ._fixtures import server as server
from ._servers import LoopbackServer, refused_port, sse


def answers(*bodies: bytes, **response: Any) -> Any:
    """A handler: the n-th request gets the n-th body (the last one after that)."""
    count = 0

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal count
        body = bodies[min(count, len(bodies) - 1)]
        count += 1
        if response:
            return web.Response(body=body, **response)
        return await sse(request, body)

    return handler


class MemoryStore:
    """A last-event-id store with blocking load() and save(), as both clients take."""

    def __init__(self, saved: str | None = None) -> None:
        self.saved = saved
        self.history: list[str] = []

    def load(self) -> str | None:
        return self.saved

    def save(self, last_event_id: str) -> None:
        self.saved = last_event_id
        self.history.append(last_event_id)


def test_reconnects_after_the_end_of_the_stream_sending_last_event_id(
    client: Client, server: LoopbackServer
) -> None:
    server.handle("/", answers(b"id: 1\ndata: a\n\n", b"id: 2\ndata: b\n\n"))
    outcome = client.collect(server.url("/"), 2, **FAST)
    assert outcome.data == ["a", "b"]
    assert outcome.error is None
    assert [r.headers.get("Last-Event-ID") for r in server.requests] == [None, "1"]
    assert outcome.last_event_id == "2"
    assert outcome.ready_state is ReadyState.CLOSED


def test_the_servers_retry_sets_the_reconnection_time(
    client: Client, server: LoopbackServer
) -> None:
    server.handle("/", answers(b"retry: 1500\ndata: x\n\n"))
    outcome = client.collect(server.url("/"), 1, **FAST)
    assert outcome.data == ["x"]
    assert outcome.reconnection_time == 1.5


def test_a_500_fails_at_once_with_a_status_error_and_the_body(
    client: Client, server: LoopbackServer
) -> None:
    server.handle("/", answers(b'{"error": "boom"}', status=500, content_type="application/json"))
    seen: list[Any] = []
    outcome = client.collect(server.url("/"), 1, lambda es: setattr(es, "onerror", seen.append))
    assert isinstance(outcome.error, StatusError)
    assert outcome.error.status == 500
    assert outcome.error.body == '{"error": "boom"}'
    assert len(server.requests) == 1  # no reconnect
    assert outcome.ready_state is ReadyState.CLOSED
    assert [(type(e), e.status, e.reconnecting) for e in seen] == [(ErrorEvent, 500, False)]


def test_a_503_is_retried_by_the_status_policy_and_the_stream_goes_on(
    client: Client, server: LoopbackServer
) -> None:
    count = 0

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal count
        count += 1
        if count == 1:
            return web.Response(status=503, text="busy")
        return await sse(request, b"data: back\n\n")

    server.handle("/", handler)
    seen: list[Any] = []
    outcome = client.collect(
        server.url("/"), 1, lambda es: setattr(es, "onerror", seen.append), **FAST
    )
    assert outcome.data == ["back"]
    assert [(e.status, e.reconnecting) for e in seen] == [(503, True)]


def test_with_a_strict_status_policy_a_503_fails(client: Client, server: LoopbackServer) -> None:
    server.handle("/", answers(b"busy", status=503))
    outcome = client.collect(server.url("/"), 1, status_policy="strict", **FAST)
    assert isinstance(outcome.error, StatusError)
    assert outcome.error.status == 503
    assert len(server.requests) == 1


def test_a_204_ends_without_error_or_reconnect(client: Client, server: LoopbackServer) -> None:
    server.handle("/", answers(b"", status=204))
    outcome = client.collect(server.url("/"), 1, **FAST)
    assert outcome.events == []
    assert outcome.error is None
    assert outcome.ready_state is ReadyState.CLOSED
    assert len(server.requests) == 1


def test_a_wrong_content_type_is_a_content_type_error_with_the_body(
    client: Client, server: LoopbackServer
) -> None:
    server.handle("/", answers(b"<html>login</html>", content_type="text/html"))
    outcome = client.collect(server.url("/"), 1, **FAST)
    assert isinstance(outcome.error, ContentTypeError)
    assert outcome.error.body == "<html>login</html>"
    assert len(server.requests) == 1


def test_stop_when_ends_before_the_sentinel_without_reconnecting(
    client: Client, server: LoopbackServer
) -> None:
    server.handle("/", answers(b"data: a\n\ndata: [DONE]\n\ndata: after\n\n"))
    outcome = client.collect(server.url("/"), 5, stop_when=is_done, **FAST)
    assert outcome.data == ["a"]
    assert outcome.error is None
    assert len(server.requests) == 1


def test_stop_after_delivers_the_matching_event_then_ends(
    client: Client, server: LoopbackServer
) -> None:
    server.handle("/", answers(b"data: a\n\nevent: last\ndata: b\n\ndata: c\n\n"))
    outcome = client.collect(server.url("/"), 5, stop_after=lambda e: e.type == "last", **FAST)
    assert outcome.data == ["a", "b"]
    assert outcome.error is None


def test_error_when_raises_a_server_event_error_after_the_events_before(
    client: Client, server: LoopbackServer
) -> None:
    server.handle("/", answers(b"data: a\n\nevent: error\ndata: quota\n\ndata: c\n\n"))
    outcome = client.collect(server.url("/"), 5, error_when=lambda e: e.type == "error", **FAST)
    assert outcome.data == ["a"]
    assert isinstance(outcome.error, ServerEventError)
    assert outcome.error.event is not None
    assert outcome.error.event.data == "quota"
    assert len(server.requests) == 1


def test_an_event_over_max_event_size_is_a_protocol_error_after_the_ones_before(
    client: Client, server: LoopbackServer
) -> None:
    server.handle("/", answers(b"data: ok\n\ndata: " + b"x" * 300 + b"\n\n"))
    outcome = client.collect(server.url("/"), 5, max_event_size=100, **FAST)
    assert outcome.data == ["ok"]
    assert isinstance(outcome.error, ProtocolError)


def test_listeners_hear_open_comments_and_events_in_wire_order_and_close_stops_them(
    client: Client, server: LoopbackServer
) -> None:
    server.handle(
        "/",
        answers(b": hi\nevent: chat\ndata: c1\n\ndata: m1\n\ndata: end\n\ndata: never\n\n"),
    )
    calls: list[tuple[str, str]] = []

    def setup(es: Any) -> None:
        def on_message(event: MessageEvent) -> None:
            calls.append(("onmessage", event.data))
            if event.data == "end":
                es.close()

        es.onopen = lambda event: calls.append(("onopen", event.type))
        es.on_comment = lambda text: calls.append(("comment", text))
        es.onmessage = on_message
        es.addEventListener("message", lambda event: calls.append(("added", event.data)))
        es.addEventListener("chat", lambda event: calls.append(("chat", event.data)))

    outcome = client.run(server.url("/"), setup, **FAST)
    assert calls == [
        ("onopen", "open"),
        ("comment", "hi"),
        ("chat", "c1"),
        ("onmessage", "m1"),
        ("added", "m1"),
        ("onmessage", "end"),  # close() in it: the listener added after it hears nothing more
    ]
    assert outcome.error is None
    assert outcome.ready_state is ReadyState.CLOSED
    assert len(server.requests) == 1


def test_prepare_request_changes_each_attempt(client: Client, server: LoopbackServer) -> None:
    server.handle("/", answers(b"id: 1\ndata: a\n\n", b"data: b\n\n"))

    def prepare(attempt: Any) -> None:
        attempt.headers["X-Attempt"] = str(attempt.number)

    outcome = client.collect(server.url("/"), 2, prepare_request=prepare, **FAST)
    assert outcome.data == ["a", "b"]
    assert [r.headers.get("X-Attempt") for r in server.requests] == ["0", "1"]


def test_the_store_resumes_a_new_client_where_the_last_one_stopped(
    client: Client, server: LoopbackServer
) -> None:
    server.handle("/", answers(b"id: 1\ndata: a\n\nid: 2\ndata: b\n\nid: 3\ndata: c\n\n"))
    store = MemoryStore()
    first = client.collect(server.url("/"), 2, last_event_id_store=store, **FAST)
    assert first.data == ["a", "b"]
    # Saved when the caller came back after "a", and at the close after "b".
    assert store.history == ["1", "2"]
    client.collect(server.url("/"), 1, last_event_id_store=store, **FAST)
    assert server.requests[-1].headers.get("Last-Event-ID") == "2"


def test_a_redirect_is_followed_and_authorization_never_crosses_origins(
    client: Client, server: LoopbackServer, other_server: LoopbackServer
) -> None:
    other_server.handle("/", answers(b"data: moved\n\n"))

    async def redirect(request: web.Request) -> web.Response:
        return web.Response(status=307, headers={"Location": other_server.url("/")})

    server.handle("/", redirect)
    outcome = client.collect(server.url("/"), 1, headers={"Authorization": "Bearer t"}, **FAST)
    assert outcome.data == ["moved"]
    assert server.requests[0].headers.get("Authorization") == "Bearer t"
    assert other_server.requests[0].headers.get("Authorization") is None


def test_a_refused_connection_is_retried_until_max_reconnects_then_raised_with_a_note(
    client: Client,
) -> None:
    with refused_port() as port:
        outcome = client.collect(
            f"http://127.0.0.1:{port}/",
            1,
            retry=0.001,
            retry_policy=RetryPolicy(backoff_factor=1.0, jitter=0.0, max_reconnects=2),
        )
    assert isinstance(outcome.error, ConnectError)
    assert outcome.ready_state is ReadyState.CLOSED
    if sys.version_info >= (3, 11):  # exception notes are 3.11+: the error says they were spent
        assert outcome.error.__notes__ == [
            "eventsource: gave up after 3 failed attempts in a row (max_reconnects=2)"
        ]


def test_validate_response_refusing_fails_the_stream_before_any_event(
    client: Client, server: LoopbackServer
) -> None:
    server.handle("/", answers(b"data: a\n\n"))

    def validate(info: Any) -> None:
        raise EventSourceError(f"not from {info.status}")

    outcome = client.collect(server.url("/"), 1, validate_response=validate, **FAST)
    assert outcome.events == []
    assert isinstance(outcome.error, EventSourceError)
    assert str(outcome.error) == "not from 200"
    assert len(server.requests) == 1


def test_prepare_request_refusing_fails_the_stream_with_nothing_sent(
    client: Client, server: LoopbackServer
) -> None:
    def prepare(attempt: Any) -> None:
        raise EventSourceError("no token")

    outcome = client.collect(server.url("/stream"), 1, prepare_request=prepare, **FAST)
    assert isinstance(outcome.error, EventSourceError)
    assert server.requests == []


def test_timeouts_of_math_inf_mean_no_timeout(client: Client, server: LoopbackServer) -> None:
    server.handle("/", answers(b"data: a\n\n"))
    outcome = client.collect(
        server.url("/"), 1, read_timeout=math.inf, connect_timeout=math.inf, **FAST
    )
    assert outcome.data == ["a"]
    assert outcome.error is None


def test_a_server_that_never_answers_is_retried_after_connect_timeout(
    client: Client, server: LoopbackServer
) -> None:
    # It accepts the connection and sends no response headers: connect_timeout
    # bounds that wait as well, and the next attempt gets the stream.
    attempts = 0

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            await asyncio.sleep(60)  # never answers (cancelled when the server stops)
        return await sse(request, b"data: a\n\n")

    server.handle("/", handler)
    outcome = client.collect(server.url("/"), 1, connect_timeout=0.3, **FAST)
    assert outcome.data == ["a"]
    assert outcome.error is None
    assert len(server.requests) == 2


@pytest.mark.parametrize("option", ["read_timeout", "connect_timeout"])
@pytest.mark.parametrize("value", [0, -1.0, math.nan])
def test_a_timeout_of_zero_negative_or_nan_is_refused_at_construction(
    client: Client, option: str, value: float
) -> None:
    # Each attempt would time out at once: a silent reconnect loop, not a timeout.
    with pytest.raises(ValueError, match=f"{option} must be a number of seconds above 0"):
        client.collect("http://127.0.0.1:9/", 1, **{option: value})
