"""The blocking client with more than one thread: close() while another thread reads.

The reading thread may be handling an event when another thread closes the
EventSource; what close() does then must not depend on the reader's timing.
"""

from __future__ import annotations

import threading

from aiohttp import web

from eventsource.sync import EventSource

from ._fixtures import FAST, LIMIT
from ._fixtures import server as server
from ._servers import LoopbackServer, open_stream


class RecordingStore:
    """A blocking last-event-id store that keeps every ID saved, in order."""

    def __init__(self) -> None:
        self.saved: list[str] = []

    def load(self) -> str | None:
        return None

    def save(self, last_event_id: str) -> None:
        self.saved.append(last_event_id)


def test_close_from_another_thread_does_not_save_the_id_of_an_event_being_handled(
    server: LoopbackServer,
) -> None:
    async def one_then_silence(request: web.Request) -> web.StreamResponse:
        response = await open_stream(request)
        await response.write(b"id: 1\ndata: one\n\n")
        await server.wait_gate("never")
        return response

    server.handle("/", one_then_silence)
    store = RecordingStore()
    es = EventSource(server.url("/"), last_event_id_store=store, **FAST)
    handling = threading.Event()
    handled = threading.Event()
    seen: list[str] = []

    def consume() -> None:
        for event in es:
            seen.append(event.data)
            handling.set()
            handled.wait(LIMIT)  # the handler of event 1 is still running

    reader = threading.Thread(target=consume)
    reader.start()
    try:
        assert handling.wait(LIMIT)
        es.close()  # from this thread, while the reader handles event 1
        assert store.saved == []  # event 1 is not handled yet: a crash now must resend it
    finally:
        handled.set()
        reader.join(LIMIT)
    assert not reader.is_alive()
    assert seen == ["one"]
    assert store.saved == ["1"]  # saved by the reader once it came back
