"""Per-connection hooks, status policy, bounded retrying, restart() and comments."""

from __future__ import annotations

import asyncio
import math
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import anyio
import pytest
from aiohttp import web

from eventsource import (
    ConnectAttempt,
    ContentTypeError,
    ErrorEvent,
    EventSource,
    EventSourceError,
    MessageEvent,
    ReadyState,
    ResponseInfo,
    RetryPolicy,
    StatusError,
    TransportError,
    retry_transient,
)
from eventsource._policy import parse_retry_after
from eventsource.testing import SSEServer

from ._servers import sse

FAST = {"retry": 0.001, "retry_policy": RetryPolicy(backoff_factor=1.0, min_retry=0.0)}


async def collect(es: EventSource, n: int) -> list[MessageEvent]:
    got: list[MessageEvent] = []
    with anyio.fail_after(5):
        async for event in es:
            got.append(event)
            if len(got) == n:
                break
    return got


async def echo_auth(request: web.Request) -> web.StreamResponse:
    body = f"data: {request.headers.get('Authorization')} {request.query.get('from')}\n\n"
    return await sse(request, body.encode())


@pytest.mark.asyncio
async def test_prepare_request_runs_before_every_attempt_and_can_refresh_a_token() -> None:
    seen: list[tuple[int, int, str]] = []

    async def refresh(attempt: ConnectAttempt) -> None:
        await asyncio.sleep(0)
        seen.append((attempt.number, attempt.failures, attempt.last_event_id))
        attempt.headers["Authorization"] = f"Bearer token-{attempt.number}"

    async with SSEServer() as server:
        server.handle("/", echo_auth)
        es = EventSource(server.url_for("/"), prepare_request=refresh, **FAST)
        async with es:
            events = await collect(es, 3)
    assert [e.data for e in events] == [f"Bearer token-{n} None" for n in range(3)]
    assert seen == [(0, 0, ""), (1, 1, ""), (2, 1, "")]


@pytest.mark.asyncio
async def test_prepare_request_can_drop_a_query_that_fights_last_event_id() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await sse(request, f"id: 5\ndata: {request.query.get('from')}\n\n".encode())

    def drop_from_on_resume(attempt: ConnectAttempt) -> ConnectAttempt:
        if attempt.last_event_id:
            attempt.set_query(**{"from": None}, resumed="yes")
        return attempt

    async with SSEServer() as server:
        server.handle("/", handler)
        es = EventSource(
            server.url_for("/?from=0&keep=1"), prepare_request=drop_from_on_resume, **FAST
        )
        async with es:
            events = await collect(es, 2)
            assert es.url == server.url_for("/?from=0&keep=1")
        second = server.requests[1]
    assert [e.data for e in events] == ["0", "None"]
    assert dict(second.query) == {"keep": "1", "resumed": "yes"}
    assert second.headers["Last-Event-ID"] == "5"


@pytest.mark.asyncio
async def test_prepare_request_must_leave_an_http_url() -> None:
    def bad(attempt: ConnectAttempt) -> None:
        attempt.url = "ftp://nope/"

    es = EventSource("http://127.0.0.1:9/", prepare_request=bad)
    with pytest.raises(ValueError, match="http"):
        await es.__anext__()
    await es.aclose()


@pytest.mark.asyncio
async def test_an_event_source_error_from_prepare_request_fails_with_nothing_sent() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await sse(request, b"data: once\n\n")

    class Refused(EventSourceError):
        pass

    def only_once(attempt: ConnectAttempt) -> None:
        if attempt.number:
            raise Refused("not again")

    errors: list[ErrorEvent] = []
    async with SSEServer() as server:
        server.handle("/", handler)
        es = EventSource(server.url_for("/"), prepare_request=only_once, **FAST)
        es.onerror = errors.append
        received: list[MessageEvent] = []
        with anyio.fail_after(5), pytest.raises(Refused):
            async with es:
                async for event in es:
                    received.append(event)
        assert es.readyState == ReadyState.CLOSED
        assert len(server.requests) == 1
    assert [e.data for e in received] == ["once"]
    assert [e.reconnecting for e in errors] == [True, False]  # the end of the body, the refusal
    assert isinstance(errors[-1].error, Refused)


@pytest.mark.asyncio
async def test_restart_reconnects_at_once_with_last_event_id_and_runs_the_hook_again() -> None:
    numbers: list[int] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(f"id: {len(numbers)}\ndata: hi\n\n".encode())
        await asyncio.sleep(5)
        return response

    async with SSEServer() as server:
        server.handle("/", handler)
        es = EventSource(
            server.url_for("/"), retry=30.0, prepare_request=lambda a: numbers.append(a.number)
        )
        async with es:
            assert (await collect(es, 1))[0].last_event_id == "1"

            async def restart_soon() -> None:
                await asyncio.sleep(0.05)
                es.restart()

            async with anyio.create_task_group() as tg:
                tg.start_soon(restart_soon)
                again = await collect(es, 1)
        assert [r.headers.get("Last-Event-ID") for r in server.requests] == [None, "1"]
    assert again[0].last_event_id == "2"
    assert numbers == [0, 1]


@pytest.mark.asyncio
async def test_restart_after_close_does_nothing() -> None:
    es = EventSource("http://127.0.0.1:9/")
    es.close()
    es.restart()
    assert es.readyState == ReadyState.CLOSED


@pytest.mark.asyncio
async def test_comments_reach_on_comment_and_never_become_events() -> None:
    comments: list[str] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        return await sse(request, b": hello\n\n:ping\ndata: x\n\n")

    async def on_comment(text: str) -> None:
        comments.append(text)

    async with SSEServer() as server:
        server.handle("/", handler)
        async with EventSource(server.url_for("/"), on_comment=on_comment) as es:
            [event] = await collect(es, 1)
        es2 = EventSource(server.url_for("/"))
        es2.on_comment = comments.append
        es2.onmessage = lambda e: es2.close()
        with anyio.fail_after(5):
            await es2.run()
    assert event.data == "x"
    assert comments == ["hello", "ping", "hello", "ping"]


@pytest.mark.asyncio
async def test_server_retry_is_clamped_to_min_and_max_retry() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await sse(request, b"retry: 0\ndata: x\n\n")

    async with SSEServer() as server:
        server.handle("/", handler)
        es = EventSource(
            server.url_for("/"),
            retry_policy=RetryPolicy(min_retry=0.01, max_retry=1.0, jitter=0.0),
        )
        delays: list[float | None] = []
        es.onerror = lambda e: delays.append(e.delay)
        async with es:
            await collect(es, 2)
            assert es.reconnection_time == 0.01
    assert delays == [0.01]


@pytest.mark.asyncio
async def test_max_reconnect_time_ends_retrying_with_the_last_real_error() -> None:
    # The exact count on a fake clock is in test_connection; here, real time:
    # 0.1 s apart, failures past 0.25 s end it, after about three attempts.
    async with SSEServer() as server:
        url = server.url_for("/")

    es = EventSource(
        url,
        retry=0.1,
        retry_policy=RetryPolicy(backoff_factor=1.0, jitter=0.0, max_reconnect_time=0.25),
    )
    errors: list[ErrorEvent] = []
    es.onerror = errors.append
    with anyio.fail_after(10), pytest.raises(TransportError):
        await collect(es, 1)
    assert 2 <= len(errors) <= 10
    assert [e.reconnecting for e in errors] == [True] * (len(errors) - 1) + [False]


@pytest.mark.asyncio
async def test_retry_transient_retries_503_honouring_retry_after_then_opens() -> None:
    served = 0

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal served
        served += 1
        if served == 1:
            return web.Response(status=503, text="deploying", headers={"Retry-After": "0"})
        if served == 2:
            return web.Response(status=429, text="slow")
        return await sse(request, b"data: up\n\n")

    async with SSEServer() as server:
        server.handle("/", handler)
        es = EventSource(server.url_for("/"), status_policy=retry_transient(), **FAST)
        errors: list[ErrorEvent] = []
        es.onerror = errors.append
        async with es:
            [event] = await collect(es, 1)
    assert event.data == "up"
    assert [(e.status, e.reconnecting) for e in errors] == [(503, True), (429, True)]
    assert isinstance(errors[0].error, StatusError)
    assert errors[0].error.body == "deploying"


@pytest.mark.asyncio
async def test_retry_after_sets_a_floor_on_the_delay() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=503, headers={"Retry-After": "120"})

    async with SSEServer() as server:
        server.handle("/", handler)
        es = EventSource(
            server.url_for("/"),
            status_policy=retry_transient(max_retry_after=60.0),
            retry_policy=RetryPolicy(jitter=0.0),
        )
        seen: list[ErrorEvent] = []

        def on_error(event: ErrorEvent) -> None:
            seen.append(event)
            es.close()

        es.onerror = on_error
        assert await collect(es, 1) == []
    assert seen[0].delay == 60.0


@pytest.mark.asyncio
async def test_retry_transient_still_fails_a_404() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=404)

    async with SSEServer() as server:
        server.handle("/", handler)
        with pytest.raises(StatusError):
            await collect(EventSource(server.url_for("/"), status_policy=retry_transient()), 1)


@pytest.mark.asyncio
async def test_a_policy_may_accept_a_wrong_content_type() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await sse(request, b"data: plain\n\n", content_type="text/plain")

    def accept_text(response: ResponseInfo) -> str:
        return "accept" if response.header("Content-Type") == "text/plain" else "fail"

    async with SSEServer() as server:
        server.handle("/", handler)
        async with EventSource(server.url_for("/"), status_policy=accept_text) as es:
            [event] = await collect(es, 1)
        with pytest.raises(ContentTypeError):
            await collect(EventSource(server.url_for("/")), 1)
    assert event.data == "plain"


@pytest.mark.asyncio
async def test_validate_response_can_refuse_before_open() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "X-Version": "1"}
        )
        await response.prepare(request)
        await response.write(b"data: x\n\n")
        return response

    class WrongVersion(Exception):
        pass

    async def check(info: ResponseInfo) -> None:
        if info.header("x-version") != "2":
            raise WrongVersion(info.header("x-version"))

    opened: list[object] = []
    async with SSEServer() as server:
        server.handle("/", handler)
        es = EventSource(server.url_for("/"), validate_response=check)
        es.onopen = opened.append
        with pytest.raises(WrongVersion):
            await collect(es, 1)
        assert es.readyState == ReadyState.CLOSED

        def typed(info: ResponseInfo) -> None:
            raise StatusError("refused", status=info.status)

        with pytest.raises(StatusError, match="refused"):
            await collect(EventSource(server.url_for("/"), validate_response=typed), 1)
    assert opened == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("7", 7.0),
        (" 12 ", 12.0),
        ("-1", None),
        ("soon", None),
    ],
)
def test_parse_retry_after_seconds(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_parse_retry_after_http_date() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    later = format_datetime(now + timedelta(seconds=90), usegmt=True)
    earlier = format_datetime(now - timedelta(seconds=90), usegmt=True)
    assert parse_retry_after(later, now) == 90.0
    assert parse_retry_after(earlier, now) == 0.0
    assert parse_retry_after("Wed, 01 Jan 2026 12:01:30", now) == 90.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("9" * 400, math.inf),  # then bounded by retry_transient's max_retry_after
        ("9" * 5000, math.inf),
        ("Mon, 01 Jan 99999999999999999999 00:00:00 GMT", None),  # raised OverflowError
        ("Mon, 01 Jan 2020 00:00:00 +99999999999999999999", None),
        ("Fri, 31 Dec 9999 23:59:59 GMT", 251_635_031_999.0),
    ],
)
def test_parse_retry_after_out_of_range_values_are_inf_or_malformed(
    value: str, expected: float | None
) -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    assert parse_retry_after(value, now) == expected
