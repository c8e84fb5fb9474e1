"""Who hears an item: the browser's ``on<type>`` attributes and ``addEventListener``.

Pure lookups, shared by every client: the async ``EventSource`` awaits what a
listener returns, a blocking client would just call them. Imports no async or
HTTP library.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeAlias

from ._event import Comment, MessageEvent
from ._verdicts import Item

__all__ = ["Listener", "ListenerRegistry", "listener_failed", "listeners_for"]

logger = logging.getLogger("eventsource")

Listener: TypeAlias = Callable[[Any], "Awaitable[object] | object"]


class ListenerRegistry:
    """Listeners added with ``addEventListener``, by event type, each at most once."""

    __slots__ = ("_by_type",)

    def __init__(self) -> None:
        self._by_type: dict[str, list[Listener]] = {}

    def add(self, type: str, listener: Listener) -> None:
        """Add ``listener`` for ``type``; a listener already there is not added again."""
        listeners = self._by_type.setdefault(type, [])
        if listener not in listeners:
            listeners.append(listener)

    def remove(self, type: str, listener: Listener) -> None:
        """Remove ``listener`` for ``type``; an unknown one is ignored, as in the browser."""
        listeners = self._by_type.get(type)
        if listeners and listener in listeners:
            listeners.remove(listener)

    def get(self, type: str) -> tuple[Listener, ...]:
        """The listeners of ``type``, as they are now (a listener may remove itself)."""
        listeners = self._by_type.get(type)
        return tuple(listeners) if listeners else ()


class HasListeners(Protocol):
    """What :func:`listeners_for` reads: the attribute handlers and the registry."""

    onopen: Listener | None
    onmessage: Listener | None
    onerror: Listener | None
    on_comment: Listener | None
    listeners: ListenerRegistry


def listeners_for(source: HasListeners, item: Item) -> tuple[tuple[Listener, ...], object]:
    """The listeners to call for ``item``, in the browser's order, and what to pass them.

    The ``on<type>`` attribute first (``onmessage`` hears only the ``message``
    type, as in the browser), then the ``addEventListener`` ones. A comment
    goes to ``on_comment`` as its text. ``End`` has no listeners.
    """
    if type(item) is Comment:
        return ((source.on_comment,) if source.on_comment is not None else ()), item.text
    kind = getattr(item, "type", None)
    if kind is None:  # End
        return (), item
    handler: Listener | None = None
    if type(item) is MessageEvent:
        if kind == "message":
            handler = source.onmessage
    elif kind == "open":
        handler = source.onopen
    elif kind == "error":
        handler = source.onerror
    added = source.listeners.get(kind)
    if handler is None:
        return added, item
    return (handler, *added), item


def listener_failed(listener: Listener, argument: object, *, reraise: bool) -> None:
    """Log a listener's exception with its traceback (the browser reports and goes on).

    Call from an ``except`` block. With ``reraise`` the exception propagates instead.
    """
    if reraise:
        raise  # the exception being handled by the caller
    kind = getattr(argument, "type", "comment")
    logger.exception("listener %r raised on a %r event", listener, kind)
