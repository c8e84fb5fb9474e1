"""The TLS settings of a session or client we make: ``verify`` and ``cert``, as httpx names them.

Imports neither aiohttp nor httpx.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import TypeVar

__all__ = ["Cert", "Verify", "ssl_context"]

T = TypeVar("T")

#: ``True`` (the system's CAs), ``False`` (no verification), a CA bundle file,
#: or an ``ssl.SSLContext`` used as is.
Verify = bool | str | ssl.SSLContext
#: A PEM file holding the certificate and its key, or ``(certfile, keyfile)``.
Cert = str | tuple[str, str]


def ssl_context(verify: Verify = True, cert: Cert | None = None) -> ssl.SSLContext | bool:
    """What to verify TLS with: ``True`` (the library's default), ``False``, or a context.

    Raises:
        TypeError: ``cert`` with a ready-made context (loading it would change a
            context the caller may share); ``verify`` or ``cert`` of another type
            (``verify=0`` failed at the first connection, with a bare
            ``AttributeError`` on httpx).
        OSError, ssl.SSLError: a file that cannot be read or is not a certificate
            (a missing one is a ``FileNotFoundError`` naming it).
    """
    if not isinstance(verify, (bool, str, ssl.SSLContext)):
        raise TypeError(
            "verify must be True, False, a CA bundle file or an ssl.SSLContext, "
            f"got {type(verify).__name__}"
        )
    if not (
        cert is None
        or isinstance(cert, str)
        or (isinstance(cert, tuple) and len(cert) == 2 and all(isinstance(f, str) for f in cert))
    ):
        raise TypeError(
            "cert must be a PEM file holding the certificate and its key, or "
            f"(certfile, keyfile), got {type(cert).__name__}"
        )
    if isinstance(verify, ssl.SSLContext):
        if cert is not None:
            raise TypeError(
                "with verify=<SSLContext>, load the client certificate into that context "
                "(or pass verify=<CA file path> with cert=)"
            )
        return verify
    if isinstance(verify, str):
        context = _loaded(lambda: ssl.create_default_context(cafile=verify), "verify", verify)
    elif cert is None:
        return verify
    else:
        context = ssl.create_default_context()
        if not verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
    if cert is not None:
        certfile, keyfile = cert if isinstance(cert, tuple) else (cert, None)
        _loaded(lambda: context.load_cert_chain(certfile, keyfile), "cert", cert)
    return context


def _loaded(load: Callable[[], T], what: str, given: object) -> T:
    """``load()``; a missing file raised as a ``FileNotFoundError`` that names it.

    The ssl module's says ``[Errno 2] No such file or directory`` and no more:
    ``verify="false"`` (a flag read as a path) said nothing of ``verify``.
    """
    try:
        return load()
    except FileNotFoundError as exc:
        if exc.filename is not None:
            raise
        raise FileNotFoundError(
            exc.errno, f"{what}={given!r}: no such file (or a file it names is missing)"
        ) from exc
