"""The default transport, on aiohttp: a session of ours or one the user passed.

Knows HTTP only; turns aiohttp's exceptions into the library's once, here.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import aiohttp
from yarl import URL

from .._errors import ConnectError, ReadTimeout, TransportError
from .._sendable import check_bool, redact_url
from .._sendable_url import check_url
from ._aiohttp_response import AiohttpResponse, on_its_loop
from ._aiohttp_sessions import (
    HEADERS_SENT,
    OurSession,
    default_proxy,
    our_session,
    without_credentials,
)
from ._base import Request
from ._reasons import described, failure_reason, timed_out
from ._tls import Cert, Verify, ssl_context

__all__ = ["AiohttpResponse", "AiohttpTransport"]

#: Sessions being closed by AiohttpTransport.abort(), until they are.
_CLOSING: set[asyncio.Task[None]] = set()


# Waiting too long for the response headers is a read timeout (``sock_read``), as
# with httpx; aiohttp >= 3.10 tells it apart from a connect timeout by its class.
_READ_TIMEOUTS: tuple[type[Exception], ...] = tuple(
    getattr(aiohttp, name) for name in ("SocketTimeoutError",) if hasattr(aiohttp, name)
)
# Failures before the request was written: a caller may send it again safely.
# (Before aiohttp 3.10 a connect timeout is a plain ServerTimeoutError, taken
# as "may have been sent".)
_CONNECT_FAILURES: tuple[type[Exception], ...] = (
    aiohttp.ClientConnectorError,
    *(getattr(aiohttp, name) for name in ("ConnectionTimeoutError",) if hasattr(aiohttp, name)),
)


class AiohttpTransport:
    """Opens requests on an ``aiohttp.ClientSession``.

    A session passed in is used as-is and never closed. Otherwise the session is
    ours (with aiohttp's 5-minute total timeout turned off), taken on first use
    and let go by :meth:`aclose`: without ``**session_kwargs``, the one that
    every such transport of the event loop shares (one connection pool with no
    limit and a connection per stream; closed when its last transport lets it
    go; cookies are kept by each transport), else one of its own. A hop to
    another origin goes out on a bare session sharing its connector and cookie
    jar, without its ``auth`` and secret default headers.

    Pass it as ``EventSource(url, transport=AiohttpTransport(...))``. One made
    without a session serves one EventSource (which closes it); one on your
    session may serve many.

    An aiohttp session works in one event loop. A session we made is closed as
    its loop shuts down (``asyncio.run()`` returning), and a request in another
    loop makes a new one; your session used in a second loop raises ``RuntimeError``.

    Args:
        session: An ``aiohttp.ClientSession`` to use (never closed by us), or ``None``.
        proxy: A proxy URL for every request (``http://user:pass@host:port``).
        verify: ``True`` (the system's CAs), ``False`` (no verification), a CA
            bundle file, or an ``ssl.SSLContext`` used as is.
        cert: A client certificate: a PEM file with its key, or ``(certfile, keyfile)``.
        trust_env: Read proxies and ``.netrc`` from the environment (aiohttp's default: no).
        **session_kwargs: More arguments for the ``aiohttp.ClientSession`` we make.

    Raises:
        TypeError: ``verify``, ``cert``, ``trust_env`` or session arguments with a
            session; an argument ``aiohttp.ClientSession`` does not take (``http2``:
            use :class:`HttpxTransport`); ``trust_env`` that is not a ``bool``,
            ``verify`` or ``cert`` of another type than listed.
        FileNotFoundError: a ``verify`` or ``cert`` file that is not there (named).
    """

    # One per EventSource unless shared: no dict (bench/README.md, fan-out).
    __slots__ = (
        "__weakref__",
        "_closing",
        "_jar",
        "_loop",
        "_ours",
        "_owns_session",
        "_proxy",
        "_session",
        "_session_kwargs",
        "_shares",
        "_ssl",
        "_verify",
        "tells_when_sent",
    )

    def __init__(
        self,
        session: aiohttp.ClientSession | None = None,
        *,
        proxy: str | None = None,
        verify: Verify = True,
        cert: Cert | None = None,
        trust_env: bool = False,
        **session_kwargs: Any,
    ) -> None:
        check_bool(trust_env, "trust_env")  # "no" was truthy: the environment's proxy was used
        if session is not None and (
            verify is not True or cert is not None or trust_env or session_kwargs
        ):
            raise TypeError(
                "verify/cert/trust_env configure a session that we make: "
                "set them on the aiohttp.ClientSession you pass instead"
            )
        unknown = set(session_kwargs) - set(inspect.signature(aiohttp.ClientSession).parameters)
        if unknown:  # found now, not at the first connection
            raise TypeError(f"not an aiohttp.ClientSession argument: {', '.join(sorted(unknown))}")
        self._session = session
        self._owns_session = session is None
        self._shares = session is None and not session_kwargs  # see our_session
        #: Whether open() calls ``Request.on_sent``: on a session we make, which
        #: reports it (an aiohttp trace); a session of yours is left as it is.
        self.tells_when_sent = session is None
        traces = [*(session_kwargs.pop("trace_configs", None) or ()), HEADERS_SENT]
        self._session_kwargs = {"trust_env": trust_env, "trace_configs": traces, **session_kwargs}
        # A proxy URL the library refuses would fail every connection attempt.
        self._proxy = (
            None
            if proxy is None
            else check_url(proxy, what="proxy URL", schemes=("http", "https"))
        )
        self._ssl = ssl_context(verify, cert)
        self._verify = verify  # see verify
        self._closing: asyncio.Task[None] | None = None  # the close abort() started
        self._loop: asyncio.AbstractEventLoop | None = None  # the session's (first used in)
        self._ours: OurSession | None = None  # the session we made or share, in use
        #: This stream's cookies on the shared session, whose jar keeps none (made
        #: at the first cookie: most streams get none).
        self._jar: aiohttp.CookieJar | None = None

    @property
    def verify(self) -> Verify:
        """The ``verify`` the constructor was given (read-only: the TLS context is made)."""
        return self._verify

    async def open(self, request: Request) -> AiohttpResponse:
        """Send the request without following redirects.

        Raises:
            RuntimeError: not on asyncio (aiohttp runs nowhere else; on trio, use
                the httpx transport, the default there), or your session was used
                in another event loop.
            ValueError: aiohttp refused to build the request (say, your session's
                ``auth`` beside an ``Authorization`` header): it would never be sent.
            ConnectError, ReadTimeout, TransportError: the request failed.
        """
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError(
                "the aiohttp transport runs on asyncio only: on trio, use transport='httpx' "
                "or leave transport unset"
            ) from None
        if loop is not self._loop:
            self._moved_to(loop)
        if self._session is None or (self._owns_session and self._session.closed):
            if self._ours is not None:  # closed as its loop shut down: nothing to close
                self._ours.let_go()
            self._ours = ours = await our_session(self._session_kwargs, shared=self._shares)
            self._session = ours.session
        timeout = aiohttp.ClientTimeout(
            total=None, connect=request.connect_timeout, sock_read=request.read_timeout
        )
        base = session = self._session
        jar = self._jar
        cookies = None if jar is None else jar.filter_cookies(URL(request.url)) or None
        try:
            proxy: str | URL | None = self._proxy
            if request.cross_origin and not base.closed:
                session = without_credentials(base, request.secret_headers)
                proxy = proxy or default_proxy(base)
            response = await session.request(
                request.method,
                request.url,
                headers=dict(request.headers),
                data=request.content,
                allow_redirects=False,
                # A session's raise_for_status=True made a 401 a network failure,
                # retried: statuses are ours to judge (StatusError, status_policy).
                raise_for_status=False,
                timeout=timeout,
                proxy=proxy,
                ssl=self._ssl,
                cookies=cookies,
                # for HEADERS_SENT, on our sessions only (a user's traces get theirs)
                trace_request_ctx=request.on_sent if self._owns_session else None,
            )
        except _READ_TIMEOUTS as exc:
            text = timed_out("no response received", request.read_timeout)
            raise ReadTimeout(text) from exc
        except _CONNECT_FAILURES as exc:
            where = f"could not connect to {redact_url(request.url)}"
            if isinstance(exc, aiohttp.ClientProxyConnectionError):  # given, or the env's
                where = f"could not connect to the proxy {exc.host}:{exc.port} for " + (
                    redact_url(request.url)
                )
            raise ConnectError(described(where, exc, failure_reason(exc) or str(exc))) from exc
        except (aiohttp.ServerTimeoutError, asyncio.TimeoutError) as exc:
            raise TransportError("timed out waiting for the response") from exc
        # Not a plain ValueError: aiohttp raises one for a request it will never
        # send (your session's auth= beside an Authorization header), and
        # retrying it was a loop that could not succeed. It propagates, as
        # from the httpx transport.
        except (aiohttp.ClientError, OSError) as exc:
            # aiohttp's own text when no reason is known: it may say what a bad URL
            # lacks. A response error's message only: its text ends with the URL,
            # query included (which no error of ours shows), over several lines.
            said = exc.message if isinstance(exc, aiohttp.ClientResponseError) else exc
            detail = " ".join(str(said).split())
            text = described(
                "request failed", exc, failure_reason(exc) or f"{type(exc).__name__}: {detail}"
            )
            raise TransportError(text) from exc
        finally:
            if session is not base:
                # It owns nothing, not even the connector whose connection the
                # response now holds: closing it lets it go at once.
                await session.close()
        if self._shares and response.cookies:
            self._keep_cookies(response)
        connector = base.connector
        pooled = connector is None or not connector.force_close
        reusable = not self._owns_session  # our session ends with the EventSource
        return AiohttpResponse(response, request.read_timeout, pooled=pooled, reusable=reusable)

    def _keep_cookies(self, response: aiohttp.ClientResponse) -> None:
        """Keep the cookies ``response`` sets, for this transport's later requests.

        The shared session's jar keeps none: one stream's cookies (a login for one
        user, say) must not go out with the requests of another stream of the loop.
        """
        if self._jar is None:
            self._jar = aiohttp.CookieJar()
        self._jar.update_cookies(response.cookies, response.url)

    def _moved_to(self, loop: asyncio.AbstractEventLoop) -> None:
        """Leave the session of the loop last used (if any) for a request in ``loop``.

        Raises:
            RuntimeError: the session is the user's: aiohttp binds it to its loop.
        """
        if self._loop is not None and self._session is not None and not self._owns_session:
            raise RuntimeError(
                "the aiohttp.ClientSession given to AiohttpTransport was used in another "
                "event loop (an earlier asyncio.run(), say), and aiohttp binds a session "
                "to its loop: make the session and the EventSource in the loop that uses "
                "them, or leave the transport unset"
            )
        self.abort()  # ours: closed on its loop, if that still runs (else it was, as it ended)
        self._closing = None  # a task of that loop: not to be awaited in this one
        self._loop = loop

    def abort(self) -> None:
        """Start closing the session we made, without awaiting: ``close()``, or at collection.

        The close runs as a task of the session's loop (its open response was
        closed first, so it has nothing to wait for but the sockets going);
        :meth:`aclose` waits for it. A later request makes a new session. A loop
        that is closed runs nothing: its session was closed as it shut down.
        """
        ours, loop = self._ours, self._loop
        if ours is None or loop is None:
            return
        self._session = self._ours = None
        on_its_loop(loop, lambda: self._start_closing(ours))

    def _start_closing(self, ours: OurSession) -> None:
        guard = ours.let_go()
        if guard is None:  # other transports use it still
            return
        self._closing = task = asyncio.get_running_loop().create_task(guard.aclose())
        _CLOSING.add(task)  # a task only the loop refers to may be collected
        task.add_done_callback(_CLOSING.discard)

    async def aclose(self) -> None:
        """Close the session if we made it (and wait for one :meth:`abort` began closing).

        In a loop other than the session's (which has ended, say), the session
        is closed on its own loop if that still runs, without waiting here.
        """
        try:
            here: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:  # trio: nothing was opened in it
            here = None
        if here is not self._loop:
            self.abort()
            self._closing = None
            return
        ours, self._ours = self._ours, None
        closing, self._closing = self._closing, None
        if closing is not None and closing.get_loop() is here:  # (else begun on the old loop)
            await asyncio.shield(closing)
        if ours is not None:
            self._session = None
            guard = ours.let_go()
            if guard is not None:  # the last transport to use it
                await guard.aclose()
