"""What the ``eventsource`` command says while it cannot connect, and when it stops on its own.

A refused port, an unknown host, an untrusted certificate, a stalled
handshake and a 503 each give one human line per attempt on stderr, on both
transports; ``-q`` silences those lines and ``-v`` adds the lifecycle. The
servers are real, on 127.0.0.1; the unknown host is a ``.invalid`` name that
an in-process resolver refuses, so that no query leaves the machine.
"""

from __future__ import annotations

import asyncio
import errno
import re
import signal
import socket
import ssl
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from eventsource import ConnectError, ReadTimeout, StatusError, TransportError
from eventsource._cli_errors import describe_error
from eventsource.testing import Event, Respond, SSEServer, Stall

from ._servers import LoopbackServer, refused_port, running_server, sse, stalled_port
from .test_cli import TIMEOUT, Runner, _env, run_in_process
from .test_cli import cli as cli
from .test_cli import server as server
from .test_tls_proxy import make_pair, server_context

TRANSPORTS = ["aiohttp", "httpx"]
WAIT = r"\d+\.\d+"


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    return request.param  # type: ignore[no-any-return]


def assert_lines(err: str, *patterns: str) -> None:
    lines = err.splitlines()
    assert len(lines) == len(patterns), err
    for line, pattern in zip(lines, patterns, strict=True):
        assert re.fullmatch(pattern, line), (line, pattern)


# -- a failed attempt is one line by default ---------------------------------------------------


async def read_stderr_lines(process: asyncio.subprocess.Process, count: int) -> list[str]:
    assert process.stderr is not None
    lines = []
    for _ in range(count):
        line = await asyncio.wait_for(process.stderr.readline(), TIMEOUT)
        lines.append(line.decode().rstrip("\n"))
    return lines


@pytest.mark.asyncio
@pytest.mark.parametrize("verbose", [False, True])
async def test_a_refused_port_is_one_line_per_attempt_with_the_wait(
    transport: str, verbose: bool
) -> None:
    # The old command retried a refused port forever and printed nothing without -v.
    with refused_port() as port:
        url = f"http://127.0.0.1:{port}/stream"
        flags = ["-v"] if verbose else []
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "eventsource",
            url,
            "--retry",
            "0.05",
            "--transport",
            transport,
            *flags,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=_env(),
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        try:
            lines = await read_stderr_lines(process, 4 if verbose else 3)
            process.send_signal(signal.SIGINT)
            out, _ = await asyncio.wait_for(process.communicate(), TIMEOUT)
        finally:
            if process.returncode is None:  # pragma: no cover - only when a test hangs
                process.kill()
                await process.wait()
    assert process.returncode == 130
    assert out == b""
    if verbose:
        assert lines[0] == f"eventsource: connecting to {url}"
        for n, line in enumerate(lines[1:], start=1):
            pattern = rf"eventsource: connection refused; retrying in {WAIT} s \(attempt {n}\)"
            assert re.fullmatch(pattern, line), line
    else:
        for line in lines:
            assert re.fullmatch(rf"eventsource: connection refused; retrying in {WAIT} s", line)


def _unavailable(n: int) -> Respond:
    return Respond(503, {"Content-Type": "text/plain"}, f"down for maintenance {n}".encode())


@pytest.mark.asyncio
async def test_a_503_is_one_line_per_attempt_then_the_stream(
    cli: Runner, server: SSEServer, transport: str
) -> None:
    server.script(_unavailable(1))
    server.script(_unavailable(2))
    server.room.publish("at last")
    result = await cli(server.url, "-n", "1", "--retry", "0.01", "--transport", transport)
    assert result.code == 0, result.err
    assert result.out == "message id=1\n  at last\n"
    prefix = r"eventsource: server answered 503 \(text/plain\): down for maintenance"
    assert_lines(
        result.err,
        rf"{prefix} 1; retrying in {WAIT} s",
        rf"{prefix} 2; retrying in {WAIT} s",
    )


@pytest.mark.asyncio
async def test_quiet_silences_the_retry_lines(
    cli: Runner, server: SSEServer, transport: str
) -> None:
    server.script(_unavailable(1))
    server.room.publish("at last")
    result = await cli(server.url, "-n", "1", "--retry", "0.01", "-q", "--transport", transport)
    assert result.code == 0, result.err
    assert result.out == "message id=1\n  at last\n"
    assert result.err == ""
    assert len(server.requests) == 2


@pytest.mark.asyncio
async def test_quiet_still_gives_the_reason_of_a_final_failure(
    cli: Runner, server: SSEServer
) -> None:
    server.script(Respond(401, {"Content-Type": "text/plain"}, b"no"))
    result = await cli(server.url, "-q")
    assert result.code == 1
    assert result.err == "eventsource: server answered 401 (text/plain): no\n"


@pytest.mark.asyncio
async def test_verbose_numbers_the_attempts_and_adds_the_lifecycle(
    cli: Runner, server: SSEServer
) -> None:
    server.script(_unavailable(1))
    server.room.publish("at last")
    result = await cli(server.url, "-n", "1", "--retry", "0.01", "-v")
    assert result.code == 0, result.err
    assert_lines(
        result.err,
        re.escape(f"eventsource: connecting to {server.url}"),
        r"eventsource: server answered 503 \(text/plain\): down for maintenance 1; "
        rf"retrying in {WAIT} s \(attempt 1\)",
        re.escape(f"eventsource: connected to {server.url}"),
        "eventsource: done after 1 event",
    )


@pytest.mark.asyncio
async def test_quiet_and_verbose_together_are_bad_usage(cli: Runner) -> None:
    result = await cli("http://127.0.0.1:9/", "-q", "-v")
    assert result.code == 2
    assert "not allowed with argument" in result.err


@pytest.mark.asyncio
async def test_a_lost_connection_says_so_and_reconnects(
    cli: Runner, server: SSEServer, transport: str
) -> None:
    server.room.preload(2)
    server.script(Event("message 1", id="1"), Stall())
    result = await cli(
        server.url, "-n", "2", "--timeout", "0.2", "--retry", "0.01", "--transport", transport
    )
    assert result.code == 0, result.err
    assert_lines(
        result.err,
        rf"eventsource: connection lost \(timed out waiting for the server\); "
        rf"reconnecting in {WAIT} s",
    )


@pytest.mark.asyncio
@pytest.mark.parametrize("verbose", [False, True])
async def test_a_clean_end_of_stream_is_reported_only_with_verbose(
    cli: Runner, server: SSEServer, verbose: bool
) -> None:
    # A server that ends the response is the ordinary SSE way to ask for a reconnect.
    server.script(Event("first", id="1"))
    server.room.preload(2)
    flags = ["-v"] if verbose else []
    result = await cli(server.url, "-n", "2", "--retry", "0.01", *flags)
    assert result.code == 0, result.err
    assert result.out == "message id=1\n  first\nmessage id=2\n  message 2\n"
    if verbose:
        assert re.search(
            rf"^eventsource: stream ended; reconnecting in {WAIT} s \(attempt 1\)$",
            result.err,
            re.M,
        ), result.err
    else:
        assert result.err == ""


# -- the reason in words, on both transports ---------------------------------------------------


@pytest.mark.asyncio
async def test_a_refused_port_without_reconnect_fails_with_the_reason(
    cli: Runner, transport: str
) -> None:
    with refused_port() as port:
        result = await cli(f"http://127.0.0.1:{port}/", "--no-reconnect", "--transport", transport)
    assert result.code == 1
    assert result.err == "eventsource: connection refused\n"


@pytest.fixture(scope="module")
def untrusted_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackServer]:
    pair = make_pair(tmp_path_factory.mktemp("certs"), "127.0.0.1")

    async def hello(request: Any) -> Any:
        return await sse(request, b"data: hello\n\n")

    with running_server(server_context(pair)) as https:
        https.handle("/", hello)
        yield https


@pytest.mark.asyncio
async def test_an_untrusted_certificate_is_named(
    cli: Runner, untrusted_server: LoopbackServer, transport: str
) -> None:
    # The old line was the transport's own text: a class name and an OpenSSL dump.
    url = untrusted_server.url("/")
    result = await cli(url, "--no-reconnect", "--transport", transport)
    assert result.code == 1
    assert result.err == (
        "eventsource: TLS certificate verification failed: self-signed certificate"
        " (--insecure skips the check)\n"
    )
    insecure = await cli(url, "--no-reconnect", "--insecure", "--transport", transport)
    assert insecure.code == 0, insecure.err
    assert insecure.out == "message\n  hello\n"


@pytest.mark.asyncio
async def test_https_to_a_plain_http_server_is_a_failed_tls_handshake(
    cli: Runner, server: SSEServer, transport: str
) -> None:
    url = server.url.replace("http://", "https://")
    result = await cli(url, "--no-reconnect", "--transport", transport)
    assert result.code == 1
    # OpenSSL's words for it vary with its version (wrong version number, ...).
    assert re.fullmatch(r"eventsource: TLS handshake failed: [a-z0-9 ]+\n", result.err), result.err


@pytest.mark.asyncio
async def test_a_stalled_handshake_times_out_with_connect_timeout(
    cli: Runner, transport: str
) -> None:
    with stalled_port() as port:
        started = time.monotonic()
        result = await cli(
            f"http://127.0.0.1:{port}/",
            "--no-reconnect",
            "--connect-timeout",
            "0.3",
            "--transport",
            transport,
        )
        elapsed = time.monotonic() - started
    assert result.code == 1, result.err
    assert result.err == "eventsource: timed out connecting\n"
    assert elapsed < TIMEOUT / 2


@pytest.mark.asyncio
@pytest.mark.parametrize(("value", "message"), [("0", "must be more than 0"), ("soon", "not a")])
async def test_connect_timeout_must_be_a_positive_number(
    cli: Runner, value: str, message: str
) -> None:
    result = await cli("http://127.0.0.1:9/", "--connect-timeout", value)
    assert result.code == 2
    assert f"argument --connect-timeout: {message}" in result.err


# -- an unknown host, resolved in-process ------------------------------------------------------


class Resolver:
    """``socket.getaddrinfo`` for ``.invalid`` names: fail ``failures`` times, then loopback.

    The ``.invalid`` top-level domain never exists (RFC 6761); answering here
    keeps the query off the network, and the last answer lets the test end.
    """

    def __init__(self, real: Any, failures: int | None) -> None:
        self.real = real
        self.failures = failures
        self.asked = 0

    def __call__(self, host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if not name.endswith(".invalid"):
            return self.real(host, *args, **kwargs)
        self.asked += 1
        if self.failures is None or self.asked <= self.failures:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.real("127.0.0.1", *args, **kwargs)


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> Resolver:
    fake = Resolver(socket.getaddrinfo, failures=None)
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return fake


@pytest.mark.asyncio
async def test_an_unknown_host_is_one_line_per_attempt(
    server: SSEServer, resolver: Resolver, transport: str
) -> None:
    resolver.failures = 2
    server.room.publish("found")
    url = f"http://nonexistent.invalid:{server.port}/stream"
    result = await run_in_process(url, "-n", "1", "--retry", "0.01", "--transport", transport)
    assert result.code == 0, result.err
    assert result.out == "message id=1\n  found\n"
    assert_lines(
        result.err,
        rf"eventsource: name resolution failed; retrying in {WAIT} s",
        rf"eventsource: name resolution failed; retrying in {WAIT} s",
    )
    assert resolver.asked == 3


@pytest.mark.asyncio
async def test_an_unknown_host_without_reconnect_fails_at_once(
    resolver: Resolver, transport: str
) -> None:
    started = time.monotonic()
    result = await run_in_process(
        "http://nonexistent.invalid/stream", "--no-reconnect", "--transport", transport
    )
    assert time.monotonic() - started < TIMEOUT / 2
    assert result.code == 1
    assert result.err == "eventsource: name resolution failed\n"
    assert resolver.asked == 1


# -- stopping at a sentinel ------------------------------------------------------------------


@pytest.mark.asyncio
async def test_until_data_stops_at_the_sentinel_without_printing_it(
    cli: Runner, server: SSEServer
) -> None:
    # The OpenAI recipe of docs/cli.md printed [DONE] as an event, then waited.
    server.script(Event('{"delta": "hi"}'), Event("[DONE]"), Event("after"), Stall())
    result = await cli(server.url, "--until-data", "[DONE]")
    assert result.code == 0, result.err
    assert result.out == 'message\n  {"delta": "hi"}\n'
    assert result.err == ""
    assert len(server.requests) == 1


@pytest.mark.asyncio
async def test_until_data_is_repeatable(cli: Runner, server: SSEServer) -> None:
    server.script(Event("a"), Event("end"), Stall())
    result = await cli(server.url, "--until-data", "[DONE]", "--until-data", "end", "-v")
    assert result.code == 0, result.err
    assert result.out == "message\n  a\n"
    assert result.err.endswith("eventsource: done after 1 event\n")


@pytest.mark.asyncio
async def test_until_event_stops_after_printing_that_event(cli: Runner, server: SSEServer) -> None:
    server.script(
        Event("{}", event="message_start"),
        Event('{"type": "message_stop"}', event="message_stop"),
        Event("after", event="ping"),
        Stall(),
    )
    result = await cli(server.url, "--until-event", "message_stop")
    assert result.code == 0, result.err
    assert result.out == ('message_start\n  {}\nmessage_stop\n  {"type": "message_stop"}\n')
    assert len(server.requests) == 1


@pytest.mark.asyncio
async def test_until_event_stops_even_when_that_type_is_not_printed(
    cli: Runner, server: SSEServer
) -> None:
    server.script(
        Event("1", event="delta"),
        Event("done", event="message_stop"),
        Event("2", event="delta"),
        Stall(),
    )
    result = await cli(server.url, "--event", "delta", "--until-event", "message_stop")
    assert result.code == 0, result.err
    assert result.out == "delta\n  1\n"


# -- subcommands name themselves -------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("subcommand", ["demo-server", "demo"])
async def test_a_subcommand_help_names_the_subcommand(cli: Runner, subcommand: str) -> None:
    # It said `usage: python -m eventsource.testing`.
    result = await cli(subcommand, "--help")
    assert result.code == 0
    assert result.out.startswith(f"usage: eventsource {subcommand} [-h]")


@pytest.mark.asyncio
async def test_a_subcommand_usage_error_names_the_subcommand(cli: Runner) -> None:
    result = await cli("demo-server", "--port", "x")
    assert result.code == 2
    assert result.err.startswith("usage: eventsource demo-server [-h]")
    assert "eventsource demo-server: error: argument --port" in result.err


@pytest.mark.asyncio
async def test_the_testing_module_keeps_its_own_name() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "eventsource.testing",
        "--help",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_env(),
    )
    out, _ = await asyncio.wait_for(process.communicate(), TIMEOUT)
    assert process.returncode == 0
    assert out.decode().startswith("usage: python -m eventsource.testing [-h]")


# -- describe_error, kind by kind --------------------------------------------------------------


def caused(error: BaseException, cause: BaseException) -> BaseException:
    error.__cause__ = cause
    return error


def _certificate_error() -> ssl.SSLCertVerificationError:
    error = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] verify failed")
    error.verify_message = "certificate has expired"
    return error


def _tls_error() -> ssl.SSLError:
    error = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    error.reason = "WRONG_VERSION_NUMBER"
    return error


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            caused(ConnectError("could not connect: X"), ConnectionRefusedError(111, "x")),
            "connection refused",
        ),
        (
            caused(ConnectError("x"), socket.gaierror(socket.EAI_NONAME, "unknown")),
            "name resolution failed",
        ),
        (
            caused(ConnectError("x"), _certificate_error()),
            "TLS certificate verification failed: certificate has expired"
            " (--insecure skips the check)",
        ),
        (caused(ConnectError("x"), _tls_error()), "TLS handshake failed: wrong version number"),
        (caused(ConnectError("x"), TimeoutError()), "timed out connecting"),
        (caused(TransportError("x"), asyncio.TimeoutError()), "timed out"),
        (ReadTimeout("no data received within read_timeout"), "timed out waiting for the server"),
        (caused(TransportError("x"), ConnectionResetError(104, "reset")), "connection reset"),
        (
            caused(ConnectError("x"), OSError(errno.EHOSTUNREACH, "No route to host")),
            "could not connect: no route to host",
        ),
        (
            caused(TransportError("x"), OSError(errno.ENETDOWN, "Network is down")),
            "network is down",
        ),
        (caused(TransportError("no words"), OSError("no errno")), "no words"),
        (
            caused(StatusError("x", status=503), ConnectionResetError(104, "reset")),
            "server answered 503 (no content type)",
        ),
    ],
)
def test_describe_error_names_the_kind_of_network_failure(
    error: BaseException, expected: str
) -> None:
    assert describe_error(error) == expected


def test_describe_error_finds_the_cause_deep_in_a_chain_and_stops_on_a_loop() -> None:
    inner = OSError("All connection attempts failed")
    inner.__context__ = ConnectionRefusedError(111, "refused")
    middle = caused(TransportError("x"), inner)
    assert describe_error(caused(ConnectError("x"), middle)) == "connection refused"
    looped = TransportError("round and round")
    looped.__cause__ = caused(TransportError("back"), looped)
    assert describe_error(looped) == "round and round"
