"""What a request may carry: the method and header checks every request passes.

aiohttp and h11 (under httpx) refuse some header values before anything
reaches the network, and they refuse them again on every attempt: a value
that slips through here becomes a reconnect loop that never ends. A value the
user gave is refused here, at once, with ``ValueError`` or ``TypeError``;
``_connection`` decides what to do with one the server gave (the last event
ID). The URL's checks are ``_sendable_url``'s. Also what an error or a log
line may show of a text or a URL (no query, no userinfo), and response
headers as kept on errors: a case-insensitive multidict. Imports nothing from
the package.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

from multidict import CIMultiDict, CIMultiDictProxy

__all__ = [
    "HTTP_WHITESPACE",
    "SURROGATE",
    "check_headers",
    "check_method",
    "check_str",
    "header_value_problem",
    "header_view",
    "redact_url",
    "shown",
]

#: [Fetch] HTTP whitespace: what header value normalization strips from both ends.
HTTP_WHITESPACE = "\t\n\r "
# [RFC 9110] token: the characters of a method or a header name.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# What aiohttp refuses in a header value (h11 refuses NUL, LF, VT, FF and CR of
# these): the C0 controls but tab, and DEL, as RFC 9110's field-value grammar says.
_VALUE_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# Half of a UTF-16 pair alone: no UTF-8 encoder takes it (httpx raises
# UnicodeEncodeError, from outside its own exception tree).
SURROGATE = re.compile("[\ud800-\udfff]")
_SHOWN_LIMIT = 80


def shown(text: str) -> str:
    """``repr(text)`` cut to a length fit for an error message or a log line."""
    if len(text) > _SHOWN_LIMIT:
        return repr(text[:_SHOWN_LIMIT]) + "..."
    return repr(text)


def redact_url(url: str) -> str:
    """``scheme://host[:port]/path``: a URL without its query or userinfo, for logs."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # never raised for a URL we send; a message must not fail
        return "(an invalid URL)"
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 address keeps its brackets
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{port}{parts.path}"


def header_view(
    headers: Mapping[str, str] | Iterable[tuple[str, str]] | None,
) -> CIMultiDictProxy[str]:
    """Response headers as kept on errors and shown to hooks: read-only, case-insensitive.

    A repeated header keeps each of its values (``getall``), when ``headers``
    has them: a multidict, or ``(name, value)`` pairs. A read-only view is
    returned as it is.
    """
    if isinstance(headers, CIMultiDictProxy):
        return headers
    return CIMultiDictProxy(CIMultiDict(headers or ()))


def _wrong_type(value: object, *, secret: bool) -> str:
    """``int (5)``: the type of a value of the wrong type, and the value.

    The value shows only if it is a number or ``None``, unless it cannot be a ``secret``.
    """
    kind = type(value).__name__
    if secret and not (value is None or isinstance(value, (bool, int, float))):
        return kind  # bytes or an object may hold a credential: its type only
    text = repr(value)
    if len(text) > _SHOWN_LIMIT:
        text = text[:_SHOWN_LIMIT] + "..."
    return f"{kind} ({text})"


def check_str(value: object, what: str) -> str:
    """``value`` if it is a ``str``; a ``TypeError`` naming ``what`` and the type otherwise."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, got {_wrong_type(value, secret=False)}")
    return value


def check_bool(value: object, what: str) -> bool:
    """``value`` if it is a ``bool``; a ``TypeError`` naming ``what`` otherwise.

    A flag given as ``"no"`` or ``"false"`` is truthy: taken as ``True``, it
    did the opposite of what was asked.
    """
    if not isinstance(value, bool):
        raise TypeError(f"{what} must be True or False, got {_wrong_type(value, secret=False)}")
    return value


def header_value_problem(value: str) -> str | None:
    """Why ``value`` (already normalized) cannot be sent as a header value, or ``None``."""
    control = _VALUE_CONTROL.search(value)
    if control is not None:
        return f"it holds the control character {control.group()!r}"
    surrogate = SURROGATE.search(value)
    if surrogate is not None:
        return f"it holds the lone surrogate {surrogate.group()!r}, which UTF-8 cannot encode"
    return None


def check_headers(
    headers: Mapping[str, str] | Iterable[tuple[str, str]], what: str = ""
) -> dict[str, str]:
    """The headers to send: each value normalized as Fetch does, each checked.

    ``what``, when given, starts each error message (where the headers came from).

    Raises:
        TypeError: a name or value is not a ``str``.
        ValueError: a name is not an HTTP token, or a value holds a control
            character (any but tab) or a lone surrogate, which no transport would send.
    """
    prefix = f"{what}: " if what else ""
    checked: dict[str, str] = {}
    for name, value in dict(headers).items():
        if not isinstance(name, str):
            shape = _wrong_type(name, secret=False)
            raise TypeError(f"{prefix}header names must be str, got {shape}")
        if not isinstance(value, str):
            shape = _wrong_type(value, secret=True)
            raise TypeError(f"{prefix}header {name!r}: values must be str, got {shape}")
        if _TOKEN.fullmatch(name) is None:
            raise ValueError(f"{prefix}{shown(name)} is not a valid header name")
        value = value.strip(HTTP_WHITESPACE)  # [Fetch] normalize a header value
        problem = header_value_problem(value)
        if problem is not None:
            # The value may be a credential: name the header, not the value.
            raise ValueError(f"{prefix}the value of header {name!r} cannot be sent: {problem}")
        checked[name] = value
    return checked


def check_method(method: str, what: str = "") -> str:
    """The method, upper-cased (as the transports send it); ``what`` as for headers.

    Raises:
        ValueError: ``method`` is not an HTTP token.
    """
    if not isinstance(method, str) or _TOKEN.fullmatch(method) is None:
        prefix = f"{what}: " if what else ""
        raise ValueError(f"{prefix}{shown(str(method))} is not a valid HTTP method")
    return sys.intern(method.upper())  # one "GET" for every stream, not two each
