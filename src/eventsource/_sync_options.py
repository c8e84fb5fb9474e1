"""The blocking client's own options: its transport (httpx, imported when needed) and its store.

``eventsource.sync.EventSource`` shares the request options with the async
client (``_options``); what it takes differently is checked here: the
transport must be a blocking one (an ``httpx.Client`` of ours or an
``HttpxTransport``), and the store must have blocking ``load()`` and
``save()``. httpx is imported only when a transport is made, so that a
missing extra gives an ``ImportError`` that names it.
"""

from __future__ import annotations

import inspect
from types import ModuleType
from typing import Any

from ._transport._sync_base import SyncTransport
from .stores import SyncLastEventIdStore

__all__ = ["HTTPX_EXTRA", "checked_store", "httpx_module", "sync_transport"]

#: The extra that brings httpx, as the error messages name it.
HTTPX_EXTRA = "pip install 'eventsource-client[httpx]'"


def httpx_module() -> ModuleType:
    """The blocking httpx transport's module.

    Raises:
        ImportError: httpx is not installed (the message names the extra).
    """
    try:
        from ._transport import _httpx_sync
    except ImportError as exc:
        raise ImportError(
            f"the blocking EventSource runs on httpx: {HTTPX_EXTRA}", name="httpx"
        ) from exc
    return _httpx_sync


def sync_transport(transport: Any) -> tuple[SyncTransport, bool]:
    """The transport for ``transport=``, and whether we close it."""
    if transport is None or transport == "httpx":
        made: SyncTransport = httpx_module().HttpxTransport()
        return made, True
    if isinstance(transport, str):
        raise ValueError(f"unknown transport {transport!r}: use 'httpx' or HttpxTransport(...)")
    if not (
        callable(getattr(transport, "open", None)) and callable(getattr(transport, "close", None))
    ):
        raise TypeError(
            "transport must be 'httpx' or eventsource.sync.HttpxTransport(...), "
            f"not {transport!r} (the async transports need an event loop)"
        )
    # Closed with the EventSource too: it closes the client it made (TLS or proxy
    # options), never one you passed it.
    return transport, True


def checked_store(store: SyncLastEventIdStore | None) -> SyncLastEventIdStore | None:
    """``store`` once it is sure to have blocking ``load()`` and ``save()``.

    Raises:
        TypeError: a method is missing, or is a coroutine function; a ``StrictStore``.
    """
    if store is None:
        return None
    from .stores import StrictStore  # the public module imports anyio; only if a store is given

    if isinstance(store, StrictStore):
        raise TypeError(
            "StrictStore is for the async client: the blocking one already saves each ID "
            f"before it hands out the next event; pass the store itself ({store.store!r})"
        )
    for name in ("load", "save"):
        method = getattr(store, name, None)
        if not callable(method):
            raise TypeError(f"last_event_id_store needs a {name}() method: {store!r}")
        if inspect.iscoroutinefunction(method):
            raise TypeError(
                f"the blocking EventSource needs a store with a blocking {name}(), "
                f"not an async one: {store!r}"
            )
    return store
