"""The httpx transport (the ``httpx`` extra): runs on asyncio and on trio.

Knows HTTP only; turns httpx's exceptions into the library's once, here. Nothing
else in the package imports this module at import time: whoever selects this
transport imports it then, and a missing httpx gives an ``ImportError`` that
names the extra to install.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import anyio.to_thread

try:
    import httpx
except ImportError as exc:
    raise ImportError(
        "the httpx transport needs the 'httpx' extra: pip install 'eventsource-client[httpx]'",
        name="httpx",
    ) from exc

from .._errors import ConnectError, ReadTimeout, TransportError
from .._sendable import check_bool
from .._sendable_url import check_url
from ._base import Request
from ._httpx_common import (
    _CONNECT_FAILURES,
    _FAILURES,
    RedirectHandedBack,
    _client_kwargs,
    _connect_failure,
    build_request,
    hand_back_redirect,
    refused_by_a_hook,
)
from ._httpx_response import HttpxChunks, HttpxResponse
from ._reasons import described, timed_out
from ._tls import Cert, Verify, ssl_context

__all__ = ["HttpxChunks", "HttpxResponse", "HttpxTransport"]


async def _hand_back_redirects(response: httpx.Response) -> None:
    """:func:`hand_back_redirect` as the hook of an ``httpx.AsyncClient``."""
    hand_back_redirect(response)


def _tracer(on_sent: Callable[[], object]) -> Callable[[str, object], Awaitable[None]]:
    """A trace callback for httpcore: ``on_sent()`` as it starts to send the headers."""

    async def trace(step: str, info: object) -> None:
        # http11.send_request_headers.started, http2.send_request_headers.started
        if step.endswith("send_request_headers.started"):
            on_sent()

    return trace


class HttpxTransport:
    """Opens requests on an ``httpx.AsyncClient``.

    A client passed in is used as-is and never closed; otherwise one is made on
    first use and closed by :meth:`aclose`. Redirects are never followed,
    whatever the client's own ``follow_redirects`` says. A hop to another
    origin goes without the client's ``auth`` and secret default headers.
    The client gets one response hook, which acts on our requests only: it
    hands a redirect back before httpx parses its Location. Runs on asyncio
    and on trio.

    Pass it as ``EventSource(url, transport=HttpxTransport(...))``. One made
    without a client serves one EventSource (which closes it); one on your
    client may serve many.

    Args:
        client: An ``httpx.AsyncClient`` to send requests with (never closed by us).
        proxy: A proxy URL for every request (``http://user:pass@host:port``).
        verify: ``True`` (the system's CAs), ``False`` (no verification), a CA
            bundle file, or an ``ssl.SSLContext`` used as is.
        cert: A client certificate: a PEM file with its key, or ``(certfile, keyfile)``.
        http2: Use HTTP/2 where the server offers it (needs the ``h2`` package).
        trust_env: Read proxies and CA bundles from the environment (httpx's default: yes).
        **client_kwargs: More arguments for the ``httpx.AsyncClient`` we make.

    Raises:
        TypeError: any other argument together with ``client``.
        TypeError: ``http2`` or ``trust_env`` that is not a ``bool``; ``verify`` or
            ``cert`` of another type than listed.
        FileNotFoundError: a ``verify`` or ``cert`` file that is not there (named).
    """

    # No dict: an option set afterwards is refused, not kept unread (the client is made).
    __slots__ = (
        "__weakref__",
        "_client",
        "_client_kwargs",
        "_owns_client",
        "_verify",
        "tells_when_sent",
    )

    def __init__(
        self,
        client: httpx.AsyncClient | None = None,
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
        if client is not None and (
            proxy is not None
            or verify is not True
            or cert is not None
            or http2
            or not trust_env
            or client_kwargs
        ):
            raise TypeError(
                "proxy/verify/cert/http2/trust_env configure a client that we make: "
                "set them on the httpx.AsyncClient you pass instead"
            )
        self._client = client
        self._owns_client = client is None
        #: Whether open() calls ``Request.on_sent``: on a client we make, whose
        #: httpcore transport reports its steps (its ``trace`` extension).
        self.tells_when_sent = client is None and not {"transport", "mounts", "app"} & set(
            client_kwargs
        )
        kwargs: dict[str, Any] = {"verify": ssl_context(verify, cert), "http2": http2}
        if proxy is not None:  # one httpx refuses would fail every connection attempt
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

    async def open(self, request: Request) -> HttpxResponse:
        """Send the request without following redirects; return once headers arrive.

        Raises:
            ReadTimeout: the response headers did not arrive within ``read_timeout``.
            ConnectError: no connection could be made, so the request was not sent.
            TransportError: the request could not be sent or answered.
        """
        client = self._client
        if client is None:
            client = await self._start_client()
        hooks = client.event_hooks["response"]
        if _hand_back_redirects not in hooks:  # again if the user replaced the hooks
            hooks.append(_hand_back_redirects)
        try:
            http_request = build_request(client, request)
            if request.on_sent is not None and self.tells_when_sent:
                http_request.extensions["trace"] = _tracer(request.on_sent)
            try:
                response = await client.send(
                    http_request,
                    stream=True,
                    follow_redirects=False,
                    # None: no authentication at all, where the default is the client's own.
                    auth=None if request.cross_origin else httpx.USE_CLIENT_DEFAULT,
                )
            finally:
                # The response keeps its request: not the driver, through on_sent.
                http_request.extensions.pop("trace", None)
        except RedirectHandedBack as handed_back:
            return HttpxResponse(handed_back.response, reusable=not self._owns_client)
        except httpx.HTTPStatusError as exc:
            return HttpxResponse(refused_by_a_hook(exc), reusable=not self._owns_client)
        except httpx.ReadTimeout as exc:
            text = timed_out("no response received", request.read_timeout)
            raise ReadTimeout(text) from exc
        except _CONNECT_FAILURES as exc:
            proxy = self._client_kwargs.get("proxy") if self._owns_client else None
            raise ConnectError(_connect_failure(request.url, exc, proxy)) from exc
        except _FAILURES as exc:
            raise TransportError(described("request failed", exc)) from exc
        return HttpxResponse(response, reusable=not self._owns_client)

    async def _start_client(self) -> httpx.AsyncClient:
        # Made in a worker thread: the first client of a process loads the CA
        # bundle and imports httpcore, about 0.1 s during which the event loop
        # would run nothing else. Shielded, so a cancel does not lose the client.
        with anyio.CancelScope(shield=True):
            client = await anyio.to_thread.run_sync(self._new_client)
        current = self._client
        if current is None:
            self._client = client
            return client
        await client.aclose()  # another task's open() made one meanwhile
        return current

    def _new_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(**_client_kwargs(self._client_kwargs))

    async def aclose(self) -> None:
        """Close the client if we made it; a client the user passed stays open."""
        if not self._owns_client:
            return
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
