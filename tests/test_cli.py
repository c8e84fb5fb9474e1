"""The ``eventsource`` command, driven as a subprocess (and in-process) against a real server."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import anyio
import pytest
import pytest_asyncio

from eventsource import RedirectError, StatusError, TransportError
from eventsource.__main__ import main
from eventsource._cli import make_command
from eventsource._cli_args import build_parser
from eventsource._cli_errors import describe_error
from eventsource._cli_format import (
    JsonLinesFormatter,
    RawFormatter,
    TextFormatter,
    make_formatter,
    render_json,
    use_color,
)
from eventsource._event import MessageEvent
from eventsource.decode import Parser
from eventsource.testing import Drop, Event, Headers, Raw, Respond, SSEServer, Stall
from eventsource.transports import AiohttpTransport, HttpxTransport

TIMEOUT = 20.0
ESC = "\x1b["
WHEN = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


Runner = Callable[..., Awaitable[Result]]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("NO_COLOR", None)
    return env


async def run_subprocess(
    *args: str, stdin: bytes | None = None, environ: dict[str, str] | None = None
) -> Result:
    """Run the command in a child process; ``environ`` adds to its environment."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "eventsource",
        *args,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**_env(), **(environ or {})},
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(stdin), TIMEOUT)
    finally:
        if process.returncode is None:  # pragma: no cover - only when a test hangs
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return Result(process.returncode, out.decode(), err.decode())


def _main_captured(args: tuple[str, ...]) -> Result:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse: --help, --version, usage errors
            code = exc.code if isinstance(exc.code, int) else 1
    return Result(code, out.getvalue(), err.getvalue())


async def run_in_process(*args: str) -> Result:
    # main() runs its own event loop in a worker thread; this loop keeps serving.
    with anyio.fail_after(TIMEOUT):
        return await anyio.to_thread.run_sync(_main_captured, args)


@pytest.fixture(params=["subprocess", "in-process"])
def cli(request: pytest.FixtureRequest) -> Runner:
    return run_subprocess if request.param == "subprocess" else run_in_process


@pytest_asyncio.fixture
async def server() -> AsyncIterator[SSEServer]:
    async with SSEServer() as server:
        yield server


# -- output forms ----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_piped_output_is_plain_text_with_type_id_and_indented_data(
    cli: Runner, server: SSEServer
) -> None:
    server.room.publish('{"user": "ada", "text": "hi"}')
    server.room.publish("two\nlines", event="chat")
    result = await cli(server.url, "-n", "2")
    assert result.code == 0, result.err
    assert result.out == (
        'message id=1\n  {"user": "ada", "text": "hi"}\nchat id=2\n  two\n  lines\n'
    )
    assert ESC not in result.out
    assert result.err == ""


@pytest.mark.asyncio
async def test_color_always_colors_even_a_pipe(server: SSEServer) -> None:
    server.room.publish('{"n": 1}')
    result = await run_subprocess(server.url, "-n", "1", "--color", "always")
    assert result.code == 0
    assert f"{ESC}1;36mmessage" in result.out
    assert f'{ESC}34m"n"' in result.out


@pytest.mark.asyncio
async def test_jsonl_gives_one_json_object_per_event(cli: Runner, server: SSEServer) -> None:
    server.script(Event("a", event="chat", id="1"), Event("b\nc"), Event('{"x": 1}', id="3"))
    result = await cli(server.url, "-n", "3", "--format", "jsonl")
    assert result.code == 0, result.err
    records = [json.loads(line) for line in result.out.splitlines()]
    assert [(r["type"], r["data"], r["id"]) for r in records] == [
        ("chat", "a", "1"),
        ("message", "b\nc", "1"),
        ("message", '{"x": 1}', "3"),
    ]
    for record in records:
        assert set(record) == {"type", "data", "id", "received_at"}
        assert record["received_at"].endswith("Z")
        stamp = datetime.fromisoformat(record["received_at"].replace("Z", "+00:00"))
        assert stamp.utcoffset() is not None
        assert stamp.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


@pytest.mark.asyncio
async def test_raw_echoes_the_wire_form_which_parses_back_to_the_same_events(
    cli: Runner, server: SSEServer
) -> None:
    server.script(
        Event("a\nb", event="chat", id="1"),
        Event("same id"),
        Event("", id="2"),
        Event(" lead", id=""),
    )
    result = await cli(server.url, "-n", "4", "--format", "raw")
    assert result.code == 0, result.err
    assert result.out == (
        "event: chat\nid: 1\ndata: a\ndata: b\n\n"
        "data: same id\n\n"
        "id: 2\ndata:\n\n"
        "id:\ndata:  lead\n\n"
    )
    assert Parser().feed(result.out.encode()) == [
        MessageEvent("chat", "a\nb", "1"),
        MessageEvent("message", "same id", "1"),
        MessageEvent("message", "", "2"),
        MessageEvent("message", " lead", ""),
    ]


# -- filters and counts ------------------------------------------------------------------


@pytest.mark.asyncio
async def test_event_filter_is_repeatable_and_max_events_counts_printed_events(
    cli: Runner, server: SSEServer
) -> None:
    server.script(
        Event("1", event="chat"),
        Event("2", event="presence"),
        Event("3"),
        Event("4", event="chat"),
        Event("5", event="chat"),
        Stall(),
    )
    result = await cli(server.url, "--event", "chat", "--event", "presence", "-n", "3")
    assert result.code == 0, result.err
    assert result.out == "chat\n  1\npresence\n  2\nchat\n  4\n"


# -- the request ---------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_headers_method_data_and_last_event_id_reach_the_server(
    cli: Runner, server: SSEServer
) -> None:
    server.script(Event("ok"))
    result = await cli(
        server.url,
        "-H",
        "Authorization: Bearer t0k",
        "--header",
        "X-Trace:  abc ",
        "-X",
        "put",
        "-d",
        "payload",
        "--last-event-id",
        "41",
        "-n",
        "1",
    )
    assert result.code == 0, result.err
    [request] = server.requests
    assert request.method == "PUT"
    assert request.body == b"payload"
    assert request.headers["Authorization"] == "Bearer t0k"
    assert request.headers["X-Trace"] == "abc"
    assert request.last_event_id == "41"
    assert request.headers["Accept"] == "text/event-stream"


@pytest.mark.asyncio
async def test_data_from_a_file_defaults_to_post(
    cli: Runner, server: SSEServer, tmp_path: Path
) -> None:
    body = tmp_path / "body.bin"
    body.write_bytes(b"\x00from a file\n")
    server.script(Event("ok"))
    result = await cli(server.url, "-d", f"@{body}", "-n", "1")
    assert result.code == 0, result.err
    [request] = server.requests
    assert (request.method, request.body) == ("POST", b"\x00from a file\n")


@pytest.mark.asyncio
async def test_data_from_stdin(server: SSEServer) -> None:
    server.script(Event("ok"))
    result = await run_subprocess(server.url, "-d", "@-", "-n", "1", stdin=b"from stdin")
    assert result.code == 0, result.err
    assert server.requests[0].body == b"from stdin"


@pytest.mark.asyncio
async def test_data_from_stdin_in_process(
    server: SSEServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"piped in")))
    server.script(Event("ok"))
    result = await run_in_process(server.url, "-d", "@-", "-n", "1")
    assert result.code == 0, result.err
    assert server.requests[0].body == b"piped in"


@pytest.mark.asyncio
async def test_json_body_is_sent_as_given_with_its_content_type(
    cli: Runner, server: SSEServer
) -> None:
    server.script(Event("ok"))
    result = await cli(server.url, "--json", '{"stream": true}', "-n", "1")
    assert result.code == 0, result.err
    [request] = server.requests
    assert request.method == "POST"
    assert request.body == b'{"stream": true}'
    assert request.headers["Content-Type"] == "application/json"


@pytest.mark.asyncio
async def test_a_content_type_header_wins_over_json_default(server: SSEServer) -> None:
    server.script(Event("ok"))
    result = await run_in_process(
        server.url, "--json", "[]", "-H", "content-type: application/x.custom+json", "-n", "1"
    )
    assert result.code == 0, result.err
    assert server.requests[0].headers["Content-Type"] == "application/x.custom+json"


@pytest.mark.asyncio
async def test_httpx_transport(cli: Runner, server: SSEServer) -> None:
    server.room.publish("via httpx")
    result = await cli(server.url, "--transport", "httpx", "-n", "1")
    assert result.code == 0, result.err
    assert result.out == "message id=1\n  via httpx\n"


@pytest.mark.asyncio
async def test_a_url_without_scheme_means_http(cli: Runner, server: SSEServer) -> None:
    server.room.publish("hi")
    result = await cli(f"127.0.0.1:{server.port}/stream", "-n", "1")
    assert result.code == 0, result.err
    assert result.out == "message id=1\n  hi\n"


def test_insecure_turns_tls_verification_off() -> None:
    parser = build_parser()
    command = make_command(parser.parse_args(["https://x/", "--insecure"]), parser)
    transport = command.options["transport"]
    assert isinstance(transport, AiohttpTransport)
    assert transport.verify is False
    command = make_command(
        parser.parse_args(["https://x/", "--insecure", "--transport", "httpx"]), parser
    )
    assert isinstance(command.options["transport"], HttpxTransport)
    assert command.options["transport"].verify is False
    command = make_command(parser.parse_args(["https://x/"]), parser)
    assert command.options["transport"] == "aiohttp"


# -- reconnection ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_reconnects_and_resumes_with_last_event_id(cli: Runner, server: SSEServer) -> None:
    server.room.preload(3)
    server.script(Event("message 1", id="1"), Drop())
    result = await cli(server.url, "-n", "3", "--retry", "0.01", "-v")
    assert result.code == 0, result.err
    assert result.out == (
        "message id=1\n  message 1\nmessage id=2\n  message 2\nmessage id=3\n  message 3\n"
    )
    first, second = server.requests
    assert first.last_event_id is None
    assert second.last_event_id == "1"
    lines = result.err.splitlines()
    assert lines[0] == f"eventsource: connecting to {server.url}"
    assert lines[1] == f"eventsource: connected to {server.url}"
    assert "; reconnecting in 0.01 s (attempt 1)" in lines[2]
    assert lines[3] == f"eventsource: connected to {server.url} (Last-Event-ID: 1)"
    assert lines[4] == "eventsource: done after 3 events"


@pytest.mark.asyncio
async def test_read_timeout_reconnects(cli: Runner, server: SSEServer) -> None:
    server.room.preload(2)
    server.script(Event("message 1", id="1"), Stall())
    result = await cli(server.url, "-n", "2", "--timeout", "0.2", "--retry", "0.01", "-v")
    assert result.code == 0, result.err
    assert "reconnecting in 0.01 s" in result.err
    assert [r.last_event_id for r in server.requests] == [None, "1"]


@pytest.mark.asyncio
async def test_no_reconnect_ends_at_the_end_of_the_body(cli: Runner, server: SSEServer) -> None:
    server.script(Event("only", id="1"))
    result = await cli(server.url, "--no-reconnect")
    assert result.code == 0, result.err
    assert result.out == "message id=1\n  only\n"
    assert len(server.requests) == 1


@pytest.mark.asyncio
async def test_no_reconnect_fails_on_a_dropped_connection(cli: Runner, server: SSEServer) -> None:
    server.script(Event("only", id="1"), Drop())
    result = await cli(server.url, "--no-reconnect")
    assert result.code == 1
    assert result.out == "message id=1\n  only\n"
    [line] = result.err.splitlines()
    assert line.startswith("eventsource: ")
    assert len(server.requests) == 1


# -- exit codes and the reason line ---------------------------------------------------------


@pytest.mark.asyncio
async def test_a_refusal_exits_1_with_status_content_type_and_body(
    cli: Runner, server: SSEServer
) -> None:
    body = json.dumps({"error": "invalid token", "detail": "x" * 400})
    server.script(Respond(401, {"Content-Type": "application/json"}, body.encode()))
    result = await cli(server.url)
    assert result.code == 1
    assert result.out == ""
    expected = f"eventsource: server answered 401 (application/json): {body[:200]}\n"
    assert result.err == expected


@pytest.mark.asyncio
async def test_verbose_reports_a_fatal_error_once_as_the_last_line(
    cli: Runner, server: SSEServer
) -> None:
    server.script(Respond(403, {"Content-Type": "text/plain"}, b"forbidden"))
    result = await cli(server.url, "-v")
    assert result.code == 1
    assert result.err.splitlines() == [
        f"eventsource: connecting to {server.url}",
        "eventsource: server answered 403 (text/plain): forbidden",
    ]


@pytest.mark.asyncio
async def test_a_wrong_content_type_names_it_and_shows_the_body(
    cli: Runner, server: SSEServer
) -> None:
    server.script(Headers({"Content-Type": "text/html"}), Raw(b"<html>\n  <p>login</p>\n"))
    result = await cli(server.url)
    assert result.code == 1
    assert result.err == (
        "eventsource: server answered 200, not with text/event-stream (text/html): "
        "<html> <p>login</p>\n"
    )


@pytest.mark.asyncio
async def test_204_ends_cleanly(cli: Runner, server: SSEServer) -> None:
    server.script(Respond(204))
    result = await cli(server.url, "-v")
    assert result.code == 0
    assert "eventsource: server answered 204: not reconnecting\n" in result.err
    assert result.err.endswith("eventsource: done after 0 events\n")


@pytest.mark.asyncio
async def test_connection_refused_exits_1(cli: Runner) -> None:
    # A port that was just free: nothing listens there now.
    async with SSEServer() as gone:
        url = gone.url
    result = await cli(url, "--no-reconnect")
    assert result.code == 1
    [line] = result.err.splitlines()
    assert line.startswith("eventsource: ")


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://127.0.0.1/stream", "URL has the scheme 'ftp', not http or https: 'ftp:"),
        ("", "URL is empty"),
        ("http://", "URL has no host: 'http://'"),
        ("http:///stream", "URL has no host: 'http:///stream'"),
        ("https://:8000/x", "URL has no host: 'https://:8000/x'"),
        ("127.0.0.1:99999/stream", "URL has an invalid port '99999': 'http://127.0.0.1:99999/"),
        ("http://a b/stream", "URL has ' ' in its host: 'http://a b/stream'"),
    ],
)
async def test_a_bad_url_exits_2_at_once_naming_the_problem(
    cli: Runner, url: str, message: str
) -> None:
    # The old command took some of these and retried them forever.
    result = await cli(url)
    assert result.code == 2
    assert result.out == ""
    assert result.err.splitlines()[-1].startswith(f"eventsource: error: {message}")


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--json", "{nope"], "--json: not valid JSON"),
        (["-d", "@/nonexistent/body"], "--data: cannot read '/nonexistent/body'"),
        (["-H", "no colon"], 'expected "Name: value"'),
        (["-H", ": empty name"], 'expected "Name: value"'),
        (["-n", "0"], "must be at least 1"),
        (["-n", "x"], "not a whole number"),
        (["--timeout", "-1"], "must be more than 0"),
        (["--retry", "soon"], "not a number"),
        (["-d", "a", "--json", "{}"], "not allowed with argument"),
        (["-H", "X-A: a\x01b"], "the value of header 'X-A' cannot be sent"),
        (["-H", "X A: b"], "'X A' is not a valid header name"),
        (["--last-event-id", "4\x1b2"], "control character '\\x1b'"),
    ],
)
async def test_usage_errors_exit_2(cli: Runner, args: list[str], message: str) -> None:
    result = await cli("http://127.0.0.1:9/", *args)
    assert result.code == 2
    assert message in result.err


async def signalled(server: SSEServer, sig: int, lines: int) -> tuple[list[bytes], bytes, int]:
    """Run the command on ``server``; after ``lines`` lines of stdout, send ``sig``.

    Returns the lines, stderr and the exit status.
    """
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "eventsource",
        server.url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_env(),
        # A shell that starts a job in the background (as a CI runner may) leaves
        # SIGINT ignored, and the child would inherit that: give it the default.
        preexec_fn=lambda: signal.signal(sig, signal.SIG_DFL),
    )
    try:
        assert process.stdout is not None
        read = [await asyncio.wait_for(process.stdout.readline(), TIMEOUT) for _ in range(lines)]
        process.send_signal(sig)
        _, err = await asyncio.wait_for(process.communicate(), TIMEOUT)
    finally:
        if process.returncode is None:  # pragma: no cover - only when a test hangs
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return read, err, process.returncode


@pytest.mark.asyncio
async def test_ctrl_c_exits_130_without_a_traceback(server: SSEServer) -> None:
    server.room.publish("first")
    lines, err, status = await signalled(server, signal.SIGINT, 1)
    assert lines == [b"message id=1\n"]
    assert status == 130
    assert b"Traceback" not in err
    assert err == b""
    await server.wait_for_idle()


@pytest.mark.asyncio
async def test_sigterm_exits_143_after_every_printed_event_reached_the_pipe(
    server: SSEServer,
) -> None:
    # docker stop, kill: the status the docs' table gives, nothing printed lost.
    server.room.publish("first")
    server.room.publish("second")
    lines, _, status = await signalled(server, signal.SIGTERM, 4)
    assert lines == [b"message id=1\n", b"  first\n", b"message id=2\n", b"  second\n"]
    assert status == -signal.SIGTERM  # a shell reports 128 + 15 = 143
    await server.wait_for_idle()


@pytest.mark.asyncio
async def test_a_closed_pipe_ends_quietly(server: SSEServer) -> None:
    server.room.publish("first")
    read_end, write_end = os.pipe()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "eventsource",
        server.url,
        stdout=write_end,
        stderr=asyncio.subprocess.PIPE,
        env=_env(),
    )
    os.close(write_end)
    try:
        with anyio.fail_after(TIMEOUT), os.fdopen(read_end, "rb") as reader:
            first = await anyio.to_thread.run_sync(reader.readline)
        assert first == b"message id=1\n"
        for n in range(5):
            server.room.publish(f"more {n}")
        _, err = await asyncio.wait_for(process.communicate(), TIMEOUT)
    finally:
        if process.returncode is None:  # pragma: no cover - only when a test hangs
            process.kill()
            await process.wait()
    assert process.returncode == 0
    assert err == b""


# -- help, version, subcommands ------------------------------------------------------------


@pytest.mark.asyncio
async def test_version_and_help(cli: Runner) -> None:
    from eventsource import __version__

    version = await cli("--version")
    assert version.code == 0
    assert version.out == f"eventsource {__version__}\n"
    usage = await cli("--help")
    assert usage.code == 0
    assert "examples:" in usage.out
    assert "demo-server" in usage.out
    assert "--last-event-id" in usage.out


@pytest.mark.asyncio
async def test_demo_server_subcommand_serves_a_chat_room() -> None:
    result = await run_subprocess("demo-server", "--interval", "0.01", "--count", "2")
    assert result.code == 0, result.err
    assert result.out.startswith("Chat room streaming at http://127.0.0.1:")


def test_demo_server_dispatch_calls_the_testing_main(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[list[str], str]] = []

    def fake(argv: list[str], *, prog: str) -> int:
        calls.append((argv, prog))
        return 0

    monkeypatch.setattr("eventsource.testing.main", fake)
    assert main(["demo-server", "--port", "8000"]) == 0
    assert calls == [(["--port", "8000"], "eventsource demo-server")]


@pytest.mark.asyncio
async def test_demo_subcommand_runs_the_make_demo_scenario(cli: Runner) -> None:
    result = await cli("demo", "--messages", "4", "--drop-every", "2")
    assert result.code == 0, result.err
    assert "0 lost, 0 duplicated, in order" in result.out


@pytest.mark.asyncio
async def test_very_verbose_turns_on_debug_logging(server: SSEServer) -> None:
    server.room.publish("hi")
    result = await run_in_process(server.url, "-n", "1", "-vv")
    assert result.code == 0
    assert "eventsource: DEBUG: connecting to" in result.err
    logger = logging.getLogger("eventsource")
    assert logger.handlers == []
    assert logger.level == logging.NOTSET


# -- formatters, unit by unit --------------------------------------------------------------


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("choice", "tty", "environ", "expected"),
    [
        ("auto", True, {}, True),
        ("auto", False, {}, False),
        ("auto", True, {"NO_COLOR": "1"}, False),
        ("auto", True, {"NO_COLOR": ""}, True),
        ("auto", True, {"TERM": "dumb"}, False),
        ("always", False, {"NO_COLOR": "1"}, True),
        ("never", True, {}, False),
    ],
)
def test_use_color(choice: str, tty: bool, environ: dict[str, str], expected: bool) -> None:
    stream = FakeTerminal() if tty else io.StringIO()
    assert use_color(choice, stream, environ) is expected


def test_use_color_on_a_stream_without_isatty() -> None:
    assert use_color("auto", object(), {}) is False  # type: ignore[arg-type]


def test_text_on_a_terminal_shows_time_colors_and_pretty_json() -> None:
    event = MessageEvent("chat", '{"user": "ada", "n": [1, true, null], "e": {}}', "7")
    text = TextFormatter(color=True).format(event, WHEN)
    header, *body = text.splitlines()
    clock = WHEN.astimezone().strftime("%H:%M:%S.%f")[:-3]
    assert header == (
        f"{ESC}2m{clock}{ESC}0m {ESC}1;36mchat{ESC}0m {ESC}2mid={ESC}0m{ESC}33m7{ESC}0m"
    )
    assert body == [
        "  {",
        f'    {ESC}34m"user"{ESC}0m: {ESC}32m"ada"{ESC}0m,',
        f'    {ESC}34m"n"{ESC}0m: [',
        f"      {ESC}33m1{ESC}0m,",
        f"      {ESC}35mtrue{ESC}0m,",
        f"      {ESC}35mnull{ESC}0m",
        "    ],",
        f'    {ESC}34m"e"{ESC}0m: {{}}',
        "  }",
    ]


@pytest.mark.parametrize("data", ["plain words", "{not json", "42", '"a string"'])
def test_text_on_a_terminal_leaves_other_data_as_it_came(data: str) -> None:
    text = TextFormatter(color=True).format(MessageEvent(data=data), WHEN)
    assert text.splitlines()[1] == f"  {data}"


def test_render_json_of_empty_containers_and_plain_mode() -> None:
    assert render_json([], color=True) == "[]"
    assert render_json({"a": [{}]}, color=False) == '{\n  "a": [\n    {}\n  ]\n}'


def test_text_without_color_and_without_id_or_data() -> None:
    formatter = TextFormatter(color=False)
    assert formatter.format(MessageEvent("ping"), WHEN) == "ping\n"
    assert formatter.format(MessageEvent(data='{"a": 1}', last_event_id="x"), WHEN) == (
        'message id=x\n  {"a": 1}\n'
    )


def test_jsonl_timestamp_is_utc_with_z() -> None:
    line = JsonLinesFormatter().format(MessageEvent("t", "ü", "1"), WHEN)
    assert line == (
        '{"type": "t", "data": "ü", "id": "1", "received_at": "2024-05-06T07:08:09.123456Z"}\n'
    )


def test_raw_writes_id_only_when_it_changes() -> None:
    raw = RawFormatter()
    assert raw.format(MessageEvent(data="a"), WHEN) == "data: a\n\n"
    assert raw.format(MessageEvent(data="b", last_event_id="5"), WHEN) == "id: 5\ndata: b\n\n"
    assert raw.format(MessageEvent(data="c", last_event_id="5"), WHEN) == "data: c\n\n"
    assert raw.format(MessageEvent(data="d"), WHEN) == "id:\ndata: d\n\n"


def test_make_formatter_refuses_an_unknown_name() -> None:
    assert isinstance(make_formatter("raw", color=True), RawFormatter)
    with pytest.raises(ValueError, match="unknown format 'xml'"):
        make_formatter("xml", color=False)


def test_describe_error() -> None:
    refused = StatusError(
        "server answered 503",
        status=503,
        headers={"content-type": "text/plain"},
        body="down\r\n\tfor maintenance " + "." * 300,
    )
    assert describe_error(refused) == (
        "server answered 503 (text/plain): down for maintenance " + "." * 179
    )
    assert describe_error(StatusError("x", status=500)) == "server answered 500 (no content type)"
    redirect = RedirectError("too many redirects (21)", status=307)
    assert describe_error(redirect) == "too many redirects (21)"
    assert describe_error(TransportError("request failed:\n reset")) == "request failed: reset"
    assert describe_error(TransportError()) == "TransportError"
