"""The blocking client's last-event-id store: a failed save is the async client's.

During the stream a failed save is logged and the stream goes on (the next
handled ID is saved instead); at the end the last handled ID is tried once
more, and ``close()`` (or the end of iteration) raises ``StoreError``, with
the connection closed all the same. Before, the store's exception came out of
the ``for`` loop bare, and ``close()`` raised it before closing anything. A
real server on 127.0.0.1, the same scenarios as tests/test_durable.py.
"""

from __future__ import annotations

import logging

import pytest

from eventsource import ReadyState
from eventsource.stores import StoreError
from eventsource.sync import EventSource

from ._fixtures import server as server
from ._servers import LoopbackServer, client_sockets_to, sse
from .test_durable import Flaky, MemoryStore, assert_went_on_past_failed_saves, numbered


def test_failed_saves_are_logged_and_the_next_id_saved_instead(
    server: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.handle("/six", lambda request: sse(request, numbered(1, 6)))
    store = Flaky()
    got: list[str] = []
    es = EventSource(server.url("/six"), reconnect=False, last_event_id_store=store)
    with caplog.at_level(logging.WARNING, "eventsource"), es:
        for event in es:
            got.append(event.data)
            if event.data == "4":
                store.failing = False  # the disk has room again
    assert_went_on_past_failed_saves(got, store, caplog.records)


def test_the_last_save_failing_at_close_raises_after_closing(server: LoopbackServer) -> None:
    server.handle("/three", lambda request: sse(request, numbered(1, 3), b": then wait\n"))
    es = EventSource(server.url("/three"), last_event_id_store=Flaky())
    assert next(es).data == "1"
    assert client_sockets_to(server.port) == 1
    with pytest.raises(StoreError, match="failed to save the last handled ID") as caught:
        es.close()
    assert isinstance(caught.value.__cause__, OSError)
    assert es.readyState is ReadyState.CLOSED
    assert client_sockets_to(server.port) == 0  # closed before the save, not left open


def test_iteration_that_reaches_the_end_raises_a_failed_last_save(
    server: LoopbackServer,
) -> None:
    server.handle("/three", lambda request: sse(request, numbered(1, 3)))
    got: list[str] = []
    es = EventSource(server.url("/three"), reconnect=False, last_event_id_store=Flaky())
    with es, pytest.raises(StoreError):  # once: leaving the block does not raise it again
        for event in es:
            got.append(event.data)
    assert got == ["1", "2", "3"]


class InterruptedOnce(MemoryStore):
    """Ctrl-C arrives during its first save (a ``BaseException``, not an ``Exception``)."""

    interrupt = True

    def save(self, last_event_id: str) -> None:
        if self.interrupt:
            self.interrupt = False
            raise KeyboardInterrupt
        super().save(last_event_id)


def test_a_save_cut_by_ctrl_c_is_due_again_not_stuck(server: LoopbackServer) -> None:
    # The ID stayed "in flight" for good: no save after it, not even at close().
    server.handle("/five", lambda request: sse(request, numbered(1, 5)))
    store = InterruptedOnce()
    es = EventSource(server.url("/five"), reconnect=False, last_event_id_store=store)
    got: list[str] = []
    with es:
        while len(got) < 5:
            try:
                got.append(next(es).data)
            except KeyboardInterrupt:
                continue  # the caller goes on
    assert got == ["1", "2", "3", "4", "5"]
    assert store.saves[-1] == "5"
