from __future__ import annotations

import anyio
import pytest
from aiohttp import web

from eventsource import EventSource, ReadyState, StatusError

from ._web import serve, stream


@pytest.mark.asyncio
async def test_async_for_yields_events_then_reconnects_with_last_event_id() -> None:
    calls: list[str | None] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        calls.append(request.headers.get("Last-Event-ID"))
        n = len(calls)
        return await stream(request, f"retry: 10\nid: {n}\ndata: hello {n}\n\n".encode())

    async with serve({"/s": handler}) as server:
        got = []
        with anyio.fail_after(5):
            async with EventSource(server.url("/s")) as es:
                async for event in es:
                    got.append((event.data, event.last_event_id))
                    if len(got) == 3:
                        es.close()
                assert es.readyState == ReadyState.CLOSED
    assert got == [("hello 1", "1"), ("hello 2", "2"), ("hello 3", "3")]
    assert calls == [None, "1", "2"]


@pytest.mark.asyncio
async def test_status_error_raises_and_closes() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.json_response({"error": "nope"}, status=401)

    async with serve({"/s": handler}) as server:
        es = EventSource(server.url("/s"))
        with anyio.fail_after(5), pytest.raises(StatusError) as info:
            async for _ in es:
                pass
        assert info.value.status == 401
        assert "nope" in info.value.body
        assert es.readyState == ReadyState.CLOSED
