"""MCP's Streamable HTTP transport: one JSON-RPC request whose answer is an event stream.

An MCP client POSTs a JSON-RPC request to the server's endpoint, and the server
may answer with ``text/event-stream``: a priming event (an ID and empty data),
then notifications, then the response. When that stream breaks, the client
resumes it with a GET to the same endpoint carrying ``Last-Event-ID`` and the
session's headers. It must not POST the request again: the server may already
be running it (a tool call), and would run it twice.

:func:`request_stream` makes an :class:`~eventsource.EventSource` for one such
request. :func:`prepare_request` and :func:`is_response_to` are its two parts,
for an ``EventSource`` you set up yourself.

Source: the Model Context Protocol specification, "Transports", "Streamable
HTTP" (revision 2025-11-25): "Sending Messages to the Server", "Resumability
and Redelivery" and "Protocol Version Header".
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from ._errors import ConnectError, RequestMayHaveRunError, ResponseError
from ._event import MessageEvent
from ._request import ConnectAttempt
from ._source import EventSource

__all__ = [
    "NOT_PROCESSED_STATUSES",
    "POST_ACCEPT",
    "PROTOCOL_VERSION_HEADER",
    "SESSION_ID_HEADER",
    "RequestMayHaveRunError",
    "is_response_to",
    "prepare_request",
    "request_stream",
]

#: The session header: from the server's answer to ``initialize``, on every later request.
SESSION_ID_HEADER = "Mcp-Session-Id"
#: The negotiated protocol version, on every request after ``initialize``.
PROTOCOL_VERSION_HEADER = "MCP-Protocol-Version"
#: A POST must accept both answers a server may give: one JSON body or an event stream.
#: (:func:`request_stream` reads a stream; a JSON body fails it: see there.)
POST_ACCEPT = "application/json, text/event-stream"
#: Statuses that say the server did not act on the request: 429 Too Many Requests
#: (RFC 6585) and 503 Service Unavailable (RFC 9110). A gateway's 502 or 504 may
#: come after the request reached the server behind it, so they are not here.
NOT_PROCESSED_STATUSES = frozenset({429, 503})


def prepare_request(attempt: ConnectAttempt) -> None:
    """Resume an MCP request's stream by GET, and never send the request twice.

    Pass it as ``prepare_request=`` to an ``EventSource`` that POSTs one JSON-RPC
    request (:func:`request_stream` does). For each connection attempt:

    - The first is the request as given: the POST.
    - Once the stream delivered an event ID, every reconnection is a GET to the
      same URL with ``Last-Event-ID``, no body, ``Accept: text/event-stream``, and
      the other headers as given (``Mcp-Session-Id``, ``MCP-Protocol-Version``,
      ``Authorization``, ...).
    - Before any event ID, the POST is sent again only when the previous attempt
      could not connect (:class:`~eventsource.ConnectError`: nothing was sent), or
      got a 429 or 503 (:data:`NOT_PROCESSED_STATUSES`) that your ``status_policy``
      chose to retry. After anything else (the connection broke once the request
      was out, the server ended the stream, a timeout, another status, a
      cancellation or ``restart()``) the server may be running the request, and
      there is nothing to resume from: this raises, and the ``EventSource`` fails
      without sending anything.

    Args:
        attempt: The attempt about to be made; changed in place.

    Raises:
        RequestMayHaveRunError: the request may have reached the server and no
            event ID came back. The ``EventSource`` is CLOSED, its ``onerror``
            gets the error, and iteration raises it. What broke the stream, if an
            error did, is its ``__cause__``.
    """
    if attempt.last_event_id:
        attempt.method = "GET"
        attempt.body = None
        for name in [n for n in attempt.headers if n.lower() in ("accept", "content-type")]:
            del attempt.headers[name]
        attempt.headers["Accept"] = "text/event-stream"
        return
    error = attempt.last_error
    if (
        attempt.number == 0
        or isinstance(error, ConnectError)
        or (isinstance(error, ResponseError) and error.status in NOT_PROCESSED_STATUSES)
    ):
        return
    raise RequestMayHaveRunError(
        "the stream broke before the server sent an event ID: the request may have "
        "been run, and it is not sent again"
    ) from attempt.last_error


def is_response_to(request_id: str | int) -> Callable[[MessageEvent], bool]:
    """A predicate for ``stop_after``: the event is the JSON-RPC response to ``request_id``.

    It matches an event whose data is a JSON object with that ``id`` (of the same
    type: ``1`` is not ``"1"``) and a ``result`` or an ``error``. Priming events
    (empty data), notifications and data that is not JSON never match.
    """

    def matches(event: MessageEvent) -> bool:
        if not event.data:
            return False
        try:
            message = json.loads(event.data)
        except ValueError:
            return False
        if not isinstance(message, dict) or ("result" not in message and "error" not in message):
            return False
        found = message.get("id")
        return type(found) is type(request_id) and found == request_id

    return matches


def request_stream(
    url: str,
    message: Mapping[str, Any],
    *,
    session_id: str | None = None,
    protocol_version: str | None = None,
    headers: Mapping[str, str] | None = None,
    **options: Any,
) -> EventSource:
    """An ``EventSource`` that POSTs one MCP JSON-RPC request and reads its event stream.

    Nothing is sent until it is iterated (or ``run()``). It yields every event
    of the stream, the priming event (an ID and empty data) included, and ends
    after the response to ``message["id"]``. A broken stream is resumed by GET
    with ``Last-Event-ID``; before any event ID it fails with
    :class:`~eventsource.mcp.RequestMayHaveRunError` instead of sending the request
    again (see :func:`prepare_request`). The reconnection time is the server's
    ``retry:`` once sent, else ``retry=`` (3 seconds by default), and a failure
    reaches the caller when the next attempt would start.

    A server may answer the POST with one JSON body instead of a stream
    (:data:`POST_ACCEPT` allows it). That is no event: iteration raises
    :class:`~eventsource.ContentTypeError` (``status`` 200, ``content_type``
    ``application/json``) once the request has run, and the error's ``body``
    holds the answer as text, cut to its first 4 KiB and to what arrived
    within 0.25 s. ``docs/llm-and-mcp.md`` shows how to get the answer either
    way.

    Args:
        url: The server's MCP endpoint.
        message: The JSON-RPC request, with an ``id``; sent as the JSON body.
        session_id: Sent as ``Mcp-Session-Id`` (the server's answer to
            ``initialize`` gives it), on the POST and on every GET.
        protocol_version: Sent as ``MCP-Protocol-Version`` (the version
            ``initialize`` agreed on). Servers prime their streams with an event
            ID only for clients of a version that can resume (2025-11-25 and later).
        headers: More headers for every attempt (``Authorization``, ...). An
            ``Accept`` given here replaces :data:`POST_ACCEPT` on the POST.
        **options: Any other ``EventSource`` option (``transport``, ``retry``,
            ``read_timeout``, ``max_reconnects``, ``on_comment``, ...).

    Raises:
        ValueError: ``message`` has no ``id`` (a notification gets no stream).
        TypeError: ``options`` holds one this sets itself: ``method``, ``json``,
            ``body``, ``prepare_request`` or ``stop_after``.
    """
    if message.get("id") is None:
        raise ValueError("an MCP request stream needs a JSON-RPC request with an 'id'")
    given = dict(headers or {})
    ours = {"Accept": POST_ACCEPT}
    if session_id is not None:
        ours[SESSION_ID_HEADER] = session_id
    if protocol_version is not None:
        ours[PROTOCOL_VERSION_HEADER] = protocol_version
    lowered = {name.lower() for name in given}
    all_headers = {n: v for n, v in ours.items() if n.lower() not in lowered} | given
    return EventSource(
        url,
        method="POST",
        json=dict(message),
        headers=all_headers,
        prepare_request=prepare_request,
        stop_after=is_response_to(message["id"]),
        **options,
    )
