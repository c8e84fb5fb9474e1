"""Faults a new user's trial of the ``eventsource`` command found, each run for real.

The command runs as a subprocess (or in-process, where both apply) against
servers on 127.0.0.1: a retried stream that ends with no event, stdout that
cannot be written to, a secret header and a redirect to another origin,
``--retry 0`` and non-finite numbers, and server text holding terminal
control sequences.
"""

from __future__ import annotations

import pytest

from eventsource.testing import Event, SSEServer

from .test_cli import Runner
from .test_cli import cli as cli
from .test_cli import server as server

# -- --retry 0, and numbers that are not finite --------------------------------------------------


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
