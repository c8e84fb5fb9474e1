"""Saving the last handled event ID beside delivery, the way a log consumer commits offsets.

:class:`Commits` is the bookkeeping, sans-IO: which ID was handled, which is
saved, which save is in flight, which failed. :class:`Checkpoint` runs it with
a store, and is what ``EventSource`` calls at four places: when the caller
comes back for more (:meth:`Checkpoint.handled`), around the driver's read
(:meth:`Checkpoint.beside`), before the first connection
(:meth:`Checkpoint.load`) and at the end (:meth:`Checkpoint.flush`).

There is no background task. A store whose ``save`` is a plain function saves
in a worker thread of its own, started without awaiting: it saves the newest
handled ID, waits ``SAVE_INTERVAL``, saves the newest again if newer ones
came, and ends once idle for ``WORKER_IDLE`` or told to at the end. A store
whose ``save`` is a coroutine function saves while the driver waits for the
network, in a task group scoped to that wait; once started it is never
cancelled by a read that ends first (on a fast stream it would never finish),
so that read waits for it. Either way at most one save is in flight, and the
IDs handled meanwhile coalesce into the next one.

A failed save is logged and the next handled ID is saved instead; only the
save at the end, tried once more, raises (:class:`~._errors.StoreError`). A
cancellation leaves the ID unsaved and due again.
"""

from __future__ import annotations

import inspect
import logging
import threading
import time
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
#: Seconds from the end of a save to the start of the next, at least (the end of
#: the stream does not wait for it). A save costs CPU time, of the event loop
#: (redis-py: ~0.1 ms) or of a thread holding the GIL, and a read that returns
#: first waits for an async one: back to back on a fast stream, saves halved
#: its throughput (bench/stores.py). It adds at most this to what a restart
#: sees again.
SAVE_INTERVAL = 0.01
#: Seconds a worker thread with nothing to save waits for more before it ends.
WORKER_IDLE = 1.0
#: Seconds the end of a stream waits for the store, at most.
FLUSH_LIMIT = 10.0


class Commits:
    """Which ID is handled, saved, in flight and failed; decides what to save next."""

    __slots__ = ("error", "failed", "failures", "handled", "in_flight", "saved")

    def __init__(self, saved: str) -> None:
        self.handled = saved  # the ID as of the last event the caller handled
        self.saved = saved  # what the store holds, as far as we know
        self.in_flight: str | None = None
        self.failed: str | None = None  # not tried again until a newer ID comes
        self.failures = 0  # failed saves in a row
        self.error: Exception | None = None  # of the last failed save

    def due_now(self) -> str | None:
        """The ID that is due for a save, or ``None``; marks nothing."""
        handled = self.handled
        if self.in_flight is not None or handled == self.saved or handled == self.failed:
            return None
        return handled

    def due(self) -> str | None:
        """The ID to save now, marked in flight, or ``None``."""
        due = self.due_now()
        if due is not None:
            self.in_flight = due
        return due

    def done(self, last_event_id: str, error: Exception | None) -> None:
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
        self.error = error
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

    ``strict`` (a :class:`~.stores.StrictStore`) awaits each save before the
    next event is handed out.
    """

    __slots__ = (
        "_closing",
        "_last_save",
        "_lock",
        "_thread",
        "_waiting",
        "_wakeup",
        "commits",
        "needs_load",
        "store",
        "strict",
        "sync_save",
    )

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
        self._wakeup = threading.Condition(self._lock)  # the worker waits on it
        self._thread: threading.Thread | None = None
        self._closing = False  # the end: the worker saves at once, then ends
        self._waiting = False  # the worker waits for work
        self._last_save = -SAVE_INTERVAL  # anyio's clock: when the last async save ended

    async def load(self) -> str:
        """The saved ID (``""`` when none), once, before the first connection.

        Raises:
            StoreError: the store failed, or gave something other than a ``str``
                or ``None``; its exception is the ``__cause__``.
        """
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
        self.needs_load = False  # not before: a cancelled load is due again
        with self._lock:
            self.commits.handled = self.commits.saved = value or ""
        return value or ""

    def handled(self, last_event_id: str) -> bool:
        """The caller handled the events up to ``last_event_id``: save it beside delivery.

        Returns whether :meth:`save_now` must be awaited before the next event
        (strict). Cheap: called for every event.
        """
        self.commits.handled = last_event_id  # one store: atomic for the worker too
        if self.strict or not self.sync_save:
            return self.strict
        if self._thread is not None and not self._waiting:
            return False  # saving or paced: it looks at the handled ID next
        with self._lock:
            if self._thread is not None:
                self._wakeup.notify()  # it waits for work
                return False
        self._start_worker()
        return False

    async def save_now(self) -> None:
        """Save the last handled ID now, if it is not saved (strict)."""
        with self._lock:
            due = self.commits.due()
        if due is not None:
            await self._save(due)

    async def beside(self, receive: Callable[[], Awaitable[T]]) -> T:
        """``await receive()``, with a due save of an async store running meanwhile.

        Only when the last save ended ``SAVE_INTERVAL`` ago or more: a task group
        for each read costs a fast stream a fifth of its throughput. So the IDs
        handled during that interval wait for the next read, however long the
        one in progress takes: a restart sees them again.
        """
        commits = self.commits
        if (
            self.sync_save
            or self.strict
            or commits.in_flight is not None
            or commits.handled in (commits.saved, commits.failed)
            or anyio.current_time() < self._last_save + SAVE_INTERVAL
        ):
            return await receive()
        due = commits.due()
        assert due is not None  # checked above
        failure: Exception | None = None
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(self._save_beside, due)
                try:
                    result = await receive()
                except Exception as exc:  # raised once the save ended, not as a group of one
                    failure = exc
        finally:
            if commits.in_flight is not None:  # its task was cancelled before it ran
                commits.abandoned()
        if failure is not None:
            raise failure
        return result

    async def _save_beside(self, due: str) -> None:
        await self._save(due)
        self._last_save = anyio.current_time()

    async def flush(self, last_event_id: str | None) -> None:
        """Wait for the save in flight; then save the last handled ID if it is not saved.

        ``last_event_id``: the ID handled by now, or ``None`` to save nothing new
        (the last event handed out may not have been handled). Shielded from
        cancellation (a cancelled consumer keeps what it handled), and bounded by
        ``FLUSH_LIMIT`` (a store that hangs does not hang the close).

        Raises:
            StoreError: the save of the last handled ID failed, also when tried
                again, or took longer than ``FLUSH_LIMIT``.
        """
        save = last_event_id is not None
        with self._lock:
            if last_event_id is not None:
                self.commits.handled = last_event_id
                self.commits.failed = None  # the end: a failed one is tried once more
        with anyio.CancelScope(shield=True), anyio.move_on_after(FLUSH_LIMIT) as limit:
            if self.sync_save and not self.strict:
                await self._stop_worker()
            else:
                await self._wait_in_flight()
                if save:
                    await self.save_now()
        if limit.cancelled_caught:
            message = f"the last-event-id store {self.store!r} took over {FLUSH_LIMIT} s to save"
            if not save:
                logger.warning("%s; closed without waiting further", message)
                return
            raise StoreError(message)
        commits = self.commits
        if save and commits.failed is not None and commits.failed == commits.handled:
            error = commits.error
            raise StoreError(
                f"the last-event-id store {self.store!r} failed to save the last handled ID: "
                f"{error}"
            ) from error

    # -- saving -------------------------------------------------------------------------

    async def _wait_in_flight(self) -> None:
        # Another task's read may be saving (aclose() from another task). A thread
        # cannot set an anyio.Event (it has no token to reach the loop with): look.
        while self.commits.in_flight is not None:  # noqa: ASYNC110
            await anyio.sleep(FLUSH_POLL)

    async def _save(self, last_event_id: str) -> None:
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

    def _start_worker(self) -> threading.Thread | None:
        """Start a worker if none runs and an ID is due; the worker running, if any."""
        with self._lock:
            thread = self._thread
            if thread is not None or self.commits.due_now() is None:
                return thread
            thread = self._thread = threading.Thread(
                target=self._work, name="eventsource-store-save", daemon=True
            )
        thread.start()
        return thread

    async def _stop_worker(self) -> None:
        with self._lock:
            self._closing = True
            self._wakeup.notify()
        thread = self._start_worker()  # saves what is due, if no worker runs
        try:
            while self._thread is not None:  # polled: see _wait_in_flight
                thread = self._thread or thread
                await anyio.sleep(FLUSH_POLL)
            # It lets go of the work before its thread ends: wait for the end too.
            while thread is not None and thread.is_alive():  # noqa: ASYNC110
                await anyio.sleep(FLUSH_POLL)
        finally:
            with self._lock:
                self._closing = False

    def _work(self) -> None:
        commits, wakeup, save = self.commits, self._wakeup, self.store.save
        next_save = 0.0  # time.monotonic(): not before this (SAVE_INTERVAL)
        while True:
            with wakeup:
                while True:
                    pause = next_save - time.monotonic()
                    if pause > 0 and not self._closing:
                        wakeup.wait(pause)  # paced; the end cuts it short
                        continue
                    due = commits.due()
                    if due is not None:
                        self._waiting = False
                        break
                    # Until it works again or ends: handled() takes the lock and
                    # wakes it (or starts a new worker once this one let go).
                    self._waiting = True
                    if not self._closing and wakeup.wait(WORKER_IDLE):
                        continue
                    if commits.due_now() is None:  # nothing came meanwhile: end
                        self._thread = None
                        return
            error: Exception | None = None
            try:
                save(due)
            except Exception as exc:
                error = exc
            with wakeup:
                commits.done(due, error)
            next_save = time.monotonic() + SAVE_INTERVAL
