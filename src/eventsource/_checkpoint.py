"""Saving the last handled event ID beside delivery, the way a log consumer commits offsets.

:class:`Commits` is the bookkeeping, sans-IO: which ID was handled, which is
saved, which save is in flight, which failed. :class:`Checkpoint` runs it with
a store, and is what ``EventSource`` calls at four places: when the caller
comes back for more (:meth:`Checkpoint.handled`), around the driver's read
(:meth:`Checkpoint.beside`), before the first connection
(:meth:`Checkpoint.load`) and at the end (:meth:`Checkpoint.flush`).

There is no background task. A store whose ``save`` is a plain function saves
in a worker thread of its own, started without awaiting: it saves the newest
handled ID, then the newest again while newer ones came meanwhile, and ends
when it caught up. A store whose ``save`` is a coroutine function saves while
the driver waits for the network, in a task group scoped to that wait; it is
never cancelled by a read that ends first (on a fast stream it would never
finish), so that read waits for it. Either way at most one save is in flight,
and the IDs handled meanwhile coalesce into the next one.

A failed save is logged and the next handled ID is saved instead; only the
save at the end, tried once more, raises (:class:`~._errors.StoreError`). A
cancellation leaves the ID unsaved and due again.
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio

from ._errors import StoreError

__all__ = ["Checkpoint", "Commits"]

logger = logging.getLogger("eventsource")

T = TypeVar("T")

#: Seconds between looks at a worker thread's save at the end (saves take
#: milliseconds; the thread cannot wake the event loop without a token).
FLUSH_POLL = 0.002
#: Seconds the end of a stream waits for the store, at most.
FLUSH_LIMIT = 10.0


class Commits:
    """Which ID is handled, saved, in flight and failed; decides what to save next."""

    __slots__ = ("failed", "failures", "handled", "in_flight", "saved")

    def __init__(self, saved: str) -> None:
        self.handled = saved  # the ID as of the last event the caller handled
        self.saved = saved  # what the store holds, as far as we know
        self.in_flight: str | None = None
        self.failed: str | None = None  # not tried again until a newer ID comes
        self.failures = 0  # failed saves in a row

    def due(self) -> str | None:
        """The ID to save now (and marks it in flight), or ``None``."""
        handled = self.handled
        if self.in_flight is not None or handled == self.saved or handled == self.failed:
            return None
        self.in_flight = handled
        return handled

    def done(self, last_event_id: str, error: BaseException | None) -> None:
        """A save ended; logs a failure, and a recovery after failures."""
        self.in_flight = None
        if error is None:
            self.saved = last_event_id
            if self.failures:
                logger.warning(
                    "the last-event-id store saves again after %d failures", self.failures
                )
            self.failures = 0
            self.failed = None
            return
        self.failed = last_event_id
        self.failures += 1
        count = self.failures
        if count & (count - 1) == 0:  # the 1st, 2nd, 4th, 8th...: loud, not a flood
            logger.warning(
                "the last-event-id store failed to save (%d in a row); the next ID will be "
                "tried, and a restart may see more events again",
                count,
                exc_info=error if count == 1 else None,
            )

    def abandoned(self) -> None:
        """A save was cancelled: its ID is due again."""
        self.in_flight = None


class Checkpoint:
    """Saves one EventSource's last handled event ID to a store, beside delivery.

    ``strict`` awaits each save before the next event is handed out.
    """

    __slots__ = ("_lock", "_thread", "commits", "needs_load", "store", "strict", "sync_save")

    def __init__(self, store: Any, last_event_id: str, *, needs_load: bool) -> None:
        from .stores import StrictStore  # the public module imports anyio; we are below it

        self.strict = isinstance(store, StrictStore)
        if self.strict:
            store = store.store
        self.store = store
        self.sync_save = not inspect.iscoroutinefunction(store.save)
        self.needs_load = needs_load
        self.commits = Commits(last_event_id)
        self._lock = threading.Lock()  # Commits is shared with the worker thread
        self._thread: threading.Thread | None = None

    async def load(self) -> str:
        """The saved ID (``""`` when none), once, before the first connection.

        Raises:
            StoreError: the store failed, or gave something other than a ``str``
                or ``None``; its exception is the ``__cause__``.
        """
        self.needs_load = False
        store = self.store
        try:
            if inspect.iscoroutinefunction(store.load):
                value = await store.load()
            else:
                value = await anyio.to_thread.run_sync(store.load)
        except Exception as exc:
            raise StoreError(f"the last-event-id store {store!r} failed to load: {exc}") from exc
        if value is not None and not isinstance(value, str):
            raise StoreError(
                f"the last-event-id store {store!r} loaded a {type(value).__name__}, not a str"
            )
        with self._lock:
            self.commits.handled = self.commits.saved = value or ""
        return value or ""

    async def handled(self, last_event_id: str) -> None:
        """The caller handled the events up to ``last_event_id``: save it beside delivery."""
        with self._lock:
            self.commits.handled = last_event_id
        if self.strict:
            await self._save_due(final=False)
        elif self.sync_save:
            self._start_worker()

    async def beside(self, receive: Callable[[], Awaitable[T]]) -> T:
        """``await receive()``, with a due save of an async store running meanwhile."""
        if self.sync_save or self.strict:
            return await receive()
        due = self.commits.due()
        if due is None:
            return await receive()
        failure: Exception | None = None
        async with anyio.create_task_group() as group:
            group.start_soon(self._save, due)
            try:
                result = await receive()
            except Exception as exc:  # raised once the save ended, not as a group of one
                failure = exc
        if failure is not None:
            raise failure
        return result

    async def flush(self, last_event_id: str | None) -> None:
        """Wait for the save in flight; then save the last handled ID if it is not saved.

        ``last_event_id``: the ID handled by now, or ``None`` to save nothing new
        (the last event handed out may not have been handled).

        Shielded from cancellation, and bounded by ``FLUSH_LIMIT``.

        Raises:
            StoreError: the save of the last handled ID failed, also when tried
                again, or took longer than ``FLUSH_LIMIT``.
        """
        if last_event_id is not None:
            with self._lock:
                self.commits.handled = last_event_id
        # Shielded (a cancelled consumer still keeps what it handled) and bounded (a
        # store that hangs does not hang the close).
        with anyio.CancelScope(shield=True), anyio.move_on_after(FLUSH_LIMIT) as limit:
            await self._flush(last_event_id is not None)
        if limit.cancelled_caught:
            message = f"the last-event-id store {self.store!r} took over {FLUSH_LIMIT} s to save"
            if last_event_id is None:
                logger.warning("%s; closed without waiting further", message)
            else:
                raise StoreError(message)

    async def _flush(self, save: bool) -> None:
        # A worker thread cannot set an anyio.Event (no token for it to reach the loop
        # with), and a thread of anyio's to join it would outlive aclose(): look, briefly.
        while self.commits.in_flight is not None:  # noqa: ASYNC110
            await anyio.sleep(FLUSH_POLL)
        if save:
            self.commits.failed = None  # the end: try the failed one once more
            await self._save_due(final=True)

    # -- saving -------------------------------------------------------------------------

    async def _save_due(self, *, final: bool) -> None:
        with self._lock:
            due = self.commits.due()
        if due is None:
            return
        error = await self._save(due)
        if error is not None and final:
            raise StoreError(
                f"the last-event-id store {self.store!r} failed to save the last handled ID: "
                f"{error}"
            ) from error

    async def _save(self, last_event_id: str) -> Exception | None:
        error: Exception | None = None
        try:
            if self.sync_save:
                await anyio.to_thread.run_sync(self.store.save, last_event_id)
            else:
                await self.store.save(last_event_id)
        except Exception as exc:
            error = exc
        except BaseException:  # cancelled: unknown whether it was saved; due again
            with self._lock:
                self.commits.abandoned()
            raise
        with self._lock:
            self.commits.done(last_event_id, error)
        return error

    def _start_worker(self) -> None:
        with self._lock:
            if self._thread is not None:
                return  # it saves the newest ID before it ends
            due = self.commits.due()
            if due is None:
                return
            thread = self._thread = threading.Thread(
                target=self._work, args=(due,), name="eventsource-store-save", daemon=True
            )
        thread.start()

    def _work(self, due: str | None) -> None:
        save = self.store.save
        while due is not None:
            error: Exception | None = None
            try:
                save(due)
            except Exception as exc:
                error = exc
            with self._lock:
                self.commits.done(due, error)
                due = self.commits.due()
                if due is None:
                    self._thread = None
