"""What of yours the blocking client calls: the hooks' types, and the refusal of async ones.

The blocking client runs no event loop, so a listener, hook or store method
that returns an awaitable cannot be run: it is a ``TypeError`` at the call.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TypeAlias

from ._policy import ResponseInfo
from ._request import ConnectAttempt

__all__ = ["SyncPrepareRequest", "SyncValidateResponse", "refuse_awaitable"]

SyncPrepareRequest: TypeAlias = Callable[[ConnectAttempt], "ConnectAttempt | None"]
SyncValidateResponse: TypeAlias = Callable[[ResponseInfo], object]


def refuse_awaitable(value: object, what: str) -> None:
    """Raise ``TypeError`` for a coroutine (or other awaitable) from a callback.

    The blocking client never runs an event loop, so it cannot await one.
    """
    if inspect.isawaitable(value):
        close = getattr(value, "close", None)
        if close is not None:
            close()  # no "never awaited" warning on top of the error
        raise TypeError(
            f"the blocking EventSource calls {what} without an event loop: "
            "pass a plain function, not an async one"
        )
