"""The TLS settings of a session or client we make: ``verify`` and ``cert``, as httpx names them.

Imports neither aiohttp nor httpx.
"""

from __future__ import annotations

import ssl

__all__ = ["Cert", "Verify", "ssl_context"]

#: ``True`` (the system's CAs), ``False`` (no verification), a CA bundle file,
#: or an ``ssl.SSLContext`` used as is.
Verify = bool | str | ssl.SSLContext
#: A PEM file holding the certificate and its key, or ``(certfile, keyfile)``.
Cert = str | tuple[str, str]


def ssl_context(verify: Verify = True, cert: Cert | None = None) -> ssl.SSLContext | bool:
    """What to verify TLS with: ``True`` (the library's default), ``False``, or a context.

    Raises:
        TypeError: ``cert`` with a ready-made context (loading it would change a
            context the caller may share).
        OSError, ssl.SSLError: a file that cannot be read or is not a certificate.
    """
    if isinstance(verify, ssl.SSLContext):
        if cert is not None:
            raise TypeError(
                "with verify=<SSLContext>, load the client certificate into that context "
                "(or pass verify=<CA file path> with cert=)"
            )
        return verify
    if isinstance(verify, str):
        context = ssl.create_default_context(cafile=verify)
    elif cert is None:
        return verify
    else:
        context = ssl.create_default_context()
        if not verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
    if cert is not None:
        certfile, keyfile = cert if isinstance(cert, tuple) else (cert, None)
        context.load_cert_chain(certfile, keyfile)
    return context
