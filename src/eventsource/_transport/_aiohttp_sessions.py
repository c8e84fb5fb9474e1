"""The aiohttp sessions the transport makes and borrows.

The sessions we make (one that the EventSources of an event loop share, or
one a transport's own), the trace that tells when a request's headers went
out, the twin of a session without its credentials for a hop to another
origin, the proxy a user's session was given, and the guard that closes a
session of ours as its event loop shuts down.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncGenerator
from typing import Any

import aiohttp
from yarl import URL

__all__ = [
    "HEADERS_SENT",
    "OurSession",
    "closes_with_its_loop",
    "default_proxy",
    "our_session",
    "without_credentials",
]

#: The timeout of every session we make: aiohttp's 5-minute total turned off
#: (a frozen value: one for all, not 80 B a stream).
NO_TOTAL_TIMEOUT = aiohttp.ClientTimeout(total=None)


class OurSession:
    """A session we made, the guard that closes it, and how many transports use it.

    Touched in its event loop's thread only.
    """

    __slots__ = ("guard", "session", "users")

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session
        self.guard = closes_with_its_loop(session)
        self.users = 1

    def let_go(self) -> AsyncGenerator[None, None] | None:
        """One transport fewer: the guard to close (``aclose()``) if it was the last."""
        self.users -= 1
        if self.users:
            return None
        shared = _SHARED.get(asyncio.get_running_loop(), {})
        for key, ours in list(shared.items()):
            if ours is self:  # the next transport of the loop makes a new one
                del shared[key]
        return self.guard


#: The shared sessions of each event loop, by ``trust_env``.
_SHARED: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[bool, OurSession]] = (
    weakref.WeakKeyDictionary()
)


async def our_session(session_kwargs: dict[str, Any], *, shared: bool) -> OurSession:
    """A session of ours for a transport, in the running loop.

    ``shared``: the transport has no settings of its own but ``trust_env``, and
    gets the session the loop's other such transports use, made on first use.
    aiohttp's advice is one session for many requests: a session and its
    connector and cookie jar are ~7 KiB, a tenth of what a stream holds in a
    fan-out of 1,000 (bench/README.md). A stream holds its connection for its
    life, so the pool has no limit (aiohttp's 100 would hold the 101st stream
    back), and a connection is closed when its response is let go, not pooled:
    nothing of a closed EventSource stays open beside the others. It keeps no
    cookies: streams of one process may act for different users, so each
    transport keeps its own (``AiohttpTransport._keep_cookies``).
    """
    loop = asyncio.get_running_loop()
    by_env = _SHARED.setdefault(loop, {}) if shared else {}
    trust_env = bool(session_kwargs.get("trust_env"))
    ours = by_env.get(trust_env)
    if ours is not None and not ours.session.closed:
        ours.users += 1
        return ours
    kwargs = session_kwargs
    if shared:
        kwargs = {
            **session_kwargs,
            "connector": aiohttp.TCPConnector(limit=0, force_close=True),
            "cookie_jar": aiohttp.DummyCookieJar(),
        }
    ours = OurSession(aiohttp.ClientSession(timeout=NO_TOTAL_TIMEOUT, **kwargs))
    by_env[trust_env] = ours
    await ours.guard.asend(None)  # runs to its yield: the loop now ends it
    return ours


async def _on_headers_sent(
    session: aiohttp.ClientSession, context: Any, params: aiohttp.TraceRequestHeadersSentParams
) -> None:
    on_sent = context.trace_request_ctx
    if callable(on_sent):
        on_sent()


def _headers_sent_trace() -> aiohttp.TraceConfig:
    """The trace our sessions carry: ``Request.on_sent`` once the headers are sent."""
    config = aiohttp.TraceConfig()
    config.on_request_headers_sent.append(_on_headers_sent)
    return config


#: One for every session we make (aiohttp freezes it; it holds no state).
HEADERS_SENT = _headers_sent_trace()


def without_credentials(
    session: aiohttp.ClientSession, secret_headers: frozenset[str]
) -> aiohttp.ClientSession:
    """A session for a hop to another origin: ``session`` without its credentials.

    aiohttp adds a session's default headers and ``auth`` to every request, and a
    request cannot take them off. The session returned shares ``session``'s
    connector (its pool and TLS settings) and cookie jar (whose rules decide which
    cookies go) and takes its settings, but has neither ``auth`` nor middlewares,
    and only those default headers not in ``secret_headers``. The caller closes
    it; that leaves the connector open.
    """
    return aiohttp.ClientSession(
        connector=session.connector,
        connector_owner=False,
        cookie_jar=session.cookie_jar,
        headers=[(k, v) for k, v in session.headers.items() if k.lower() not in secret_headers],
        skip_auto_headers=session.skip_auto_headers,
        version=aiohttp.HttpVersion(*session.version),
        raise_for_status=session.raise_for_status,
        auto_decompress=session.auto_decompress,
        trust_env=session.trust_env,
        requote_redirect_url=session.requote_redirect_url,
        trace_configs=list(session.trace_configs),
    )


def default_proxy(session: aiohttp.ClientSession) -> URL | None:
    """The proxy given to ``session`` (aiohttp >= 3.10), its login in the URL."""
    # No public getter: a hop sent on another session must keep the user's proxy.
    proxy = getattr(session, "_default_proxy", None)
    login = getattr(session, "_default_proxy_auth", None)
    if proxy is None:
        return None
    url = URL(proxy)
    if isinstance(login, aiohttp.BasicAuth) and not url.user:
        url = url.with_user(login.login).with_password(login.password)
    return url


async def closes_with_its_loop(session: aiohttp.ClientSession) -> AsyncGenerator[None, None]:
    """Closes ``session`` as it ends: at ``aclose()``, or as the session's loop shuts down.

    asyncio ends the unfinished async generators of a loop that shuts down
    (``loop.shutdown_asyncgens()``, which ``asyncio.run()`` and ``asyncio.Runner``
    call) while the loop still runs: a session left open when its loop ends (an
    EventSource used in one ``asyncio.run()`` and not closed) is closed then,
    sockets and all. Once the loop is closed nothing can close them any more.
    """
    try:
        yield
    finally:
        await session.close()
