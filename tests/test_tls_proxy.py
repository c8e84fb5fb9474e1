"""TLS, client certificates, proxies and HTTP/2 on every transport and backend.

Everything runs on 127.0.0.1: a self-signed certificate made with the
``openssl`` command for an https scenario server, and a tiny forwarding proxy
(``_servers.ForwardingProxy``) for plain-HTTP proxying.
"""

from __future__ import annotations

import base64
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web

from eventsource import ConnectError, EventSource, MessageEvent, RetryPolicy, TransportError
from eventsource.transports import AiohttpTransport, HttpxTransport

from ._fixtures import Combo, collect
from ._fixtures import anyio_backend as anyio_backend
from ._fixtures import combo as combo
from ._fixtures import server as server
from ._servers import (
    ForwardingProxy,
    LoopbackServer,
    client_sockets_to,
    open_stream,
    refused_port,
    running_proxy,
    running_server,
    sse,
)

pytestmark = pytest.mark.anyio


@dataclass(frozen=True)
class Pair:
    """A self-signed certificate and its key, as PEM files."""

    cert: Path
    key: Path


def make_pair(directory: Path, name: str) -> Pair:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    pair = Pair(directory / f"{name}.crt", directory / f"{name}.key")
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            f"/CN={name}",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(pair.key),
            "-out",
            str(pair.cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return pair


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Pair, Pair]:
    """The server's certificate for 127.0.0.1, and a client certificate."""
    directory = tmp_path_factory.mktemp("certs")
    return make_pair(directory, "127.0.0.1"), make_pair(directory, "client")


def server_context(pair: Pair, client_ca: Path | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pair.cert, pair.key)
    if client_ca is not None:
        context.load_verify_locations(client_ca)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def trusting(pair: Pair) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(pair.cert))


async def hello(request: web.Request) -> web.StreamResponse:
    return await sse(request, b"data: hello\n\n")


@pytest.fixture
def https_server(certs: tuple[Pair, Pair]) -> Iterator[LoopbackServer]:
    with running_server(server_context(certs[0])) as server:
        server.handle("/", hello)
        yield server


@pytest.fixture
def mtls_server(certs: tuple[Pair, Pair]) -> Iterator[LoopbackServer]:
    """An https server that requires the client certificate."""
    server_pair, client_pair = certs
    with running_server(server_context(server_pair, client_ca=client_pair.cert)) as server:
        server.handle("/", hello)
        yield server


def caused_by(error: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = error
    for _ in range(20):
        if seen is None:
            return False
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


async def first_event(es: EventSource) -> MessageEvent:
    async with es:
        [event] = await collect(es, 1)
    return event


# -- TLS ------------------------------------------------------------------------------


async def test_an_untrusted_certificate_is_a_transport_error_by_default(
    combo: Combo, https_server: LoopbackServer
) -> None:
    es = combo.source(
        https_server.url("/"),
        retry_policy=RetryPolicy(max_reconnects=0),
    )
    with pytest.raises(TransportError) as caught:
        await first_event(es)
    assert caused_by(caught.value, ssl.SSLCertVerificationError)
    assert isinstance(caught.value, ConnectError)  # no connection: nothing was sent
    assert https_server.requests == []


async def test_verify_with_a_context_that_trusts_the_certificate_works(
    combo: Combo, https_server: LoopbackServer, certs: tuple[Pair, Pair]
) -> None:
    es = combo.source(https_server.url("/"), verify=trusting(certs[0]))
    event = await first_event(es)
    assert (event.data, event.origin) == ("hello", https_server.origin)
    assert https_server.origin.startswith("https://")


async def test_verify_may_name_a_ca_file(
    combo: Combo, https_server: LoopbackServer, certs: tuple[Pair, Pair]
) -> None:
    event = await first_event(combo.source(https_server.url("/"), verify=str(certs[0].cert)))
    assert event.data == "hello"


async def test_an_https_stream_read_to_its_end_leaves_no_socket_once_closed(
    combo: Combo, https_server: LoopbackServer
) -> None:
    # A one-shot stream whose body ended: on the aiohttp session of ours (whose
    # connections are closed, not pooled) the TLS shutdown outlived aclose(),
    # and a loop that ended then left the socket to the collector (a
    # ResourceWarning in a later test).
    es = combo.source(https_server.url("/"), verify=False, reconnect=False)
    async with es:
        assert [event.data async for event in es] == ["hello"]
    assert client_sockets_to(https_server.port) == 0


async def test_an_https_stream_closed_beside_another_leaves_no_socket_once_closed(
    combo: Combo, https_server: LoopbackServer
) -> None:
    # The other stream keeps the aiohttp session of ours open, so nothing but the
    # response's own close can wait for the ended stream's TLS shutdown.
    gate = "go"

    async def held(request: web.Request) -> web.StreamResponse:
        response = await open_stream(request)
        await response.write(b"data: held\n\n")
        await https_server.wait_gate(gate)
        return response

    https_server.handle("/held", held)
    other = combo.source(https_server.url("/held"), verify=False, reconnect=False)
    try:
        assert (await other.__anext__()).data == "held"
        es = combo.source(https_server.url("/"), verify=False, reconnect=False)
        async with es:
            assert [event.data async for event in es] == ["hello"]
        assert client_sockets_to(https_server.port) == 1
    finally:
        https_server.open_gate(gate)
        await other.aclose()


async def test_verify_false_skips_the_check(combo: Combo, https_server: LoopbackServer) -> None:
    event = await first_event(combo.source(https_server.url("/"), verify=False))
    assert event.data == "hello"


async def test_a_client_certificate_is_presented_with_cert(
    combo: Combo, mtls_server: LoopbackServer, certs: tuple[Pair, Pair]
) -> None:
    server_pair, client_pair = certs
    es = combo.source(
        mtls_server.url("/"),
        verify=str(server_pair.cert),  # a CA file: the client certificate goes in our context
        cert=(str(client_pair.cert), str(client_pair.key)),
    )
    assert (await first_event(es)).data == "hello"


async def test_a_client_certificate_and_key_in_one_pem_file_work(
    combo: Combo, mtls_server: LoopbackServer, certs: tuple[Pair, Pair], tmp_path: Path
) -> None:
    server_pair, client_pair = certs
    combined = tmp_path / "client.pem"
    combined.write_bytes(client_pair.cert.read_bytes() + client_pair.key.read_bytes())
    es = combo.source(mtls_server.url("/"), verify=str(server_pair.cert), cert=str(combined))
    assert (await first_event(es)).data == "hello"


async def test_without_the_client_certificate_the_server_refuses(
    combo: Combo, mtls_server: LoopbackServer, certs: tuple[Pair, Pair]
) -> None:
    es = combo.source(
        mtls_server.url("/"),
        verify=trusting(certs[0]),
        retry_policy=RetryPolicy(max_reconnects=0),
    )
    with pytest.raises(TransportError):
        await first_event(es)
    assert mtls_server.requests == []


# -- proxies --------------------------------------------------------------------------


@pytest.fixture
def proxy() -> Iterator[ForwardingProxy]:
    with running_proxy() as proxy:
        yield proxy


async def test_a_proxy_carries_the_request_to_the_server(
    combo: Combo, server: LoopbackServer, proxy: ForwardingProxy
) -> None:
    server.handle("/", hello)
    event = await first_event(combo.source(server.url("/?a=1"), proxy=proxy.url))
    assert event.data == "hello"
    [seen] = proxy.requests
    assert (seen.method, seen.target) == ("GET", server.url("/?a=1"))
    assert seen.headers["Accept"] == "text/event-stream"
    [arrived] = server.requests
    assert (arrived.path, arrived.query_string) == ("/", "a=1")


async def test_proxy_credentials_go_to_the_proxy_only(
    combo: Combo, server: LoopbackServer, proxy: ForwardingProxy
) -> None:
    server.handle("/", hello)
    proxy_url = proxy.url.replace("http://", "http://user:pa55@")
    assert (await first_event(combo.source(server.url("/"), proxy=proxy_url))).data == "hello"
    expected = "Basic " + base64.b64encode(b"user:pa55").decode()
    assert proxy.requests[0].headers["Proxy-Authorization"] == expected
    assert "Proxy-Authorization" not in server.requests[0].headers


@pytest.mark.parametrize("trust_env", [None, True, False])
async def test_environment_proxies_follow_trust_env_and_the_transports_default(
    combo: Combo,
    server: LoopbackServer,
    proxy: ForwardingProxy,
    monkeypatch: pytest.MonkeyPatch,
    trust_env: bool | None,
) -> None:
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in ("HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(name, proxy.url)
    server.handle("/", hello)
    es = combo.source(server.url("/"), trust_env=trust_env)
    assert (await first_event(es)).data == "hello"
    # None keeps the transport's default: httpx trusts the environment, aiohttp does not.
    proxied = trust_env if trust_env is not None else combo.transport == "httpx"
    assert len(proxy.requests) == (1 if proxied else 0)
    assert len(server.requests) == 1


async def test_a_proxy_that_refuses_is_named_not_the_server(combo: Combo) -> None:
    # It said "could not connect to http://127.0.0.1:9/stream": the server's URL,
    # which the client never tried to reach (new-user trial).
    with refused_port() as port:
        es = combo.source(
            "http://127.0.0.1:9/stream", proxy=f"http://user:pw@127.0.0.1:{port}", reconnect=False
        )
        with pytest.raises(ConnectError) as caught:
            await first_event(es)
        await es.aclose()
    assert str(caught.value) == (
        f"could not connect to the proxy 127.0.0.1:{port} for http://127.0.0.1:9/stream: "
        "connection refused"
    )


def test_the_blocking_client_names_a_proxy_that_refuses() -> None:
    from eventsource.sync import EventSource as SyncEventSource
    from eventsource.sync import HttpxTransport as SyncHttpxTransport

    with refused_port() as port:
        transport = SyncHttpxTransport(proxy=f"http://127.0.0.1:{port}")
        es = SyncEventSource("http://127.0.0.1:9/", transport=transport, reconnect=False)
        with es, pytest.raises(ConnectError, match=f"the proxy 127.0.0.1:{port} for http"):
            next(iter(es))


# -- HTTP/2 ---------------------------------------------------------------------------


def test_http2_with_aiohttp_is_a_type_error_at_construction() -> None:
    with pytest.raises(TypeError, match="http2"):
        AiohttpTransport(http2=True)


@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_http2_with_httpx_falls_back_to_http_1_1_when_the_server_has_no_h2(
    https_server: LoopbackServer, certs: tuple[Pair, Pair]
) -> None:
    pytest.importorskip("h2", reason="http2=True needs the h2 package (the http2 extra)")
    es = EventSource(
        https_server.url("/"), transport=HttpxTransport(http2=True, verify=trusting(certs[0]))
    )
    assert (await first_event(es)).data == "hello"
    assert https_server.requests[0].headers["Accept"] == "text/event-stream"
