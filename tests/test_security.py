"""Hostile redirects and secrets: bounded hops, safe schemes, credentials kept home.

Two servers are two origins; ``localhost`` and ``127.0.0.1`` are two origins
too, though one socket serves both. Secret values never show in logs, reprs or
exception messages.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import shutil
import ssl
import subprocess
import warnings
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import httpx
import pytest
from aiohttp import web

from eventsource import (
    ConnectAttempt,
    EventSource,
    EventSourceError,
    ReadyState,
    RedirectError,
    RetryPolicy,
    StatusError,
    TransportError,
)
from eventsource.testing import Drop, Event, Redirect, Respond, SSEServer
from eventsource.transports import AiohttpTransport

from ._fixtures import FAST, Combo, collect
from ._fixtures import anyio_backend as anyio_backend
from ._fixtures import combo as combo
from ._fixtures import other_server as other_server
from ._fixtures import server as server
from ._servers import LoopbackServer, Recorded, refused_port, running_proxy, sse

AUTH = "Bearer sekrit-auth-6f1d"
COOKIE = "session=sekrit-cookie-83aa"
API_KEY = "sekrit-api-key-19c2"
TOKEN = "sekrit-query-token-5e07"
# The test servers' own logs (the access log shows the query) are not the client's.
SERVER_LOGGERS = ("aiohttp.access", "aiohttp.server", "aiohttp.web")
SECRETS = (AUTH, "sekrit-auth-6f1d", COOKIE, "sekrit-cookie-83aa", API_KEY, TOKEN)
CREDENTIALS = {"Authorization": AUTH, "Cookie": COOKIE, "X-API-Key": API_KEY}


def client(url: str, **options: object) -> EventSource:
    return EventSource(
        url,
        headers={**CREDENTIALS, "X-Public": "visible"},
        secret_headers=["x-api-key"],
        retry=0.001,
        **options,  # type: ignore[arg-type]
    )


async def first_event_or_error(es: EventSource) -> object:
    with anyio.fail_after(10):
        async with es:
            try:
                return await es.__anext__()
            except EventSourceError as exc:
                return exc


# -- hop limits and schemes ---------------------------------------------------------


@pytest.mark.asyncio
async def test_a_redirect_loop_ends_in_redirect_error() -> None:
    async with SSEServer() as server:
        server.route("/a", Redirect("/b"))
        server.route("/b", Redirect("/a"))
        result = await first_event_or_error(EventSource(server.url_for("/a"), max_redirects=5))
        assert isinstance(result, RedirectError)
        assert str(result).startswith("more than 5 redirects (a loop)")
        assert len(server.requests) == 6  # as fetch: a loop is bounded by the hop limit


@pytest.mark.asyncio
async def test_a_request_aiohttp_refuses_to_build_fails_at_once_not_retried() -> None:
    # aiohttp refuses a session's auth= beside an Authorization header, with a
    # ValueError at every attempt: it was turned into a TransportError and
    # retried for ever, a loop that could not succeed. (Credentials in the URL
    # beside the header are refused when the EventSource is made.)
    async with SSEServer() as server:
        server.route("/", Event("x"))
        with pytest.warns(DeprecationWarning, match="auth"):
            session = aiohttp.ClientSession(auth=aiohttp.BasicAuth("user", "pw"))
        try:
            es = EventSource(
                server.url,
                headers={"Authorization": "Bearer t"},
                transport=AiohttpTransport(session=session),
                **FAST,
            )
            with anyio.fail_after(5), pytest.raises(ValueError, match="Cannot combine"):
                async with es:
                    await anext(es)
        finally:
            await session.close()
        assert es.readyState is ReadyState.CLOSED
        assert server.requests == []


@pytest.mark.asyncio
@pytest.mark.parametrize(("hops", "limit", "followed"), [(3, 3, True), (4, 3, False)])
async def test_a_redirect_chain_beyond_max_redirects_ends_in_redirect_error(
    hops: int, limit: int, followed: bool
) -> None:
    async with SSEServer() as server:
        for n in range(hops):
            server.route(f"/r{n}", Redirect(f"/r{n + 1}"))
        server.route(f"/r{hops}", Event("arrived"))
        es = EventSource(server.url_for("/r0"), max_redirects=limit)
        result = await first_event_or_error(es)
        if followed:
            assert getattr(result, "data", None) == "arrived"
        else:
            assert isinstance(result, RedirectError)
            assert f"more than {limit} redirects" in str(result)
            assert len(server.requests) == limit + 1


@pytest.mark.asyncio
async def test_the_default_redirect_limit_is_twenty() -> None:
    async with SSEServer() as server:
        for n in range(30):
            server.route(f"/r{n}", Redirect(f"/r{n + 1}"))
        result = await first_event_or_error(EventSource(server.url_for("/r0")))
        assert isinstance(result, RedirectError)
        assert "more than 20 redirects" in str(result)
        assert len(server.requests) == 21


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "location",
    [
        "file:///etc/passwd",
        "ftp://127.0.0.1/stream",
        "javascript:alert(1)",
        "data:text/event-stream,data:%20x%0A%0A",
        "gopher://127.0.0.1:70/",
    ],
)
async def test_a_redirect_to_anything_but_http_or_https_is_refused(location: str) -> None:
    async with SSEServer() as server:
        server.route("/go", Redirect(location))
        result = await first_event_or_error(EventSource(server.url_for("/go")))
        assert isinstance(result, RedirectError)
        assert "not http or https" in str(result)
        assert len(server.requests) == 1


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "location",
    ["http://[::1", "http://127.0.0.1:99999/x", "http://127.0.0.1:port/x", "http://]/"],
)
async def test_a_redirect_to_a_malformed_url_ends_in_redirect_error(location: str) -> None:
    async with SSEServer() as server:
        server.route("/go", Redirect(location))
        result = await first_event_or_error(EventSource(server.url_for("/go")))
        assert isinstance(result, RedirectError)
        assert "invalid URL" in str(result)
        assert len(server.requests) == 1


# -- credentials across origins -----------------------------------------------------


def sent_secrets(request: object) -> dict[str, str | None]:
    headers = request.headers  # type: ignore[attr-defined]
    return {name: headers.get(name) for name in (*CREDENTIALS, "X-Public")}


@pytest.mark.asyncio
async def test_credentials_and_secret_headers_never_reach_another_origin() -> None:
    async with SSEServer() as home, SSEServer() as other:
        home.route("/go", Redirect(other.url_for("/landing")))
        other.route("/landing", Event("there"))
        result = await first_event_or_error(client(home.url_for("/go")))
        assert getattr(result, "data", None) == "there"
        assert sent_secrets(home.requests[0]) == {**CREDENTIALS, "X-Public": "visible"}
        assert sent_secrets(other.requests[0]) == {
            "Authorization": None,
            "Cookie": None,
            "X-API-Key": None,
            "X-Public": "visible",
        }


@pytest.mark.asyncio
async def test_localhost_and_127_0_0_1_are_different_origins() -> None:
    async with SSEServer() as server:
        server.route("/go", Redirect(f"http://localhost:{server.port}/landing"))
        server.route("/landing", Event("there"))
        result = await first_event_or_error(client(server.url_for("/go")))
        assert getattr(result, "data", None) == "there"
        first, landed = server.requests
        assert first.headers["Host"].startswith("127.0.0.1")
        assert landed.headers["Host"].startswith("localhost")
        assert sent_secrets(first)["Authorization"] == AUTH
        assert {k: v for k, v in sent_secrets(landed).items() if v} == {"X-Public": "visible"}


@pytest.mark.asyncio
async def test_credentials_stay_dropped_when_a_redirect_comes_back_to_the_first_origin() -> None:
    async with SSEServer() as home, SSEServer() as other:
        home.route("/go", Redirect(other.url_for("/bounce")))
        other.route("/bounce", Redirect(home.url_for("/landing")))
        home.route("/landing", Event("back"))
        result = await first_event_or_error(client(home.url_for("/go")))
        assert getattr(result, "data", None) == "back"
        landing = home.requests[1]
        assert landing.path == "/landing"
        assert {k: v for k, v in sent_secrets(landing).items() if v} == {"X-Public": "visible"}


@pytest.mark.asyncio
async def test_a_same_origin_redirect_keeps_the_credentials() -> None:
    async with SSEServer() as server:
        server.route("/go", Redirect("/landing"))
        server.route("/landing", Event("here"))
        result = await first_event_or_error(client(server.url_for("/go")))
        assert getattr(result, "data", None) == "here"
        assert sent_secrets(server.requests[1]) == {**CREDENTIALS, "X-Public": "visible"}


# -- credentials that a session, a client or a hook adds ------------------------------
#
# On every transport and backend: the scenario servers run in threads (tests/_servers.py).

BASIC_USER = ("user", "sekrit-pass-4b1e")
BASIC = "Basic " + base64.b64encode(":".join(BASIC_USER).encode()).decode()
JAR_COOKIE = "crumb=from-the-jar"


def header(request: Recorded, name: str) -> str | None:
    return next((v for k, v in request.headers.items() if k.lower() == name.lower()), None)


def bounce(home: LoopbackServer, other: LoopbackServer) -> None:
    """``home/go`` redirects (307) to ``other/landing``, which sends one event and ends."""

    async def go(request: web.Request) -> web.StreamResponse:
        raise web.HTTPTemporaryRedirect(other.url("/landing"))

    async def landing(request: web.Request) -> web.StreamResponse:
        return await sse(request, b"data: there\n\n")

    home.handle("/go", go)
    other.handle("/landing", landing)


@contextlib.asynccontextmanager
async def users_session(
    combo: Combo,
    headers: dict[str, str] | None = None,
    basic: tuple[str, str] | None = None,
    proxy_login: tuple[str, str] | None = None,
    **settings: Any,
) -> AsyncIterator[dict[str, Any]]:
    """The option that gives ``combo`` the user's own aiohttp session or httpx client."""
    if combo.transport == "aiohttp":
        with warnings.catch_warnings():
            # aiohttp 3.14 deprecates BasicAuth, auth= and proxy_auth= (for default
            # headers, also tested); sessions made with them are still about.
            warnings.simplefilter("ignore", DeprecationWarning)
            if basic:
                settings["auth"] = aiohttp.BasicAuth(*basic)
            if proxy_login:
                settings["proxy_auth"] = aiohttp.BasicAuth(*proxy_login)
            session = aiohttp.ClientSession(headers=headers, **settings)
        async with session:
            yield {"session": session}
    else:
        if proxy_login:
            settings["proxy"] = settings["proxy"].replace("://", "://{}:{}@".format(*proxy_login))
        async with httpx.AsyncClient(headers=headers, auth=basic, **settings) as client:
            yield {"client": client}


@pytest.mark.anyio
@pytest.mark.parametrize("source", ["headers", "prepare_request", "default_headers", "auth"])
async def test_no_credential_reaches_another_origin_whatever_supplied_it(
    combo: Combo, server: LoopbackServer, other_server: LoopbackServer, source: str
) -> None:
    """``headers=``, a hook, the session's or client's default headers or its auth."""
    bounce(server, other_server)
    sent = {**CREDENTIALS, "X-Public": "visible"}
    defaults: dict[str, str] | None = None
    options: dict[str, Any] = {"secret_headers": ["x-api-key"], **FAST}
    if source == "headers":
        options["headers"] = sent
    elif source == "prepare_request":

        def add_credentials(attempt: ConnectAttempt) -> None:
            attempt.headers.update(sent)

        options["prepare_request"] = add_credentials
    elif source == "default_headers":
        defaults = sent
    else:
        defaults = {"X-Public": "visible"}
        sent = {"Authorization": BASIC, "X-Public": "visible"}
    basic = BASIC_USER if source == "auth" else None
    async with users_session(combo, defaults, basic) as session:
        es = combo.source(server.url("/go"), **options, **session)
        async with es:
            events = await collect(es, 2)
    assert [(e.data, e.origin) for e in events] == [("there", other_server.origin)] * 2
    # Each reconnect goes back to the original URL, credentials and all.
    assert [r.path for r in server.requests] == ["/go", "/go"]
    assert [r.path for r in other_server.requests] == ["/landing", "/landing"]
    for home in server.requests:
        assert {name: header(home, name) for name in sent} == sent
    for there in other_server.requests:
        assert {name: header(there, name) for name in (*CREDENTIALS, "X-Public")} == {
            "Authorization": None,
            "Cookie": None,
            "X-API-Key": None,
            "X-Public": "visible",
        }
        assert header(there, "Accept") == "text/event-stream"


@pytest.mark.anyio
async def test_a_cookie_jar_keeps_its_own_rules_across_origins(
    combo: Combo, server: LoopbackServer, other_server: LoopbackServer
) -> None:
    """A default ``Cookie`` header stays home; the jar's cookies go where its rules say.

    Cookies do not tell ports apart, in the browser either: the jar's cookie for
    127.0.0.1 goes to both servers, the header set by hand to the first only.
    """
    bounce(server, other_server)
    name, _, value = JAR_COOKIE.partition("=")
    defaults = {"Cookie": COOKIE}
    async with users_session(combo, defaults, cookies={name: value}) as session:
        es = combo.source(server.url("/go"), **session, **FAST)
        async with es:
            [event] = await collect(es, 1)
    assert event.origin == other_server.origin
    [home], [there] = server.requests, other_server.requests
    assert COOKIE in (header(home, "Cookie") or "")
    assert header(there, "Cookie") == JAR_COOKIE


@pytest.mark.anyio
async def test_a_hop_to_another_origin_still_goes_through_the_sessions_proxy(
    combo: Combo, server: LoopbackServer, other_server: LoopbackServer
) -> None:
    """Its login too: a proxy's credentials are not an origin's."""
    bounce(server, other_server)
    with running_proxy() as proxy:
        async with users_session(
            combo, dict(CREDENTIALS), proxy=proxy.url, proxy_login=BASIC_USER
        ) as session:
            es = combo.source(server.url("/go"), **session, **FAST)
            async with es:
                [event] = await collect(es, 1)
    assert event.origin == other_server.origin
    assert [seen.target for seen in proxy.requests] == [
        server.url("/go"),
        other_server.url("/landing"),
    ]
    assert [seen.headers.get("Proxy-Authorization") for seen in proxy.requests] == [BASIC, BASIC]
    [there] = other_server.requests
    # X-API-Key is secret whether named or not (a well-known API-key header).
    assert [header(there, name) for name in CREDENTIALS] == [None, None, None]


# -- https to http ------------------------------------------------------------------


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def https_server(cert: Path, key: Path) -> SSEServer:
    """The test server, serving https with this certificate."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return SSEServer(ssl_context=context)


@pytest.mark.asyncio
@pytest.mark.parametrize("allowed", [False, True])
async def test_an_https_to_http_redirect_is_refused_unless_allowed(
    tls_files: tuple[Path, Path], allowed: bool
) -> None:
    cert, key = tls_files
    trust = ssl.create_default_context(cafile=str(cert))
    async with SSEServer() as plain, https_server(cert, key) as secure:
        plain.route("/landing", Event("downgraded"))
        secure.route("/go", Redirect(plain.url_for("/landing")))
        es = client(
            secure.url_for("/go"),
            transport=AiohttpTransport(verify=trust),
            allow_insecure_redirects=allowed,
        )
        result = await first_event_or_error(es)
        if allowed:
            assert getattr(result, "data", None) == "downgraded"
            assert {k: v for k, v in sent_secrets(plain.requests[0]).items() if v} == {
                "X-Public": "visible"
            }
        else:
            assert isinstance(result, RedirectError)
            assert "https to http" in str(result)
            assert plain.requests == []


# -- secrets never shown ------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_connect_attempt_repr_names_headers_but_shows_no_secret() -> None:
    attempt = ConnectAttempt(
        "POST",
        f"https://user:{TOKEN}@api.test/v1?token={TOKEN}",
        dict(CREDENTIALS),
        API_KEY.encode(),
    )
    text = repr(attempt)
    assert_no_secret(text)
    assert "https://api.test/v1" in text
    assert "Authorization" in text
    assert "X-API-Key" in text


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


@pytest.mark.asyncio
@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
async def test_secret_values_never_appear_in_logs_reprs_or_error_messages(
    caplog: pytest.LogCaptureFixture, transport: str
) -> None:
    caplog.set_level(logging.DEBUG)
    shown: list[str] = []

    def remember(item: object) -> None:
        shown.extend([str(item), repr(item)])
        error = getattr(item, "error", None)
        if error is not None:
            shown.extend([str(error), repr(error), str(error.__cause__)])

    def hook(attempt: ConnectAttempt) -> None:
        shown.extend([str(attempt), repr(attempt)])

    async def read_until_error(es: EventSource) -> EventSourceError:
        es.addEventListener("error", remember)
        es.addEventListener("open", remember)
        es.prepare_request = hook
        shown.extend([repr(es), str(es)])
        with anyio.fail_after(10):
            async with es:
                with pytest.raises(EventSourceError) as caught:
                    async for event in es:
                        remember(event)
        shown.extend([repr(es), str(caught.value), repr(caught.value)])
        return caught.value

    async with SSEServer() as home, SSEServer() as other:
        query = f"?token={TOKEN}"
        # A stream that breaks, resumes across origins, then meets a 401 with a body.
        home.script(Event("one", id="1"), Drop())
        home.script(Redirect(other.url_for("/landing") + query))
        other.route("/landing", Respond(401, {"WWW-Authenticate": "Bearer"}, b'{"e":"no"}'))
        error = await read_until_error(
            client(
                home.url + query, retry_policy=RetryPolicy(max_reconnects=2), transport=transport
            )
        )
        assert isinstance(error, StatusError)
        assert error.status == 401
        # A redirect that is refused, and a server that is not there at all.
        home.route("/loop", Redirect("/loop" + query))
        error = await read_until_error(client(home.url_for("/loop") + query, transport=transport))
        assert isinstance(error, RedirectError)
    with refused_port() as port:
        url = f"http://127.0.0.1:{port}/stream{query}"
        error = await read_until_error(
            client(url, retry_policy=RetryPolicy(max_reconnects=1), transport=transport)
        )
        assert isinstance(error, TransportError)
    client_records = [r for r in caplog.records if not r.name.startswith(SERVER_LOGGERS)]
    assert any("reconnecting" in record.getMessage() for record in client_records)
    for record in client_records:
        if record.name.startswith(("httpx", "httpcore")):
            # httpx itself logs each request's URL, query included, at INFO, and
            # httpcore the response headers (a Location) at DEBUG: a documented
            # caveat (docs/reliability.md). The request's header values, never.
            assert_no_secret(record.getMessage().replace(TOKEN, ""))
        else:
            assert_no_secret(record.getMessage())
    for text in shown:
        assert_no_secret(text)
