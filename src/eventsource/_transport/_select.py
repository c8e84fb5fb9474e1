"""Choosing and building the transport from ``EventSource`` options.

aiohttp, the default, is imported with the package; httpx only when it is
chosen, so a missing httpx costs nothing until ``transport="httpx"`` is asked for.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Any

from .._sendable import check_url
from ._aiohttp import AiohttpTransport  # the default: imported with the package
from ._base import Transport

__all__ = ["TransportOptions", "make_transport"]


@dataclass(frozen=True, slots=True)
class TransportOptions:
    """Settings for a session or client that we create (not for one the user passes)."""

    proxy: str | None = None
    verify: bool | str | ssl.SSLContext = True
    cert: str | tuple[str, str] | None = None
    http2: bool = False
    trust_env: bool | None = None

    def is_default(self) -> bool:
        """Whether every setting has its default value."""
        return self == TransportOptions()

    def ssl_context(self) -> ssl.SSLContext | bool:
        """What to verify TLS with: ``True`` (defaults), ``False``, or a context."""
        if isinstance(self.verify, ssl.SSLContext):
            if self.cert is not None:
                # Loading the certificate would change a context the caller may share.
                raise TypeError(
                    "with verify=<SSLContext>, load the client certificate into that context "
                    "(or pass verify=<CA file path> with cert=)"
                )
            return self.verify
        if isinstance(self.verify, str):
            context = ssl.create_default_context(cafile=self.verify)
        elif self.cert is None:
            return self.verify
        else:
            context = ssl.create_default_context()
            if not self.verify:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
        if self.cert is not None:
            certfile, keyfile = self.cert if isinstance(self.cert, tuple) else (self.cert, None)
            context.load_cert_chain(certfile, keyfile)
        return context


def make_transport(
    transport: Transport | str | None, session: Any, client: Any, options: TransportOptions
) -> Transport:
    """The transport for ``transport=``, ``session=``, ``client=`` and the TLS/proxy settings.

    Raises:
        TypeError: settings that contradict each other.
        ValueError: an unknown transport name, HTTP/2 asked of aiohttp, or a proxy URL
            the transport cannot use (the message names the problem).
        ImportError: ``"httpx"`` without the ``httpx`` extra installed.
    """
    if session is not None and client is not None:
        raise TypeError("pass session= (aiohttp) or client= (httpx), not both")
    if (session is not None or client is not None) and not options.is_default():
        raise TypeError(
            "proxy/verify/cert/http2/trust_env configure a session or client that we make: "
            "set them on the session or client you pass instead"
        )
    if transport is None:
        transport = "httpx" if client is not None else "aiohttp"
    if transport == "aiohttp":
        if client is not None:
            raise TypeError("client= is an httpx.AsyncClient: use it with transport='httpx'")
        if options.http2:
            raise ValueError("aiohttp does not speak HTTP/2: use transport='httpx' for http2=True")
        extra: dict[str, Any] = {}
        if options.trust_env is not None:
            extra["trust_env"] = options.trust_env
        proxy = _checked_proxy(options.proxy, ("http", "https"))
        if session is not None:
            return AiohttpTransport(session, proxy=proxy, ssl=options.ssl_context())
        return AiohttpTransport(proxy=proxy, ssl=options.ssl_context(), **extra)
    if transport == "httpx":
        if session is not None:
            raise TypeError(
                "session= is an aiohttp.ClientSession: use it with transport='aiohttp'"
            )
        from ._httpx import HttpxTransport  # ImportError names the extra

        if client is not None:
            return HttpxTransport(client)
        kwargs: dict[str, Any] = {"verify": options.ssl_context(), "http2": options.http2}
        if options.proxy is not None:
            kwargs["proxy"] = _checked_proxy(options.proxy, ("http", "https", "socks5", "socks5h"))
        if options.trust_env is not None:
            kwargs["trust_env"] = options.trust_env
        return HttpxTransport(**kwargs)
    if isinstance(transport, str):
        raise ValueError(f"unknown transport {transport!r}: use 'aiohttp', 'httpx' or a Transport")
    if session is not None or client is not None or not options.is_default():
        raise TypeError("a Transport instance brings its own session or client and settings")
    return transport


def _checked_proxy(proxy: str | None, schemes: tuple[str, ...]) -> str | None:
    # A proxy URL the transport refuses would fail every connection attempt.
    return None if proxy is None else check_url(proxy, what="proxy URL", schemes=schemes)
