"""Which URLs a request may carry: the check every request URL and proxy URL passes.

aiohttp (with yarl) and httpx refuse some URLs before anything reaches the
network, and refuse them again on every attempt: a URL that slips through
becomes a reconnect loop that never ends. :func:`check_url` refuses it at
once, with a ``ValueError`` that names the problem (and, for
``host:port/path``, the ``http://`` URL meant). :func:`build_url` adds the
``params`` to a URL first. Imports only ``_sendable``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import Any, NoReturn
from urllib.parse import unquote, urlencode, urlsplit, urlunsplit

import idna  # the IDNA codec of both transports: httpx's, and yarl's under aiohttp

from ._sendable import SURROGATE, shown

__all__ = ["MAX_URL_LENGTH", "build_url", "check_url"]

#: [WHATWG URL] what the URL parser strips from both ends of its input.
_C0_CONTROL_OR_SPACE = "".join(map(chr, range(0x21)))
_URL_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Zero-width (non-)joiners: IDNA 2008 allows them between some letters, but
# yarl (under aiohttp) refuses them in a host.
_JOINER = re.compile("[\u200c\u200d]")
#: [httpx] the longest URL httpx parses, in characters.
MAX_URL_LENGTH = 65_536
#: [RFC 1035] the longest DNS label; the socket layer's IDNA codec refuses longer ones.
_MAX_LABEL = 63
# [WHATWG URL] forbidden domain code points (the controls are refused before).
_FORBIDDEN_IN_HOST = re.compile(r"[ #%/:<>?@\[\\\]^|]")
# [WHATWG URL] "ends in a number": such a host is an IPv4 address or nothing.
_NUMBER = re.compile(r"[0-9]+|0[xX][0-9A-Fa-f]*")
# A URL that starts as host[:port] and then ends or goes on with a path, query
# or fragment: "localhost:8000/stream", "127.0.0.1:8000", "[::1]/x".
_HOST_AND_PORT = re.compile(
    r"(?P<host>[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::(?P<port>[0-9]+))?(?:[/?#]|$)"
)


def check_url(url: str, what: str = "URL", schemes: Iterable[str] = ("http", "https")) -> str:
    """``url`` without surrounding spaces, once it is sure to be sendable.

    The checks are those of the WHATWG URL parser that the transports also
    make (a browser's ``new EventSource(url)`` throws for the same URLs), made
    once here instead of failing every connection attempt.

    Args:
        url: An absolute URL.
        what: How the message names the URL (``"proxy URL"``, ...).
        schemes: The schemes allowed, lower case.

    Raises:
        TypeError: ``url`` is not a ``str``.
        ValueError: the message names the problem: no scheme or one not in
            ``schemes``, no host, a character not allowed in a host, a host
            the transports' IDNA encoding refuses, an invalid port or IPv4
            address, a user name or password aiohttp cannot send (a backslash,
            or not Latin-1), a control character or a lone surrogate, or more
            than :data:`MAX_URL_LENGTH` characters.
    """
    if not isinstance(url, str):
        raise TypeError(f"{what} must be a str, got {type(url).__name__}")
    url = url.strip(_C0_CONTROL_OR_SPACE)  # [WHATWG URL] as the parser does
    if not url:
        raise ValueError(f"{what} is empty")
    control = _URL_CONTROL.search(url)
    if control is not None:
        # NON-SPEC: the URL parser drops tabs and newlines inside a URL; a
        # control character there is far more likely a mistake than meant.
        _fail(what, f"holds the control character {control.group()!r}", url)
    surrogate = SURROGATE.search(url)
    if surrogate is not None:
        _fail(what, f"holds the lone surrogate {surrogate.group()!r}", url)
    if len(url) > MAX_URL_LENGTH:
        _fail(what, f"is longer than {MAX_URL_LENGTH:,} characters", url)
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # an unclosed or invalid [IPv6] host
        _fail(what, f"is not valid ({exc})", url)
    allowed = tuple(schemes)
    names = " or ".join([", ".join(allowed[:-1]), allowed[-1]])
    if not parts.scheme:
        _fail(what, f"is not absolute (no {names} scheme)", url, _scheme_hint(url, allowed))
    if parts.scheme not in allowed:
        wrong = f"has the scheme {parts.scheme!r}, not {names}"
        _fail(what, wrong, url, _scheme_hint(url, allowed))
    userinfo, at, authority = parts.netloc.rpartition("@")
    if at:
        problem = _userinfo_problem(userinfo)
        if problem is not None:
            _fail(what, problem, url)
    if authority.startswith("["):
        host, _, port = authority[1:].partition("]")
        port = port[1:]  # after the colon
        problem = _ipv6_problem(host)
    else:
        host, _, port = authority.partition(":")
        problem = _host_problem(host)
    if problem is not None:
        _fail(what, problem, url)
    if port and not (port.isascii() and port.isdigit() and int(port) <= 65535):
        _fail(what, f"has an invalid port {port!r}", url)
    return url


def _host_problem(host: str) -> str | None:
    if not host:
        return "has no host"
    forbidden = _FORBIDDEN_IN_HOST.search(host)
    if forbidden is not None:
        return f"has {forbidden.group()!r} in its host"
    last = host[:-1] if host.endswith(".") else host
    if _NUMBER.fullmatch(last.rpartition(".")[2]):
        # NON-SPEC: the URL parser also reads short ("127.1"), octal and hex
        # forms; aiohttp refuses them, so only the dotted-decimal form passes.
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return "has a host that is not a valid IPv4 address (a.b.c.d, in decimal)"
    return _idna_problem(host)


def _userinfo_problem(userinfo: str) -> str | None:
    # aiohttp refuses these on every attempt, where httpx sends them.
    if "\\" in userinfo:
        return "has '\\\\' in its user name or password"
    try:
        # Sent as Basic credentials, in Latin-1; yarl decodes what is valid UTF-8.
        unquote(userinfo, errors="ignore").encode("latin-1")
    except UnicodeEncodeError:
        return "has a user name or password that Latin-1 cannot encode"
    return None


def _idna_problem(host: str) -> str | None:
    """Why the transports' IDNA encoding refuses ``host``, or ``None``.

    The stricter of the two, each refusal of which would come back on every
    attempt as a network error. A non-ASCII host: httpx encodes it with IDNA
    2008 (after lower-casing), and yarl also refuses zero-width joiners. An
    ASCII host is sent as it is, but the socket layer's IDNA codec refuses an
    empty label or one over 63 characters, and httpx decodes a host that
    starts with an A-label (``xn--``), refusing one that is not valid; here a
    host with an A-label anywhere must decode.
    """
    if host.isascii():
        labels = host.split(".")
        if not all(labels[:-1]):  # the last may be empty: a trailing dot
            return "has an empty label in its host"
        if any(len(label) > _MAX_LABEL for label in labels):
            return f"has a label longer than {_MAX_LABEL} characters in its host"
        if not any(label.lower().startswith("xn--") for label in labels):
            return None
    else:
        joiner = _JOINER.search(host)
        if joiner is not None:
            return f"has the zero-width (non-)joiner {joiner.group()!r} in its host"
    try:
        if host.isascii():
            idna.decode(host)
        else:
            idna.encode(host.lower())
    except UnicodeError as exc:  # idna.IDNAError is one
        return f"has a host that is not a valid IDNA name ({exc})"
    return None


def _ipv6_problem(host: str) -> str | None:
    try:
        ipaddress.IPv6Address(host)
    except ValueError:
        return "has a host that is not a valid IPv6 address"
    return None


def _scheme_hint(url: str, allowed: tuple[str, ...]) -> str:
    """``"; did you mean 'http://...'?"`` for a URL written as ``host[:port]/path``, or ``""``.

    ``localhost:8000/stream`` parses as the scheme ``localhost``: the command
    line assumes ``http://`` there, the library does not guess, but says.
    """
    if "http" not in allowed or "://" in url:
        return ""
    authority = _HOST_AND_PORT.match(url)
    if authority is None:
        return ""
    host, port = authority["host"], authority["port"]
    if port is None and "." not in host and host.lower() != "localhost" and ":" not in host:
        return ""  # one word ("stream") is as likely a relative path
    guess = f"http://{url}"
    try:
        check_url(guess, schemes=allowed)
    except ValueError:
        return ""  # a guess that fails too would only mislead
    return f"; did you mean {_shown_url(guess)}?"


def _fail(what: str, problem: str, url: str, hint: str = "") -> NoReturn:
    raise ValueError(f"{what} {problem}: {_shown_url(url)}{hint}")


def _shown_url(url: str) -> str:
    # The URL as given, but without a query, a fragment or a password: an error
    # message ends up in logs, and those parts may hold credentials.
    url = re.split(r"[?#]", url, maxsplit=1)[0]
    scheme, sep, rest = url.partition("://")
    if sep:
        authority, slash, path = rest.partition("/")
        userinfo, at, host = authority.rpartition("@")
        if at:
            authority = f"{userinfo.partition(':')[0]}@{host}"
        url = f"{scheme}{sep}{authority}{slash}{path}"
    return shown(url)


def build_url(url: str, params: Mapping[str, Any] | Iterable[tuple[str, Any]] | None) -> str:
    """Append ``params`` to the query of ``url``, once :func:`check_url` accepts it.

    Values as httpx encodes them: a list or tuple repeats the name, ``True`` is
    ``true``, ``False`` ``false``, ``None`` empty, a number its ``str()``.

    Raises:
        TypeError: ``params`` is a ``str`` or ``bytes``, or holds a value of
            another type (a ``dict``, say).
    """
    url = check_url(url)
    if not params:
        return url
    if isinstance(params, (str, bytes)):
        raise TypeError("params must be a mapping or (name, value) pairs, not a query string")
    pairs = [
        (str(name), _query_value(one))
        for name, value in (params.items() if isinstance(params, Mapping) else params)
        for one in (value if isinstance(value, (list, tuple)) else (value,))
    ]
    parts = urlsplit(url)
    extra = urlencode(pairs)
    query = f"{parts.query}&{extra}" if parts.query else extra
    return check_url(urlunsplit(parts._replace(query=query)))  # too long, now?


def _query_value(value: object) -> str:
    if value is None or isinstance(value, bool):
        return {None: "", True: "true", False: "false"}[value]
    if isinstance(value, (str, int, float)):
        return str(value)
    raise TypeError(f"params: a value must be str, int, float, bool or None, got {value!r}")
