"""From the constructor's keywords to a ``Connection``: shared by both clients.

The async ``EventSource`` and the blocking ``eventsource.sync.EventSource`` take
the same request and reconnection options; this is the one place that checks
them and builds the processing model from them. No I/O and no async library.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

from ._connection import Connection
from ._listeners import check_callable
from ._parser import DEFAULT_MAX_EVENT_SIZE
from ._policy import StatusPolicy
from ._request import encode_body
from ._retry import RetryPolicy
from ._sendable import check_bool, check_headers, check_str
from ._sendable_url import build_url
from ._verdicts import Predicate

__all__ = ["build_connection"]


def build_connection(
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
    method: str = "GET",
    body: str | bytes | None = None,
    json: Any = None,
    last_event_id: str = "",
    stored_id: str | None = None,
    retry: float = 3.0,
    retry_policy: RetryPolicy | None = None,
    reconnect: bool = True,
    read_timeout: float | None = None,
    connect_timeout: float | None = 30.0,
    max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
    max_redirects: int = 20,
    secret_headers: Iterable[str] = (),
    allow_insecure_redirects: bool = False,
    status_policy: StatusPolicy | Literal["strict"] | None = None,
    stop_when: Predicate | None = None,
    stop_after: Predicate | None = None,
    error_when: Predicate | None = None,
) -> Connection:
    """The ``Connection`` an EventSource made with these options starts from.

    ``stored_id`` is what a last-event-id store loaded: used when ``last_event_id``
    is empty. The options are those of ``EventSource`` (see its docstring).

    Raises:
        ValueError: something no request could carry (see ``EventSource``), or
            a number out of its range.
        TypeError: ``body`` with ``json``; a header name or value or
            ``last_event_id`` that is not a ``str``; an option of another type
            than its own (``secret_headers`` a ``str``, ``retry_policy`` a
            ``dict``, a predicate that is not callable...): refused here, not
            at the first reconnect.
    """
    check_bool(reconnect, "reconnect")
    check_bool(allow_insecure_redirects, "allow_insecure_redirects")
    _check_types(
        retry=retry,
        retry_policy=retry_policy,
        max_event_size=max_event_size,
        max_redirects=max_redirects,
        secret_headers=secret_headers,
    )
    secret_headers = [check_str(name, "a name in secret_headers") for name in secret_headers]
    for name, predicate in (
        ("stop_when", stop_when),
        ("stop_after", stop_after),
        ("error_when", error_when),
    ):
        check_callable(predicate, name)
    # "" is no id; None or 0 would pass as none here and fail at the first request
    if check_str(last_event_id, "last_event_id"):
        # Yours: refused now if it cannot be sent. One the server sent (from
        # the store) is cleaned or left out when sent, as during the stream.
        check_headers({"Last-Event-ID": last_event_id}, what="last_event_id")
    elif stored_id:
        last_event_id = stored_id
    content, content_type = encode_body(body, json)
    if isinstance(headers, (str, bytes)):
        raise TypeError('headers must be a mapping of names to values: {"Name": "value"}')
    all_headers = dict(headers or {})
    if content_type and not any(k.lower() == "content-type" for k in all_headers):
        all_headers["Content-Type"] = content_type
    connection = Connection(
        build_url(url, params),
        method=method,
        headers=all_headers,
        content=content,
        last_event_id=last_event_id,
        retry=retry,
        policy=retry_policy,
        max_event_size=max_event_size,
        max_redirects=max_redirects,
        secret_headers=secret_headers,
        allow_insecure_redirects=allow_insecure_redirects,
        connect_timeout=_limit(connect_timeout, "connect_timeout"),
        read_timeout=_limit(read_timeout, "read_timeout"),
        reconnect=reconnect,
        status_policy=status_policy,
    )
    credentials = urlsplit(connection.url).netloc.rpartition("@")[0]  # the URL checked
    if credentials and any(name.lower() == "authorization" for name in all_headers):
        # aiohttp refuses the pair, httpx lets the URL's win: say so before either.
        raise ValueError(
            "the URL has credentials (user:password@) and headers has an Authorization "
            "header: give one of them"
        )
    connection.stop_when = stop_when
    connection.stop_after = stop_after
    connection.error_when = error_when
    return connection


def _check_types(
    *,
    retry: object,
    retry_policy: object,
    max_event_size: object,
    max_redirects: object,
    secret_headers: object,
) -> None:
    """Refuse an option of the wrong type now, with its name (not a bare error later)."""
    _seconds(retry, "retry")
    if retry_policy is not None and not isinstance(retry_policy, RetryPolicy):
        raise TypeError(
            "retry_policy must be a RetryPolicy, such as RetryPolicy(max_reconnects=5), "
            f"got {type(retry_policy).__name__}"
        )
    for name, value, least in (
        ("max_event_size", max_event_size, 1),
        ("max_redirects", max_redirects, 0),
    ):
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{name} must be an int, got {type(value).__name__}")
        if value < least:
            raise ValueError(f"{name} must be at least {least}, not {value}")
    if isinstance(secret_headers, (str, bytes)) or not isinstance(secret_headers, Iterable):
        # A str is an iterable of one-letter names: the header it names would
        # go to another origin.
        hint = f": secret_headers=[{secret_headers!r}]" if isinstance(secret_headers, str) else ""
        raise TypeError(
            "secret_headers takes a list of header names, "
            f"not a {type(secret_headers).__name__}{hint}"
        )


def _seconds(value: object, name: str) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise TypeError(f"{name} must be a number of seconds, got {type(value).__name__}")


def _limit(timeout: float | None, name: str) -> float | None:
    """A timeout in seconds, or ``None`` for none: also for ``math.inf`` and the like.

    Past ``threading.TIMEOUT_MAX`` (about 292 years) the socket and timer calls
    of the transports raise ``OverflowError``; such a wait is no timeout at all.

    Raises:
        ValueError: zero, negative or NaN (every attempt would time out at
            once: a reconnect loop, not a timeout).
    """
    if timeout is None:
        return None
    _seconds(timeout, name)
    if not timeout > 0:  # NaN too
        raise ValueError(f"{name} must be a number of seconds above 0, or None, not {timeout!r}")
    if timeout >= threading.TIMEOUT_MAX:
        return None
    return timeout
