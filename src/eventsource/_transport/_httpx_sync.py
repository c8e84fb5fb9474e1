"""The blocking httpx transport (the ``httpx`` extra), for ``eventsource.sync``.

An ``httpx.Client`` in place of the ``httpx.AsyncClient`` of ``_httpx``, whose
request building, redirect hand-back, credential rules, TLS context and
error texts it shares (``_httpx_common``). Besides, it reports each socket it reads to an
:class:`~._sync_base.Interrupter`, so ``close()`` from another thread wakes a
blocked read. Touches no event loop.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import httpx

from .._errors import ConnectError, ReadTimeout, TransportError
from .._sendable import check_bool
from .._sendable_url import check_url
from ._base import Request
from ._httpx_common import (
    _CONNECT_FAILURES,
    _FAILURES,
    RedirectHandedBack,
    ResponseFields,
    _client_kwargs,
    _connect_failure,
    build_request,
    hand_back_redirect,
    header_pairs,
    read_timeout_of,
    refused_by_a_hook,
)
from ._reasons import described, timed_out
from ._sync_base import Interrupter
from ._tls import Cert, Verify, ssl_context

__all__ = ["HttpxTransport", "SyncHttpxResponse"]


class _SyncChunks(Iterator[bytes]):
    """httpx's body iterator with its exceptions translated."""

    def __init__(self, chunks: Iterator[bytes], read_timeout: float | None) -> None:
        self._chunks = chunks
        self._read_timeout = read_timeout  # seconds, for the error's text

    def __next__(self) -> bytes:
        try:
            return next(self._chunks)
        except httpx.ReadTimeout as exc:
            raise ReadTimeout(timed_out("no data received", self._read_timeout)) from exc
        except _FAILURES as exc:
            raise TransportError(described("reading the stream failed", exc)) from exc


class SyncHttpxResponse(ResponseFields):
    """A streamed ``httpx.Response`` of a blocking client, read with ``iter_bytes()``."""

    def __init__(
        self,
        response: httpx.Response,
        interrupter: Interrupter | None = None,
        *,
        shared_pool: bool = False,
    ) -> None:
        self._response = response
        self._headers = header_pairs(response.headers)
        # Your client's pool may hand this connection to a request of yours once
        # released; our own client's only to our next attempt, which close() wakes.
        self._forget = interrupter.forget if interrupter is not None and shared_pool else None
        if interrupter is not None:  # a pooled connection made no connect_tcp trace
            stream = response.extensions.get("network_stream")
            if stream is not None:
                interrupter.watch(stream.get_extra_info("socket"))

    def iter_bytes(self, read_timeout: float | None = None) -> Iterator[bytes]:
        """Body chunks as they arrive (decoded from any ``Content-Encoding``).

        ``read_timeout`` replaces the request's for this body (an error excerpt
        or a drain must not wait long); ``None`` keeps the request's.

        Raises:
            ReadTimeout: no byte arrived within the read timeout.
            TransportError: the connection failed or broke while reading.
        """
        if read_timeout is not None:
            # httpcore reads the body's timeout from this dict (the very one the
            # request carries) when the body's first chunk is asked for.
            timeouts = self._response.request.extensions.get("timeout")
            if isinstance(timeouts, dict):
                timeouts["read"] = read_timeout
        return _SyncChunks(self._response.iter_bytes(), read_timeout_of(self._response))

    def close(self) -> None:
        """Close the response and release its connection; safe to call twice."""
        if self._forget is not None:
            self._forget()  # read to its end, it may be back in your client's pool
        with contextlib.suppress(Exception):  # a connection shut by close() may complain
            self._response.close()


class HttpxTransport:
    """Opens the blocking client's requests on an ``httpx.Client``.

    The blocking counterpart of :class:`eventsource.transports.HttpxTransport`,
    with the same arguments: a client passed in is used as-is and never closed;
    otherwise one is made on first use and closed with the EventSource.
    Redirects are never followed by httpx (the processing model follows them),
    and a hop to another origin goes without the client's ``auth`` and secret
    default headers.

    Args:
        client: An ``httpx.Client`` to send requests with (never closed by us).
        proxy: A proxy URL for every request (``http://user:pass@host:port``).
        verify: ``True`` (the system's CAs), ``False`` (no verification), a CA
            bundle file, or an ``ssl.SSLContext`` used as is.
        cert: A client certificate: a PEM file with its key, or ``(certfile, keyfile)``.
        http2: Use HTTP/2 where the server offers it (needs the ``h2`` package).
        trust_env: Read proxies and CA bundles from the environment (httpx's default: yes).
        **client_kwargs: More arguments for the ``httpx.Client`` we make.

    Raises:
        TypeError: any other argument together with ``client``, or a ``client``
            that is not an ``httpx.Client``.
        TypeError: ``http2`` or ``trust_env`` that is not a ``bool``; ``verify`` or
            ``cert`` of another type than listed.
        FileNotFoundError: a ``verify`` or ``cert`` file that is not there (named).
    """

    # No dict: an option set afterwards is refused, not kept unread (the client is made).
    __slots__ = ("__weakref__", "_client", "_client_kwargs", "_owns_client", "_verify")

    def __init__(
        self,
        client: httpx.Client | None = None,
        *,
        proxy: str | None = None,
        verify: Verify = True,
        cert: Cert | None = None,
        http2: bool = False,
        trust_env: bool = True,
        **client_kwargs: Any,
    ) -> None:
        # A flag given as "no" was truthy: HTTP/2 asked for, the environment read.
        check_bool(http2, "http2")
        check_bool(trust_env, "trust_env")
        if client is not None:
            if not isinstance(client, httpx.Client):
                raise TypeError(
                    f"the blocking EventSource needs an httpx.Client, not {type(client).__name__}"
                )
            if (
                proxy is not None
                or verify is not True
                or cert is not None
                or http2
                or not trust_env
                or client_kwargs
            ):
                raise TypeError(
                    "proxy/verify/cert/http2/trust_env configure a client that we make: "
                    "set them on the httpx.Client you pass instead"
                )
        self._client = client
        self._owns_client = client is None
        kwargs: dict[str, Any] = {"verify": ssl_context(verify, cert), "http2": http2}
        if proxy is not None:
            kwargs["proxy"] = check_url(
                proxy, what="proxy URL", schemes=("http", "https", "socks5", "socks5h")
            )
        kwargs["trust_env"] = trust_env
        self._client_kwargs = {**kwargs, **client_kwargs}
        self._verify = verify  # see verify

    @property
    def verify(self) -> Verify:
        """The ``verify`` the constructor was given (read-only: the TLS context is made)."""
        return self._verify

    def open(self, request: Request, interrupter: Interrupter) -> SyncHttpxResponse:
        """Send the request without following redirects; return once headers arrive.

        Each socket the request connects is reported to ``interrupter``.

        Raises:
            ReadTimeout: the response headers did not arrive within ``read_timeout``.
            ConnectError: no connection could be made, so the request was not sent.
            TransportError: the response headers did not arrive within
                ``connect_timeout`` (when it is the shorter); the request may have run.
            TransportError: the request could not be sent or answered.
        """
        client = self._client
        if client is None:
            client = self._client = httpx.Client(**_client_kwargs(self._client_kwargs))
        hooks = client.event_hooks["response"]
        if hand_back_redirect not in hooks:  # again if the user replaced the hooks
            hooks.append(hand_back_redirect)

        def trace(name: str, info: dict[str, Any]) -> None:
            # connect_tcp, then start_tls (and the proxy's) hand over the stream read next.
            if name.endswith(".complete"):
                get_extra_info = getattr(info.get("return_value"), "get_extra_info", None)
                if get_extra_info is not None:
                    interrupter.watch(get_extra_info("socket"))

        http_request = build_request(client, request, {"trace": trace})
        # connect_timeout bounds the wait for the response headers too, after
        # connecting (as in the async client): the headers' reads get the shorter
        # of the two timeouts, the body's the read timeout. httpcore reads this
        # dict, the request's own, at the headers and again when the body starts.
        timeouts = http_request.extensions["timeout"]
        header_wait = _shorter(request.connect_timeout, request.read_timeout)
        timeouts["read"] = header_wait
        try:
            response = client.send(
                http_request,
                stream=True,
                follow_redirects=False,
                auth=None if request.cross_origin else httpx.USE_CLIENT_DEFAULT,
            )
        except RedirectHandedBack as handed_back:
            return SyncHttpxResponse(handed_back.response)
        except httpx.HTTPStatusError as exc:
            return SyncHttpxResponse(refused_by_a_hook(exc))
        except httpx.ReadTimeout as exc:
            if header_wait != request.read_timeout:
                waited = f"no response within connect_timeout ({header_wait:g} s)"
                raise TransportError(waited) from exc
            text = timed_out("no response received", request.read_timeout)
            raise ReadTimeout(text) from exc
        except _CONNECT_FAILURES as exc:
            proxy = self._client_kwargs.get("proxy") if self._owns_client else None
            raise ConnectError(_connect_failure(request.url, exc, proxy)) from exc
        except _FAILURES as exc:
            raise TransportError(described("request failed", exc)) from exc
        finally:
            timeouts["read"] = request.read_timeout
        if response.http_version != "HTTP/1.1" and not self._owns_client:
            # Your client's HTTP/2 connection carries other streams: close() must not
            # shut it down; it then ends a blocked read at the next byte or timeout.
            interrupter.forget()
            return SyncHttpxResponse(response)
        return SyncHttpxResponse(response, interrupter, shared_pool=not self._owns_client)

    def close(self) -> None:
        """Close the client if we made it; a client the user passed stays open."""
        if not self._owns_client:
            return
        client, self._client = self._client, None
        if client is not None:
            client.close()


def _shorter(first: float | None, second: float | None) -> float | None:
    """The shorter of two timeouts in seconds, where ``None`` is no limit."""
    if first is None:
        return second
    return first if second is None else min(first, second)
