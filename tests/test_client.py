"""Behaviour of EventSource against real aiohttp.web servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import aiohttp
import anyio
import pytest
from aiohttp import web

from eventsource import (
    ContentTypeError,
    ErrorEvent,
    Event,
    EventSource,
    MessageEvent,
    ProtocolError,
    ReadTimeout,
    ReadyState,
    RedirectError,
    StatusError,
    TransportError,
)

from ._web import serve, stream

pytestmark = pytest.mark.asyncio
FAST = {"retry": 0.001, "backoff_factor": 1.0}


async def collect(es: EventSource, n: int, timeout: float = 5.0) -> list[MessageEvent]:
    got: list[MessageEvent] = []
    with anyio.fail_after(timeout):
        async for event in es:
            got.append(event)
            if len(got) == n:
                break
    return got


async def test_ready_state_is_connecting_then_open_then_connecting_then_closed() -> None:
    states: list[tuple[str, ReadyState]] = []
    served = 0

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal served
        served += 1
        return await stream(request, b"data: x\n\n")

    async with serve({"/": handler}) as server:
        es = EventSource(server.url("/"), **FAST)
        states.append(("new", es.readyState))
        es.onopen = lambda e: states.append(("open", es.readyState))
        es.onerror = lambda e: states.append(("error", es.readyState))

        def on_message(event: MessageEvent) -> None:
            states.append(("message", es.readyState))
            if served == 2:
                es.close()
                states.append(("closed", es.readyState))

        es.onmessage = on_message
        with anyio.fail_after(5):
            await es.run()
    assert states == [
        ("new", ReadyState.CONNECTING),
        ("open", ReadyState.OPEN),
        ("message", ReadyState.OPEN),
        ("error", ReadyState.CONNECTING),
        ("open", ReadyState.OPEN),
        ("message", ReadyState.OPEN),
        ("closed", ReadyState.CLOSED),
    ]
    assert (es.CONNECTING, es.OPEN, es.CLOSED) == (0, 1, 2)
    assert (EventSource.CONNECTING, EventSource.OPEN, EventSource.CLOSED) == (0, 1, 2)


async def test_first_request_headers_and_reconnect_sends_last_event_id() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await stream(request, b"id: abc\ndata: x\n\n")

    async with serve({"/": handler}) as server:
        async with EventSource(server.url("/"), headers={"X-Token": "t"}, **FAST) as es:
            await collect(es, 2)
        first, second = server.requests[0].headers, server.requests[1].headers
    assert first["Accept"] == "text/event-stream"
    assert first["Cache-Control"] == "no-cache"
    assert first["X-Token"] == "t"
    assert "Last-Event-ID" not in first
    assert second["Last-Event-ID"] == "abc"
    assert second["Accept"] == "text/event-stream"


async def test_starting_last_event_id_is_sent_on_the_first_request() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await stream(request, b"data: x\n\n")

    async with serve({"/": handler}) as server:
        async with EventSource(server.url("/"), last_event_id="41") as es:
            [event] = await collect(es, 1)
            assert es.lastEventId == es.last_event_id == "41"
        assert server.requests[0].headers["Last-Event-ID"] == "41"
    assert event.last_event_id == "41"


async def test_id_only_block_updates_last_event_id_without_an_event() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await stream(request, b"data: a\n\nid: 9\n\n")

    async with serve({"/": handler}) as server:
        async with EventSource(server.url("/"), **FAST) as es:
            events = await collect(es, 2)
        assert [e.last_event_id for e in events] == ["", "9"]
        assert server.requests[1].headers["Last-Event-ID"] == "9"


async def test_server_retry_changes_the_reconnection_delay() -> None:
    errors: list[ErrorEvent] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        return await stream(request, b"retry: 20\ndata: x\n\n")

    async with (
        serve({"/": handler}) as server,
        EventSource(server.url("/"), retry=5.0, jitter=0.0, min_retry=0.0) as es,
    ):
        assert es.reconnection_time == 5.0
        es.onerror = errors.append
        await collect(es, 2)
        assert es.reconnection_time == 0.02
    assert errors[0].delay == pytest.approx(0.02)
    assert errors[0].reconnecting
    assert errors[0].attempt == 1


async def test_backoff_grows_on_consecutive_failures_up_to_the_cap() -> None:
    delays: list[float | None] = []
    served = 0

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal served
        served += 1
        return await stream(request, b"data: ok\n\n" if served == 5 else b": nothing\n\n")

    async with serve({"/": handler}) as server:
        es = EventSource(
            server.url("/"), retry=0.001, backoff_factor=3.0, max_backoff=0.02, jitter=0.0
        )
        es.onerror = lambda e: delays.append(e.delay)
        async with es:
            await collect(es, 1)
    assert delays == pytest.approx([0.001, 0.003, 0.009, 0.02])


async def test_backoff_resets_after_a_connection_that_delivered_an_event() -> None:
    errors: list[ErrorEvent] = []
    served = 0

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal served
        served += 1
        body = b"data: ok\n\n" if served in (3, 5) else b""
        return await stream(request, body)

    async with serve({"/": handler}) as server:
        es = EventSource(server.url("/"), retry=0.001, backoff_factor=2.0, jitter=0.0)
        es.onerror = errors.append
        async with es:
            await collect(es, 2)
    # failures 1, 2 grow; connection 3 delivered, so its loss counts as attempt 1 again
    assert [e.attempt for e in errors] == [1, 2, 1, 2]
    assert [e.delay for e in errors] == pytest.approx([0.001, 0.002, 0.001, 0.002])


async def test_read_timeout_reconnects_when_the_server_stalls() -> None:
    errors: list[ErrorEvent] = []
    release = asyncio.Event()

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b"id: 1\ndata: first\n\n")
        await release.wait()
        return response

    async with serve({"/": handler}) as server:
        es = EventSource(server.url("/"), read_timeout=0.1, **FAST)
        es.onerror = errors.append
        async with es:
            events = await collect(es, 2)
        release.set()
    assert [e.data for e in events] == ["first", "first"]
    assert isinstance(errors[0].error, ReadTimeout)
    assert errors[0].reconnecting


async def test_heartbeat_comments_keep_the_read_timeout_from_firing() -> None:
    errors: list[ErrorEvent] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for _ in range(6):
            await response.write(b": ping\n")
            await asyncio.sleep(0.05)
        await response.write(b"data: after\n\n")
        return response

    async with serve({"/": handler}) as server:
        es = EventSource(server.url("/"), read_timeout=0.4, **FAST)
        es.onerror = errors.append
        async with es:
            [event] = await collect(es, 1)
    assert event.data == "after"
    assert errors == []


@pytest.mark.parametrize("status", [301, 302, 307, 308])
async def test_redirect_is_followed_and_reconnect_uses_the_original_url(status: int) -> None:
    async def hop(request: web.Request) -> web.StreamResponse:
        raise (
            web.HTTPException(headers={"Location": "/target"})
            if False
            else _redirect(status, "/target")
        )

    async def target(request: web.Request) -> web.StreamResponse:
        return await stream(request, b"data: here\n\n")

    async with serve({"/start": hop, "/target": target}) as server:
        async with EventSource(server.url("/start"), **FAST) as es:
            events = await collect(es, 2)
        paths = [r.path for r in server.requests]
    assert [e.data for e in events] == ["here", "here"]
    assert paths == ["/start", "/target", "/start", "/target"]


def _redirect(status: int, location: str) -> web.HTTPException:
    classes: dict[int, Any] = {
        301: web.HTTPMovedPermanently,
        302: web.HTTPFound,
        303: web.HTTPSeeOther,
        307: web.HTTPTemporaryRedirect,
        308: web.HTTPPermanentRedirect,
    }
    return classes[status](location)  # type: ignore[no-any-return]


async def test_credentials_are_dropped_on_a_cross_origin_redirect_and_kept_same_origin() -> None:
    seen: dict[str, dict[str, str]] = {}

    async def final(request: web.Request) -> web.StreamResponse:
        seen["other"] = dict(request.headers)
        return await stream(request, b"data: x\n\n")

    async with serve({"/final": final}) as other:

        async def hop1(request: web.Request) -> web.StreamResponse:
            seen["hop1"] = dict(request.headers)
            raise _redirect(307, "/hop2")

        async def hop2(request: web.Request) -> web.StreamResponse:
            seen["hop2"] = dict(request.headers)
            raise _redirect(302, other.url("/final"))

        async with serve({"/hop1": hop1, "/hop2": hop2}) as server:
            headers = {
                "Authorization": "Bearer s3",
                "Cookie": "a=b",
                "X-API-Key": "k",
                "X-Ok": "1",
            }
            es = EventSource(server.url("/hop1"), headers=headers, secret_headers=["x-api-key"])
            async with es:
                await collect(es, 1)
    assert seen["hop2"]["Authorization"] == "Bearer s3"
    assert seen["hop2"]["X-API-Key"] == "k"
    for name in ("Authorization", "Cookie", "X-API-Key"):
        assert name not in seen["other"]
    assert seen["other"]["X-Ok"] == "1"


async def test_redirect_loop_raises_redirect_error() -> None:
    async def a(request: web.Request) -> web.StreamResponse:
        raise _redirect(307, "/b")

    async def b(request: web.Request) -> web.StreamResponse:
        raise _redirect(307, "/a")

    async with serve({"/a": a, "/b": b}) as server:
        es = EventSource(server.url("/a"))
        with pytest.raises(RedirectError, match="loop"):
            await collect(es, 1)
        assert es.readyState == ReadyState.CLOSED


async def test_too_many_redirects_raise_redirect_error() -> None:
    async def hop(request: web.Request) -> web.StreamResponse:
        n = int(request.match_info["n"])
        raise _redirect(302, f"/r/{n + 1}")

    async with serve({"/r/{n}": hop}) as server:
        with pytest.raises(RedirectError, match="more than 3"):
            await collect(EventSource(server.url("/r/0"), max_redirects=3), 1)
        assert len(server.requests) == 4


async def test_redirect_to_a_non_http_scheme_is_refused() -> None:
    async def hop(request: web.Request) -> web.StreamResponse:
        raise _redirect(302, "file:///etc/passwd")

    async with serve({"/": hop}) as server:
        with pytest.raises(RedirectError, match="not http"):
            await collect(EventSource(server.url("/")), 1)


async def test_non_200_status_fails_without_reconnect_and_keeps_the_body() -> None:
    errors: list[ErrorEvent] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.json_response({"error": "bad token"}, status=401)

    async with serve({"/": handler}) as server:
        es = EventSource(server.url("/"), **FAST)
        es.onerror = errors.append
        with pytest.raises(StatusError) as info:
            await collect(es, 1)
        assert len(server.requests) == 1
    error = info.value
    assert error.status == 401
    assert json.loads(error.body) == {"error": "bad token"}
    assert error.content_type.startswith("application/json")
    assert "401" in str(error)
    assert es.readyState == ReadyState.CLOSED
    assert [(e.status, e.reconnecting) for e in errors] == [(401, False)]


async def test_wrong_content_type_fails_with_content_type_error() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(text="<html>", content_type="text/html")

    async with serve({"/": handler}) as server:
        with pytest.raises(ContentTypeError, match="text/html") as info:
            await collect(EventSource(server.url("/")), 1)
    assert info.value.status == 200


async def test_content_type_parameters_are_allowed() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await stream(
            request, b"data: ok\n\n", content_type="Text/Event-Stream; charset=utf-8"
        )

    async with serve({"/": handler}) as server, EventSource(server.url("/")) as es:
        [event] = await collect(es, 1)
    assert event.data == "ok"


async def test_204_ends_iteration_without_error_and_without_reconnect() -> None:
    errors: list[ErrorEvent] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=204)

    async with serve({"/": handler}) as server:
        es = EventSource(server.url("/"), **FAST)
        es.onerror = errors.append
        assert await collect(es, 1) == []
        assert len(server.requests) == 1
    assert es.readyState == ReadyState.CLOSED
    assert [(e.status, e.error) for e in errors] == [(204, None)]


async def test_network_errors_reconnect_until_max_reconnects_then_raise_the_last_error() -> None:
    async with serve({}) as server:
        url = server.url("/")
    errors: list[ErrorEvent] = []
    es = EventSource(url, max_reconnects=2, **FAST)
    es.onerror = errors.append
    with pytest.raises(TransportError) as info:
        await collect(es, 1)
    assert isinstance(info.value.__cause__, aiohttp.ClientError)
    assert [e.attempt for e in errors] == [1, 2, 3]
    assert [e.reconnecting for e in errors] == [True, True, False]


async def test_close_during_connect_stops_at_once() -> None:
    entered = asyncio.Event()

    async def handler(request: web.Request) -> web.StreamResponse:
        entered.set()
        await asyncio.sleep(10)
        return await stream(request, b"data: late\n\n")

    async with serve({"/": handler}) as server:
        es = EventSource(server.url("/"))
        got: list[MessageEvent] = []

        async def consume() -> None:
            async for event in es:
                got.append(event)

        with anyio.fail_after(5):
            async with anyio.create_task_group() as tg:
                tg.start_soon(consume)
                await entered.wait()
                es.close()
        assert es.readyState == ReadyState.CLOSED
        assert got == []


async def test_close_during_a_read_from_another_task_ends_iteration() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b"data: one\n\n")
        await asyncio.sleep(10)
        return response

    async with serve({"/": handler}) as server:
        es = EventSource(server.url("/"))
        got: list[str] = []

        async def consume() -> None:
            async for event in es:
                got.append(event.data)

        with anyio.fail_after(5):
            async with anyio.create_task_group() as tg:
                tg.start_soon(consume)
                while not got:
                    await asyncio.sleep(0.01)
                es.close()
        assert got == ["one"]
        assert len(server.requests) == 1


async def test_close_from_inside_a_listener_stops_dispatch_and_requests() -> None:
    seen: list[str] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        return await stream(request, b"data: 1\n\ndata: 2\n\ndata: 3\n\n")

    async with serve({"/": handler}) as server:
        es = EventSource(server.url("/"), **FAST)
        other: list[str] = []

        def on_message(event: MessageEvent) -> None:
            seen.append(event.data)
            if event.data == "2":
                es.close()

        es.onmessage = on_message
        es.addEventListener("message", lambda e: other.append(e.data))
        with anyio.fail_after(5):
            await es.run()
        assert len(server.requests) == 1
    assert seen == ["1", "2"]
    assert other == ["1"]
    assert es.readyState == ReadyState.CLOSED


async def test_listeners_by_type_onmessage_only_message_and_remove() -> None:
    calls: list[tuple[str, str]] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        body = b"event: chat\ndata: c1\n\ndata: m1\n\nevent: other\ndata: o\n\ndata: end\n\n"
        return await stream(request, body)

    async with serve({"/": handler}) as server:
        es = EventSource(server.url("/"))

        def on_chat(event: MessageEvent) -> None:
            calls.append(("chat", event.data))

        def removed(event: MessageEvent) -> None:
            calls.append(("removed", event.data))

        async def on_message(event: MessageEvent) -> None:
            await asyncio.sleep(0)
            calls.append(("onmessage", event.data))
            if event.data == "end":
                es.close()

        es.addEventListener("chat", on_chat)
        es.addEventListener("chat", on_chat)  # added once
        es.add_event_listener("other", removed)
        es.remove_event_listener("other", removed)
        es.removeEventListener("never", removed)
        es.onmessage = on_message
        with anyio.fail_after(5):
            await es.run()
    assert calls == [("chat", "c1"), ("onmessage", "m1"), ("onmessage", "end")]


async def test_a_listener_exception_is_logged_and_the_stream_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    got: list[str] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        return await stream(request, b"data: 1\n\ndata: 2\n\n")

    def on_message(event: MessageEvent) -> None:
        got.append(event.data)
        if event.data == "1":
            raise RuntimeError("boom")
        es.close()

    async with serve({"/": handler}) as server:
        es = EventSource(server.url("/"))
        es.onmessage = on_message
        with caplog.at_level(logging.ERROR, logger="eventsource"), anyio.fail_after(5):
            await es.run()
    assert got == ["1", "2"]
    assert any("boom" in (r.exc_text or "") for r in caplog.records)


async def test_raise_listener_errors_propagates_out_of_run() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await stream(request, b"data: 1\n\n")

    async with serve({"/": handler}) as server:
        es = EventSource(server.url("/"), raise_listener_errors=True)
        es.onmessage = lambda e: 1 / 0
        with pytest.raises(ZeroDivisionError):
            await es.run()
        assert es.readyState == ReadyState.CLOSED


async def test_open_and_error_listeners_receive_event_objects() -> None:
    seen: list[Event] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        return await stream(request, b"data: 1\n\n")

    async with serve({"/": handler}) as server:
        es = EventSource(server.url("/"), **FAST)
        es.addEventListener("open", seen.append)
        es.addEventListener("error", seen.append)
        async with es:
            await collect(es, 2)
    assert [type(e).__name__ for e in seen] == ["Event", "ErrorEvent", "Event"]
    assert seen[0].type == "open"
    assert seen[1].type == "error"


async def test_post_with_json_body_is_sent_again_on_reconnect() -> None:
    bodies: list[tuple[str, str, bytes]] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        bodies.append((request.method, request.headers["Content-Type"], await request.read()))
        return await stream(request, b"data: x\n\n")

    async with serve({"/": handler}) as server:
        es = EventSource(server.url("/"), method="post", json={"q": 1}, **FAST)
        async with es:
            await collect(es, 2)
    assert bodies == [("POST", "application/json", b'{"q":1}')] * 2


async def test_any_method_and_params_are_used() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await stream(request, b"data: x\n\n")

    async with serve({"/p": handler}) as server:
        url = server.url("/p?a=1")
        async with EventSource(url, method="REPORT", params={"b": "2 3"}, body="hi") as es:
            await collect(es, 1)
            assert es.url == url + "&b=2+3"
        request = server.requests[0]
    assert request.method == "REPORT"
    assert dict(request.query) == {"a": "1", "b": "2 3"}


async def test_event_larger_than_max_event_size_fails_with_protocol_error() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await stream(request, b"data: ok\n\ndata: " + b"x" * 5000 + b"\n\n")

    async with serve({"/": handler}) as server:
        es = EventSource(server.url("/"), max_event_size=1000)
        got: list[str] = []

        async def consume() -> None:
            async for event in es:
                got.append(event.data)

        with pytest.raises(ProtocolError, match="max_event_size"):
            await consume()
        assert got == ["ok"]
        assert len(server.requests) == 1


async def test_a_users_session_is_never_closed() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await stream(request, b"data: x\n\n")

    async with serve({"/": handler}) as server, aiohttp.ClientSession() as session:
        async with EventSource(server.url("/"), session=session) as es:
            await collect(es, 1)
        assert not session.closed


async def test_resume_with_drops_every_7_events_delivers_500_exactly_once_in_order() -> None:
    total = 500

    async def handler(request: web.Request) -> web.StreamResponse:
        start = int(request.headers.get("Last-Event-ID", "0"))
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b"retry: 1\n")
        for i in range(start + 1, min(start + 7, total) + 1):
            await response.write(f"id: {i}\ndata: message {i}\n\n".encode())
        request.transport.close()  # type: ignore[union-attr]  # an abrupt drop
        return response

    async with serve({"/": handler}) as server, EventSource(server.url("/")) as es:
        events = await collect(es, total, timeout=30)
    assert [e.data for e in events] == [f"message {i}" for i in range(1, total + 1)]


async def test_aclose_leaves_no_task_and_the_server_sees_the_socket_closed() -> None:
    disconnected = asyncio.Event()

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b"data: x\n\n")
        try:
            for _ in range(200):
                await asyncio.sleep(0.02)
                await response.write(b": ping\n")
        except (ConnectionResetError, ConnectionError):
            disconnected.set()
        return response

    async with serve({"/": handler}) as server:
        before = asyncio.all_tasks()
        es = EventSource(server.url("/"))
        await collect(es, 1)
        await es.aclose()
        new = [t for t in asyncio.all_tasks() - before if "web_protocol" not in repr(t)]
        assert new == []
        with anyio.fail_after(5):
            await disconnected.wait()
        assert es._transport._session is None  # type: ignore[attr-defined]


async def test_header_values_never_reach_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=403, headers={"X-Echo": request.headers["Authorization"]})

    async with serve({"/": handler}) as server:
        es = EventSource(
            server.url("/?token=q-secret"), headers={"Authorization": "Bearer s3cr3t"}
        )
        with (
            caplog.at_level(logging.DEBUG, logger="eventsource"),
            pytest.raises(StatusError) as info,
        ):
            await collect(es, 1)
    text = caplog.text + str(info.value) + repr(info.value)
    assert "s3cr3t" not in text
    assert "q-secret" not in caplog.text
    assert info.value.headers["X-Echo"] == "Bearer s3cr3t"


async def test_with_credentials_is_accepted_and_reported() -> None:
    es = EventSource("http://127.0.0.1:9/", with_credentials=True)
    assert es.withCredentials is True
    assert es.with_credentials is True
    await es.aclose()


@pytest.mark.parametrize("url", ["ftp://x/", "/relative", "ws://127.0.0.1/"])
async def test_urls_must_be_absolute_http(url: str) -> None:
    with pytest.raises(ValueError, match="http"):
        EventSource(url)


async def test_iterating_twice_at_once_is_a_runtime_error() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(1)
        return await stream(request, b"data: x\n\n")

    async with (
        serve({"/": handler}) as server,
        EventSource(server.url("/")) as es,
        anyio.create_task_group() as tg,
    ):
        tg.start_soon(es.__anext__)
        await asyncio.sleep(0.05)
        with pytest.raises(RuntimeError, match="already"):
            await es.__anext__()
        tg.cancel_scope.cancel()


async def test_httpx_transport_by_name_and_by_client_reads_the_same_stream() -> None:
    import httpx

    async def handler(request: web.Request) -> web.StreamResponse:
        return await stream(request, b"id: 1\ndata: via httpx\n\n")

    async with serve({"/": handler}) as server:
        async with EventSource(server.url("/"), transport="httpx") as es:
            [event] = await collect(es, 1)
        async with httpx.AsyncClient() as client:
            async with EventSource(server.url("/"), client=client) as es:
                [again] = await collect(es, 1)
            assert not client.is_closed
    assert (event.data, again.data) == ("via httpx", "via httpx")


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"transport": "nope"}, ValueError),
        ({"session": object(), "client": object()}, TypeError),
        ({"transport": "aiohttp", "client": object()}, TypeError),
        ({"transport": "httpx", "session": object()}, TypeError),
    ],
)
async def test_transport_selection_errors(kwargs: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        EventSource("http://127.0.0.1:9/", **kwargs)


async def test_a_client_certificate_with_a_callers_ssl_context_is_refused() -> None:
    import ssl

    context = ssl.create_default_context()
    with pytest.raises(TypeError, match="load the client certificate into that context"):
        EventSource("https://127.0.0.1:9/", verify=context, cert="client.pem")
