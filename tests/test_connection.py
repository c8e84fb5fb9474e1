"""The sans-IO processing model: requests, verdicts and reconnect decisions."""

from __future__ import annotations

import math
import sys
from dataclasses import replace

import pytest

from eventsource import (
    ConnectError,
    ContentTypeError,
    ErrorEvent,
    MessageEvent,
    ProtocolError,
    ReadyState,
    RedirectError,
    RetryPolicy,
    StatusError,
    TransportError,
)
from eventsource._backoff import SHORT_CONNECTION, STABLE_CONNECTION
from eventsource._connection import Connection
from eventsource._request import CREDENTIAL_HEADERS, encode_body, header, origin_of
from eventsource._retry import ZERO_RETRY_FLOOR
from eventsource._sendable_url import build_url
from eventsource._verdicts import End, Fail, Open, Reconnect, Redirect, Stop

URL = "http://a.test/stream"
SSE = {"Content-Type": "text/event-stream"}
EXACT = RetryPolicy(jitter=0.0)  # exact delays to compare


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


@pytest.mark.parametrize("status", [201, 400, 401, 404, 429, 500, 502, 503, 504])
def test_strict_fails_on_any_other_status_as_the_browser_does(status: int) -> None:
    conn = Connection(URL, status_policy="strict")
    verdict = conn.receive_response(status, {**SSE, "Retry-After": "0"}, URL)
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


def test_a_cross_origin_hop_tells_the_transport_which_headers_to_withhold() -> None:
    conn = Connection(URL, secret_headers=["X-Key"])
    first = conn.build_request()
    assert not first.cross_origin
    conn.receive_response(307, {"Location": "/same"}, URL)
    assert not conn.build_request().cross_origin
    conn.receive_response(307, {"Location": "https://a.test/s"}, "http://a.test/same")
    hop = conn.build_request()
    assert hop.cross_origin
    assert hop.secret_headers == {*CREDENTIAL_HEADERS, "x-key"}
    assert {"authorization", "cookie", "proxy-authorization", "x-api-key"} <= CREDENTIAL_HEADERS
    conn.receive_response(200, SSE, hop.url)
    conn.connection_lost(None)
    assert not conn.build_request().cross_origin


def test_connection_lost_reconnects_with_growing_delay_and_last_event_id() -> None:
    conn = Connection(URL, retry=1.0, policy=RetryPolicy(backoff_factor=2.0, jitter=0.0))
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


def test_a_one_shot_stream_cut_after_its_answer_fails_instead_of_requesting_again() -> None:
    conn = Connection(URL, method="POST", content=b"{}", reconnect=False)
    conn.begin_attempt()
    conn.receive_response(200, SSE, URL)
    conn.feed(b"id: 1\ndata: a\n\ndata: half")
    verdict = conn.interrupted(sent=True)  # a timeout cut the read of the answer
    assert isinstance(verdict, Fail)
    assert isinstance(verdict.error, TransportError)
    assert "reconnect=False" in str(verdict.error)
    assert conn.state is ReadyState.CLOSED
    items = conn.report(verdict)
    assert [type(item) for item in items] == [ErrorEvent, End]
    assert items[-1] == End(verdict.error)


@pytest.mark.parametrize(
    ("reconnect", "sent", "closed", "state"),
    [
        (False, False, False, ReadyState.CONNECTING),  # cut before sending, or restart()
        (True, True, False, ReadyState.CONNECTING),  # a stream that reconnects goes on
        (True, False, False, ReadyState.CONNECTING),
        (False, True, True, ReadyState.CLOSED),  # close() cut it: ended, not failed
        (True, True, True, ReadyState.CLOSED),
    ],
)
def test_other_interruptions_decide_nothing_and_the_next_request_resumes(
    reconnect: bool, sent: bool, closed: bool, state: ReadyState
) -> None:
    conn = Connection(URL, reconnect=reconnect)
    conn.begin_attempt()
    conn.receive_response(200, SSE, URL)
    conn.feed(b"id: 7\ndata: a\n\n")
    if closed:
        conn.close()
    assert conn.interrupted(sent=sent, answered=True) is None
    assert conn.state is state
    assert conn.build_request().headers["Last-Event-ID"] == "7"


def test_a_request_cut_while_it_waited_for_its_answer_backs_off_as_a_failure() -> None:
    # A caller's timeout shorter than the server's answer: each cut counts as a
    # failed attempt (no error event), so attempts wait 1, 2, 4 s, not none.
    policy = RetryPolicy(backoff_factor=2.0, jitter=0.0, min_retry=0.0)
    conn = Connection(URL, retry=1.0, policy=policy)
    delays = []
    for _ in range(3):
        conn.begin_attempt()
        verdict = conn.interrupted(sent=True)
        assert isinstance(verdict, Reconnect)
        assert verdict.error is None
        delays.append(verdict.delay)
    assert delays == [1.0, 2.0, 4.0]
    assert conn.state is ReadyState.CONNECTING
    conn.begin_attempt()
    conn.receive_response(200, SSE, URL)
    conn.feed(b"data: a\n\n")
    assert conn.interrupted(sent=True, answered=True) is None  # open, then cut: at once
    conn.begin_attempt()
    assert isinstance(conn.interrupted(sent=True), Reconnect)
    assert conn.failures == 1  # the event delivered started the count again
    conn.begin_attempt()
    # after the reconnection wait, in the same call: what the wait left of the
    # caller's timeout was no fair chance; not a failure, the next goes at once
    assert conn.interrupted(sent=True, waited=True) is None
    assert conn.failures == 1


@pytest.mark.parametrize("reconnect", [True, False])
def test_a_request_cut_while_connecting_backs_off_and_a_one_shot_one_goes_on(
    reconnect: bool,
) -> None:
    # Nothing was sent (the transport said so): even a one-shot stream may send
    # it later; a timeout shorter than the connect backs off, within the budget.
    policy = RetryPolicy(backoff_factor=2.0, jitter=0.0, min_retry=0.0, max_reconnects=1)
    conn = Connection(
        URL, method="POST", content=b"{}", retry=1.0, policy=policy, reconnect=reconnect
    )
    conn.begin_attempt()
    verdict = conn.interrupted(began=True)
    assert verdict == Reconnect(1.0, 1)
    assert conn.state is ReadyState.CONNECTING
    conn.begin_attempt()
    verdict = conn.interrupted(began=True)
    assert isinstance(verdict, Fail)
    assert "no answer before a cancel" in str(verdict.error)


@pytest.mark.parametrize("reconnect", [True, False])
def test_a_hop_cut_while_connecting_follows_a_sent_request(reconnect: bool) -> None:
    # The request went out at the first hop, which redirected: a one-shot stream
    # ends as when its first request is cut; one that reconnects goes back to
    # the original URL after the backoff delay. (restart() asks for it again.)
    policy = RetryPolicy(jitter=0.0, min_retry=0.0)
    conn = Connection(
        URL, method="POST", content=b"{}", retry=1.0, policy=policy, reconnect=reconnect
    )
    conn.begin_attempt()
    target = "http://b.test/elsewhere"
    assert conn.receive_response(307, {"Location": target}, URL) == Redirect(target)
    verdict = conn.interrupted(began=True)  # the hop connects: nothing of it sent
    if reconnect:
        assert verdict == Reconnect(1.0, 1)
        assert conn.build_request().url == URL
    else:
        assert isinstance(verdict, Fail)
        assert "reconnect=False" in str(verdict.error)
    conn = Connection(URL, method="POST", content=b"{}", reconnect=False)
    conn.begin_attempt()
    conn.receive_response(308, {"Location": target}, URL)
    assert conn.interrupted() is None  # restart()
    assert conn.build_request().url == URL


@pytest.mark.parametrize("earlier", ["refused", "cut"])
def test_cuts_of_unanswered_requests_count_toward_the_reconnect_budget(earlier: str) -> None:
    conn = Connection(URL, policy=RetryPolicy(max_reconnects=1))
    conn.begin_attempt()
    if earlier == "refused":
        assert isinstance(conn.connection_lost(TransportError("connection refused")), Reconnect)
    else:
        assert isinstance(conn.interrupted(sent=True), Reconnect)
    conn.begin_attempt()
    verdict = conn.interrupted(sent=True)
    assert isinstance(verdict, Fail)  # the last attempt had no answer: that is its error
    assert "no answer before a cancel" in str(verdict.error)
    assert conn.state is ReadyState.CLOSED


def test_server_retry_is_clamped_by_the_policy() -> None:
    conn = Connection(URL, policy=RetryPolicy(min_retry=0.5, max_retry=10.0))
    conn.receive_response(200, SSE, URL)
    conn.feed(b"retry: 100\n")
    assert conn.reconnection_time == 0.5
    conn.feed(b"retry: 60000\n")
    assert conn.reconnection_time == 10.0


def test_max_reconnects_gives_up_with_the_last_error_or_an_end_of_stream_error() -> None:
    conn = Connection(URL, policy=RetryPolicy(max_reconnects=1))
    error = TransportError("refused")
    assert isinstance(conn.connection_lost(error), Reconnect)
    assert conn.connection_lost(error) == Fail(error)
    assert conn.state is ReadyState.CLOSED
    other = Connection(URL, policy=RetryPolicy(max_reconnects=0))
    verdict = other.connection_lost(None)
    assert isinstance(verdict, Fail)
    assert isinstance(verdict.error, TransportError)


NOTES = pytest.mark.skipif(sys.version_info < (3, 11), reason="exception notes are 3.11+")


@NOTES
def test_giving_up_notes_how_many_attempts_failed_and_which_limit() -> None:
    conn = Connection(URL, policy=RetryPolicy(max_reconnects=2))
    errors = [TransportError(f"refused {n}") for n in range(3)]
    assert isinstance(conn.connection_lost(errors[0]), Reconnect)
    assert isinstance(conn.connection_lost(errors[1]), Reconnect)
    assert conn.connection_lost(errors[2]) == Fail(errors[2])
    assert errors[2].__notes__ == [
        "eventsource: gave up after 3 failed attempts in a row (max_reconnects=2)"
    ]
    assert not hasattr(errors[1], "__notes__")  # only the error that ends it


@NOTES
def test_giving_up_on_time_notes_the_time_spent_and_the_limit() -> None:
    now = [100.0]
    policy = RetryPolicy(backoff_factor=1.0, jitter=0.0, min_retry=0.0, max_reconnect_time=5.0)
    conn = Connection(URL, retry=2.0, policy=policy, clock=lambda: now[0])
    assert isinstance(conn.connection_lost(TransportError("refused")), Reconnect)
    now[0] += 2.0
    assert isinstance(conn.connection_lost(TransportError("refused")), Reconnect)
    now[0] += 2.0
    verdict = conn.connection_lost(TransportError("refused"))  # 4 s + 2 s of wait > 5 s
    assert isinstance(verdict, Fail)
    assert verdict.error.__notes__ == [
        "eventsource: gave up after 3 failed attempts in a row over 4 s:"
        " waiting for the next would pass max_reconnect_time=5.0"
    ]


@NOTES
def test_giving_up_after_cuts_before_an_answer_notes_it_too() -> None:
    conn = Connection(URL, policy=RetryPolicy(max_reconnects=0))
    conn.begin_attempt()
    verdict = conn.interrupted(sent=True)
    assert isinstance(verdict, Fail)
    assert verdict.error.__notes__ == [
        "eventsource: gave up after 1 failed attempt (max_reconnects=0)"
    ]


def test_a_limit_broken_after_complete_events_is_held_for_after_them() -> None:
    conn = Connection(URL, max_event_size=8)
    conn.receive_response(200, SSE, URL)
    events = conn.feed(b"data: a\n\ndata: 0123456789\n")
    assert [e.data for e in events] == ["a"]
    assert isinstance(conn.error, ProtocolError)
    conn.report_failure(conn.error)
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
    # A transport's headers as a plain dict (a transport of yours): any case.
    assert header({"Content-Type": "text/html", "Location": "/next"}, "location") == "/next"
    assert header({"location": "/here"}, "location") == "/here"
    assert header({"Content-Type": "text/html"}, "location") == ""


# -- the default status policy (issue 13, item 4) ---------------------------------------


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_by_default_429_and_gateway_statuses_reconnect(status: int) -> None:
    conn = Connection(URL, retry=1.0, policy=EXACT)
    verdict = conn.receive_response(status, SSE, URL)
    assert isinstance(verdict, Reconnect)
    assert isinstance(verdict.error, StatusError)
    assert verdict.error.status == status
    assert (verdict.delay, verdict.attempt) == (1.0, 1)
    assert conn.state is ReadyState.CONNECTING


@pytest.mark.parametrize("status", [201, 400, 401, 403, 404, 500, 501, 505])
def test_by_default_a_500_and_every_other_status_still_fail(status: int) -> None:
    conn = Connection(URL)
    verdict = conn.receive_response(status, {"Retry-After": "0"}, URL)
    assert isinstance(verdict, Fail)
    assert isinstance(verdict.error, StatusError)
    assert conn.state is ReadyState.CLOSED


def test_a_retried_503_with_retry_after_zero_still_backs_off() -> None:
    conn = Connection(URL, retry=1.0, policy=EXACT)
    verdicts = [conn.receive_response(503, {"Retry-After": "0"}, URL) for _ in range(5)]
    assert [(v.delay, v.attempt) for v in verdicts if isinstance(v, Reconnect)] == [
        (1.0, 1),
        (2.0, 2),
        (4.0, 3),
        (8.0, 4),
        (16.0, 5),
    ]


def test_retried_503s_after_retry_0_reconnect_at_once_then_back_off() -> None:
    now = [0.0]
    policy = RetryPolicy(jitter=0.0, min_retry=0.0)
    conn = Connection(URL, policy=policy, clock=lambda: now[0])
    conn.receive_response(200, SSE, URL)
    conn.feed(b"retry: 0\nid: 1\ndata: x\n\n")
    now[0] += SHORT_CONNECTION  # a stream that ran a while: at once, as in the browser
    first = conn.connection_lost(None)
    later = [conn.receive_response(503, {"Retry-After": "0"}, URL) for _ in range(3)]
    delays = [v.delay for v in (first, *later) if isinstance(v, Reconnect)]
    assert delays == pytest.approx([0.0, 0.1, 0.2, 0.4])


def test_by_default_a_servers_retry_0_waits_half_a_second() -> None:
    conn = Connection(URL, policy=EXACT)
    conn.receive_response(200, SSE, URL)
    conn.feed(b"retry: 0\nid: 1\ndata: x\n\n")
    assert conn.reconnection_time == 0.5
    verdict = conn.connection_lost(None)
    assert isinstance(verdict, Reconnect)
    assert (verdict.delay, verdict.attempt) == (0.5, 1)


@pytest.mark.parametrize(
    "body",
    [b"retry: 0\nid: 1\ndata: x\n\n", b"retry: 0\n\ndata: x", b"retry: 0\n\n", b""],
    ids=["an-event", "part-of-one", "nothing", "empty"],
)
@pytest.mark.parametrize("open_for", [0.0, SHORT_CONNECTION / 2])
def test_a_zero_delay_after_a_short_connection_is_the_floor(body: bytes, open_for: float) -> None:
    # Issue 13: `retry: 0` and an event, then EOF, was progress each time, and
    # the delay stayed 0: thousands of connections a second.
    now = [0.0]
    conn = Connection(
        URL, retry=0.0, policy=RetryPolicy(min_retry=0.0, jitter=0.0), clock=lambda: now[0]
    )
    for _ in range(3):
        assert conn.receive_response(200, SSE, URL) == Open()
        conn.feed(body)
        now[0] += open_for
        verdict = conn.connection_lost(None)
        assert isinstance(verdict, Reconnect)
        assert verdict.delay >= ZERO_RETRY_FLOOR


def test_a_zero_delay_after_a_connection_open_a_second_stays_zero() -> None:
    now = [0.0]
    conn = Connection(
        URL, retry=0.0, policy=RetryPolicy(min_retry=0.0, jitter=0.0), clock=lambda: now[0]
    )
    delays = []
    for _ in range(3):
        conn.receive_response(200, SSE, URL)
        conn.feed(b"id: 1\ndata: x\n\n")
        now[0] += SHORT_CONNECTION
        verdict = conn.connection_lost(TransportError("cut"))
        assert isinstance(verdict, Reconnect)
        delays.append(verdict.delay)
    assert delays == [0.0, 0.0, 0.0]  # each made progress: at once, as in the browser


def test_the_floor_after_a_short_connection_is_jittered_and_kept_under_max_backoff() -> None:
    conn = Connection(URL, retry=0.0, policy=RetryPolicy(min_retry=0.0, max_backoff=0.04))
    conn.receive_response(200, SSE, URL)
    conn.feed(b"data: x\n\n")
    verdict = conn.connection_lost(None)
    assert isinstance(verdict, Reconnect)
    assert 0.02 <= verdict.delay <= 0.04  # jitter 0.5 takes up to half off


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [
        ("120", 120.0),
        ("99999999", 300.0),  # bounded by retry_transient's max_retry_after
        ("9" * 400, 300.0),  # too big for a float: inf, then bounded
        ("Fri, 31 Dec 9999 23:59:59 GMT", 300.0),
        ("Mon, 01 Jan 99999999999999999999 00:00:00 GMT", 1.0),  # malformed: the backoff
        ("Mon, 01 Jan 2020 00:00:00 +99999999999999999999", 1.0),
        ("soon", 1.0),
    ],
)
def test_retry_after_is_honoured_bounded_and_never_an_arithmetic_error(
    retry_after: str, expected: float
) -> None:
    conn = Connection(URL, retry=1.0, policy=EXACT)
    verdict = conn.receive_response(503, {"Retry-After": retry_after}, URL)
    assert isinstance(verdict, Reconnect)
    assert verdict.delay == expected


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (math.nan, 1.0),
        (-5.0, 1.0),
        (7, 7.0),
        (math.inf, math.inf),
        pytest.param(10**400, math.inf, id="an-int-too-big-for-a-float"),
    ],
)
def test_a_policys_number_of_seconds_is_a_minimum_and_never_nan(
    answer: float, expected: float
) -> None:
    conn = Connection(URL, retry=1.0, status_policy=lambda response: answer, policy=EXACT)
    verdict = conn.receive_response(500, {}, URL)
    assert isinstance(verdict, Reconnect)
    assert verdict.delay == expected


def test_an_unknown_status_policy_name_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="strict"):
        Connection(URL, status_policy="lenient")  # type: ignore[arg-type]


# -- arithmetic in the delay path (issue 13, item 3) ---------------------------------


@pytest.mark.parametrize("digits", [400, 5000])
def test_a_huge_retry_from_the_wire_is_clamped_not_an_error(digits: int) -> None:
    # int(value) / 1000 raised OverflowError past 308 digits, int() ValueError past 4,300.
    conn = Connection(URL)
    conn.receive_response(200, SSE, URL)
    [event] = conn.feed(b"retry: " + b"9" * digits + b"\ndata: x\n\n")
    assert event.data == "x"
    assert conn.reconnection_time == 60.0  # the default max_retry


def test_a_huge_retry_without_a_ceiling_waits_for_ever_not_nan() -> None:
    conn = Connection(URL, policy=RetryPolicy(jitter=1.0, max_retry=None))
    conn.receive_response(200, SSE, URL)
    conn.feed(b"retry: " + b"9" * 400 + b"\ndata: x\n\n")
    assert conn.reconnection_time == math.inf
    for _ in range(3):
        verdict = conn.connection_lost(TransportError("refused"))
        assert isinstance(verdict, Reconnect)
        assert verdict.delay == math.inf


def test_two_thousand_refusals_in_a_row_keep_the_capped_delay() -> None:
    # With the defaults, failure 1,025 raised OverflowError: an outage of ~8.5 hours.
    conn = Connection(URL)
    error = TransportError("refused")
    for _ in range(2000):
        verdict = conn.connection_lost(error)
        assert isinstance(verdict, Reconnect)
    assert verdict.attempt == 2000
    assert 15.0 <= verdict.delay <= 30.0


@pytest.mark.parametrize("retry", [math.nan, math.inf])
def test_a_retry_that_is_not_a_finite_number_is_a_value_error(retry: float) -> None:
    with pytest.raises(ValueError, match="finite"):
        Connection(URL, retry=retry)


# -- what counts as a failure in a row (issue 13, item 9) -------------------------------


def lose(conn: Connection, *chunks: bytes, error: TransportError | None = None) -> Reconnect:
    """Open a connection, feed it ``chunks``, lose it: the reconnect decided."""
    assert conn.receive_response(200, SSE, URL) == Open()
    for chunk in chunks:
        conn.feed(chunk)
    verdict = conn.connection_lost(error)
    assert isinstance(verdict, Reconnect)
    return verdict


BIG = b"id: 1\ndata: " + b"x" * 15_000 + b"\n\n"


def test_connections_cut_inside_a_large_event_do_not_grow_the_delay() -> None:
    # Each connection resends the 15 KB event from its start and is cut first.
    conn = Connection(URL, retry=0.02, policy=replace(EXACT, max_reconnects=3))
    cut = TransportError("reset")
    verdicts = [lose(conn, BIG[: 2000 * n], error=cut) for n in range(1, 7)]
    assert [(v.delay, v.attempt) for v in verdicts] == [(0.02, 1)] * 6
    assert conn.receive_response(200, SSE, URL) == Open()
    [event] = conn.feed(BIG)
    assert len(event.data) == 15_000


@pytest.mark.parametrize(
    "partial",
    [
        b"data: partial line",
        b"data: a whole line\n",
        b"event: chat\n",
        b"id: 9\n",
        b"id: 9\n\n",  # an id-only block: the stream moved on
        b": hello\n\nretry: 5\n\ndata: x",
    ],
)
def test_part_of_an_event_is_progress(partial: bytes) -> None:
    conn = Connection(URL, retry=1.0, policy=EXACT)
    conn.connection_lost(TransportError("refused"))
    conn.connection_lost(TransportError("refused"))
    assert lose(conn, partial).attempt == 1


@pytest.mark.parametrize(
    "nothing",
    [b"", b": ok\n", b": ok\n\n", b"retry: 1000\n\n", b": hi\n\nretry: 1000\n\n: pi", b"\n\n"],
)
def test_a_connection_with_nothing_but_comments_and_retry_is_a_failure(nothing: bytes) -> None:
    conn = Connection(URL, retry=1.0, policy=EXACT)
    verdicts = [lose(conn, nothing) for _ in range(4)]
    assert [(v.delay, v.attempt) for v in verdicts] == [(1.0, 1), (2.0, 2), (4.0, 3), (8.0, 4)]


def test_a_connection_open_a_minute_counts_as_progress_whatever_it_received() -> None:
    now = [0.0]
    conn = Connection(URL, retry=1.0, policy=EXACT, clock=lambda: now[0])
    conn.connection_lost(TransportError("refused"))
    conn.connection_lost(TransportError("refused"))
    assert conn.receive_response(200, SSE, URL) == Open()
    conn.feed(b": ping\n")
    now[0] += STABLE_CONNECTION - 1
    verdict = conn.connection_lost(TransportError("cut"))
    assert isinstance(verdict, Reconnect)
    assert verdict.attempt == 3  # 59 s of heartbeats: not yet
    assert conn.receive_response(200, SSE, URL) == Open()
    now[0] += STABLE_CONNECTION
    verdict = conn.connection_lost(TransportError("cut"))
    assert isinstance(verdict, Reconnect)
    assert (verdict.delay, verdict.attempt) == (1.0, 1)


def test_a_restart_after_progress_starts_the_count_again() -> None:
    conn = Connection(URL, retry=1.0, policy=EXACT)
    for _ in range(3):
        conn.connection_lost(TransportError("refused"))
    conn.receive_response(200, SSE, URL)
    conn.feed(b"data: x\n\n")
    conn.interrupted()
    conn.receive_response(200, SSE, URL)
    assert conn.connection_lost(None) == Reconnect(1.0, 1)


def test_max_reconnect_time_ends_retrying_with_the_last_real_error() -> None:
    now = [100.0]  # a fake clock: no real seconds spent
    policy = RetryPolicy(backoff_factor=1.0, jitter=0.0, max_reconnect_time=0.5)
    conn = Connection(URL, retry=0.001, policy=policy, clock=lambda: now[0])
    errors = [TransportError(f"refused {n}") for n in range(4)]
    verdicts = []
    for error in errors:
        verdicts.append(conn.connection_lost(error))
        now[0] += 0.2
    assert verdicts[:3] == [Reconnect(0.001, n, errors[n - 1]) for n in (1, 2, 3)]
    assert verdicts[3] == Fail(errors[3])


@pytest.mark.parametrize(
    ("predicate", "kept"), [("stop_when", ["a"]), ("stop_after", ["a", "stop"])]
)
def test_a_predicate_passes_comments_by_and_a_later_broken_limit_adds_no_second_end(
    predicate: str, kept: list[str]
) -> None:
    conn = Connection(URL, max_event_size=100)
    setattr(conn, predicate, lambda event: event.data == "stop")
    assert conn.receive_response(200, SSE, URL) == Open()
    items = conn.receive_data(
        b": before\n\ndata: a\n\n: between\n\ndata: stop\n\ndata: " + b"x" * 300 + b"\n\n"
    )
    assert [type(item).__name__ for item in items[:2]] == ["Comment", "MessageEvent"]
    assert [item.data for item in items if isinstance(item, MessageEvent)] == kept
    assert items[-1] == End(cut=True)  # a predicate's cut: events past it were read
    assert sum(isinstance(item, End) for item in items) == 1
