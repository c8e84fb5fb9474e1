"""What one connection attempt sends: its request, then each redirect hop (sans-IO).

Fetch's part of the processing model: the request headers an EventSource
adds, credentials that never follow a redirect to another origin, and which
redirects are followed. No I/O and no async library.
"""

from __future__ import annotations

import json as _json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from ._errors import EventSourceError, RedirectError
from ._sendable import check_headers, check_method, redact_url
from ._sendable_url import check_url
from ._transport._base import Request

__all__ = [
    "CREDENTIAL_HEADERS",
    "REDIRECT_STATUSES",
    "ConnectAttempt",
    "Hops",
    "encode_body",
    "header",
    "origin_of",
    "redact_url",
]

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
#: Headers that never follow a redirect to another origin, whatever the user says:
#: fetch's credentials, and the API-key headers of well-known services (a key
#: pasted from an API's documentation should not reach a host the user never named).
CREDENTIAL_HEADERS = frozenset(
    {
        "authorization",
        "cookie",
        "proxy-authorization",
        "api-key",
        "x-api-key",
        "x-auth-token",
        "x-goog-api-key",
    }
)


@dataclass(slots=True, repr=False)
class ConnectAttempt:
    """The request about to be made, handed to ``prepare_request`` to change.

    Change ``headers`` (refresh a token), ``url`` (query included), ``method`` or
    ``body`` in place, or return a new value. ``Last-Event-ID`` is added after the
    hook, from :attr:`last_event_id`. A URL, method, header or body the
    transports could not send raises ``ValueError`` (``TypeError`` for a value
    of the wrong type) before the request is made, instead of failing every
    attempt.

    Attributes:
        method: The HTTP method.
        url: The absolute URL to request.
        headers: The request headers (a fresh copy for each attempt).
        body: The request body, or ``None``.
        number: 0 for the first connection, then 1, 2, ... for each reconnection.
        failures: Failed attempts in a row before this one.
        last_event_id: The last event ID string (empty: none). It is sent as
            ``Last-Event-ID`` without leading and trailing whitespace, and left
            out (with a warning) when it holds a control character.
        last_error: What ended the previous attempt: a :class:`~eventsource.ConnectError`
            (its request was not sent), another ``TransportError``, a ``ResponseError``
            the status policy retried, or ``None`` (no previous attempt, the server
            ended the stream, or it was abandoned by a cancellation or ``restart()``).
    """

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    number: int = 0
    failures: int = 0
    last_event_id: str = ""
    last_error: EventSourceError | None = None

    def set_query(self, **params: str | None) -> None:
        """Set (or, with ``None``, remove) query parameters of :attr:`url`."""
        parts = urlsplit(self.url)
        pairs = [
            (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params
        ]
        pairs += [(k, v) for k, v in params.items() if v is not None]
        self.url = urlunsplit(parts._replace(query=urlencode(pairs)))

    def __repr__(self) -> str:
        # Hooks get logged: header values, the query and the body may hold credentials.
        body = None if self.body is None else f"<{len(self.body)} bytes>"
        return (
            f"ConnectAttempt(method={self.method!r}, url={redact_url(self.url)!r}, "
            f"headers={sorted(self.headers)!r}, body={body}, number={self.number}, "
            f"failures={self.failures}, last_event_id={self.last_event_id!r}, "
            f"last_error={type(self.last_error).__name__ if self.last_error else None})"
        )


def origin_of(url: str) -> str:
    """The serialised origin (``scheme://host[:port]``) of an absolute URL."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}".lower()


def encode_body(body: str | bytes | None, json: Any) -> tuple[bytes | None, str | None]:
    """The request body and its default content type, from ``body=`` or ``json=``."""
    if body is not None and json is not None:
        raise TypeError("pass body= or json=, not both")
    if json is not None:
        return _json.dumps(json, separators=(",", ":")).encode(), "application/json"
    content_type = "text/plain; charset=utf-8" if isinstance(body, str) else None
    return _content(body, "body"), content_type


def _content(body: object, what: str) -> bytes | None:
    """A request body as bytes (a ``str`` in UTF-8), the same for both transports.

    Raises:
        TypeError: ``body`` is neither bytes-like, a ``str`` nor ``None``.
        ValueError: a ``str`` that UTF-8 cannot encode (a lone surrogate).
    """
    if body is None or isinstance(body, bytes):
        return body
    if isinstance(body, (bytearray, memoryview)):
        return bytes(body)  # httpx takes neither for a body
    if isinstance(body, str):
        try:
            return body.encode()
        except UnicodeEncodeError as exc:
            raise ValueError(
                f"{what} cannot be encoded as UTF-8: {exc.reason} (at position {exc.start})"
            ) from None
    raise TypeError(f"{what} must be bytes, str or None, not {type(body).__name__}")


class Hops:
    """The requests of one connection attempt: the first, then each redirect hop.

    ``begin()`` starts an attempt (from the original options, or what a hook
    changed); ``request()`` gives the request to send now; ``redirect()``
    judges a redirect and moves to its target.
    """

    __slots__ = (
        "_attempt_url",
        "_cross_origin",
        "_headers",
        "_hops",
        "_url",
        "allow_insecure_redirects",
        "connect_timeout",
        "content",
        "max_redirects",
        "method",
        "read_timeout",
        "secret_headers",
    )

    def __init__(
        self,
        *,
        secret_headers: Iterable[str] = (),
        max_redirects: int = 20,
        allow_insecure_redirects: bool = False,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
    ) -> None:
        named = {h.lower() for h in secret_headers}
        # None named: the shared set itself, not a copy per stream (fan-out memory).
        self.secret_headers = CREDENTIAL_HEADERS | named if named else CREDENTIAL_HEADERS
        self.max_redirects = max_redirects
        self.allow_insecure_redirects = allow_insecure_redirects
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.begin("", "GET", {}, None)

    def begin(
        self, url: str, method: str, headers: Mapping[str, str], content: bytes | None
    ) -> None:
        """Start an attempt at ``url`` (checked by the caller)."""
        self._attempt_url = self._url = url
        self.method = method
        self.content = content
        self._headers = dict(headers)
        self._cross_origin = False
        self._hops: list[str] = []

    @property
    def redirected(self) -> bool:
        """Whether the attempt followed a redirect: its request went out to the URL before."""
        return bool(self._hops)

    def request(self, last_event_id: str) -> Request:
        """The request to send now, with ``Last-Event-ID`` when ``last_event_id`` is not empty."""
        headers = {
            name: value
            for name, value in self._headers.items()
            if not (self._cross_origin and name.lower() in self.secret_headers)
        }
        lowered = {name.lower() for name in headers}
        if "accept" not in lowered:
            headers["Accept"] = "text/event-stream"
        if "cache-control" not in lowered:
            # [spec] the request's cache mode is "no-store"; browsers send this header for it
            headers["Cache-Control"] = "no-cache"
        for name in [n for n in headers if n.lower() == "last-event-id"]:
            del headers[name]
        if last_event_id:  # [spec] only when the last event ID string is not empty
            headers["Last-Event-ID"] = last_event_id
        if self.content is None:
            headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        return Request(
            method=self.method,
            url=self._url,
            headers=headers,
            content=self.content,
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            cross_origin=self._cross_origin,
            secret_headers=self.secret_headers,
        )

    def redirect(self, status: int, headers: Mapping[str, str], url: str) -> str | RedirectError:
        """Follow a redirect response: its target, or the error that refuses it."""
        location = header(headers, "location")
        error: str | None = None
        target, problem = _join(url, location) if location else ("", None)
        if not location:
            error = f"redirect {status} without a Location header"
        elif problem is not None:
            error = f"redirect to an invalid URL ({problem})"
        elif urlsplit(target).scheme not in ("http", "https"):
            error = "redirect to a URL that is not http or https"
        elif (
            urlsplit(url).scheme == "https"
            and urlsplit(target).scheme == "http"
            and not self.allow_insecure_redirects
        ):
            error = "redirect from https to http refused (allow_insecure_redirects=False)"
        elif len(self._hops) >= self.max_redirects:
            # Fetch's only bound. A hop back to a URL of the chain is no error before
            # it: a gateway may set a cookie and send the client to the same URL.
            looped = target in self._hops or target == self._attempt_url
            error = f"more than {self.max_redirects} redirects" + (" (a loop)" if looped else "")
        if error is not None:
            return RedirectError(error, status=status, headers=headers, url=url)
        self._hops.append(target)
        if origin_of(target) != origin_of(self._attempt_url):
            self._cross_origin = True  # once credentials are dropped they stay dropped
        if status == 303 or (status in (301, 302) and self.method == "POST"):
            # fetch turns these into a GET without a body
            self.method, self.content = "GET", None
        self._url = target
        return target


def checked_attempt(attempt: ConnectAttempt) -> tuple[str, str, dict[str, str], bytes | None]:
    """The URL, method, headers and body of a hook's attempt, as the transports can send them.

    Raises:
        ValueError: something no request could carry (named in the message).
        TypeError: a header name or value that is not a ``str``, or a body that is
            not bytes-like, a ``str`` or ``None``.
    """
    url = check_url(attempt.url, what="URL from prepare_request")
    method = check_method(attempt.method, what="prepare_request")
    headers = check_headers(attempt.headers, what="prepare_request")
    body = _content(attempt.body, "prepare_request: the body")
    return url, method, headers, body


def _join(base: str, location: str) -> tuple[str, str | None]:
    """The absolute redirect target, and why no request could be sent to it (or ``None``)."""
    try:
        parts = urlsplit(location)
        authority = location[len(parts.scheme) + 1 :].startswith("//")
        if parts.scheme in ("http", "https") and authority and not parts.netloc:
            raise ValueError("no host")  # "http://": urljoin would keep the base's host
        target = urljoin(base, location)
        if urlsplit(target).scheme in ("http", "https"):
            target = check_url(target, what="the target")
    except ValueError as exc:
        return "", str(exc)
    return target, None


def header(headers: Mapping[str, str], name: str) -> str:
    """A header's value (``name`` in lower case), found case-insensitively; ``""`` if absent."""
    value = headers.get(name)
    if value is None:
        for key, candidate in headers.items():
            if key.lower() == name:
                return candidate
        return ""
    return value
