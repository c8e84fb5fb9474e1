"""What the operating system or TLS said under a transport's exception, in a few words.

httpx says ``ConnectError: All connection attempts failed`` for a refused
connection, a failed name lookup and a certificate it could not verify alike;
the reason is further down the chain of causes. Only causes whose text is safe
to log are described (never a header value or a query). Imports neither
aiohttp nor httpx.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable

__all__ = ["described", "failure_reason"]

# How many exceptions of a chain (causes, contexts, group members) are looked at.
_MAX_CAUSES = 32


def _attribute(name: str, text: str) -> Callable[[BaseException], str | None]:
    # None when the exception lacks it: a wrapper that subclasses the kind
    # (aiohttp's certificate error is an SSLCertVerificationError); its cause has it.
    def describe(exc: BaseException) -> str | None:
        value = getattr(exc, name, None)
        return f"{text}: {value}" if value else None

    return describe


# The most telling first: a TLS or lookup failure over the OSError that wraps it.
_REASONS: tuple[tuple[type[BaseException], Callable[[BaseException], str | None]], ...] = (
    (ssl.SSLCertVerificationError, _attribute("verify_message", "certificate verify failed")),
    (ssl.SSLError, _attribute("reason", "TLS failed")),
    (socket.gaierror, _attribute("strerror", "name resolution failed")),
    (ConnectionRefusedError, lambda e: "connection refused"),
    (ConnectionResetError, lambda e: "connection reset by peer"),
    (ConnectionAbortedError, lambda e: "connection aborted"),
    (TimeoutError, lambda e: "timed out"),
)


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and what lies under it, nearest first: causes, contexts, group members."""
    found: list[BaseException] = []
    seen: set[int] = set()
    queue = [exc]
    while queue and len(found) < _MAX_CAUSES:
        current = queue.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        found.append(current)
        members = getattr(current, "exceptions", ())  # an exception group
        if isinstance(members, tuple):
            queue.extend(m for m in members if isinstance(m, BaseException))
        queue.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return found


def failure_reason(exc: BaseException) -> str | None:
    """``"connection refused"``, ``"certificate verify failed: ..."``...: or ``None``.

    Looks through ``exc``'s causes for a TLS, name lookup or socket error and
    says what it was; ``None`` when there is none.
    """
    chain = _chain(exc)
    for kind, describe in _REASONS:
        for cause in chain:
            reason = describe(cause) if isinstance(cause, kind) else None
            if reason:
                return reason
    for cause in chain:
        if isinstance(cause, OSError) and cause.errno is not None and cause.strerror:
            return cause.strerror
    return None


def described(what: str, exc: BaseException, reason: str | None = None) -> str:
    """``what: connection reset by peer``: the reason if known, else ``exc``'s class name.

    The library's class is left out when the reason is known: it differs per
    transport (aiohttp's ``ClientConnectorError``, httpx's ``ConnectError``)
    for the same failure, and stays on the ``__cause__``.
    """
    return f"{what}: {reason or failure_reason(exc) or type(exc).__name__}"
