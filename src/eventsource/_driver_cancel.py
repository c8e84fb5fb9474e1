"""The async driver's cancellation: what a cut step leaves behind, and closing.

:class:`Cancelling` is the base of :class:`~._driver.Driver` (over its connect
step, ``_driver_connect.Connecting``) that decides what a step cut short
leaves: a cancel from outside (a timeout around ``anext()``) that found a
``cancel_safe`` read only waiting keeps the response, and the next step reads
on (:meth:`Cancelling._keeps`); anything else cut is abandoned
(:meth:`Cancelling._abandon`): the connection is told (``interrupted``; it
decides whether the next step reconnects at once or a one-shot stream ends)
and the response is released, shielded. ``close()``, ``restart()`` and
``aclose()`` cut the step in progress through its cancel scope; one task at a
time reads. Part of the driver layer: it awaits only to release. Imports the
transport protocol, never aiohttp or httpx.
"""

from __future__ import annotations

import contextlib
import logging
import threading

import anyio

from ._driver_connect import Connecting
from ._verdicts import Fail

__all__ = ["Cancelling", "from_another_thread"]

logger = logging.getLogger("eventsource")

#: Logged when cancels cut requests before their answers, attempt after attempt.
CUT_AGAIN = (
    "no answer before a cancel, %d attempts in a row: a timeout around anext() shorter"
    " than the server takes to answer never lets the stream open; reconnecting in %.2f s"
)


def from_another_thread(what: str) -> RuntimeError:
    """The error for ``close()`` or ``restart()`` called outside the loop that reads."""
    return RuntimeError(
        f"{what}() of an eventsource.EventSource from another thread than the one "
        f"whose event loop reads it: call it in that loop (asyncio: "
        f"loop.call_soon_threadsafe(es.{what}); trio: token.run_sync_soon(es.{what}))"
        + (
            ", or use eventsource.sync.EventSource, whose close() works from any thread"
            if what == "close"
            else ""
        )
    )


def _alive(ident: int) -> bool:
    """Whether a thread with this ``threading.get_ident()`` still runs (asked only to refuse)."""
    return any(thread.ident == ident for thread in threading.enumerate())


class Cancelling(Connecting):
    """A driver's cut steps and its closing (set up by ``Driver.__init__``)."""

    __slots__ = (
        "_busy",
        "_closed",
        "_idle",
        "_owner",
        "_released",
        "_restart",
        "_scope",
        "_thread",
        "_waiting",
    )
    _busy: bool
    _closed: bool
    _idle: anyio.Event | None  # made by an aclose() that waits for receive()
    _owner: int  # the id of the task in receive() or finish()
    _released: bool
    _restart: bool
    _waited: bool  # the connect step's
    _opening: bool  # the connect step's
    _scope: anyio.CancelScope | None
    _thread: int  # the thread of the loop that last read
    _waiting: bool  # in a cancel_safe read (see _keeps)

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    @property
    def busy(self) -> bool:
        """Whether a :meth:`receive` (or :meth:`finish`) is in progress."""
        return self._busy

    @property
    def reader(self) -> int:
        """The id of the task that last read (``receive()`` or ``finish()``), 0 if none."""
        return self._owner

    @property
    def unreleased(self) -> bool:
        """Whether a connection was made and ``aclose()`` has not released everything."""
        return self._used and not self._released

    def _exclusive(self) -> _LetGo:
        """One task at a time in receive() or finish(); aclose() waits for it to let go."""
        if self._busy:
            raise RuntimeError("this EventSource is already being read by another task")
        self._busy = True
        self._owner = anyio.get_current_task().id  # see aclose()
        self._thread = threading.get_ident()  # see check_thread()
        return _LetGo(self)

    def _let_go(self) -> None:
        self._busy = False
        if self._idle is not None:
            self._idle.set()

    def check_thread(self, what: str) -> None:
        """Raise ``RuntimeError`` for a call from another thread while the stream is in use.

        In use: a read is in progress, or a connection was made and is not
        released (between reads too: the body of ``async for`` or a listener
        awaits). The read's cancel scope, its loop's sockets and the items
        waiting belong to the loop reading them: closed from another thread,
        anyio raised there and the stream was left half closed, reading on; and
        between reads the response was let go of off its loop. Not once the
        thread of that loop has ended (``asyncio.run()`` in a worker thread
        returned with the stream open): nothing runs there any more, and the
        transports let go of a response whose loop is closed from anywhere.
        """
        if self._thread == threading.get_ident():
            return
        if self._busy or (self.unreleased and _alive(self._thread)):
            raise from_another_thread(what)

    def close(self) -> None:
        """No request and no item after this; the step in progress is cancelled.

        With no step in progress, the connection is let go at once where the
        transport can without awaiting (aiohttp), as a browser's ``close()``
        does; ``aclose()`` waits for the rest.
        """
        if not self._closed:
            self._closed = True
            self.connection.close()
            if self._scope is not None:
                self._scope.cancel()  # the step releases its response as it ends
            elif not self._busy:
                self.abort()

    def restart(self) -> None:
        """Drop the current connection and reconnect at once (does nothing once closed)."""
        if not self._closed:
            self._restart = True
            if self._scope is not None:
                self._scope.cancel()

    async def aclose(self) -> None:
        """Close, wait for a ``receive()`` in another task to let go, and release everything."""
        self.close()
        with anyio.CancelScope(shield=True):
            # Another task's receive() lets go at once (its step is cancelled);
            # from inside it (a hook, a listener), waiting would wait for itself.
            if self._busy and self._owner != anyio.get_current_task().id:
                self._idle = anyio.Event()
                with anyio.move_on_after(5):  # it only has shielded, bounded work left
                    await self._idle.wait()
            await self._release_response()
            if not self._released:
                self._released = True
                if self.transport is not None:
                    await self.transport.aclose()

    def abort(self) -> None:
        """Let go of the response, then of the transport, where they can without awaiting."""
        for part in (self._response, self.transport):
            abort = getattr(part, "abort", None)
            if abort is not None:
                with contextlib.suppress(Exception):  # best effort (also during collection)
                    abort()

    def _keeps(self, exc: BaseException, scope: anyio.CancelScope) -> bool:
        """Whether ``exc``, a cancel from outside ``scope``, hit a cancel_safe read waiting."""
        kept, self._waiting = self._waiting, False
        cancelled = isinstance(exc, anyio.get_cancelled_exc_class())
        return kept and cancelled and not scope.cancel_called

    async def _abandon(self) -> None:
        """Tell the connection a step was cut (not kept), act on what it decides, release."""
        began, self._opening = self._opening, False
        sent, self._sending = self._sending, False
        answered = self._response is not None or self._body is not None
        if self._decided_items:
            pass  # the response was judged: its decision stands (see _connect)
        elif answered or (began and not self._closed):
            # Being opened, sent or answered, and cut: the connection decides
            # (restart() asks for a new request, at once).
            asked = not self._restart
            decision = self.connection.interrupted(
                began=asked,
                sent=(sent or answered) and asked,
                answered=answered,
                waited=self._waited,
            )
            if isinstance(decision, Fail):  # its end, for the next call
                self._decided_items = self.connection.report_failure(decision.error)
            elif decision is not None:  # no answer came: back off, as after a failure
                if decision.attempt > 1:
                    # Again and again: the caller's timeout is likely shorter than the
                    # server takes to answer, and the stream would never open. Say so.
                    logger.warning(CUT_AGAIN, decision.attempt, decision.delay)
                else:
                    delay = decision.delay
                    logger.info("no answer before a cancel: reconnecting in %.2f s", delay)
                self._resume_at = anyio.current_time() + decision.delay
        elif self._resume_at is None and not self._closed:
            self.connection.interrupted()  # cancelled in a hook, before sending
        await self._release_response()


class _LetGo:
    """Ends a driver's receive() or finish() as its ``with`` block ends (see ``_exclusive``).

    Not a ``contextlib`` generator: a stream waiting for the network holds this,
    and a generator's context manager held ~440 B more (1,000 streams: 0.4 MiB).
    """

    __slots__ = ("_driver",)

    def __init__(self, driver: Cancelling) -> None:
        self._driver = driver

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc_info: object) -> None:
        self._driver._let_go()
