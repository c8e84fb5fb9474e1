"""httpx as both httpx transports drive it: requests, redirects handed back, headers, errors, TLS.

The async transport (``_httpx``, an ``httpx.AsyncClient``) and the blocking
one (``_httpx_sync``, an ``httpx.Client``) build each request the same way,
hand a redirect back before httpx parses its Location, read headers as
aiohttp gives them, word a failed connection alike and share one verifying
TLS context per process. Imported by those two modules (and by ``aiter_events``
for an httpx response: the read timeout it reports).
"""

from __future__ import annotations

import functools
import os
import ssl
from typing import Any
from urllib.parse import urlsplit

import httpx
from multidict import CIMultiDict, CIMultiDictProxy

from .._sendable import redact_url
from ._base import Request
from ._httpx_body import BodyBytes
from ._reasons import described

__all__ = [
    "RedirectHandedBack",
    "ResponseFields",
    "build_request",
    "hand_back_redirect",
    "header_pairs",
    "read_timeout_of",
]

# What httpx raises for a failed connection, request or body read. ``StreamError``
# is a ``RuntimeError`` (stream closed or consumed), ``InvalidURL`` a plain
# ``Exception``; both still mean "this request could not be carried out".
_FAILURES = (httpx.RequestError, httpx.StreamError, httpx.InvalidURL)
# Failures before the request was written: a caller may send it again safely.
_CONNECT_FAILURES = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Marks our requests (an extension httpcore ignores) for hand_back_redirect.
_OURS = "eventsource.ours"


class ResponseFields:
    """``status``, ``headers`` and ``url`` of an httpx response, for both transports' responses."""

    __slots__ = ()
    _response: httpx.Response
    _headers: CIMultiDictProxy[str]  # header_pairs of the response's headers

    @property
    def status(self) -> int:
        """The HTTP status code."""
        return self._response.status_code

    @property
    def headers(self) -> CIMultiDictProxy[str]:
        """The response headers: case-insensitive, each value of a repeated header kept."""
        return self._headers

    @property
    def url(self) -> str:
        """The URL that produced this response."""
        return str(self._response.url)


class RedirectHandedBack(Exception):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__("redirect handed back")
        self.response = response


def hand_back_redirect(response: httpx.Response) -> None:
    """A response hook: return a redirect of ours as it is, before httpx parses its Location.

    Even with ``follow_redirects=False``, httpx builds the next request from the
    Location (as ``response.next_request``), and a Location it cannot parse
    raises (``IDNAError``; ``RemoteProtocolError``, a retried network error)
    instead of reaching ``_connection``, which judges redirects (a
    ``RedirectError``). Raising here is the only way out before that; httpx
    closes the response on the way, and a redirect's body is never read.
    """
    if response.request.extensions.get(_OURS) and response.has_redirect_location:
        raise RedirectHandedBack(response)


def refused_by_a_hook(exc: httpx.HTTPStatusError) -> httpx.Response:
    """The response of ours a hook of the client raised ``exc`` for, for ``_connection`` to judge.

    A client whose response hook calls ``raise_for_status()`` (httpx's own
    example of a hook) raised at every redirect and error status: a 307 was
    never followed, a 503 never retried, a 401 came out as httpx's exception
    rather than a ``StatusError``. httpx has closed the response on the way,
    so its body is lost; the status and headers are what matter. Another
    request's error, or one raised elsewhere, is raised again.
    """
    response = exc.response
    if not response.request.extensions.get(_OURS):
        raise exc
    return response


def read_timeout_of(response: httpx.Response) -> float | None:
    """The read timeout (seconds) httpx applies to ``response``'s body, if one is set."""
    timeouts = response.request.extensions.get("timeout")
    seconds = timeouts.get("read") if isinstance(timeouts, dict) else None
    return seconds if isinstance(seconds, (int, float)) else None


def header_pairs(headers: httpx.Headers) -> CIMultiDictProxy[str]:
    """Headers of httpx as aiohttp gives them: each value of a repeated header, names as sent.

    (httpx's ``items()`` joins repeated values, and ``multi_items()`` lower-cases names.)
    """
    encoding = headers.encoding
    pairs = [(name.decode(encoding), value.decode(encoding)) for name, value in headers.raw]
    return CIMultiDictProxy(CIMultiDict(pairs))


def _connect_failure(url: str, exc: BaseException, proxy: str | None = None) -> str:
    """``could not connect to URL: connection refused`` (no query, no userinfo).

    With ``proxy`` (the transport's), ``could not connect to the proxy
    HOST:PORT for URL``: through a proxy, the client connects to it alone.
    httpx's own text is left out: that of a refused header names its value.
    """
    reason = None
    if isinstance(exc, httpx.ConnectTimeout):
        reason = "timed out"  # as aiohttp's says
    elif isinstance(exc, httpx.PoolTimeout):
        reason = "no pooled connection was free in time"
    where = f"could not connect to {redact_url(url)}"
    if proxy is not None:
        address = urlsplit(proxy).netloc.rpartition("@")[2]  # its login left out
        where = f"could not connect to the proxy {address} for {redact_url(url)}"
    return described(where, exc, reason)


@functools.lru_cache(maxsize=8)
def _verifying_context(
    trust_env: bool, http2: bool, cert_file: str | None, cert_dir: str | None
) -> ssl.SSLContext:
    """The context httpx would build for ``verify=True``, built once per process.

    httpx builds one per client: about 1 MB and 15 ms each (it loads the CA
    bundle), which thousands of EventSources each with its own client would pay
    again and again; aiohttp shares its default context the same way. The key
    holds what the context depends on: the environment httpx reads when
    ``trust_env`` is on, and HTTP/2 (httpcore sets the ALPN protocols on it).
    """
    del http2, cert_file, cert_dir  # only part of the cache key
    return httpx.create_ssl_context(verify=True, trust_env=trust_env)


def _client_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    # A client that verifies with httpx's defaults gets the shared context.
    if kwargs.get("verify", True) is not True or kwargs.get("cert") is not None:
        return kwargs
    trust_env = bool(kwargs.get("trust_env", True))
    environ = os.environ if trust_env else {}
    context = _verifying_context(
        trust_env,
        bool(kwargs.get("http2")),
        environ.get("SSL_CERT_FILE"),
        environ.get("SSL_CERT_DIR"),
    )
    return {**kwargs, "verify": context}


def build_request(
    client: httpx.AsyncClient | httpx.Client,
    request: Request,
    extensions: dict[str, Any] | None = None,
) -> httpx.Request:
    """The httpx request for ``request`` on ``client`` (either kind), marked as ours.

    Without the client's credentials on a hop to another origin (the caller
    also sends it with ``auth=None`` then).
    """
    # A None duration means no limit. Acquiring a pooled connection is part
    # of connecting; a stalled write is judged like a stalled read.
    timeout = httpx.Timeout(
        connect=request.connect_timeout,
        read=request.read_timeout,
        write=request.read_timeout,
        pool=request.connect_timeout,
    )
    http_request = client.build_request(
        request.method,
        request.url,
        # httpx encodes str values as ASCII; [spec] Last-Event-ID is UTF-8.
        headers=[(name.encode(), value.encode()) for name, value in request.headers.items()],
        content=request.content,
        timeout=timeout,
        extensions={**(extensions or {}), _OURS: True},
    )
    http_request.stream = BodyBytes(http_request.content)  # see _httpx_body
    if request.cross_origin:
        _withhold_credentials(client, http_request, request.secret_headers)
    return http_request


def _withhold_credentials(
    client: httpx.AsyncClient | httpx.Client,
    request: httpx.Request,
    secret_headers: frozenset[str],
) -> None:
    """Take the client's secret default headers off a request to another origin.

    ``build_request`` merged them in, and left out the cookie jar when a
    ``Cookie`` header was set by hand: the jar then adds what its own rules allow.
    """
    for name in secret_headers:
        request.headers.pop(name, None)
    client.cookies.set_cookie_header(request)
