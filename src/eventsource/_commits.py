"""Which last event ID is handled, saved, in flight and failed: the store's bookkeeping (sans-IO).

:class:`Commits` decides what to save next, the way a log consumer tracks the
offsets it committed; ``_checkpoint`` and its worker thread (``_save_thread``)
run the saves it asks for, under one lock; the blocking client runs it in its
reading thread. It logs a failed save (the 1st, 2nd, 4th... in a row) and a
recovery, and decides what the end of a stream saves and raises, for both
clients. No I/O, no thread and no async library.
"""

from __future__ import annotations

import logging

from ._errors import StoreError

__all__ = ["SAVE_INTERVAL", "Commits", "store_error_at_end"]

logger = logging.getLogger("eventsource")

#: Seconds from the end of a save to the start of the next, at least (the end of
#: the stream does not wait for it). A save costs CPU time, of the event loop
#: (redis-py: ~0.1 ms) or of a thread holding the GIL, and a read that returns
#: first waits for an async one: back to back on a fast stream, saves halved
#: its throughput (bench/stores.py). It adds at most this to what a restart
#: sees again.
SAVE_INTERVAL = 0.01


class Commits:
    """Which ID is handled, saved, in flight and failed; decides what to save next."""

    __slots__ = ("error", "failed", "failures", "handled", "in_flight", "raised", "saved")

    def __init__(self, saved: str) -> None:
        self.handled = saved  # the ID as of the last event the caller handled
        self.saved = saved  # what the store holds, as far as we know
        self.in_flight: str | None = None
        self.failed: str | None = None  # not tried again until a newer ID comes
        self.failures = 0  # failed saves in a row
        self.error: Exception | None = None  # of the last failed save
        # The ID whose last save failed at the end, raised as StoreError: a close
        # after that end (leaving an `async with`/`with` block) does not raise it twice.
        self.raised: str | None = None

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

    def at_end(self, handled: str | None) -> str | None:
        """The end of the stream: ``handled`` is the last handled ID, or ``None`` for none.

        Returns the ID the end saves, or ``None`` when it saves nothing new: a
        failed one is tried once more, but not one whose failure the end
        already raised (a close after that end, leaving a ``with`` block).
        """
        if handled is None or handled == self.raised:
            return None
        self.handled = handled
        self.failed = None
        return handled

    def failed_at_end(self, store: object) -> StoreError | None:
        """After the end's save: the error to raise, once, if the last handled ID is not saved."""
        if self.failed is None or self.failed != self.handled:
            return None
        self.raised = self.handled
        error = StoreError(
            f"the last-event-id store {store!r} failed to save the last handled ID: {self.error}"
        )
        error.__cause__ = self.error
        return error


def store_error_at_end(error: StoreError, stream_error: BaseException | None) -> None:
    """Raise ``error``, a failed last save; or log it, when the stream's own error is raised.

    Raises:
        StoreError: ``error``, when the stream ended without an error of its own.
    """
    if stream_error is None:
        raise error
    logger.error("%s (not raised: the stream ended with %r)", error, stream_error)
