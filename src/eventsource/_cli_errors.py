"""How the command line words an error: one line for stderr, the same on every transport.

A response's status, content type and body excerpt; a network failure as what
the network did (from the OS or TLS error the transports keep as the cause);
a broken limit naming the command's option. Pure functions.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Iterator

from ._errors import (
    ConnectError,
    ContentTypeError,
    ProtocolError,
    ReadTimeout,
    RedirectError,
    ResponseError,
)

__all__ = ["describe_error"]

#: How much of a response's body the line shows, in characters.
BODY_EXCERPT = 200


def _causes(error: BaseException) -> Iterator[BaseException]:
    """``error`` and what lies behind it, outermost first (bounded: chains may loop)."""
    seen: BaseException | None = error
    for _ in range(16):
        if seen is None:
            return
        yield seen
        seen = seen.__cause__ or seen.__context__


# asyncio.TimeoutError is its own class before Python 3.11.
_TIMEOUTS = (TimeoutError, asyncio.TimeoutError)


def _ssl_words(error: ssl.SSLError) -> str:
    """OpenSSL's reason: why a certificate was refused, or the handshake's error code in words."""
    verify_message = getattr(error, "verify_message", None)
    if verify_message:
        return str(verify_message)
    reason = getattr(error, "reason", None)
    return str(reason).replace("_", " ").lower() if reason else ""


def _network_reason(error: BaseException) -> str | None:
    """What the network did, in words, from the OS or TLS error behind ``error``.

    The transports wrap the same OS errors in different exceptions with
    different texts; the cause they keep is the common ground.
    """
    if isinstance(error, ReadTimeout):
        return "timed out waiting for the server"
    causes = list(_causes(error))
    for cause in causes:
        if isinstance(cause, ssl.SSLError):
            # aiohttp's wrapper is an SSLError too, without OpenSSL's words: look deeper.
            reasons = [_ssl_words(c) for c in causes if isinstance(c, ssl.SSLError)]
            detail = next((f": {text}" for text in reasons if text), "")
            if isinstance(cause, ssl.SSLCertVerificationError):
                # Retried for ever (the certificate may be renewed): say the way out.
                return f"TLS certificate verification failed{detail} (--insecure skips the check)"
            return f"TLS handshake failed{detail}"
        if isinstance(cause, socket.gaierror):
            return "name resolution failed"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, ConnectionResetError):
            return "connection reset"
        if isinstance(cause, _TIMEOUTS):
            return "timed out connecting" if isinstance(error, ConnectError) else "timed out"
    for cause in causes:  # another OS error: its own words (no route to host, ...)
        if isinstance(cause, OSError) and cause.errno is not None and cause.strerror:
            text = cause.strerror[:1].lower() + cause.strerror[1:]
            return f"could not connect: {text}" if isinstance(error, ConnectError) else text
    return None


def describe_error(error: BaseException) -> str:
    """One line saying what the server or the network did, for stderr.

    A response: its status, content type and the start of its body. A network
    failure: its kind in words (``connection refused``, ``name resolution
    failed``, ``TLS certificate verification failed: ...``, ``timed out ...``),
    the same on every transport. A limit exceeded: the error's text, naming
    ``--max-event-size``. Anything else: the error's own text.
    """
    if isinstance(error, ResponseError) and not isinstance(error, RedirectError):
        kind = error.content_type or "no content type"
        line = f"server answered {error.status} ({kind})"
        if isinstance(error, ContentTypeError):  # a 200: "answered 200" alone reads as success
            line = f"server answered {error.status}, not with text/event-stream ({kind})"
        body = " ".join(error.body.split())[:BODY_EXCERPT]
        return f"{line}: {body}" if body else line
    reason = _network_reason(error)
    if reason is not None:
        return reason
    text = " ".join(str(error).split())
    if isinstance(error, ProtocolError):  # the library's hint names the keyword: name the option
        text = text.replace("max_event_size=", "max_event_size")
        text = text.replace("max_event_size", "--max-event-size")
    return text or type(error).__name__
