"""What the connection tells the user of its decisions: ``open``, ``error`` and ``End`` items.

A part of the processing model (sans-IO): :meth:`Reports.report` turns a
verdict into the items a listener or a loop sees, and logs a reconnect or a
failure once for both drivers (``INFO``; ``WARNING`` for a reconnect after an
attempt that failed too); the end of a stream (a failure for
good, a predicate's cut, a broken limit) is an ``error`` event, when there is
an error, then an ``End``. :class:`Reports` is a base of
:class:`~._connection.Connection` and keeps no state of its own (the
decisions, and the state they change, are the connection's). The texts of
the errors a cancel's cut ends with are here too.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ._errors import EventSourceError, ResponseError
from ._event import ErrorEvent, Event
from ._parser import Parser
from ._request import redact_url
from ._verdicts import End, Fail, Item, Open, Reconnect, Stop

__all__ = ["CUT_BEFORE_ANSWER", "ONE_SHOT_CUT", "RECONNECTING", "Reports"]

logger = logging.getLogger("eventsource")

#: The log line of a reconnect: the URL, the delay in seconds, the failures in a row, why.
RECONNECTING = "reconnecting to %s in %.3f s (attempt %d): %s"
#: Why a one-shot stream (``reconnect=False``) ends when a cancel cuts its request.
ONE_SHOT_CUT = (
    "a cancel (a timeout around anext()?) cut the stream's request after it was sent, "
    "and a one-shot stream (reconnect=False) is not requested again: the server may "
    "have run it"
)
#: The error when cancels that cut the wait for an answer use up the reconnect budget.
CUT_BEFORE_ANSWER = "no answer before a cancel (a timeout around anext()?) cut the wait for it"


class Reports:
    """The connection's verbs that turn decisions into items (the state is the connection's)."""

    __slots__ = ()
    url: str
    parser: Parser

    if TYPE_CHECKING:  # the connection's

        @property
        def failures(self) -> int: ...

        def report_failure(self, error: EventSourceError) -> list[Item]: ...

    def _ends(self, error: EventSourceError | None, *, cut: bool = False) -> list[Item]:
        # The stream ends after the items before these. From receive_data the
        # state turns CLOSED when they are reached (the caller closes), not
        # while the items before them are handed out.
        self.parser.reset()
        if error is None:
            return [End(cut=cut)]
        status = error.status if isinstance(error, ResponseError) else None
        return [ErrorEvent(error=error, status=status, attempt=self.failures), End(error, cut)]

    def report(self, verdict: Open | Fail | Stop | Reconnect) -> list[Item]:
        """The items that tell the user of a decision: ``open``, or ``error`` (and ``End``).

        A reconnect or a failure is logged here, once for every driver: ``INFO``,
        but ``WARNING`` from the second failure in a row (no event since), so
        that a stream that cannot connect (a server down, a TLS or address
        mistake) is not a silent loop where logging is not set up.
        """
        if isinstance(verdict, Open):
            return [Event("open")]
        if isinstance(verdict, Reconnect):
            error = verdict.error
            # A drop after a stream that worked is routine; a second failure in a row is not.
            logger.log(
                logging.WARNING if verdict.attempt > 1 else logging.INFO,
                RECONNECTING,
                redact_url(self.url),
                verdict.delay,
                verdict.attempt,
                error or "stream ended",
            )
            return [
                ErrorEvent(
                    error=error,
                    status=error.status if isinstance(error, ResponseError) else None,
                    attempt=verdict.attempt,
                    delay=verdict.delay,
                    reconnecting=True,
                )
            ]
        if isinstance(verdict, Stop):  # a 204 fires error; a one-shot stream's end, nothing
            if verdict.status is None:
                return [End()]
            return [ErrorEvent(status=verdict.status), End()]
        logger.info("connection to %s failed: %s", redact_url(self.url), verdict.error)
        return self.report_failure(verdict.error)
