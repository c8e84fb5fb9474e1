"""Saving the last handled event ID beside delivery, the way a log consumer commits offsets.

:class:`~._commits.Commits` is the bookkeeping, sans-IO: which ID was
handled, which is saved, which save is in flight, which failed.
:class:`Checkpoint` runs it with a store, and is what ``EventSource`` calls
at four places: when the caller
comes back for more (:meth:`Checkpoint.handled`), around the driver's read
(:meth:`Checkpoint.beside`), before the first connection
(:meth:`Checkpoint.load`) and at the end (:meth:`Checkpoint.flush`).

There is no background task. A store whose ``save`` is a plain function saves
in a worker thread of its own (``_save_thread``), started without awaiting: it
saves the newest handled ID, waits ``SAVE_INTERVAL``, saves the newest again
if newer ones came, and ends once idle for ``WORKER_IDLE`` or told to at the
end. A store
whose ``save`` is a coroutine function saves while the driver waits for the
network, in a task group scoped to that wait; once started it is never
cancelled by a read that ends first (on a fast stream it would never finish),
so that read waits for it. Either way at most one save is in flight, and the
IDs handled meanwhile coalesce into the next one.

A failed save is logged and the next handled ID is saved instead; only the
save at the end, tried once more, raises (:class:`~._errors.StoreError`). A
cancellation leaves the ID unsaved and due again; a blocking save's thread
runs on after its wait is cancelled, and the next save waits for it.
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio

from ._commits import SAVE_INTERVAL, Commits
from ._errors import StoreError
from ._save_thread import FLUSH_POLL, SaveThread

__all__ = ["Checkpoint"]

logger = logging.getLogger("eventsource")

T = TypeVar("T")

#: Seconds the end of a stream waits for the store, at most.
FLUSH_LIMIT = 10.0


class Checkpoint:
    """Saves one EventSource's last handled event ID to a store, beside delivery.

    ``strict`` (a :class:`~.stores.StrictStore`) awaits each save before the
    next event is handed out.
    """

    __slots__ = (
        "_last_save",
        "_lock",
        "_saver",
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
        for name in ("load", "save"):  # now, not as an AttributeError at the first save
            if not callable(getattr(store, name, None)):
                raise TypeError(f"last_event_id_store needs a {name}() method: {store!r}")
        self.store = store
        self.sync_save = not inspect.iscoroutinefunction(store.save)
        self.needs_load = needs_load
        self.commits = Commits(last_event_id)
        self._lock = threading.Lock()  # Commits is shared with the worker thread
        self._saver = SaveThread(self.commits, self._lock, store.save)
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
        saver = self._saver
        if saver.thread is not None and not saver.waiting:
            return False  # saving or paced: it looks at the handled ID next
        saver.wake()
        return False

    async def save_now(self) -> None:
        """Save the last handled ID now, if it is not saved (strict)."""
        if self.commits.in_flight is not None:  # a save whose wait was cancelled runs on
            await self._wait_in_flight()
        with self._lock:
            due = self.commits.due()
        if due is not None:
            await self._save(due)

    def due_beside(self) -> bool:
        """Whether an async store's save is due beside the next read (see :meth:`beside`).

        Only when the last save ended ``SAVE_INTERVAL`` ago or more: a task group
        for each read costs a fast stream a fifth of its throughput. So the IDs
        handled during that interval wait for the next read, however long the
        one in progress takes: a restart sees them again.
        """
        commits = self.commits
        return not (
            self.sync_save
            or self.strict
            or commits.in_flight is not None
            or commits.handled in (commits.saved, commits.failed)
            or anyio.current_time() < self._last_save + SAVE_INTERVAL
        )

    async def beside(self, receive: Callable[[], Awaitable[T]]) -> T:
        """``await receive()``, with the due save of an async store running meanwhile.

        Only when :meth:`due_beside`: the read waits for the save to end.
        """
        commits = self.commits
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

    @property
    def saving(self) -> bool:
        """Whether a save is in flight (maybe one whose wait was cut: its thread runs on)."""
        return self.commits.in_flight is not None

    def leave(self, last_event_id: str) -> None:
        """The end of a reader after ``close()``: ``last_event_id`` is handled, not waited for.

        A blocking store's worker thread saves it after the save in flight; else
        it stays due for :meth:`flush` (``aclose()``) to save within its bound.
        """
        with self._lock:
            self.commits.at_end(last_event_id)
        if self.sync_save and not self.strict:
            self._saver.wake()  # it saves the ID after the one in flight

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
        with self._lock:
            save = self.commits.at_end(last_event_id) is not None
        with anyio.CancelScope(shield=True), anyio.move_on_after(FLUSH_LIMIT) as limit:
            if self.sync_save and not self.strict:
                await self._saver.stop()
            else:
                await self._wait_in_flight()
                if save:
                    await self.save_now()
        if limit.cancelled_caught:
            message = f"the last-event-id store {self.store!r} took over {FLUSH_LIMIT} s to save"
            if not save:
                logger.warning("%s; closed without waiting further", message)
                return
            with self._lock:
                self.commits.raised = self.commits.handled  # raised once, as failed_at_end
            raise StoreError(message)
        error = self.commits.failed_at_end(self.store) if save else None
        if error is not None:
            raise error

    # -- saving -------------------------------------------------------------------------

    async def _wait_in_flight(self) -> None:
        # Another task's read may be saving (aclose() from another task). A thread
        # cannot set an anyio.Event (it has no token to reach the loop with): look.
        while self.commits.in_flight is not None:  # noqa: ASYNC110
            await anyio.sleep(FLUSH_POLL)

    async def _save(self, last_event_id: str) -> None:
        if self.sync_save:
            await self._save_in_thread(last_event_id)
            return
        error: Exception | None = None
        try:
            await self.store.save(last_event_id)
        except Exception as exc:
            error = exc
        except BaseException:  # cancelled: unknown whether it was saved; due again
            with self._lock:
                self.commits.abandoned()
            raise
        with self._lock:
            self.commits.done(last_event_id, error)

    async def _save_in_thread(self, last_event_id: str) -> None:
        # A cancel (a timeout around anext, close() from another task: see
        # Receiving._until_closed) ends this wait, not a thread that
        # began the save: that thread tells the commits itself as it ends, and the
        # next save waits for it. Counted as abandoned while it ran on, a second save
        # began beside it, and the first could end last (the store left at an older
        # ID after the end). A thread that had not begun does not begin.
        state = "queued"

        def save() -> None:
            nonlocal state
            with self._lock:
                if state == "skipped":
                    return
                state = "running"
            error: Exception | None = None
            try:
                self.store.save(last_event_id)
            except Exception as exc:
                error = exc
            except BaseException:  # not saved, as far as we know: due again
                with self._lock:
                    self.commits.abandoned()
                raise
            with self._lock:
                self.commits.done(last_event_id, error)

        try:
            await anyio.to_thread.run_sync(save, abandon_on_cancel=True)
        except BaseException:
            with self._lock:
                if state == "queued":
                    state = "skipped"
                    self.commits.abandoned()
            raise
