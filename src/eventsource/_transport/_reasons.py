"""What the operating system, TLS or HTTP said under a transport's exception, in a few words.

httpx says ``ConnectError: All connection attempts failed`` for a refused
connection, a failed name lookup and a certificate it could not verify alike;
the reason is further down the chain of causes. A server that closed the
connection early is told in the same words whichever library noticed it.
Only causes whose text is safe to log are described (never a header value or
a query). Imports neither aiohttp nor httpx.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable

__all__ = ["BODY_CUT_SHORT", "NO_ANSWER", "described", "failure_reason", "timed_out"]

BODY_CUT_SHORT = "the server closed the connection in the middle of the body"
NO_ANSWER = "the server closed the connection without answering"

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


def _library_error(package: str, name: str, text: str = "") -> Callable[[BaseException], bool]:
    # By the class's package and name, and the start of its text: the libraries
    # are not imported here, and httpx's one class stands for several faults.
    def matches(exc: BaseException) -> bool:
        kind = type(exc)
        return (
            kind.__module__.partition(".")[0] == package
            and kind.__name__ == name
            and str(exc).startswith(text)
        )

    return matches


def _aiohttp_reset(exc: BaseException) -> bool:
    # aiohttp names the socket's error in the text of its payload error, not as a cause.
    return _library_error("aiohttp", "ClientPayloadError")(exc) and (
        "ConnectionResetError(" in str(exc)
    )


def _aiohttp_cut_short(exc: BaseException) -> bool:
    # Its parser raises these classes for a malformed body too (a bad chunk size):
    # at the end of the connection their message says the body is incomplete.
    return (
        _library_error("aiohttp", "TransferEncodingError")(exc)
        or _library_error("aiohttp", "ContentLengthError")(exc)
    ) and str(getattr(exc, "message", "")).startswith("Not enough data to satisfy")


# A server that closed the connection too early, in each library's words: after the
# headers but before the end of the body (a chunked body without its last chunk, or
# fewer bytes than its Content-Length), or before it answered at all.
_CLOSED_EARLY: tuple[tuple[Callable[[BaseException], bool], str], ...] = (
    (_aiohttp_reset, "connection reset by peer"),
    (_aiohttp_cut_short, BODY_CUT_SHORT),
    (
        _library_error(
            "h11", "RemoteProtocolError", "peer closed connection without sending complete"
        ),
        BODY_CUT_SHORT,
    ),
    (_library_error("aiohttp", "ServerDisconnectedError"), NO_ANSWER),
    (_library_error("httpcore", "RemoteProtocolError", "Server disconnected without"), NO_ANSWER),
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

    Looks through ``exc``'s causes for a TLS, name lookup or socket error, or
    an HTTP library's word that the server closed the connection early
    (:data:`BODY_CUT_SHORT`, :data:`NO_ANSWER`), and says what it was; ``None``
    when there is none.
    """
    chain = _chain(exc)
    for kind, describe in _REASONS:
        for cause in chain:
            reason = describe(cause) if isinstance(cause, kind) else None
            if reason:
                return reason
    for closed_early, reason in _CLOSED_EARLY:
        if any(closed_early(cause) for cause in chain):
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


def timed_out(what: str, seconds: float | None) -> str:
    """``no data received within read_timeout (60 s)``: the bound's value when it is known."""
    bound = "read_timeout" if seconds is None else f"read_timeout ({seconds:g} s)"
    return f"{what} within {bound}"
