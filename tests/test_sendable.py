"""What a request may carry: ids, headers, methods and URLs that no transport would send.

aiohttp and h11 (under httpx) refuse some header values and URLs before
anything reaches the network, and refuse them again on every attempt. So the
server's last event ID is sent as Fetch would (without surrounding whitespace)
or left out with one warning, and a URL, method or header the user gave is
refused at once with ``ValueError`` naming the problem, never retried.
"""

from __future__ import annotations

import logging
import re

import anyio
import httpx
import pytest
import yarl
from aiohttp import web

from eventsource import (
    ConnectAttempt,
    ConnectError,
    EventSource,
    RedirectError,
    RetryPolicy,
    TransportError,
)
from eventsource._connection import Connection
from eventsource._sendable import header_value_problem
from eventsource._sendable_url import check_url
from eventsource._transport._base import Request
from eventsource._transport._select import make_transport
from eventsource.transports import AiohttpTransport, HttpxTransport

from ._fixtures import FAST, LIMIT, Combo, collect
from ._fixtures import anyio_backend as anyio_backend
from ._fixtures import combo as combo
from ._fixtures import server as server
from ._servers import HOST, Handler, LoopbackServer, refused_port, sse

URL = "http://a.test/stream"
SSE = {"Content-Type": "text/event-stream"}


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "eventsource" and record.levelno >= logging.WARNING
    ]


def first_then(first: bytes, later: bytes = b"data: b\n\n") -> Handler:
    """A handler: ``first`` on the first request, ``later`` on each one after it."""
    served = 0

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal served
        served += 1
        return await sse(request, first if served == 1 else later)

    return handler


# -- the rule, against the transports themselves -------------------------------------


@pytest.mark.anyio
async def test_every_header_value_the_rule_passes_reaches_the_server_intact(
    combo: Combo, server: LoopbackServer
) -> None:
    # The rule in _sendable was found by trying each character on both
    # transports; this keeps it honest as aiohttp and h11 change.
    async def ok(request: web.Request) -> web.StreamResponse:
        return web.Response(text="ok")

    server.handle("/probe", ok)
    values = [f"a{chr(code)}b" for code in range(0x80)] + ["aéb", "a消b", "a\u2028b"]
    transport = make_transport(combo.transport)  # type: ignore[arg-type]
    sent: set[str] = set()
    try:
        for value in values:
            request = Request("GET", server.url("/probe"), {"X-Probe": value})
            try:
                with anyio.fail_after(LIMIT):
                    response = await transport.open(request)
            except (TransportError, ValueError):
                continue  # refused before anything was sent (aiohttp: a ValueError)
            sent.add(value)
            await response.aclose()
    finally:
        await transport.aclose()
    passed = {value for value in values if header_value_problem(value) is None}
    assert passed <= sent
    received = {r.headers["X-Probe"] for r in server.requests if r.path == "/probe"}
    assert passed <= received
    if combo.transport == "aiohttp":  # the stricter of the two refuses all the rest
        assert sent == passed


# -- the server's last event ID --------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("line", "sent"),
    [
        (b"id: 5 \n", "5"),
        (b"id:  5\n", "5"),
        (b"id: \t5\t\n", "5"),
        (b"id: \x0c5\n", None),
        (b"id: 5\x01\n", None),
        (b"id: 5\x7f\n", None),
        (b"id: a\x1bb\n", None),
    ],
    ids=["trailing-space", "leading-space", "tabs", "form-feed", "soh", "del", "esc"],
)
async def test_a_last_event_id_that_cannot_be_sent_as_is_never_blocks_a_reconnect(
    combo: Combo,
    server: LoopbackServer,
    caplog: pytest.LogCaptureFixture,
    line: bytes,
    sent: str | None,
) -> None:
    caplog.set_level(logging.WARNING, logger="eventsource")
    server.handle("/", first_then(line + b"data: a\n\n"))
    raw_id = line[4:-1].decode()
    # max_reconnects: the old code failed every reconnect locally, forever.
    async with combo.source(
        server.url("/"),
        retry=0.001,
        retry_policy=RetryPolicy(backoff_factor=1.0, jitter=0.0, max_reconnects=2),
    ) as es:
        events = await collect(es, 3)
        assert es.last_event_id == raw_id  # the id itself is kept as the server sent it
    assert [e.data for e in events] == ["a", "b", "b"]
    assert {e.last_event_id for e in events} == {raw_id}
    assert len(server.requests) == 3
    assert [r.headers.get("Last-Event-ID") for r in server.requests[1:]] == [sent, sent]
    warnings = warnings_of(caplog)
    if sent is None:
        [warning] = warnings  # one, though two reconnects went without it
        assert repr(raw_id) in warning
        assert "without it" in warning
    else:
        assert warnings == []


@pytest.mark.anyio
async def test_a_utf8_last_event_id_is_still_sent_as_utf8(
    combo: Combo, server: LoopbackServer
) -> None:
    raw: list[bytes | None] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        raw.append(dict(request.raw_headers).get(b"Last-Event-ID"))
        return await sse(request, "id: 消息-1\ndata: x\n\n".encode())

    server.handle("/", handler)
    async with combo.source(server.url("/"), **FAST) as es:
        events = await collect(es, 2)
    assert [e.last_event_id for e in events] == ["消息-1", "消息-1"]
    assert raw[:2] == [None, "消息-1".encode()]


@pytest.mark.anyio
async def test_an_unsendable_id_from_the_store_is_left_out_not_refused(
    combo: Combo, server: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    class Store:
        def load(self) -> str | None:
            return "5\x01"  # saved from a server's id: not the user's mistake

        def save(self, last_event_id: str) -> None:
            pass

    caplog.set_level(logging.WARNING, logger="eventsource")
    server.handle("/", first_then(b"data: a\n\n"))
    source = combo.source(
        server.url("/"),
        last_event_id_store=Store(),
        retry_policy=RetryPolicy(max_reconnects=0),
    )
    async with source as es:
        [event] = await collect(es, 1)
    assert event.data == "a"
    assert "Last-Event-ID" not in server.requests[0].headers
    assert len(warnings_of(caplog)) == 1


def test_each_distinct_unsendable_id_is_warned_about_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="eventsource")
    conn = Connection(URL)
    sent: list[str | None] = []
    for body in [b"id: a\x01\n\n", b"", b"id: b\x01\n\n", b"id:  7 \n\n", b"id: b\x01\n\n"]:
        conn.receive_response(200, SSE, URL)
        conn.feed(body)
        conn.connection_lost(None)
        for _ in range(2):  # attempts and redirect hops build the request again
            sent.append(conn.build_request().headers.get("Last-Event-ID"))
    assert sent == [None, None, None, None, None, None, "7", "7", None, None]
    warnings = warnings_of(caplog)
    # One each time an unsendable id comes into force, not one per request.
    assert len(warnings) == 3
    assert ["'a\\x01'" in warnings[0], "'b\\x01'" in warnings[1], "'b\\x01'" in warnings[2]] == [
        True,
        True,
        True,
    ]


def test_a_long_unsendable_id_is_cut_short_in_the_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="eventsource")
    conn = Connection(URL)
    conn.receive_response(200, SSE, URL)
    conn.feed(b"id: \x01" + b"x" * 10_000 + b"\n\n")
    conn.build_request()
    [warning] = warnings_of(caplog)
    assert len(warning) < 300


# -- headers, methods and ids the user gives ---------------------------------------------


@pytest.mark.anyio
async def test_spaces_around_a_header_value_or_last_event_id_are_dropped_as_fetch_does(
    combo: Combo, server: LoopbackServer
) -> None:
    server.handle("/", first_then(b"data: a\n\n"))
    source = combo.source(
        server.url("/"),
        headers={"X-Token": " t0ken\t"},
        last_event_id=" 41 ",
        retry_policy=RetryPolicy(max_reconnects=0),
    )
    async with source as es:
        await collect(es, 1)
    headers = server.requests[0].headers
    assert (headers["X-Token"], headers["Last-Event-ID"]) == ("t0ken", "41")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"headers": {"X-A": "a\nb"}}, "the value of header 'X-A' cannot be sent"),
        ({"headers": {"X-A": "a\rb"}}, "control character '\\r'"),
        ({"headers": {"X-A": "a\x00b"}}, "control character '\\x00'"),
        ({"headers": {"X-A": "a\x01b"}}, "control character '\\x01'"),
        ({"headers": {"X-A": "\x7f"}}, "control character '\\x7f'"),
        ({"headers": {"X A": "v"}}, "'X A' is not a valid header name"),
        ({"headers": {"": "v"}}, "'' is not a valid header name"),
        ({"headers": {"X:A": "v"}}, "'X:A' is not a valid header name"),
        ({"headers": {"Xé": "v"}}, "'Xé' is not a valid header name"),
        ({"method": "GET /x"}, "'GET /x' is not a valid HTTP method"),
        ({"method": ""}, "'' is not a valid HTTP method"),
        ({"last_event_id": "1\n2"}, "last_event_id: the value of header 'Last-Event-ID'"),
        # Issue 13: httpx raised UnicodeEncodeError out of `async for`, aiohttp retried.
        ({"headers": {"X-A": "a\udc80"}}, "'X-A' cannot be sent: it holds the lone surrogate"),
        ({"last_event_id": "7\ud800"}, "'Last-Event-ID' cannot be sent: it holds the lone"),
        ({"proxy": "http://"}, "proxy URL has no host: 'http://'"),
        ({"proxy": "proxy.test:3128"}, "proxy URL has the scheme 'proxy.test', not http or https"),
        ({"proxy": "socks5://proxy.test:1080"}, "has the scheme 'socks5', not http or https:"),
        ({"proxy": "http://p.test:99999"}, "proxy URL has an invalid port '99999'"),
        ({"proxy": "http://p.test:3128", "transport": "httpx"}, None),
        ({"proxy": "socks5://p.test:1080", "transport": "httpx"}, None),
        (
            {"proxy": "ftp://p.test", "transport": "httpx"},
            "'ftp', not http, https, socks5 or socks5h",
        ),
    ],
)
def test_what_no_request_could_carry_is_refused_at_construction(
    options: dict[str, object], message: str | None
) -> None:
    def build() -> EventSource:
        kwargs = dict(options)
        if "proxy" in kwargs:  # a transport setting: given to the transport object
            proxy = str(kwargs.pop("proxy"))
            if kwargs.pop("transport", "aiohttp") == "httpx":
                kwargs["transport"] = HttpxTransport(proxy=proxy)
            else:
                kwargs["transport"] = AiohttpTransport(proxy=proxy)
        return EventSource("http://127.0.0.1:9/", **kwargs)  # type: ignore[arg-type]

    if message is None:
        build()
        return
    with pytest.raises(ValueError, match=re.escape(message)) as info:
        build()
    assert "a\nb" not in str(info.value)  # a value may be a secret: only its name shows


@pytest.mark.parametrize("headers", [{"X-A": 5}, {"X-A": b"v"}, {b"X-A": "v"}])
def test_a_header_that_is_not_a_str_is_a_type_error(headers: dict[object, object]) -> None:
    with pytest.raises(TypeError, match="must be str"):
        EventSource("http://127.0.0.1:9/", headers=headers)  # type: ignore[arg-type]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"headers": {"Authorization": "Bearer s3cr3t\nX-Evil: 1"}}, "header 'Authorization'"),
        ({"headers": {"Authorization": "Bearer s3\x00cr3t"}}, "control character '\\x00'"),
        ({"method": "G T"}, "prepare_request: 'G T' is not a valid HTTP method"),
        ({"url": "http://"}, "URL from prepare_request has no host: 'http://'"),
        ({"url": "http://h.test:99999/"}, "invalid port '99999'"),
        ({"url": "/relative"}, "is not absolute"),
        ({"url": "http://a b.test/"}, "' ' in its host"),
        ({"headers": {"Authorization": "s3\udc80"}}, "'Authorization' cannot be sent"),
        ({"url": "http://xn--zz/"}, "URL from prepare_request has a host that is not a valid"),
        ({"url": "http://a..b/"}, "URL from prepare_request has an empty label in its host"),
        ({"url": "http://h.test/p\udc80"}, "holds the lone surrogate '\\udc80'"),
        ({"body": "s3\udc80"}, "prepare_request: the body cannot be encoded as UTF-8"),
    ],
)
async def test_a_request_prepare_request_leaves_unsendable_raises_at_once(
    combo: Combo, server: LoopbackServer, change: dict[str, object], message: str
) -> None:
    def spoil(attempt: ConnectAttempt) -> None:
        for name, value in change.items():
            setattr(attempt, name, value)

    server.handle("/", first_then(b"data: a\n\n"))
    es = combo.source(
        server.url("/"),
        prepare_request=spoil,
        retry_policy=RetryPolicy(max_reconnects=0),
    )
    try:
        with pytest.raises(ValueError, match=re.escape(message)) as info, anyio.fail_after(LIMIT):
            await es.__anext__()
    finally:
        await es.aclose()
    assert "s3" not in str(info.value)
    assert server.requests == []


# -- URLs --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "URL is empty"),
        (" \n", "URL is empty"),
        ("http://", "URL has no host: 'http://'"),
        ("https://:8000/x", "URL has no host: 'https://:8000/x'"),
        ("http:///stream", "URL has no host: 'http:///stream'"),
        ("http://user@/x", "URL has no host"),
        ("ftp://h.test/x", "URL has the scheme 'ftp', not http or https: 'ftp://h.test/x'"),
        ("ws://127.0.0.1/", "URL has the scheme 'ws'"),
        ("/stream", "URL is not absolute (no http or https scheme): '/stream'"),
        ("//h.test/stream", "URL is not absolute"),
        ("http://h.test:99999/", "URL has an invalid port '99999'"),
        ("http://h.test:x/", "URL has an invalid port 'x'"),
        ("http://h.test:-1/", "URL has an invalid port '-1'"),
        ("http://h.test: 80/", "URL has an invalid port ' 80'"),
        ("http://a b.test/", "URL has ' ' in its host"),
        ("http://a<b.test/", "URL has '<' in its host"),
        ("http://a%20b.test/", "URL has '%' in its host"),
        ("http://a\tb.test/", "URL holds the control character '\\t'"),
        ("http://a\x01b.test/", "URL holds the control character '\\x01'"),
        ("http://h.test/a\nb", "URL holds the control character '\\n'"),
        ("http://h.test/\x7f", "URL holds the control character '\\x7f'"),
        ("http://[::1/", "URL is not valid"),
        ("http://[v1.x]/", "URL has a host that is not a valid IPv6 address"),
        ("http://1.2.3.4.5/", "not a valid IPv4 address"),
        ("http://127.1/", "not a valid IPv4 address"),
        # Issue 13: the transports' IDNA encoding refuses these hosts on every
        # attempt: retried for ever as network errors, or (httpx) IDNAError
        # and UnicodeEncodeError out of `async for`.
        ("http://xn--zz/", "URL has a host that is not a valid IDNA name"),
        ("http://XN--ZZ.test/", "URL has a host that is not a valid IDNA name"),
        ("http://www.xn--zz/", "URL has a host that is not a valid IDNA name"),
        ("http://a..b/", "URL has an empty label in its host: 'http://a..b/'"),
        ("http://.a.test/", "URL has an empty label in its host"),
        ("http://a.test../", "URL has an empty label in its host"),
        ("http://" + "a" * 64 + ".test/", "URL has a label longer than 63 characters"),
        ("http://a." + "b" * 64 + "/", "URL has a label longer than 63 characters"),
        ("http://h\u3000x/", "URL has a host that is not a valid IDNA name"),
        ("http://h\u00e9\u200bx.test/", "URL has a host that is not a valid IDNA name"),
        ("http://\u2603.test/", "URL has a host that is not a valid IDNA name"),
        ("http://\u0915\u094d\u200d\u0937.test/", "the zero-width (non-)joiner '\\u200d'"),
        ("http://h.test/\udc80", "URL holds the lone surrogate '\\udc80'"),
        ("http://h.test/?q=\ud800", "URL holds the lone surrogate '\\ud800'"),
        ("http://h\udc80.test/", "URL holds the lone surrogate"),
        ("http://h.test/" + "a" * 65_536, "URL is longer than 65,536 characters"),
        # aiohttp refused these on every attempt (Basic credentials are Latin-1).
        ("http://a\\b@h.test/x", "URL has '\\\\' in its user name or password"),
        ("http://%E2%82%AC@h.test/x", "user name or password that Latin-1 cannot encode"),
        ("http://u:s3cr3t\u20ac@h.test/", "Latin-1 cannot encode: 'http://u@h.test/'"),
        ("http://h.test:99999/x?token=s3cr3t", "'http://h.test:99999/x'"),
        ("http://u:s3cr3t@h.test:99999/x", "'http://u@h.test:99999/x'"),
    ],
)
def test_a_url_no_request_could_be_made_to_is_refused_at_construction(
    url: str, message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)) as info:
        EventSource(url)
    assert "s3cr3t" not in str(info.value)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "localhost:8000/stream",
            "URL has the scheme 'localhost', not http or https: 'localhost:8000/stream'; "
            "did you mean 'http://localhost:8000/stream'?",
        ),
        (
            "127.0.0.1:8000/stream",
            "URL is not absolute (no http or https scheme): '127.0.0.1:8000/stream'; "
            "did you mean 'http://127.0.0.1:8000/stream'?",
        ),
        ("h.test/x?token=s3cr3t", "did you mean 'http://h.test/x'?"),
        ("localhost/stream", "did you mean 'http://localhost/stream'?"),
        ("[::1]:8000/x", "did you mean 'http://[::1]:8000/x'?"),
    ],
)
def test_a_url_without_a_scheme_that_looks_like_host_and_path_gets_a_hint(
    url: str, message: str
) -> None:
    # The CLI takes these forms (http:// assumed); the library refuses them,
    # and says which URL was probably meant.
    with pytest.raises(ValueError, match=re.escape(message)) as info:
        EventSource(url)
    assert "s3cr3t" not in str(info.value)


@pytest.mark.parametrize(
    "url",
    [
        "/stream",  # a path: no host to guess
        "stream",  # one word: a path as likely as a host
        "mailto:a@h.test",  # another scheme
        "ftp://h.test/x",
        "localhost:99999/stream",  # the guess would be refused too
    ],
)
def test_no_hint_is_given_where_no_http_url_is_a_likely_guess(url: str) -> None:
    with pytest.raises(ValueError, match=r"^URL ") as info:
        EventSource(url)
    assert "did you mean" not in str(info.value)


def test_a_proxy_url_without_a_scheme_gets_the_same_hint() -> None:
    with pytest.raises(ValueError, match=re.escape("did you mean 'http://proxy.test:3128'?")):
        check_url("proxy.test:3128", what="proxy URL")


def test_params_that_make_the_url_too_long_for_httpx_are_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="URL is longer than 65,536 characters"):
        EventSource("http://127.0.0.1:9/", params={"q": "a" * 65_536})


def test_a_url_that_is_not_a_str_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="URL must be a str, got bytes"):
        EventSource(b"http://127.0.0.1:9/")  # type: ignore[arg-type]


@pytest.mark.parametrize("params", [None, {"a": "1"}])
def test_spaces_around_the_url_are_dropped_as_the_url_parser_does(
    params: dict[str, str] | None,
) -> None:
    es = EventSource(" \thttp://127.0.0.1:9/x \n", params=params)
    assert es.url == "http://127.0.0.1:9/x" + ("?a=1" if params else "")


@pytest.mark.parametrize(
    "url",
    [
        "http://[::1]:8000/x",
        "HTTPS://Host.Test/x",
        "http://h.test:/x",
        "http://例え.テスト/",
        "http://ÖBB.test/",
        "http://xn--r8jz45g.xn--zckzah/",
        "http://h.test./x",
        "http://" + "a" * 63 + ".test/",
        "http://h.test/" + "a" * 65_000,
        "http://h.test/消息?q=é#ü",
        "http://é:p@h.test/",
        "http://%FF@h.test/",
    ],
)
def test_valid_urls_are_accepted(url: str) -> None:
    assert EventSource(url).url == url


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("location", "problem"),
    [
        ("http://1.2.3.4.5/x", "not a valid IPv4 address"),
        ("http://a b.test/x", "' ' in its host"),
        # Issue 13: retried for ever as network errors, or IDNAError out of `async for`.
        ("http://xn--zz/x", "not a valid IDNA name"),
        ("http://a..b/x", "an empty label in its host"),
        ("http://" + "a" * 64 + ".test/", "a label longer than 63 characters"),
        ("http://h\u3000x/", "not a valid IDNA name"),
    ],
)
async def test_a_redirect_to_an_unsendable_url_is_a_redirect_error(
    combo: Combo, server: LoopbackServer, location: str, problem: str
) -> None:
    async def redirect(request: web.Request) -> web.StreamResponse:
        return web.Response(status=307, headers={"Location": location})

    server.handle("/", redirect)
    es = combo.source(
        server.url("/"),
        retry_policy=RetryPolicy(max_reconnects=0),
    )
    with pytest.raises(RedirectError, match="invalid URL") as info, anyio.fail_after(LIMIT):
        async with es:
            await es.__anext__()
    assert problem in str(info.value)
    assert len(server.requests) == 1


#: Hosts the transports' own IDNA encoding refuses, every time: the URL parser
#: of httpx (``build_request``), or the socket layer's codec under aiohttp.
REFUSED_BY_A_TRANSPORT = [
    "xn--zz",
    "a..b",
    ".a.test",
    "a" * 64 + ".test",
    "h\u3000x",
    "\u2603.test",
    "h\u00e9\u200bx.test",
    "xn--zca.foo_bar",
]
#: Hosts both transports encode: the rule must pass every one of them.
ENCODED_BY_BOTH = [
    "a.test",
    "a.test.",
    "a" * 63 + ".test",
    "localhost",
    "127.0.0.1",
    "例え.テスト",
    "ÖBB.test",
    "bücher.example",
    "xn--r8jz45g.xn--zckzah",
    "\u00df\u0336.test",
    "foo_bar.test",
]


def transport_refusal(host: str) -> str | None:
    """What httpx or aiohttp's yarl and socket codec raise for ``host``, or ``None``."""
    url = f"http://{host}/"
    try:
        with httpx.Client(trust_env=False) as client:
            client.build_request("GET", url)
        yarl.URL(url).raw_host.encode("idna")  # type: ignore[union-attr]
    except (UnicodeError, httpx.InvalidURL) as exc:
        return type(exc).__name__
    return None


@pytest.mark.parametrize("host", REFUSED_BY_A_TRANSPORT + ENCODED_BY_BOTH)
def test_the_host_rule_refuses_what_a_transport_refuses_and_passes_what_both_encode(
    host: str,
) -> None:
    # The rule in _sendable keeps up with httpx, yarl and idna only if checked
    # against them: a host one of them refuses is refused on every attempt.
    refused = transport_refusal(host)
    assert (refused is not None) == (host in REFUSED_BY_A_TRANSPORT), refused
    if refused is None:
        assert check_url(f"http://{host}/") == f"http://{host}/"
    else:
        with pytest.raises(ValueError, match=r"in its host|valid IDNA name|zero-width"):
            check_url(f"http://{host}/")


#: Characters tried in each part of a URL: printable ASCII, and some beyond.
SWEEP = [chr(code) for code in range(0x20, 0x7F)] + list("é\u3000\u200b\ufeff\u2028\xa0ﬁ\uff0f😀")


@pytest.mark.anyio
async def test_every_url_the_rule_passes_reaches_the_network_on_both_transports(
    combo: Combo,
) -> None:
    # Like the header probe above: a URL the rule passes but a transport refuses
    # would fail every attempt as a network error (or escape as another error).
    transport = make_transport(combo.transport)  # type: ignore[arg-type]
    tried = 0
    try:
        with refused_port() as port:
            places = ["a{}b@", "u:a{}b@", "{}/a{}b", "{}/?a{}b", "{}/#a{}b"]
            for place in places:
                for char in SWEEP:
                    if "@" in place:
                        url = f"http://{place.format(char)}{HOST}:{port}/"
                    else:
                        url = f"http://{HOST}:{port}" + place.format("", char)
                    try:
                        url = check_url(url)
                    except ValueError:
                        continue
                    tried += 1
                    with pytest.raises(ConnectError), anyio.fail_after(LIMIT):
                        await transport.open(Request("GET", url))
    finally:
        await transport.aclose()
    assert tried > 400  # most pass


# -- request bodies ----------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("hook", [False, True], ids=["given", "from-prepare_request"])
async def test_a_bytes_like_or_str_body_is_sent_as_bytes_on_every_transport(
    combo: Combo, server: LoopbackServer, hook: bool
) -> None:
    # Issue 13: httpx took no bytearray or memoryview (RuntimeError out of
    # `async for`); aiohttp sent them.
    bodies: list[object] = [bytearray(b"ba"), memoryview(b"mv"), "s\u00e9", b"b"]
    server.handle("/", first_then(b"data: a\n\n"))
    for body in bodies:

        def set_body(attempt: ConnectAttempt, body: object = body) -> None:
            attempt.body = body  # type: ignore[assignment]

        options: dict[str, object] = {"prepare_request": set_body} if hook else {"body": body}
        es = combo.source(
            server.url("/"), method="POST", retry_policy=RetryPolicy(max_reconnects=0), **options
        )
        async with es:
            await collect(es, 1)
    assert [r.body for r in server.requests] == [b"ba", b"mv", "s\u00e9".encode(), b"b"]


@pytest.mark.anyio
async def test_a_body_prepare_request_sets_to_another_type_is_a_type_error_before_sending(
    combo: Combo, server: LoopbackServer
) -> None:
    def set_body(attempt: ConnectAttempt) -> None:
        attempt.body = {"a": 1}  # type: ignore[assignment]

    server.handle("/", first_then(b"data: a\n\n"))
    es = combo.source(server.url("/"), method="POST", prepare_request=set_body)
    try:
        with pytest.raises(TypeError, match="the body must be bytes, str or None, not dict"):
            await es.__anext__()
    finally:
        await es.aclose()
    assert server.requests == []


@pytest.mark.parametrize("body", [5, {"a": 1}, ["a"]])
def test_a_body_of_another_type_is_a_type_error_at_construction(body: object) -> None:
    with pytest.raises(TypeError, match="body must be bytes, str or None"):
        EventSource("http://127.0.0.1:9/", method="POST", body=body)  # type: ignore[arg-type]


def test_a_str_body_utf8_cannot_encode_is_a_value_error_at_construction() -> None:
    with pytest.raises(ValueError, match="body cannot be encoded as UTF-8"):
        EventSource("http://127.0.0.1:9/", method="POST", body="a\udc80")
