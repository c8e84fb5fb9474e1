"""Reading an async EventSource: ``async for``, ``batches()``, ``run()`` and ``lastEventId``.

:class:`Reading` is a base of :class:`~._source.EventSource`: each way to read
is a view of its ``Delivery`` (``_delivery``), which hands the items out.
``__aiter__`` returns that Delivery itself, so each event of ``async for`` is
one ``__anext__`` call deep, and nothing here is an async generator: a
cancelled step leaves nothing half done.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from ._delivery import Batches, Delivery
from ._driver import Driver
from ._event import MessageEvent

__all__ = ["Reading"]


class Reading:
    """The ways to read an async EventSource, over its ``Delivery``."""

    __slots__ = ()
    _delivery: Delivery
    _driver: Driver

    if TYPE_CHECKING:  # the EventSource's

        async def _aclose(self, *, save: bool) -> None: ...

    @property
    def lastEventId(self) -> str:
        """The last event ID as of the last event handed out: sent as ``Last-Event-ID``.

        Once every event of a read is handed out, an id-only block after them counts.
        """
        return self._delivery.handed_id

    last_event_id = lastEventId

    def __aiter__(self) -> AsyncIterator[MessageEvent]:
        """Iterate over the message events of every type, in stream order.

        Each step gives the next message event; ``open``, ``error`` and comments
        go to their listeners on the way.

        Raises (from each step):
            StopAsyncIteration: closed, or the stream ended for good without an error.
            EventSourceError: the connection failed for good.
        """
        return self._delivery

    async def __anext__(self) -> MessageEvent:
        """The next message event, as ``async for`` would give it (see ``__aiter__``)."""
        return await self._delivery.__anext__()

    def batches(self) -> AsyncIterator[list[MessageEvent]]:
        """Iterate over lists of message events: those that one network read completed.

        The same stream as ``async for event in es`` (reconnection, predicates,
        listeners for other items, the store saved once a batch was handled),
        taken a read at a time: the throughput path. Each list is non-empty.
        """
        return Batches(self._delivery)

    async def run(self) -> None:
        """Dispatch every event to the listeners until the EventSource is closed.

        Async listeners are awaited before the next event is read (back-pressure).
        Returns when closed or after a 204; cancelling it closes the EventSource.

        Raises:
            EventSourceError: the connection failed for good (after ``onerror`` ran;
                not when a listener called ``close()`` first: closing drops
                what had not been handed out, the error with it).
            RuntimeError: another task is reading the EventSource (it reads on).
        """
        if self._driver.busy:  # refused before the `finally` below would close its stream
            raise RuntimeError("this EventSource is already being read by another task")
        finished = False
        delivery = self._delivery
        try:
            async for event in delivery:  # open, error and comments are dispatched on the way
                await delivery.dispatch(event)
            finished = True
        finally:
            await self._aclose(save=finished)
