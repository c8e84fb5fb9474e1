"""The sans-IO processing model: requests, verdicts and reconnect decisions."""

from __future__ import annotations

import pytest

from eventsource import (
    ConnectError,
    ContentTypeError,
    ProtocolError,
    ReadyState,
    RedirectError,
    RetryPolicy,
    StatusError,
    TransportError,
)
from eventsource._connection import (
    Connection,
    Fail,
    Open,
    Reconnect,
    Redirect,
    Stop,
    build_url,
    encode_body,
    origin_of,
)

URL = "http://a.test/stream"
SSE = {"Content-Type": "text/event-stream"}


def test_first_request_has_accept_and_cache_control_but_no_last_event_id() -> None:
    request = Connection(URL).build_request()
    assert request.method == "GET"
    assert request.url == URL
    assert dict(request.headers) == {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
    assert request.content is None


def test_users_accept_and_cache_control_are_kept_and_their_last_event_id_is_replaced() -> None:
    conn = Connection(
        URL,
        headers={
            "accept": "text/event-stream, */*",
            "CACHE-CONTROL": "max-age=0",
            "last-event-id": "x",
        },
        last_event_id="7",
    )
    headers = conn.build_request().headers
    assert headers == {
        "accept": "text/event-stream, */*",
        "CACHE-CONTROL": "max-age=0",
        "Last-Event-ID": "7",
    }


def test_a_200_event_stream_opens_and_sets_the_origin() -> None:
    conn = Connection(URL)
    assert conn.state is ReadyState.CONNECTING
    assert conn.receive_response(200, SSE, "http://b.test:8080/x") == Open()
    assert conn.state is ReadyState.OPEN
    [event] = conn.feed(b"data: x\n\n")
    assert event.origin == "http://b.test:8080"


@pytest.mark.parametrize("status", [201, 400, 401, 404, 429, 500, 503])
def test_any_other_status_fails(status: int) -> None:
    conn = Connection(URL)
    verdict = conn.receive_response(status, SSE, URL)
    assert isinstance(verdict, Fail)
    assert isinstance(verdict.error, StatusError)
    assert verdict.error.status == status
    assert conn.state is ReadyState.CLOSED


@pytest.mark.parametrize(
    "content_type", ["", "text/plain", "text/event-streams", "application/json"]
)
def test_a_200_with_another_content_type_fails(content_type: str) -> None:
    headers = {"content-type": content_type} if content_type else {}
    verdict = Connection(URL).receive_response(200, headers, URL)
    assert isinstance(verdict, Fail)
    assert isinstance(verdict.error, ContentTypeError)


def test_204_stops() -> None:
    conn = Connection(URL)
    assert conn.receive_response(204, {}, URL) == Stop(204)
    assert conn.state is ReadyState.CLOSED


def test_redirect_303_turns_post_into_get_without_body() -> None:
    conn = Connection(
        URL, method="POST", content=b"{}", headers={"Content-Type": "application/json"}
    )
    assert conn.receive_response(303, {"Location": "/next"}, URL) == Redirect("http://a.test/next")
    request = conn.build_request()
    assert (request.method, request.content, request.url) == ("GET", None, "http://a.test/next")
    assert "Content-Type" not in request.headers


def test_redirect_307_keeps_method_and_body() -> None:
    conn = Connection(URL, method="POST", content=b"{}")
    conn.receive_response(307, {"Location": "http://a.test/x"}, URL)
    request = conn.build_request()
    assert (request.method, request.content) == ("POST", b"{}")


def test_redirect_without_location_fails() -> None:
    verdict = Connection(URL).receive_response(302, {}, URL)
    assert isinstance(verdict, Fail)
    assert isinstance(verdict.error, RedirectError)


def test_https_to_http_redirect_is_refused_unless_allowed() -> None:
    secure = "https://a.test/s"
    verdict = Connection(secure).receive_response(302, {"Location": "http://a.test/s"}, secure)
    assert isinstance(verdict, Fail)
    allowed = Connection(secure, allow_insecure_redirects=True)
    assert isinstance(
        allowed.receive_response(302, {"Location": "http://a.test/s"}, secure), Redirect
    )


def test_cross_origin_redirect_drops_secrets_for_the_rest_of_the_attempt() -> None:
    headers = {"Authorization": "a", "Cookie": "c", "X-Key": "k", "X-Plain": "p"}
    conn = Connection(URL, headers=headers, secret_headers=["x-key"])
    conn.receive_response(302, {"Location": "http://b.test/1"}, URL)
    assert set(conn.build_request().headers) == {"X-Plain", "Accept", "Cache-Control"}
    conn.receive_response(302, {"Location": "http://a.test/back"}, "http://b.test/1")
    assert "Authorization" not in conn.build_request().headers
    conn.receive_response(200, SSE, "http://a.test/back")
    conn.connection_lost(None)
    request = conn.build_request()
    assert request.url == URL
    assert request.headers["Authorization"] == "a"


def test_connection_lost_reconnects_with_growing_delay_and_last_event_id() -> None:
    conn = Connection(URL, retry=1.0, policy=RetryPolicy(backoff_factor=2.0))
    conn.receive_response(200, SSE, URL)
    conn.feed(b"id: 5\n\n")
    assert conn.connection_lost(None) == Reconnect(1.0, 1)
    assert conn.state is ReadyState.CONNECTING
    assert conn.build_request().headers["Last-Event-ID"] == "5"
    error = TransportError("x")
    assert conn.connection_lost(error) == Reconnect(2.0, 2, error)
    conn.receive_response(200, SSE, URL)
    conn.feed(b"data: x\n\n")
    assert conn.connection_lost(None) == Reconnect(1.0, 1)


def test_each_attempt_is_told_what_ended_the_previous_one() -> None:
    conn = Connection(URL, status_policy=lambda info: "retry")
    assert conn.next_attempt().last_error is None  # the first attempt
    conn.begin_attempt()
    refused = ConnectError("refused")
    conn.connection_lost(refused)
    assert conn.next_attempt().last_error is refused
    conn.interrupted()  # cancelled while waiting to reconnect: no attempt was abandoned
    assert conn.next_attempt().last_error is refused
    conn.begin_attempt()
    verdict = conn.receive_response(503, {}, URL)  # retried by the status policy
    assert isinstance(verdict, Reconnect)
    assert isinstance(conn.next_attempt().last_error, StatusError)
    conn.begin_attempt()
    conn.receive_response(200, SSE, URL)
    conn.interrupted()  # an open attempt abandoned (a cancellation, restart())
    assert conn.next_attempt().last_error is None
    conn.begin_attempt()
    conn.receive_response(200, SSE, URL)
    conn.connection_lost(None)  # the server ended the stream
    assert conn.next_attempt().last_error is None


def test_server_retry_is_clamped_by_the_policy() -> None:
    conn = Connection(URL, policy=RetryPolicy(min_retry=0.5, max_retry=10.0))
    conn.receive_response(200, SSE, URL)
    conn.feed(b"retry: 100\n")
    assert conn.reconnection_time == 0.5
    conn.feed(b"retry: 60000\n")
    assert conn.reconnection_time == 10.0


def test_max_reconnects_gives_up_with_the_last_error_or_an_end_of_stream_error() -> None:
    conn = Connection(URL, max_reconnects=1)
    error = TransportError("refused")
    assert isinstance(conn.connection_lost(error), Reconnect)
    assert conn.connection_lost(error) == Fail(error)
    assert conn.state is ReadyState.CLOSED
    other = Connection(URL, max_reconnects=0)
    verdict = other.connection_lost(None)
    assert isinstance(verdict, Fail)
    assert isinstance(verdict.error, TransportError)


def test_a_limit_broken_after_complete_events_is_held_for_after_them() -> None:
    conn = Connection(URL, max_event_size=8)
    conn.receive_response(200, SSE, URL)
    events = conn.feed(b"data: a\n\ndata: 0123456789\n")
    assert [e.data for e in events] == ["a"]
    assert isinstance(conn.error, ProtocolError)
    conn.fail()
    assert conn.error is None
    assert conn.state is ReadyState.CLOSED


def test_close_sets_closed() -> None:
    conn = Connection(URL)
    conn.close()
    assert conn.state is ReadyState.CLOSED


@pytest.mark.parametrize(("retry", "url"), [(-1.0, URL), (1.0, "mailto:x@y")])
def test_invalid_arguments_raise_value_error(retry: float, url: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        Connection(url, retry=retry)


def test_helpers_build_url_encode_body_and_origin() -> None:
    assert build_url(URL, None) == URL
    assert build_url(URL + "?a=1", {"b": 2}) == URL + "?a=1&b=2"
    assert build_url(URL, [("x", "y z")]) == URL + "?x=y+z"
    assert encode_body(None, {"a": 1}) == (b'{"a":1}', "application/json")
    assert encode_body("hé", None) == ("hé".encode(), "text/plain; charset=utf-8")
    assert encode_body(b"raw", None) == (b"raw", None)
    with pytest.raises(TypeError):
        encode_body("x", {"a": 1})
    assert origin_of("HTTPS://user:pw@Host.test:444/p?q") == "https://host.test:444"
