"""Who hears an item: the browser's ``on<type>`` attributes and ``addEventListener``.

Pure lookups, shared by every client: the async ``EventSource`` awaits what a
listener returns, a blocking client would just call them. Imports no async or
HTTP library.
"""

from __future__ import annotations

import logging
import os
import reprlib
import sys
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeAlias

from ._event import Comment, MessageEvent
from ._listener_once import Once, once_in
from ._sendable import check_bool, check_str
from ._verdicts import Item

__all__ = [
    "BrowserListeners",
    "Listener",
    "ListenerRegistry",
    "check_callable",
    "listener_failed",
    "listeners_for",
    "removed_meanwhile",
]

logger = logging.getLogger("eventsource")

#: Where the package's own code is: the frames a listener's logged traceback leaves out.
_OURS = os.path.dirname(__file__) + os.sep

Listener: TypeAlias = Callable[[Any], "Awaitable[object] | object"]


def check_callable(listener: object, what: str) -> Any:
    """``listener`` if it is callable or ``None``; a ``TypeError`` naming ``what`` otherwise.

    The browser turns a non-callable ``on<type>`` into null and throws for one
    given to ``addEventListener``; here both raise, rather than log a
    ``TypeError`` for each event later.
    """
    if listener is None or callable(listener):
        return listener
    shown = reprlib.repr(listener)
    raise TypeError(f"{what} must be callable or None, got {type(listener).__name__} ({shown})")


class ListenerRegistry:
    """Who hears an EventSource's items: the ``on<type>`` handlers and ``addEventListener``.

    The EventSource's ``onopen``, ``onmessage``, ``onerror``, ``on_comment`` and
    ``raise_listener_errors`` are kept here, where each item's listeners are
    looked up (:func:`listeners_for`); added listeners by event type, each at
    most once.
    """

    __slots__ = (
        "_by_type",
        "on_comment",
        "onerror",
        "onmessage",
        "onopen",
        "raise_errors",
        "removals",
    )

    def __init__(self) -> None:
        self._by_type: dict[str, list[Listener]] = {}
        self.removals = 0  # listeners removed so far: a dispatch sees if one went meanwhile
        self.onopen: Listener | None = None
        self.onmessage: Listener | None = None
        self.onerror: Listener | None = None
        self.on_comment: Listener | None = None
        self.raise_errors = False  # a listener's exception propagates instead of being logged

    def add(self, type: str, listener: Listener, *, once: bool = False) -> None:
        """Add ``listener`` for ``type``; a listener already there is not added again.

        ``once``: removed as it is called the first time ([DOM] "once").
        """
        listeners = self._by_type.setdefault(type, [])
        if listener not in listeners:
            listeners.append(Once(self, type, listener) if once else listener)

    def remove(self, type: str, listener: Listener) -> None:
        """Remove ``listener`` for ``type``; an unknown one is ignored, as in the browser."""
        listeners = self._by_type.get(type)
        if listeners and listener in listeners:
            listeners.remove(listener)
            self.removals += 1

    def get(self, type: str) -> tuple[Listener, ...]:
        """The listeners of ``type``, as they are now (a listener may remove itself)."""
        listeners = self._by_type.get(type)
        return tuple(listeners) if listeners else ()


class BrowserListeners:
    """The browser's listener API over a :class:`ListenerRegistry`, for both EventSources.

    The ``on<type>`` handlers (and ``on_comment``, ``raise_listener_errors``)
    read and write the registry, where each item's listeners are looked up;
    the subclass sets ``listeners``.
    """

    __slots__ = ()
    listeners: ListenerRegistry

    @property
    def onopen(self) -> Listener | None:
        """Called with the ``open`` event, before the ``addEventListener`` ones."""
        return self.listeners.onopen

    @onopen.setter
    def onopen(self, handler: Listener | None) -> None:
        self.listeners.onopen = check_callable(handler, "onopen")

    @property
    def onmessage(self) -> Listener | None:
        """Called with each event of type ``message`` (only that type, as in the browser)."""
        return self.listeners.onmessage

    @onmessage.setter
    def onmessage(self, handler: Listener | None) -> None:
        self.listeners.onmessage = check_callable(handler, "onmessage")

    @property
    def onerror(self) -> Listener | None:
        """Called with each :class:`~eventsource.ErrorEvent` (a reconnect, or the end)."""
        return self.listeners.onerror

    @onerror.setter
    def onerror(self, handler: Listener | None) -> None:
        self.listeners.onerror = check_callable(handler, "onerror")

    @property
    def on_comment(self) -> Listener | None:
        """Called with the text of each comment line, in stream order."""
        return self.listeners.on_comment

    @on_comment.setter
    def on_comment(self, handler: Listener | None) -> None:
        self.listeners.on_comment = check_callable(handler, "on_comment")

    @property
    def raise_listener_errors(self) -> bool:
        """Let a listener's exception propagate instead of logging it."""
        return self.listeners.raise_errors

    @raise_listener_errors.setter
    def raise_listener_errors(self, value: bool) -> None:
        self.listeners.raise_errors = check_bool(value, "raise_listener_errors")

    def addEventListener(
        self,
        type: str,
        listener: Listener | None,
        options: Mapping[str, object] | bool | None = None,
        *,
        once: bool = False,
    ) -> None:
        """Call ``listener`` with each event of ``type``; a listener is added once.

        ``None`` adds nothing, as ``null`` in the browser. ``once=True`` (or the
        DOM's ``{"once": True}`` as ``options``) removes the listener as it is
        called the first time. ``options`` may also hold ``capture`` and
        ``passive`` (or be ``useCapture``, a bool), which change nothing here.

        Raises:
            TypeError: ``type`` is not a ``str``, ``listener`` is neither callable
                nor ``None``, or ``options`` holds another key (``signal``) or
                is neither a mapping nor a bool.
        """
        check_str(type, "addEventListener: the event type")
        checked = check_callable(listener, f"addEventListener({type!r}): the listener")
        once = once_in(options, once)
        if checked is not None:
            self.listeners.add(type, checked, once=once)

    def removeEventListener(
        self,
        type: str,
        listener: Listener | None,
        options: Mapping[str, object] | bool | None = None,
    ) -> None:
        """Stop calling ``listener`` for ``type``; unknown listeners and ``None`` are ignored.

        ``options`` (the DOM's ``capture``) changes nothing: there is no tree.

        Raises:
            TypeError: ``listener`` is neither callable nor ``None``.
        """
        checked = check_callable(listener, f"removeEventListener({type!r}): the listener")
        if checked is not None:
            self.listeners.remove(type, checked)

    add_event_listener = addEventListener
    remove_event_listener = removeEventListener


def listeners_for(registry: ListenerRegistry, item: Item) -> tuple[tuple[Listener, ...], object]:
    """The listeners to call for ``item``, in the browser's order, and what to pass them.

    The ``on<type>`` attribute first (``onmessage`` hears only the ``message``
    type, as in the browser), then the ``addEventListener`` ones. A comment
    goes to ``on_comment`` as its text. ``End`` has no listeners.
    """
    handler: Listener | None = None
    if type(item) is MessageEvent:  # the common item first (callbacks call this per event)
        kind = item.type
        if kind == "message":
            handler = registry.onmessage
    elif type(item) is Comment:
        handlers = (registry.on_comment,) if registry.on_comment is not None else ()
        return handlers, item.text
    else:
        other: str | None = getattr(item, "type", None)
        if other is None:  # End
            return (), item
        kind = other
        if kind == "open":
            handler = registry.onopen
        elif kind == "error":
            handler = registry.onerror
    added = registry._by_type.get(kind)
    if not added:  # no tuple to copy a list into: 0.57x the time with onmessage alone
        return ((handler,) if handler is not None else ()), item
    # A copy: a listener may remove itself (or another) while they are called.
    return ((handler, *added) if handler is not None else tuple(added)), item


def removed_meanwhile(
    registry: ListenerRegistry, item: Item, listener: Listener, dispatched: tuple[Listener, ...]
) -> bool:
    """Whether ``listener``, one of ``dispatched`` (``item``'s as its dispatch began), went since.

    [DOM] A listener removed while an event is dispatched is not called for it
    (its "removed" flag). Only asked once ``registry.removals`` moved. The
    added ones are looked for by identity, the way they were stored: a
    function that is also the ``on<type>`` handler is in ``dispatched`` twice,
    and once removed from the added ones it is not called a second time (an
    equality test found the handler and called it). A plain function removed
    and added again in the meantime is still called.
    """
    if type(item) is Comment:
        return listener is not registry.on_comment
    kind: str | None = getattr(item, "type", None)
    if kind is None:  # End: no listeners
        return False
    # The on<type> attribute of the types that have one (see listeners_for).
    handler = getattr(registry, f"on{kind}") if kind in ("message", "open", "error") else None
    if any(entry is listener for entry in registry._by_type.get(kind, ())):
        return False
    # Not among the added ones: gone, unless it is the handler at its own place,
    # which comes first (where nothing of this dispatch can have removed a
    # listener before it) and is not also an added one that was removed.
    return not (listener is handler and sum(entry is listener for entry in dispatched) == 1)


def listener_failed(listener: Listener, argument: object, *, reraise: bool) -> None:
    """Log a listener's exception with its traceback (the browser reports and goes on).

    The traceback starts in the listener: the frames before it (the dispatch,
    the blocking client's refusal of a coroutine) are ours and tell the reader
    nothing; an error raised in ours alone is logged without one. Call from an
    ``except`` block. With ``reraise`` the exception propagates instead.
    """
    if reraise:
        raise  # the exception being handled by the caller
    exc = sys.exc_info()[1]
    assert exc is not None  # called from an except block
    where = exc.__traceback__
    while where is not None and where.tb_frame.f_code.co_filename.startswith(_OURS):
        where = where.tb_next
    kind = getattr(argument, "type", "comment")
    logger.error(
        "listener %r raised on a %r event", listener, kind, exc_info=(type(exc), exc, where)
    )
