"""Choosing the transport from ``EventSource(transport=...)``.

aiohttp, the default, is imported with the package; httpx only when it is
chosen, so a missing httpx costs nothing until it is asked for.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

from .._sendable import check_url
from ._aiohttp import AiohttpTransport  # the default: imported with the package
from ._base import Transport

__all__ = ["TransportChoice", "make_transport"]

#: A transport name, a transport object, or ``None`` for the default.
TransportChoice: TypeAlias = "Transport | Literal['aiohttp', 'httpx'] | None"


def make_transport(transport: TransportChoice) -> Transport:
    """The transport for ``transport=``: a name gets one with default settings.

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
