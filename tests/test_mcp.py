"""An MCP streamable-HTTP-shaped server: POST opens the stream, GET + Last-Event-ID resumes."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest
from aiohttp import web

from eventsource import ConnectAttempt, EventSource, MessageEvent, RetryPolicy

from ._web import serve

pytestmark = pytest.mark.asyncio

SESSION = "session-7"


def mcp_server(log: list[tuple[str, str | None, dict[str, Any] | None]]) -> Any:
    """Events of one request's stream; the first connection is cut after the third."""
    events: list[tuple[str, str]] = []

    def stream_events(request_id: int) -> None:
        events.clear()
        events.append(("s1-0", ""))  # the priming event: an id and empty data
        for step in (1, 2, 3):
            note = {
                "jsonrpc": "2.0",
                "method": "notifications/progress",
                "params": {"progress": step},
            }
            events.append((f"s1-{step}", json.dumps(note)))
        result = {"jsonrpc": "2.0", "id": request_id, "result": {"content": [{"text": "42"}]}}
        events.append(("s1-4", json.dumps(result)))

    async def send(
        request: web.Request, after: str | None, cut_after: int | None
    ) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Mcp-Session-Id": SESSION}
        )
        await response.prepare(request)
        await response.write(b"retry: 20\n")
        ids = [event_id for event_id, _ in events]
        start = ids.index(after) + 1 if after in ids else 0
        for n, (event_id, data) in enumerate(events[start:], 1):
            await response.write(f"id: {event_id}\ndata: {data}\n\n".encode())
            if cut_after is not None and n == cut_after:
                request.transport.close()  # type: ignore[union-attr]  # the server goes away
                return response
        await response.write_eof()
        return response

    async def endpoint(request: web.Request) -> web.StreamResponse:
        accept = request.headers.get("Accept", "")
        if "text/event-stream" not in accept:
            return web.Response(status=406)
        if request.method == "POST":
            body = await request.json()
            log.append(("POST", request.headers.get("Last-Event-ID"), body))
            stream_events(body["id"])
            return await send(request, None, cut_after=3)
        if request.headers.get("Mcp-Session-Id") != SESSION:
            return web.Response(status=400)
        last = request.headers.get("Last-Event-ID")
        log.append(("GET", last, None))
        return await send(request, last, cut_after=None)

    return serve({"/mcp": endpoint})


def resume_with_get(attempt: ConnectAttempt) -> None:
    """MCP resumption: a GET to the same endpoint, with the session and Last-Event-ID."""
    if attempt.last_event_id:
        attempt.method = "GET"
        attempt.body = None
        attempt.headers.pop("Content-Type", None)
        attempt.headers["Mcp-Session-Id"] = SESSION


def is_response_to(request_id: int) -> Any:
    def matches(event: MessageEvent) -> bool:
        return bool(event.data) and event.json().get("id") == request_id

    return matches


async def test_mcp_tool_call_survives_a_cut_stream_and_resumes_with_get() -> None:
    log: list[tuple[str, str | None, dict[str, Any] | None]] = []
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "answer"}}
    async with mcp_server(log) as server:
        es = EventSource(
            server.url("/mcp"),
            method="POST",
            json=call,
            headers={"Accept": "application/json, text/event-stream"},
            prepare_request=resume_with_get,
            stop_after=is_response_to(1),
            retry_policy=RetryPolicy(backoff_factor=1.0, jitter=0.0),
        )
        received: list[MessageEvent] = []
        errors: list[float | None] = []
        es.onerror = lambda e: errors.append(e.delay)
        with anyio.fail_after(5):
            async with es:
                async for event in es:
                    received.append(event)
                    assert es.reconnection_time == 0.02
    assert log == [("POST", None, call), ("GET", "s1-2", None)]
    assert errors == [0.02]  # the server's retry: was honoured
    assert received[0].data == ""  # the priming event carries only its id
    assert [e.last_event_id for e in received] == ["s1-0", "s1-1", "s1-2", "s1-3", "s1-4"]
    progress = [e.json()["params"]["progress"] for e in received[1:4]]
    assert progress == [1, 2, 3]
    assert received[-1].json()["result"]["content"][0]["text"] == "42"
