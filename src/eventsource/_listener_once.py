"""``addEventListener``'s options: a listener called once, and the DOM's options object.

Spec: https://dom.spec.whatwg.org/#dom-eventtarget-addeventlistener
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from ._sendable import check_bool

__all__ = ["Once", "once_in"]

Listener = Callable[[Any], "Awaitable[object] | object"]


class _Registry(Protocol):
    """What a ``Once`` needs of ``_listeners.ListenerRegistry``: to remove itself."""

    def remove(self, type: str, listener: Listener) -> None: ...


class Once:
    """A listener added with ``once``: it removes itself, then calls the listener.

    [DOM] The removal comes before the call. It equals (and hashes as) the
    listener it wraps, so adding that listener again adds nothing and
    ``removeEventListener`` with it removes this.
    """

    __slots__ = ("_registry", "_type", "listener")

    def __init__(self, registry: _Registry, type: str, listener: Listener) -> None:
        self._registry = registry
        self._type = type
        self.listener = listener

    def __call__(self, argument: object) -> Awaitable[object] | object:
        self._registry.remove(self._type, self)
        return self.listener(argument)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Once):
            return self.listener == other.listener
        return self.listener == other

    def __hash__(self) -> int:
        return hash(self.listener)

    def __repr__(self) -> str:
        return repr(self.listener)  # as added: what a logged failure names


def once_in(options: Mapping[str, object] | bool | None, once: bool) -> bool:
    """``once`` as given by keyword or in the DOM's options (a mapping, or ``useCapture``)."""
    check_bool(once, "addEventListener: once")
    if options is None or isinstance(options, bool):  # useCapture: no tree, nothing to capture
        return once
    if not isinstance(options, Mapping):
        raise TypeError(
            "addEventListener: options must be a mapping such as {'once': True}, "
            f"got {type(options).__name__}"
        )
    unknown = set(options) - {"once", "capture", "passive"}
    if unknown:  # "signal" among them: there is no AbortSignal here
        raise TypeError(
            f"addEventListener: unsupported option(s) {', '.join(map(repr, sorted(unknown)))}: "
            "use 'once', or removeEventListener()"
        )
    return check_bool(options.get("once", False), "addEventListener: options['once']") or once
