"""Durable consumers, found in review: a cancelled load, the store's worker thread."""

from __future__ import annotations

import linecache
import threading
import time
from collections.abc import Iterator
from types import FrameType
from typing import Any

import anyio
import pytest
from aiohttp import web

from eventsource import ServerEventError, _checkpoint, _save_thread

from ._fixtures import LIMIT, Combo, eventually
from ._fixtures import anyio_backend as anyio_backend
from ._fixtures import combo as combo
from ._fixtures import server as server
from ._servers import LoopbackServer, sse

pytestmark = pytest.mark.anyio


def numbered(first: int, last: int) -> bytes:
    return b"".join(f"id: {i}\ndata: {i}\n\n".encode() for i in range(first, last + 1))


def resuming(request: web.Request) -> web.StreamResponse:
    start = int(request.headers.get("Last-Event-ID", "0"))
    return sse(request, numbered(start + 1, 3))


class SlowLoad:
    """An async store whose first ``load()`` waits until cancelled."""

    def __init__(self, value: str) -> None:
        self.value = value
        self.loads = 0

    async def load(self) -> str | None:
        self.loads += 1
        if self.loads == 1:
            await anyio.sleep_forever()
        return self.value

    async def save(self, last_event_id: str) -> None:
        self.value = last_event_id


async def test_a_read_cancelled_during_the_load_loads_again_on_the_next(
    combo: Combo, server: LoopbackServer
) -> None:
    server.handle("/resume", resuming)
    store = SlowLoad("1")
    es = combo.source(server.url("/resume"), reconnect=False, last_event_id_store=store)
    with anyio.move_on_after(0.2) as scope:
        await es.__anext__()  # cancelled while the store loads
    assert scope.cancelled_caught
    with anyio.fail_after(LIMIT):
        got = [event.data async for event in es]
    # Not a start from the beginning (or, on a live stream, from now: a skip).
    assert server.requests[0].headers.get("Last-Event-ID") == "1"
    assert got == ["2", "3"]
    assert store.loads == 2
    assert store.value == "3"


class MemoryStore:
    def __init__(self) -> None:
        self.value: str | None = None

    def load(self) -> str | None:
        return self.value

    def save(self, last_event_id: str) -> None:
        self.value = last_event_id


@pytest.fixture
def slow_thread_exit() -> Iterator[None]:
    """Each new thread lingers 0.3 s after the save worker's function returned."""

    def trace(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "call" and frame.f_code.co_name == "_work":
            return linger
        return None

    def linger(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "return":
            time.sleep(0.3)
        return linger

    before = threading.gettrace()  # coverage's, say: new threads get it back after
    threading.settrace(trace)
    try:
        yield
    finally:
        threading.settrace(before)  # type: ignore[arg-type]


async def test_no_save_worker_thread_is_alive_once_aclose_returns(
    combo: Combo, server: LoopbackServer, slow_thread_exit: None
) -> None:
    server.handle("/resume", resuming)
    store = MemoryStore()
    es = combo.source(server.url("/resume"), reconnect=False, last_event_id_store=store)
    with anyio.fail_after(LIMIT):
        assert (await es.__anext__()).data == "1"
        await es.aclose()
    assert store.value == "1"
    assert [t for t in threading.enumerate() if t.name == "eventsource-store-save"] == []


async def test_an_id_handled_just_as_the_idle_worker_ends_is_saved_at_once(
    combo: Combo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_save_thread, "WORKER_IDLE", 0.05)
    ending, go_on = threading.Event(), threading.Event()

    def trace(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "call" and frame.f_code.co_name == "_work":
            return at_the_end
        return None

    def at_the_end(frame: FrameType, event: str, arg: Any) -> Any:
        line = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
        if event == "line" and line == "self.thread = None":
            ending.set()  # idle, nothing due: it is about to end
            assert go_on.wait(LIMIT)
        return at_the_end

    store = MemoryStore()
    checkpoint = _checkpoint.Checkpoint(store, "", needs_load=False)
    before = threading.gettrace()
    threading.settrace(trace)
    try:
        checkpoint.handled("1")  # starts the worker
    finally:
        threading.settrace(before)  # type: ignore[arg-type]
    assert ending.wait(LIMIT)
    assert store.value == "1"
    # The caller comes back for more as the worker ends (from a thread: it may
    # wait for the worker's lock).
    caller = threading.Thread(target=checkpoint.handled, args=("2",))
    caller.start()
    caller.join(0.1)
    go_on.set()
    caller.join(LIMIT)
    await eventually(lambda: store.value == "2", limit=2.0)  # not at the close only
    await checkpoint.flush(None)


class FailingSaves:
    """A blocking store whose every save fails, as on a full disk."""

    def load(self) -> str | None:
        return None

    def save(self, last_event_id: str) -> None:
        raise OSError(28, "No space left on device")


async def test_a_last_save_failing_at_a_failed_streams_end_is_logged_not_lost(
    combo: Combo, server: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    # The stream's own error is raised; the store's error went unsaid before.
    async def handler(request: web.Request) -> web.StreamResponse:
        return await sse(request, numbered(1, 2) + b"event: error\ndata: boom\n\n")

    server.handle("/", handler)
    es = combo.source(
        server.url("/"), last_event_id_store=FailingSaves(), error_when=lambda e: e.type == "error"
    )
    got = []
    with anyio.fail_after(LIMIT), pytest.raises(ServerEventError):
        async for event in es:
            got.append(event.data)
    assert got == ["1", "2"]
    final = [r for r in caplog.records if "not raised" in r.getMessage()]
    assert len(final) == 1
    assert final[0].levelname == "ERROR"
    assert "No space left on device" in final[0].getMessage()
    assert "ServerEventError" in final[0].getMessage()
