"""Faults a new user's trial of the ``eventsource`` command found, each run for real.

The command runs as a subprocess (or in-process, where both apply) against
servers on 127.0.0.1: a retried stream that ends with no event, stdout that
cannot be written to, a secret header and a redirect to another origin,
``--retry 0`` and non-finite numbers, and server text holding terminal
control sequences.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import io
import json
import os
import re
import select
import sys
import time
from collections.abc import Callable

import anyio
import pytest

from eventsource.__main__ import main as cli_main
from eventsource._cli_format import make_formatter
from eventsource._event import MessageEvent
from eventsource.testing import Comment, Event, Raw, Redirect, Respond, SSEServer

from .test_cli import TIMEOUT, WHEN, Runner, _env, run_subprocess
from .test_cli import cli as cli
from .test_cli import server as server

WAIT = r"\d+\.\d+"
TRANSPORTS = ["aiohttp", "httpx"]


def assert_lines(err: str, *patterns: str) -> None:
    lines = err.splitlines()
    assert len(lines) == len(patterns), err
    for line, pattern in zip(lines, patterns, strict=True):
        assert re.fullmatch(pattern, line), (line, pattern)


# -- a stream that keeps ending with no event is not a silent loop --------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_stream_that_ends_again_without_an_event_is_one_line_per_attempt(
    cli: Runner, server: SSEServer, transport: str
) -> None:
    # A 200 that hangs up at once, three times: the command backed off with nothing printed.
    for n in range(3):
        server.script(Comment(f"bye {n}"))
    server.room.publish("at last")
    result = await cli(server.url, "-n", "1", "--retry", "0.01", "--transport", transport)
    assert result.code == 0, result.err
    assert result.out == "message id=1\n  at last\n"
    # The first end is routine (servers end streams to have clients reconnect).
    assert_lines(
        result.err,
        rf"eventsource: stream ended without an event; reconnecting in {WAIT} s",
        rf"eventsource: stream ended without an event; reconnecting in {WAIT} s",
    )
    assert len(server.requests) == 4


@pytest.mark.asyncio
async def test_verbose_numbers_the_ends_without_an_event_and_quiet_drops_them(
    cli: Runner, server: SSEServer
) -> None:
    for n in range(2):
        server.script(Comment(f"bye {n}"))
    server.room.publish("at last")
    verbose = await cli(server.url, "-n", "1", "--retry", "0.01", "-v")
    assert verbose.code == 0, verbose.err
    ends = [line for line in verbose.err.splitlines() if "stream ended" in line]
    assert len(ends) == 2, verbose.err
    assert re.fullmatch(
        rf"eventsource: stream ended; reconnecting in {WAIT} s \(attempt 1\)", ends[0]
    )
    assert re.fullmatch(
        rf"eventsource: stream ended without an event; reconnecting in {WAIT} s \(attempt 2\)",
        ends[1],
    )
    for n in range(2):
        server.script(Comment(f"bye {n}"))
    server.room.publish("at last")
    quiet = await cli(server.url, "-n", "1", "--retry", "0.01", "-q", "--last-event-id", "1")
    assert quiet.code == 0, quiet.err
    assert quiet.out == "message id=2\n  at last\n"
    assert quiet.err == ""


# -- --retry 0, and numbers that are not finite ---------------------------------------------------


@pytest.mark.asyncio
async def test_retry_zero_is_accepted_and_reconnects(cli: Runner, server: SSEServer) -> None:
    # The library takes retry=0 (at once, then backing off); the command refused it.
    server.script(Event("first", id="1"))
    server.room.preload(2)
    result = await cli(server.url, "-n", "2", "--retry", "0")
    assert result.code == 0, result.err
    assert result.out == "message id=1\n  first\nmessage id=2\n  message 2\n"
    assert len(server.requests) == 2


@pytest.mark.asyncio
@pytest.mark.parametrize("option", ["--retry", "--timeout", "--connect-timeout"])
@pytest.mark.parametrize("value", ["nan", "inf", "Infinity", "NaN"])
async def test_a_number_that_is_not_finite_is_named_so(
    cli: Runner, option: str, value: str
) -> None:
    # "--retry nan" said "must be more than 0: 'nan'".
    result = await cli("http://127.0.0.1:9/", option, value)
    assert result.code == 2
    assert f"argument {option}: not a finite number: {value!r}" in result.err, result.err


@pytest.mark.asyncio
async def test_a_negative_retry_is_refused(cli: Runner) -> None:
    result = await cli("http://127.0.0.1:9/", "--retry", "-1")
    assert result.code == 2
    assert "argument --retry: must not be negative: '-1'" in result.err, result.err


# -- stdout that cannot be written to -------------------------------------------------------------


async def run_with_stdout(
    *args: str, stdout: int, preexec_fn: Callable[[], None] | None = None
) -> tuple[int, str]:
    """Run the command with this stdout; its exit status and stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "eventsource",
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=stdout,
        stderr=asyncio.subprocess.PIPE,
        env=_env(),
        preexec_fn=preexec_fn,
    )
    try:
        _, err = await asyncio.wait_for(process.communicate(), TIMEOUT)
    finally:
        if process.returncode is None:  # pragma: no cover - only when a test hangs
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, err.decode()


@pytest.mark.asyncio
@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
async def test_a_full_disk_is_one_line_and_status_1(server: SSEServer) -> None:
    # It was a traceback ending in OSError: [Errno 28] No space left on device.
    server.script(Event("first", id="1"), Event("second", id="2"))
    fd = os.open("/dev/full", os.O_WRONLY)
    try:
        code, err = await run_with_stdout(server.url, "--no-reconnect", stdout=fd)
    finally:
        os.close(fd)
    assert code == 1
    assert err == "eventsource: cannot write to stdout: no space left on device\n"


@pytest.mark.asyncio
async def test_a_stdout_open_only_for_reading_is_one_line_and_status_1(server: SSEServer) -> None:
    server.script(Event("first", id="1"))
    fd = os.open(os.devnull, os.O_RDONLY)
    try:
        code, err = await run_with_stdout(server.url, "--no-reconnect", stdout=fd)
    finally:
        os.close(fd)
    assert code == 1
    assert err == "eventsource: cannot write to stdout: bad file descriptor\n"


@pytest.mark.asyncio
async def test_a_closed_stdout_is_one_line_and_status_1_before_connecting(
    server: SSEServer,
) -> None:
    # `eventsource URL >&-`: sys.stdout is None; it was an AttributeError traceback.
    code, err = await run_with_stdout(
        server.url, "--no-reconnect", stdout=asyncio.subprocess.DEVNULL, preexec_fn=_close_stdout
    )
    assert code == 1
    assert err == "eventsource: cannot write to stdout: it is closed\n"
    assert server.requests == []


#: An ASCII locale's stdout.
ASCII = {"PYTHONIOENCODING": "ascii"}


@pytest.mark.asyncio
async def test_a_character_stdouts_encoding_lacks_is_shown_escaped(server: SSEServer) -> None:
    # An ASCII locale: a UnicodeEncodeError (a ValueError) ended the command as
    # a usage error, status 2, with nothing written.
    server.script(Event("café", id="1"))
    result = await run_subprocess(server.url, "--no-reconnect", "--format", "raw", environ=ASCII)
    assert (result.code, result.err) == (0, "")
    assert result.out == "id: 1\ndata: caf\\xe9\n\n"


@pytest.mark.asyncio
async def test_json_lines_on_an_ascii_stdout_stay_valid_json(server: SSEServer) -> None:
    # With backslash escapes for what ASCII lacks, a line was no JSON any more
    # (\xe9 is not a JSON escape): JSON's own escapes instead.
    server.script(Event("café € 😀", id="1"))
    result = await run_subprocess(server.url, "--no-reconnect", "--format", "jsonl", environ=ASCII)
    assert (result.code, result.err) == (0, "")
    assert json.loads(result.out)["data"] == "café € 😀"


def _close_stdout() -> None:
    os.close(1)  # in the child, after its stdout was set up


class _FullStream(io.StringIO):
    def write(self, text: str) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.asyncio
async def test_a_failed_write_in_process_is_one_line_and_status_1(server: SSEServer) -> None:
    server.script(Event("first", id="1"))

    def run() -> tuple[int, str]:
        err = io.StringIO()
        with contextlib.redirect_stdout(_FullStream()), contextlib.redirect_stderr(err):
            code = cli_main([server.url, "--no-reconnect"])
        return code, err.getvalue()

    with anyio.fail_after(TIMEOUT):
        code, err = await anyio.to_thread.run_sync(run)
    assert code == 1
    assert err == "eventsource: cannot write to stdout: no space left on device\n"


# -- secret headers and a redirect to another origin ----------------------------------------------


SENT = (
    "-H",
    "x-api-key: KEY",
    "-H",
    "Authorization: Bearer T",
    "-H",
    "X-Tenant-Token: TT",
    "-H",
    "anthropic-version: 2023-06-01",
)


@pytest.mark.asyncio
@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("named", [False, True])
async def test_api_keys_and_named_secrets_do_not_follow_a_redirect_to_another_origin(
    cli: Runner, server: SSEServer, transport: str, named: bool
) -> None:
    # -H "x-api-key: KEY" (the docs' Anthropic recipe) was sent to the other origin.
    flags = ["--secret-header", "x-tenant-token"] if named else []
    async with SSEServer() as other:  # another port: another origin
        other.room.publish("elsewhere")
        server.script(Redirect(other.url))
        result = await cli(server.url, *SENT, *flags, "-n", "1", "--transport", transport)
        assert result.code == 0, result.err
        assert result.out == "message id=1\n  elsewhere\n"
        [first] = server.requests
        [followed] = other.requests
    assert first.headers["x-api-key"] == "KEY"
    assert first.headers["X-Tenant-Token"] == "TT"
    assert first.headers["Authorization"] == "Bearer T"
    assert "x-api-key" not in followed.headers
    assert "Authorization" not in followed.headers
    # A header is secret by its name: one the command does not know goes on unless named.
    assert followed.headers.get("X-Tenant-Token") == (None if named else "TT")
    assert followed.headers["anthropic-version"] == "2023-06-01"


@pytest.mark.asyncio
async def test_secret_headers_follow_a_redirect_within_the_origin(
    cli: Runner, server: SSEServer
) -> None:
    server.room.publish("here")
    server.script(Redirect("/elsewhere"))
    result = await cli(server.url, *SENT, "--secret-header", "x-tenant-token", "-n", "1")
    assert result.code == 0, result.err
    assert result.out == "message id=1\n  here\n"
    first, followed = server.requests
    assert followed.path == "/elsewhere"
    for request in (first, followed):
        assert request.headers["x-api-key"] == "KEY"
        assert request.headers["X-Tenant-Token"] == "TT"
        assert request.headers["Authorization"] == "Bearer T"


@pytest.mark.asyncio
async def test_a_secret_header_must_be_a_header_name(cli: Runner) -> None:
    result = await cli("http://127.0.0.1:9/", "--secret-header", "x key")
    assert result.code == 2
    assert "argument --secret-header: 'x key' is not a valid header name" in result.err


# -- server text that holds terminal control sequences --------------------------------------------

# Clears the screen, sets the window title, rings the bell; U+009B is a C1 CSI.
HOSTILE = Raw(
    b"event: ev\x1b[31mil\nid: 7\x1b]0;t\x07\n"
    b"data: evil \x1b[2J\x1b]0;pwned\x07 \xc2\x9b2J title\tend\n\n"
)
HOSTILE_JSON = Event('{"text": "a\\u001b[2J\u009bb"}', id="8")


def _read_terminal(master: int) -> bytes:
    """All that the child writes to the terminal, until it closes its side (bounded)."""
    chunks = []
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if not ready:
            continue
        try:
            data = os.read(master, 4096)
        except OSError:  # EIO: every descriptor of the terminal's other side is closed
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks)


async def run_on_terminal(*args: str) -> tuple[int, str, str]:
    """Run the command with stdout on a pseudo-terminal: status, what it showed, stderr."""
    import pty

    master, slave = pty.openpty()
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "eventsource",
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=slave,
            stderr=asyncio.subprocess.PIPE,
            env={**_env(), "TERM": "xterm"},
        )
        os.close(slave)
        slave = -1
        try:
            shown = await anyio.to_thread.run_sync(_read_terminal, master)
            _, err = await asyncio.wait_for(process.communicate(), TIMEOUT)
        finally:
            if process.returncode is None:  # pragma: no cover - only when a test hangs
                process.kill()
                await process.wait()
    finally:
        os.close(master)
        if slave != -1:  # pragma: no cover - only when the process could not start
            os.close(slave)
    assert process.returncode is not None
    # The terminal turns each line feed into CR LF.
    return process.returncode, shown.decode().replace("\r\n", "\n"), err.decode()


needs_pty = pytest.mark.skipif(sys.platform == "win32", reason="needs a pty")


@needs_pty
@pytest.mark.asyncio
async def test_control_characters_from_the_server_are_shown_escaped_on_a_terminal(
    server: SSEServer,
) -> None:
    # The server's ESC sequences cleared the screen and set the window title.
    server.script(HOSTILE)
    code, shown, err = await run_on_terminal(server.url, "-n", "1", "--color", "never")
    assert code == 0, err
    assert shown == (
        "ev\\x1b[31mil id=7\\x1b]0;t\\x07\n  evil \\x1b[2J\\x1b]0;pwned\\x07 \\x9b2J title\tend\n"
    )


@needs_pty
@pytest.mark.asyncio
async def test_on_a_colored_terminal_only_the_commands_own_sequences_reach_it(
    server: SSEServer,
) -> None:
    server.script(HOSTILE, HOSTILE_JSON)
    code, shown, err = await run_on_terminal(server.url, "-n", "2")
    assert code == 0, err
    assert "\\x1b[2J\\x1b]0;pwned\\x07 \\x9b2J" in shown
    assert '"a\\u001b[2J\\u009bb"' in shown  # the JSON string, pretty-printed
    # What is left are the command's colors: SGR sequences, ESC [ digits and ; then m.
    rest = re.sub(r"\x1b\[[0-9;]*m", "", shown).replace("\n", "").replace("\t", "")
    assert rest.isprintable(), ascii(rest)


@needs_pty
@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("form", "expected"),
    [
        (
            "raw",
            "event: ev\\x1b[31mil\nid: 7\\x1b]0;t\\x07\n"
            "data: evil \\x1b[2J\\x1b]0;pwned\\x07 \\x9b2J title\tend\n\n",
        ),
        ("jsonl", '"data": "evil \\u001b[2J\\u001b]0;pwned\\u0007 \\u009b2J title\\tend"'),
    ],
)
async def test_the_other_forms_are_escaped_on_a_terminal_too(
    server: SSEServer, form: str, expected: str
) -> None:
    server.script(HOSTILE)
    code, shown, err = await run_on_terminal(server.url, "-n", "1", "--format", form)
    assert code == 0, err
    assert expected in shown, shown
    assert not any(c in shown for c in "\x1b\x07\x9b"), ascii(shown)


@pytest.mark.asyncio
@pytest.mark.parametrize("form", ["text", "raw", "jsonl"])
async def test_piped_output_keeps_control_characters_as_they_came(
    server: SSEServer, form: str
) -> None:
    server.script(HOSTILE)
    result = await run_subprocess(server.url, "-n", "1", "--format", form)
    assert result.code == 0, result.err
    if form == "jsonl":
        assert '"data": "evil \\u001b[2J\\u001b]0;pwned\\u0007 \x9b2J title\\tend"' in result.out
    else:
        assert "evil \x1b[2J\x1b]0;pwned\x07 \x9b2J title\tend\n" in result.out


@pytest.mark.asyncio
async def test_server_text_on_stderr_shows_control_characters_escaped(
    cli: Runner, server: SSEServer
) -> None:
    # The start of a refusal's body is quoted on stderr, a terminal as a rule.
    server.script(Respond(401, {"Content-Type": "text/plain"}, b"no \x1b]0;pwned\x07 entry"))
    result = await cli(server.url)
    assert result.code == 1
    assert result.err == (
        "eventsource: server answered 401 (text/plain): no \\x1b]0;pwned\\x07 entry\n"
    )


@pytest.mark.parametrize(
    ("form", "on_terminal", "piped"),
    [
        (
            "text",
            "t\\x1bx id=i\\x07\n  a\\x1b[2J\\x9b\tb\n  \\x7f\n",
            "t\x1bx id=i\x07\n  a\x1b[2J\x9b\tb\n  \x7f\n",
        ),
        (
            "raw",
            "event: t\\x1bx\nid: i\\x07\ndata: a\\x1b[2J\\x9b\tb\ndata: \\x7f\n\n",
            "event: t\x1bx\nid: i\x07\ndata: a\x1b[2J\x9b\tb\ndata: \x7f\n\n",
        ),
        (
            "jsonl",
            '{"type": "t\\u001bx", "data": "a\\u001b[2J\\u009b\\tb\\n\\u007f", "id": "i\\u0007", '
            '"received_at": "2024-05-06T07:08:09.123456Z"}\n',
            '{"type": "t\\u001bx", "data": "a\\u001b[2J\x9b\\tb\\n\x7f", "id": "i\\u0007", '
            '"received_at": "2024-05-06T07:08:09.123456Z"}\n',
        ),
    ],
)
def test_formatters_escape_for_a_terminal_only(form: str, on_terminal: str, piped: str) -> None:
    event = MessageEvent(type="t\x1bx", data="a\x1b[2J\x9b\tb\n\x7f", last_event_id="i\x07")
    assert make_formatter(form, color=False, escape=True).format(event, WHEN) == on_terminal
    assert make_formatter(form, color=False).format(event, WHEN) == piped
