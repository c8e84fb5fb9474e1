"""``eventsource demo-server`` (``python -m eventsource.testing``) as a fresh user runs it.

A bad value is a usage error (exit status 2) naming the option, a port that is
taken a one-line reason (exit status 1), never a traceback; ``--count N`` stops
only once each connected client has been sent the N messages.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys

import anyio
import pytest

from eventsource import EventSource, TransportError

from ._fixtures import LIMIT

PROG = "eventsource demo-server"


def demo_server(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "eventsource", "demo-server", *args],
        capture_output=True,
        text=True,
        timeout=LIMIT,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "99999"], "argument --port: not a port (0 to 65535): '99999'"),
        (["--port", "-1"], "argument --port: must be at least 0: '-1'"),
        (["--interval", "-1"], "argument --interval: must be more than 0: '-1'"),
        (["--interval", "0"], "argument --interval: must be more than 0: '0'"),
        (["--interval", "nan"], "argument --interval: must be more than 0: 'nan'"),
        (["--interval", "soon"], "argument --interval: not a number: 'soon'"),
        (["--count", "0"], "argument --count: must be at least 1: '0'"),
        (["--drop-every", "0"], "argument --drop-every: must be at least 1: '0'"),
        (["--retry-ms", "-5"], "argument --retry-ms: must be at least 0: '-5'"),
    ],
)
def test_a_bad_value_is_a_usage_error_naming_the_option(args: list[str], message: str) -> None:
    result = demo_server(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"usage: {PROG} [-h]")
    assert result.stderr.splitlines()[-1] == f"{PROG}: error: {message}"


def test_a_taken_port_is_one_line_and_exit_status_1() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = demo_server("--port", str(port))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{PROG}: cannot listen on 127.0.0.1:{port}: address already in use "
        "(pick another --port, or 0 for any free one)"
    ]


async def _read_counted_room() -> tuple[list[str], BaseException | None, int]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "eventsource", "demo-server", "--interval", "0.3", "--count", "3"),
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        line = (await asyncio.wait_for(process.stdout.readline(), LIMIT)).decode()
        url = line.split(" at ")[1].split()[0]
        ids: list[str] = []
        error: BaseException | None = None
        try:
            with anyio.fail_after(LIMIT):
                async with EventSource(url, reconnect=False) as es:
                    async for event in es:
                        ids.append(event.last_event_id)
        except TransportError as exc:
            error = exc
        return ids, error, await asyncio.wait_for(process.wait(), LIMIT)
    finally:
        if process.returncode is None:  # pragma: no cover - only when a test fails
            process.kill()
            await process.wait()


def test_count_stops_once_each_connected_client_has_been_sent_every_message() -> None:
    # It stopped at once after publishing the last: a client never received it.
    ids, error, code = asyncio.run(_read_counted_room())
    assert ids == ["1", "2", "3"]
    assert isinstance(error, TransportError)  # then the server went away
    assert code == 0
