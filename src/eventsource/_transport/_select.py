"""Choosing the transport from ``EventSource(transport=...)``.

aiohttp, the default on asyncio, is imported with the package; httpx only when
it is chosen (or the default under trio), so a missing httpx costs nothing
until it is asked for.
"""

from __future__ import annotations

import importlib
from typing import Literal, TypeAlias

import anyio.to_thread

from .._sendable_url import check_url
from ._aiohttp import AiohttpTransport  # the default: imported with the package
from ._base import Transport

__all__ = ["TransportChoice", "default_transport", "make_transport"]

#: The extra that brings httpx, as the error messages name it.
HTTPX_EXTRA = "pip install 'eventsource-client[httpx]'"

#: A transport name, a transport object, or ``None`` for the default.
TransportChoice: TypeAlias = "Transport | Literal['aiohttp', 'httpx'] | None"


async def default_transport() -> Transport:
    """The transport of an EventSource made without ``transport=``: the running loop's.

    aiohttp on asyncio; httpx under trio, where aiohttp cannot run. Called once,
    at the first connection (an EventSource may be made outside any event loop):
    a one-time look at the running library, never on the read path.

    Raises:
        ImportError: under trio, without the ``httpx`` extra (the message names it).
    """
    if _running_library() != "trio":
        return AiohttpTransport()
    try:
        # In a worker thread: importing httpx takes tens of milliseconds.
        module = await anyio.to_thread.run_sync(importlib.import_module, f"{__package__}._httpx")
    except ImportError as exc:
        raise ImportError(
            f"on trio, EventSource needs the httpx transport (aiohttp runs on asyncio "
            f"only): {HTTPX_EXTRA}",
            name="httpx",
        ) from exc
    transport: Transport = module.HttpxTransport()
    return transport


def _running_library() -> str:
    """``"trio"`` or ``"asyncio"``: the async library of the calling task."""
    try:
        import sniffio  # trio depends on it: without it, this is not trio
    except ImportError:  # pragma: no cover - sniffio comes with trio
        return "asyncio"
    try:
        return sniffio.current_async_library()
    except sniffio.AsyncLibraryNotFoundError:  # pragma: no cover - called in a task
        return "asyncio"


def make_transport(transport: TransportChoice) -> Transport:
    """The transport for ``transport=``: a name gets one with default settings.

    ``None`` gets aiohttp's, the default on asyncio (an EventSource leaves the
    choice to :func:`default_transport` instead).

    Raises:
        ValueError: an unknown transport name.
        ImportError: ``"httpx"`` without the ``httpx`` extra installed (the
            message names the extra).
        TypeError: something that is not a transport.
    """
    if transport is None or transport == "aiohttp":
        return AiohttpTransport()
    if transport == "httpx":
        from ._httpx import HttpxTransport  # ImportError names the extra

        return HttpxTransport()
    if isinstance(transport, str):
        raise ValueError(
            f"unknown transport {transport!r}: use 'aiohttp', 'httpx', "
            "AiohttpTransport(...) or HttpxTransport(...)"
        )
    if not (
        callable(getattr(transport, "open", None)) and callable(getattr(transport, "aclose", None))
    ):
        raise TypeError(f"transport must be a name or a transport object, not {transport!r}")
    return transport


def _checked_proxy(proxy: str | None, schemes: tuple[str, ...]) -> str | None:
    # A proxy URL the transport refuses would fail every connection attempt.
    return None if proxy is None else check_url(proxy, what="proxy URL", schemes=schemes)
