"""Refilling a Delivery: the next read, once the caller handled every item before it.

:class:`Receiving` is the base of :class:`~._delivery.Delivery` that asks the
driver for the next read's items when none are left to hand out. Before the
read it passes the checkpoints that keep a burst cancellable and let other
tasks run (``CHECKPOINT_EVERY``, ``HOLD_AT_MOST``; ``Delivery.__anext__``
spends the budget, one event at a time), and counts what was handed out as
handled for the store: its first load, then a save beside the read
(``_checkpoint``). It also works out the last event ID as of what was
handed out (``lastEventId``, and what a close counts as handled), and, for
the run ``Delivery`` hands out with no check before each event, how many
events are in front and how a store hears of each one handled. Its state is
set up by ``Delivery.__init__``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from operator import length_hint
from typing import TYPE_CHECKING, TypeVar

import anyio.lowlevel

from ._checkpoint import Checkpoint
from ._connection import Connection
from ._driver import Driver
from ._driver_cancel import from_another_thread
from ._event import MessageEvent, MessageEvents
from ._verdicts import Item

T = TypeVar("T")

__all__ = [
    "CHECKPOINT_AT_MOST",
    "CHECKPOINT_AT_MOST_READS",
    "CHECKPOINT_EVERY",
    "HOLD_AT_MOST",
    "Receiving",
    "events_in_front",
    "told_as_handled",
]

#: Once this many message events went out since the last checkpoint, an anyio
#: checkpoint comes before the next step: a consumer that never awaits still
#: lets a cancellation through and other tasks run while a stream bursts.
CHECKPOINT_EVERY = 64
#: But in the middle of a network read, only once the read has been held this
#: long (seconds): a stream that lets others run in the middle of a body it
#: has received keeps that body in memory meanwhile, and with 1,000 streams
#: bursting at once each did, so every body was in memory at the same moment
#: (110 KiB per connection at the peak, against 70; bench/README.md, fan-out).
HOLD_AT_MOST = 0.005
#: Never more message events than this without a checkpoint, nor more driver
#: steps (a read of many tiny events; a big event: a step decodes 32 KiB
#: (``FEED_SLICE``) or, inside an event that spans many, up to a whole read).
CHECKPOINT_AT_MOST = 1024
CHECKPOINT_AT_MOST_READS = 16


class Receiving:
    """A Delivery's reads: the burst's checkpoints, the store's load and saves around each."""

    __slots__ = (
        "_budget",
        "_events_only",
        "_handed",
        "_reads",
        "_receiving",
        "_store_cut",
        "_store_wait",
        "_thread",
    )
    _budget: int
    _reads: int
    _receiving: bool
    _thread: int  # the thread of the loop in _receive (see check_thread)
    _handed: str  # the last event ID as of the last event handed out (see handed_id)
    _events_only: bool  # the items are message events only (see _keep)
    _store_wait: anyio.CancelScope | None  # around a wait for the store: close() cancels it
    _store_cut: bool  # close() cut a wait for the store (see Delivery._end)
    _connection: Connection
    _driver: Driver
    items: list[Item]
    store: Checkpoint | None

    if TYPE_CHECKING:  # the delivery's
        _run: Sequence[MessageEvent]
        _left: Iterator[MessageEvent]
        _ending: bool

        def close(self) -> None: ...

        def _settle(self) -> None: ...

    async def _checkpoint(self) -> None:
        self._budget = CHECKPOINT_AT_MOST
        self._reads = 0
        await anyio.lowlevel.checkpoint()
        # Twice: on asyncio a deadline that passed meanwhile (move_on_after,
        # asyncio.timeout) fires in the loop turn the first one gives, after
        # this task was already set to resume: the second delivers it.
        await anyio.lowlevel.checkpoint()

    async def _receive(self) -> None:
        """Wait for the next read's items: the caller has handled all before them."""
        if self._receiving or self._driver.busy:  # the other task's read goes on untouched
            raise RuntimeError("this EventSource is already being read by another task")
        self._receiving = True
        self._thread = threading.get_ident()
        try:
            self._reads += 1
            driver = self._driver
            due = self._budget <= CHECKPOINT_AT_MOST - CHECKPOINT_EVERY
            if self._reads > CHECKPOINT_AT_MOST_READS or (
                due and (not driver.mid_read or time.monotonic() - driver.read_at >= HOLD_AT_MOST)
            ):
                await self._checkpoint()  # see CHECKPOINT_EVERY
                if self.items:
                    return  # a listener put items back meanwhile: hand those out first
            elif due:  # see HOLD_AT_MOST: a cancelled scope is still seen, none run
                await anyio.lowlevel.checkpoint_if_cancelled()
            store = self.store
            if not self._driver.closed:
                # Every item was handed out (close() and a sentinel's cut drop the
                # rest, and close the driver): an id-only block after them counts.
                self._handed = self._connection.last_event_id
                if store is not None:
                    if store.needs_load:
                        await self._load(store)
                    if store.handled(self._handed):
                        await self._until_closed(store.save_now)
            try:
                if store is None or self._driver.closed or not store.due_beside():
                    self._keep(await self._driver.receive())
                else:  # its exit waits for the save: close() cuts that
                    await self._until_closed(lambda: store.beside(self._receive_items))
            except Exception:
                self.close()  # a hook raised: the error is the caller's, the stream is over
                await self._driver.aclose()
                raise
        finally:
            self._receiving = False

    def check_thread(self, what: str) -> None:
        """Raise ``RuntimeError`` for a call from another thread while a read is in progress.

        Also while the reader waits for the store (its load, a save), before,
        beside or outside the driver's step: cancelling that wait from another
        thread raised there, after the stream was marked closed (the driver's
        own check, ``Cancelling.check_thread``, covers its steps and the drain).
        """
        waiting = self._receiving or self._store_wait is not None  # a StrictStore's save
        if waiting and self._thread != threading.get_ident():
            raise from_another_thread(what)
        self._driver.check_thread(what)

    async def _receive_items(self) -> None:
        # Kept as soon as the read returns: a cancel while the save beside it
        # ends (the task group's exit) would otherwise drop a read's events.
        self._keep(await self._driver.receive())

    async def _until_closed(self, wait: Callable[[], Awaitable[T]]) -> T | None:
        """``await wait()``, a wait for the store (its load, a save); ``None`` once closed.

        close() from another task cancels it (``Delivery.close``): the reader
        ends at once, as in any other wait. A blocking store's thread runs on,
        and a cut async save's ID is due again: ``aclose()`` waits for either
        (``Checkpoint.flush``), and the reader's end leaves it to that
        (``Delivery._end``). Closed before: not begun (the end saves).
        """
        if self._driver.closed:
            return None
        self._thread = threading.get_ident()  # see check_thread
        with anyio.CancelScope() as self._store_wait:
            try:
                return await wait()
            finally:
                self._store_wait = None
        self._store_cut = True  # only close() cancels this scope
        return None

    def _keep(self, received: list[Item]) -> None:
        items = self.items
        items[:0] = reversed(received)  # the next item last, under any still here
        # A read that completed no comment comes as a MessageEvents: the run is
        # then taken with no look at each item (Delivery._take_run).
        self._events_only = type(received) is MessageEvents and len(items) == len(received)

    async def _load(self, store: Checkpoint) -> None:
        # Before the first connection: a store that cannot load ends the stream
        # (starting from the beginning would deliver everything again, silently).
        # close() from another task cuts the wait (Delivery.close): the reader
        # ends at once, as in any other wait, and the ID is not loaded (nor saved).
        try:
            loaded = await self._until_closed(store.load)
        except Exception:
            self.close()
            await self._driver.aclose()
            raise
        if loaded is None or self._driver.closed:
            return
        self._handed = loaded
        self._connection.resume_from(loaded)
        # A worker thread's load cannot be cut: a deadline that passed meanwhile
        # lands here, before the first request, not in it (a cut request is a
        # failed attempt, and the next one waited the backoff delay).
        await anyio.lowlevel.checkpoint_if_cancelled()

    # -- the last event ID as of what was handed out ------------------------------------

    @property
    def handed_id(self) -> str:
        """The last event ID as of the last event handed out (``EventSource.lastEventId``).

        The event's own, or the stream's once nothing is left behind it (an
        id-only block after the read's last event counts). Worked out when asked,
        not for each event of the run.
        """
        run = self._run
        if not run:
            return self._handed
        left = length_hint(self._left)  # events of the run not handed out yet
        return self._id_after(run[left], bool(left or self.items))

    def _id_after(self, event: MessageEvent, more: bool) -> str:
        """The handed ID once ``event`` went out, with ``more`` items behind it or none."""
        return event.last_event_id if more else self._connection.last_event_id

    def handled_id(self) -> str:
        """The last event ID that counts as handled when this task closes the stream.

        The last event handed out counts when the task closing is the one that
        read it (or none read yet); from another task, only the events the
        reading task came back for count (it may still be handling the last).
        """
        store = self.store
        reader = self._driver.reader
        if store is not None and reader and reader != anyio.get_current_task().id:
            return store.commits.handled
        return self.handed_id

    def catch_up(self) -> None:
        """Before the caller closes: with every item handed out, an id-only block counts.

        Also one that came in a read of its own, with no item (``_receive`` takes
        it only at the next read). Not at a predicate's cut (``End.cut``): the
        parser may have read events past it that are not handed out.
        """
        if not (self._driver.closed or self._ending):
            self._settle()
            if not self.items:
                self._handed = self._connection.last_event_id


def told_as_handled(events: Iterator[MessageEvent], store: Checkpoint) -> Iterator[MessageEvent]:
    """``events``; each one the caller came back after is handled: the store is told.

    What the one-at-a-time path tells the store for each event, so that a run
    keeps the store's promise (the events seen again after a crash are at most
    one save's worth); the last one's ID is worked out again as the run ends
    (an id-only block after it counts). With a file store, ``async for`` on
    small events 1.2x one at a time (bench/README.md, stores).
    """
    handled = store.handled  # a strict store takes no run: nothing to await
    for event in events:
        yield event
        handled(event.last_event_id)


def events_in_front(items: list[Item], most: int) -> int:
    """How many items at the front (the end of ``items``) are message events, up to ``most``."""
    count = 0
    for item in reversed(items):  # faster than takewhile's calls for runs of any length
        if count == most or type(item) is not MessageEvent:
            break
        count += 1
    return count
