"""Where a restarted consumer finds the last event ID it had: the store protocols and stores.

A store has ``load()`` and ``save(last_event_id)``, as coroutine functions
(:class:`LastEventIdStore`, awaited on the event loop: :class:`RedisLastEventIdStore`)
or as plain functions (:class:`SyncLastEventIdStore`: :class:`FileLastEventIdStore`,
:class:`SQLiteLastEventIdStore`), which ``EventSource`` runs in a worker thread so
the event loop never waits for a disk. Saves run beside delivery, one at a
time, the IDs handled meanwhile coalescing into the next; wrap a store in
:class:`StrictStore` to await each save before the next event. The guarantee
and a recipe: the "Durable consumers" page of the docs.
"""

from __future__ import annotations

import inspect
from typing import Any, Protocol, runtime_checkable

import anyio.to_thread

from ._disk_stores import FileLastEventIdStore, SQLiteLastEventIdStore
from ._errors import StoreError
from ._redis_store import RedisLastEventIdStore

__all__ = [
    "FileLastEventIdStore",
    "LastEventIdStore",
    "RedisLastEventIdStore",
    "SQLiteLastEventIdStore",
    "StoreError",
    "StrictStore",
    "SyncLastEventIdStore",
]


@runtime_checkable
class LastEventIdStore(Protocol):
    """Keeps the last event ID across process restarts, without blocking the event loop.

    ``EventSource`` awaits ``load()`` once before its first connection (unless
    it was given ``last_event_id=``) and ``save()`` beside delivery, never two
    at once for one EventSource. An exception from ``load()`` stops the stream
    with :class:`StoreError`; one from ``save()`` is logged and the next ID saved.
    """

    async def load(self) -> str | None:
        """The saved ID, or ``None`` when nothing was saved yet."""
        ...

    async def save(self, last_event_id: str) -> None:
        """Remember ``last_event_id``: every event up to it was handled."""
        ...


@runtime_checkable
class SyncLastEventIdStore(Protocol):
    """A :class:`LastEventIdStore` with blocking methods: run in a worker thread.

    The blocking client (``eventsource.sync``) calls them directly; the async
    ``EventSource`` calls them in a thread of its own, so they may block (a
    disk, a database) but must be safe to call from a thread other than the
    one that made the store.
    """

    def load(self) -> str | None:
        """The saved ID, or ``None`` when nothing was saved yet."""
        ...

    def save(self, last_event_id: str) -> None:
        """Remember ``last_event_id``: every event up to it was handled."""
        ...


class StrictStore:
    """Wraps a store so that each save is awaited before the next event is handed out.

    ``EventSource(url, last_event_id_store=StrictStore(store))``: a consumer
    killed at any moment sees again at most the event it was handling, at the
    cost of one save's time per event (per batch with ``batches()``). A failed
    save is still only logged (see :class:`StoreError`). It is itself a
    :class:`LastEventIdStore`: its methods await the store's, or run them in a
    worker thread.

    Args:
        store: A :class:`LastEventIdStore` or a :class:`SyncLastEventIdStore`.
    """

    __slots__ = ("store",)

    def __init__(self, store: LastEventIdStore | SyncLastEventIdStore) -> None:
        self.store = store

    async def load(self) -> str | None:
        """The wrapped store's ``load()``."""
        store: Any = self.store
        if inspect.iscoroutinefunction(store.load):
            return await store.load()  # type: ignore[no-any-return]
        return await anyio.to_thread.run_sync(store.load)

    async def save(self, last_event_id: str) -> None:
        """The wrapped store's ``save()``."""
        store: Any = self.store
        if inspect.iscoroutinefunction(store.save):
            await store.save(last_event_id)
        else:
            await anyio.to_thread.run_sync(store.save, last_event_id)

    def __repr__(self) -> str:
        return f"StrictStore({self.store!r})"
