"""Handing a blocking stream's items out: message events to ``for``, the rest to listeners.

The counterpart of ``_delivery`` for ``eventsource.sync``. :class:`SyncDelivery`,
a base of ``sync.EventSource``, holds what the last read said until it is
handed out, calls the listeners of every other item on the way, in wire order
(plain functions: a coroutine is refused), closes and raises or stops at the
``End``, and saves the last event ID to the store when the caller comes back
for the next event (by then it has handled the one before). A failed save is
the async client's: logged, and the stream goes on (``_commits``); the end
tries it once more and raises ``StoreError``. No event loop.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from ._commits import Commits, store_error_at_end
from ._connection import Connection
from ._errors import StoreError
from ._event import ErrorEvent, MessageEvent
from ._listeners import ListenerRegistry, listener_failed, listeners_for, removed_meanwhile
from ._sync_callbacks import refuse_awaitable
from ._sync_driver import SyncDriver
from ._verdicts import End, Item
from .stores import SyncLastEventIdStore

__all__ = ["SyncDelivery"]


class SyncDelivery:
    """The items of one blocking EventSource not handed out yet, and the handing out."""

    __slots__ = ("_commits", "_handed_id", "_items", "_reader", "_rejudge", "_store")
    _items: list[Item]  # the next item last: handed out by pop()
    _handed_id: str  # the last event ID as of the last event handed out
    _commits: Commits  # what the store holds, and its failed saves
    _store: SyncLastEventIdStore | None
    _reader: int
    _rejudge: bool  # a predicate was set: the waiting items are judged before the next
    _connection: Connection
    _driver: SyncDriver
    listeners: ListenerRegistry

    if TYPE_CHECKING:  # the EventSource's

        def _close(self, *, save: bool) -> None: ...

    def __next__(self) -> MessageEvent:
        """The next message event; other items go to their listeners on the way.

        Raises:
            StopIteration: closed, or the stream ended for good without an error.
            EventSourceError: the connection failed for good.
        """
        self._reader = threading.get_ident()
        if self._store is not None:
            self._save_last_id()  # the caller is back: it handled the last event
        items = self._items
        driver = self._driver
        while True:
            if driver.closed:
                # close() from another thread leaves the items to this one. With all
                # handed out (but the End the close made: not a predicate's cut), an
                # id-only block read after them counts.
                if all(type(item) is End and not item.cut for item in items):
                    self._handed_id = self._connection.last_event_id
                items.clear()
                self._handle(End())
            if self._rejudge:
                # Before each item, in this thread, which alone takes them: a
                # predicate set meanwhile (a listener, another thread) applies.
                self._rejudge = False
                self._connection.judge_waiting(items)
            if items:
                item = items.pop()
                if type(item) is MessageEvent:
                    self._handed_id = (
                        item.last_event_id if items else self._connection.last_event_id
                    )
                    return item
                self._handle(item)
            else:
                # Every item was handed out: an id-only block after them counts.
                self._handed_id = self._connection.last_event_id
                self._save_last_id()
                try:
                    items.extend(reversed(driver.receive()))
                except Exception:
                    self._close(save=False)  # a hook raised: the stream is over
                    raise

    def _handle(self, item: Item) -> None:
        """Dispatch a non-message item; at ``End``, close and raise or stop."""
        if type(item) is End:
            if not (item.cut or self._items or self._driver.closed):
                # All read was handed out: an id-only block after it counts.
                self._handed_id = self._connection.last_event_id
            try:
                self._driver.finish()
            finally:
                self._driver.close()
                self._driver.release()
            try:
                self._flush()  # every event before the End was handled
            except StoreError as exc:
                store_error_at_end(exc, item.error)
            if item.error is not None:
                raise item.error
            raise StopIteration
        if type(item) is ErrorEvent and not item.reconnecting:
            self._connection.close()  # the stream is over: listeners see CLOSED
        self._dispatch(item)

    def _dispatch(self, item: Item) -> None:
        registry = self.listeners
        removals = registry.removals
        listeners, argument = listeners_for(registry, item)
        for listener in listeners:
            if self._driver.closed:  # close() in a listener: as in the browser, no more
                return
            if registry.removals != removals and removed_meanwhile(
                registry, item, listener, listeners
            ):
                continue
            try:
                refuse_awaitable(listener(argument), f"the listener {listener!r}")
            except Exception:
                listener_failed(listener, argument, reraise=self.listeners.raise_errors)

    def _save_last_id(self) -> None:
        """Save the ID handed out last if it is due; a failure is logged, not raised."""
        store = self._store
        if store is not None:
            self._commits.handled = self._handed_id
            due = self._commits.due()
            if due is not None:
                self._save(store, due)

    def _flush(self) -> None:
        """At the end: save the ID handed out last, a failed one tried once more.

        Raises:
            StoreError: that save failed (its exception is the ``__cause__``).
        """
        store = self._store
        if store is None:
            return
        commits = self._commits
        if commits.at_end(self._handed_id) is not None and commits.due() is not None:
            self._save(store, commits.handled)
            error = commits.failed_at_end(store)
            if error is not None:
                raise error

    def _save(self, store: SyncLastEventIdStore, last_event_id: str) -> None:
        error: Exception | None = None
        try:
            store.save(last_event_id)
        except Exception as exc:
            error = exc
        except BaseException:  # Ctrl-C in the save: unknown whether it saved; due again
            self._commits.abandoned()
            raise
        self._commits.done(last_event_id, error)  # logs a failure, and a recovery
