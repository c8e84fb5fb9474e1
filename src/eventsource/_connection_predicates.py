"""Where ``stop_when``, ``stop_after`` and ``error_when`` cut a read's items (sans-IO).

A part of the processing model: :class:`Predicates` is a base of
:class:`~._connection.Connection` that asks each message event the
predicates' questions and, at the first one that matches, cuts the items
there and closes them with an ``End`` (an ``error`` event first, for
``error_when``). The predicates are the connection's state; this holds none.
No I/O and no async library.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._errors import EventSourceError, ServerEventError
from ._event import MessageEvent
from ._verdicts import End, Item, Predicate, event_error_message

__all__ = ["Predicates"]


class Predicates:
    """The connection's verbs that apply the predicates (set up by ``Connection.__init__``)."""

    __slots__ = ()
    stop_when: Predicate | None
    stop_after: Predicate | None
    error_when: Predicate | None

    if TYPE_CHECKING:  # the connection's

        def _ends(self, error: EventSourceError | None, *, cut: bool = False) -> list[Item]: ...

    def judge_waiting(self, items: list[Item]) -> None:
        """Apply the predicates (one was just set) to items received, not handed out yet.

        ``items`` holds them the next one last (they are handed out by ``pop()``);
        changed in place: a loop handing them out holds this list.
        """
        judged = self.judge(items[::-1])
        judged.reverse()
        items[:] = judged

    def judge(self, items: list[Item]) -> list[Item]:
        """Apply the predicates to ``items`` (also to items received before one was set).

        A predicate that raises ends the stream there too: its exception is
        raised where the event it was asked about would have been handed out,
        after the events before it (raised at once, it lost those of the same
        read, so what a caller got depended on how the server's writes fell
        into reads).
        """
        for index, item in enumerate(items):
            if type(item) is not MessageEvent:
                continue
            try:
                if self.error_when is not None and self.error_when(item):
                    error = ServerEventError(event_error_message(item), event=item)
                    return items[:index] + self._ends(error, cut=True)
                if self.stop_when is not None and self.stop_when(item):
                    return items[:index] + self._ends(None, cut=True)
                if self.stop_after is not None and self.stop_after(item):
                    return items[: index + 1] + self._ends(None, cut=True)
            except Exception as exc:
                self._ends(None, cut=True)  # for its reset of the parser
                return [*items[:index], End(exc, cut=True)]
        return items
