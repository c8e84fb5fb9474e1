"""Handing a stream's items out in wire order: message events to the caller, the rest to listeners.

What ``async for event in es`` iterates (``EventSource.__aiter__`` returns
the :class:`Delivery`, so each event is one ``__anext__`` call deep), what
``es.batches()`` iterates, and what ``run()`` dispatches. It holds what the
last read said until it is handed out, spends the budget of events between
the checkpoints that keep a burst cancellable, and tells the store's
checkpoint (``_checkpoint``) of the last event ID when the caller comes back
(by then it has handled the events before). Its base, ``_delivery_receive``,
gets the next read's items once these are out. A cancellation at any await
leaves an item either handed out or still here, never lost.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Iterator, Sequence
from operator import length_hint

import anyio

from ._checkpoint import Checkpoint
from ._commits import store_error_at_end
from ._connection import Connection
from ._delivery_receive import CHECKPOINT_AT_MOST, Receiving, events_in_front, told_as_handled
from ._driver import Driver
from ._errors import StoreError
from ._event import Comment, ErrorEvent, MessageEvent
from ._listeners import ListenerRegistry, listener_failed, listeners_for, removed_meanwhile
from ._request import redact_url
from ._verdicts import End, Item

__all__ = ["Batches", "Delivery"]

#: The iterator of no run: an exhausted iterator stays exhausted, so one serves all.
_NO_RUN: Iterator[MessageEvent] = iter(())


class Delivery(Receiving):
    """The items of one EventSource not handed out yet, and the handing out."""

    __slots__ = (
        "_connection",
        "_driver",
        "_ending",
        "_left",
        "_listeners",
        "_ready",
        "_run",
        "items",
        "store",
    )

    def __init__(
        self,
        connection: Connection,
        driver: Driver,
        listeners: ListenerRegistry,
        store: Checkpoint | None,
    ) -> None:
        # No reference to the EventSource: nothing keeps it after its last
        # reference goes (then this warns, if left open: see __del__).
        self._listeners = listeners  # who hears the items that are not message events
        self._connection = connection
        self._driver = driver
        # What the last read said, not handed out yet: the next item last, so
        # that handing it out is a pop() (see Receiving._keep).
        self.items: list[Item] = []
        # The run: events taken from the front of the items together, handed out
        # by __anext__ with no check between them (see _take_run), the next one
        # last like the items; _left is the iterator over those not handed out yet,
        # and _ready hands them out (_left itself, or with a store told_as_handled).
        self._run: Sequence[MessageEvent] = ()
        self._left: Iterator[MessageEvent] = _NO_RUN
        self._ready: Iterator[MessageEvent] = _NO_RUN
        self._budget = CHECKPOINT_AT_MOST  # events until a checkpoint must come
        self._reads = 0  # driver steps since the last checkpoint
        self._receiving = False  # a task is in _receive (see RuntimeError there)
        self._thread = 0  # see check_thread
        self._events_only = False
        self._handed = connection.last_event_id  # see handed_id
        self._ending = False  # an End was taken: its handed ID is settled (see catch_up)
        self._store_wait = None  # see Receiving._until_closed
        self._store_cut = False
        self.store = store

    def __aiter__(self) -> Delivery:
        return self

    async def __anext__(self) -> MessageEvent:
        """The next message event; other items go to their listeners on the way.

        Raises:
            StopAsyncIteration: closed, or the stream ended for good without an error.
            EventSourceError: the connection failed for good.
        """
        for event in self._ready:  # the next event of the run: nothing to check first
            return event
        # Here, not in a coroutine of its own: a strict store's events come one at
        # a time, and a second coroutine an event (and the _id_after call below)
        # cost them a sixth of their rate (measured with a file store, before
        # other stores took runs: bench/README.md, stores).
        if self._run:
            self._settle()
        store = self.store
        if store is not None and store.handled(self._handed):  # the caller is back
            await self._until_closed(store.save_now)  # a StrictStore
        items = self.items
        while True:
            if not items:
                await self._receive()
            elif type(items[-1]) is not MessageEvent:
                await self._handle(items.pop())
            elif self._budget <= 0:  # before the event is taken: none lost if cancelled
                await self._checkpoint()  # (close() may run meanwhile: look again)
            elif (
                (store is None or not store.strict)
                and len(items) > 1
                and (type(items[-2]) is MessageEvent)
            ):
                return self._take_run()  # two events or more in a row
            else:  # one at a time: a strict store saves each; a lone event needs no run
                self._budget -= 1
                event = items.pop()  # type: ignore[assignment]
                # _id_after(event, bool(items)), inline (see above)
                self._handed = event.last_event_id if items else self._connection.last_event_id
                return event

    def _take_run(self) -> MessageEvent:
        """Take the events at the front, within the budget, as the run; hand out the first.

        The rest go out from ``__anext__`` with no check before each (a store
        is told of each by ``told_as_handled``), and the checkpoint budget was
        spent for them all here. 1.1x ``async for`` on small events against a
        check per event (bench/README.md).
        """
        items = self.items
        if self._events_only:  # a read of events alone (see Receiving._keep)
            count = min(len(items), self._budget)
        else:
            # Other items among these: look no further than the events in front.
            # A scan of every item at each run made a read of events between
            # comments cost its length squared.
            count = events_in_front(items, self._budget)
        run: list[MessageEvent] = items[-count:]  # type: ignore[assignment]
        del items[-count:]
        self._budget -= count
        self._run = run
        self._left = left = reversed(run)
        store = self.store
        self._ready = ready = left if store is None else told_as_handled(left, store)
        return next(ready)

    def _settle(self) -> None:
        """End the run: work out the handed ID; its events not handed out go back in front."""
        run = self._run
        if run:
            self._handed = self.handed_id
            left = length_hint(self._left)
            if left:
                self.items += run[:left]
                self._budget += left
            self._run = ()
            self._left = self._ready = _NO_RUN

    async def next_batch(self) -> list[MessageEvent]:
        """The message events one read completed (see ``EventSource.batches``)."""
        self._settle()  # an `async for` may have begun a run
        store = self.store
        if store is not None and store.handled(self._handed):  # the caller is back
            await self._until_closed(store.save_now)  # a StrictStore
        items = self.items
        while True:
            while items and type(items[-1]) is not MessageEvent:
                await self._handle(items.pop())  # open, error, comment, End
            if not items:
                await self._receive()
                continue
            if self._budget <= 0:  # before the batch is taken: none lost if cancelled
                await self._checkpoint()
                continue  # close() may have run meanwhile
            batch: list[MessageEvent] = []
            if self._events_only:  # the common read: events alone (see Receiving._keep)
                batch += reversed(items)  # type: ignore[arg-type]
                items.clear()
            while items:
                item = items[-1]
                if type(item) is MessageEvent:
                    batch.append(items.pop())  # type: ignore[arg-type]
                elif type(item) is Comment and self._listeners.on_comment is None:
                    items.pop()  # nobody listens: no reason to cut the batch
                else:
                    break  # dispatched once the batch was handled, in wire order
            self._budget -= len(batch)
            self._handed = self._id_after(batch[-1], bool(items))
            return batch

    def close(self) -> None:
        """Close the stream now (``EventSource.close``): nothing more is handed out."""
        self._driver.close()
        if self._store_wait is not None:  # the store's load or save: no reason to wait now
            self._store_wait.cancel()
        self._settle()
        self.items.clear()

    def rejudge(self) -> None:
        """Apply the predicates (one was just set) to the items waiting here too."""
        if not self._driver.closed:
            self._settle()  # the run's events too
            self._events_only = False  # a cut adds an End
            self._connection.judge_waiting(self.items)

    async def _handle(self, item: Item) -> None:
        """Dispatch a non-message item; at ``End``, close and raise or stop."""
        if type(item) is End:
            try:
                await self._end(item)
            except anyio.get_cancelled_exc_class():
                # Cut short (an asyncio cancel goes through anyio's shields): the
                # next call ends the same way, with the stream's own error.
                self.items.append(item)
                raise
            if item.error is not None:
                raise item.error
            raise StopAsyncIteration
        if type(item) is ErrorEvent and not item.reconnecting:
            self._connection.close()  # the stream is over: listeners see CLOSED
        await self.dispatch(item)

    async def _end(self, item: End) -> None:
        """Drain briefly and release (see ``Driver.finish``), close, and flush the store."""
        if not item.cut:  # all read was handed out: an id-only block after it counts
            self.catch_up()
        closed = self._driver.closed  # by close(): the end waits for no save in flight
        self._ending = True  # a close from another task during the drain changes nothing
        try:
            await self._driver.finish(drain=item.error is None)
        finally:  # a cancelled drain still ends the stream: no request after its end
            self.close()
            await self._driver.aclose()
        store = self.store
        if store is not None and closed and (self._store_cut or store.saving):
            store.leave(self.handed_id)  # for aclose() to wait for (and the thread)
        elif store is not None:  # every event before the End was handled
            try:
                await store.flush(self.handed_id)
            except StoreError as exc:
                store_error_at_end(exc, item.error)

    async def dispatch(self, item: Item) -> None:
        """Call the listeners of ``item`` in the browser's order; stop once closed."""
        registry = self._listeners
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
                result = listener(argument)
                if result is not None and inspect.isawaitable(result):
                    await result
            except Exception:
                listener_failed(listener, argument, reraise=registry.raise_errors)

    def __del__(self, _warn: Callable[..., None] = warnings.warn) -> None:
        # Here, not on the EventSource: `it = aiter(EventSource(url))` iterates on
        # after the EventSource is gone, and this is what owns the stream then.
        driver = getattr(self, "_driver", None)
        if driver is not None and driver.unreleased:
            # After close() (the browser's): closed, but what aclose() releases is not.
            url = redact_url(self._connection.url)
            if driver.closed:
                text = f"EventSource for {url} closed with close() but not released"
            else:
                text = f"unclosed EventSource for {url}"
            _warn(
                f"{text}: use 'async with' or 'await es.aclose()'",
                ResourceWarning,
                source=self,
                stacklevel=2,
            )
            # Nothing can be awaited here, but an open response would stay checked
            # out of the session's pool (a session the user passed outlives us).
            driver.abort()


class Batches:
    """What ``EventSource.batches()`` returns: a plain iterator, safe to cancel."""

    __slots__ = ("_delivery",)

    def __init__(self, delivery: Delivery) -> None:
        self._delivery = delivery

    def __aiter__(self) -> Batches:
        return self

    async def __anext__(self) -> list[MessageEvent]:
        return await self._delivery.next_batch()
