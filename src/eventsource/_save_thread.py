"""A blocking store's saves, in a daemon thread of its own (for the async client).

:class:`SaveThread` is started without awaiting when the caller comes back
with a newer handled ID: it saves the newest handled ID, waits
``SAVE_INTERVAL``, saves the newest again if newer ones came, and ends once
idle for ``WORKER_IDLE``, or at once when :meth:`SaveThread.stop` is awaited
at the end of the stream (after saving what is due). It shares the
:class:`~._commits.Commits` and their lock with ``_checkpoint``, which
decides when to call it. Never blocks the event loop: the end polls.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import anyio

from ._commits import SAVE_INTERVAL, Commits

__all__ = ["FLUSH_POLL", "WORKER_IDLE", "SaveThread"]

#: Seconds between looks at a worker thread's save at the end (saves take
#: milliseconds; the thread cannot wake the event loop without a token).
FLUSH_POLL = 0.002
#: Seconds a worker thread with nothing to save waits for more before it ends.
WORKER_IDLE = 1.0


class SaveThread:
    """Saves with a blocking ``save`` in a worker thread, while IDs are due; one at a time."""

    __slots__ = ("_closing", "_commits", "_lock", "_save", "_wakeup", "thread", "waiting")

    def __init__(
        self, commits: Commits, lock: threading.Lock, save: Callable[[str], object]
    ) -> None:
        self._commits = commits  # shared with the checkpoint, under lock
        self._lock = lock
        self._wakeup = threading.Condition(lock)  # the worker waits on it
        self._save = save
        self.thread: threading.Thread | None = None
        self._closing = False  # the end: the worker saves at once, then ends
        self.waiting = False  # the worker waits for work

    def wake(self) -> None:
        """A newer ID was handled: wake the worker waiting for work, or start one."""
        with self._lock:
            if self.thread is not None:
                self._wakeup.notify()  # it waits for work
                return
        self.start()

    def start(self) -> threading.Thread | None:
        """Start a worker if none runs and an ID is due; the worker running, if any."""
        with self._lock:
            thread = self.thread
            if thread is not None or self._commits.due_now() is None:
                return thread
            thread = self.thread = threading.Thread(
                target=self._work, name="eventsource-store-save", daemon=True
            )
        thread.start()
        return thread

    async def stop(self) -> None:
        """Have the worker save what is due at once and end; wait until its thread ended."""
        with self._lock:
            self._closing = True
            self._wakeup.notify()
        thread = self.start()  # saves what is due, if no worker runs
        try:
            while self.thread is not None:  # polled: see FLUSH_POLL
                thread = self.thread or thread
                await anyio.sleep(FLUSH_POLL)
            # It lets go of the work before its thread ends: wait for the end too.
            while thread is not None and thread.is_alive():  # noqa: ASYNC110
                await anyio.sleep(FLUSH_POLL)
        finally:
            with self._lock:
                self._closing = False

    def _work(self) -> None:
        commits, wakeup, save = self._commits, self._wakeup, self._save
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
                        self.waiting = False
                        break
                    # Until it works again or ends: wake() takes the lock and
                    # wakes it (or starts a new worker once this one let go).
                    self.waiting = True
                    if not self._closing and wakeup.wait(WORKER_IDLE):
                        continue
                    if commits.due_now() is None:  # nothing came meanwhile: end
                        self.thread = None
                        return
            error: Exception | None = None
            try:
                save(due)
            except Exception as exc:
                error = exc
            with wakeup:
                commits.done(due, error)
            next_save = time.monotonic() + SAVE_INTERVAL
