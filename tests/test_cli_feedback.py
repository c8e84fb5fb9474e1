"""What the ``eventsource`` command says while it cannot connect, and when it stops on its own.

A refused port, an unknown host, an untrusted certificate, a stalled
handshake and a 503 each give one human line per attempt on stderr, on both
transports; ``-q`` silences those lines and ``-v`` adds the lifecycle. The
servers are real, on 127.0.0.1; the unknown host is a ``.invalid`` name that
an in-process resolver refuses, so that no query leaves the machine.
"""

from __future__ import annotations

import asyncio
import re
import sys

import pytest

from .test_cli import TIMEOUT, Runner, _env
from .test_cli import cli as cli
from .test_cli import server as server

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
