"""A failing listener is logged with the traceback from the listener on, on both clients.

The dispatching frame is ours and tells the reader nothing; an error the
blocking client raises itself (a coroutine it cannot await) has no frame of
the listener's, so none of ours is shown either. ``raise_listener_errors``
still raises with the whole traceback.
"""

from __future__ import annotations

import logging
import os
import traceback
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from aiohttp import web

import eventsource
from eventsource import MessageEvent
from eventsource.sync import EventSource as SyncEventSource

from ._fixtures import FAST, LIMIT, Combo
from ._fixtures import anyio_backend as anyio_backend
from ._fixtures import combo as combo
from ._fixtures import server as server
from ._servers import LoopbackServer, sse

OURS = os.path.dirname(eventsource.__file__)


def _two_events(server: LoopbackServer) -> str:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await sse(request, b"data: 1\n\ndata: 2\n\n")

    server.handle("/", handler)
    return server.url("/")


def _logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.exc_text or "" for record in caplog.records if record.exc_info]


def test_the_blocking_client_refusing_a_coroutine_logs_no_frame_of_ours(
    server: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    es = SyncEventSource(_two_events(server), **FAST)

    async def on_message(event: Any) -> None:
        pass  # pragma: no cover - never awaited

    def last(event: MessageEvent) -> None:
        if event.data == "2":
            es.close()

    es.onmessage = on_message
    es.addEventListener("message", last)
    with caplog.at_level(logging.ERROR, logger="eventsource"):
        es.run()
    logged = _logged(caplog)
    assert len(logged) == 2
    for text in logged:
        assert "without an event loop" in text
        assert OURS not in text  # it was refuse_awaitable's frame (in _sync_driver.py then)


def test_the_blocking_client_logs_the_traceback_from_the_listener_on(
    server: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    es = SyncEventSource(_two_events(server), **FAST)

    def on_message(event: MessageEvent) -> None:
        if event.data == "1":
            raise RuntimeError("boom")
        es.close()

    es.onmessage = on_message
    with caplog.at_level(logging.ERROR, logger="eventsource"):
        es.run()
    [logged] = _logged(caplog)
    assert "boom" in logged
    assert "in on_message" in logged
    assert OURS not in logged


def test_the_blocking_client_raises_with_the_whole_traceback(server: LoopbackServer) -> None:
    es = SyncEventSource(_two_events(server), raise_listener_errors=True, **FAST)

    def on_message(event: MessageEvent) -> None:
        raise RuntimeError("boom")

    es.onmessage = on_message
    with pytest.raises(RuntimeError, match="boom") as info:
        es.run()
    names = [frame.name for frame in traceback.extract_tb(info.value.__traceback__)]
    assert names[-2:] == ["_dispatch", "on_message"]


@pytest.mark.anyio
async def test_an_async_listener_is_logged_from_its_coroutine_on(
    combo: Combo, server: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    es = combo.source(_two_events(server), **FAST)

    async def on_message(event: MessageEvent) -> None:
        await anyio.lowlevel.checkpoint()
        if event.data == "1":
            raise RuntimeError("boom")
        es.close()

    es.onmessage = on_message
    with caplog.at_level(logging.ERROR, logger="eventsource"), anyio.fail_after(LIMIT):
        await es.run()
    [logged] = _logged(caplog)
    assert "boom" in logged
    assert "in on_message" in logged
    assert OURS not in logged
