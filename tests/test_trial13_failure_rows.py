"""A long row of failed connects keeps only the last error alive (new-user trial 13).

A bot whose server is down for a weekend fails to connect every 30 s. Each
``ConnectAttempt`` carries the previous attempt's error as ``last_error``;
the new error's traceback held the frame that made the attempt, and so that
attempt, and so the error before it: every error of the row stayed in memory
(about 12 KiB a failed attempt on aiohttp, 23 KiB on httpx), until a
connection worked again.
"""

from __future__ import annotations

import gc
import logging
from typing import Any

import pytest

from eventsource import ConnectError, ErrorEvent, RetryPolicy

from ._clients import Client
from ._clients import client as client
from ._servers import refused_port

ROW = 30


def live_connect_errors() -> int:
    gc.collect()
    return sum(isinstance(thing, ConnectError) for thing in gc.get_objects())


def errors_alive_at_the_end_of_a_row(client: Client, **options: Any) -> int:
    """How many more ``ConnectError``s are alive at the ROW-th failed connect in a row.

    The caller sets the log level: captured log records hold each reconnect's error.
    """
    before = live_connect_errors()
    alive: list[int] = []

    def count_at_the_end_of_the_row(es: Any) -> None:
        seen = 0

        def on_error(event: ErrorEvent) -> None:
            nonlocal seen
            seen += 1
            if seen == ROW:
                alive.append(live_connect_errors() - before)

        es.onerror = on_error

    policy = RetryPolicy(backoff_factor=1.0, jitter=0.0, max_backoff=0.001, max_reconnects=ROW)
    with refused_port() as port:
        outcome = client.run(
            f"http://127.0.0.1:{port}/",
            count_at_the_end_of_the_row,
            retry=0.001,
            retry_policy=policy,
            **options,
        )
    assert isinstance(outcome.error, ConnectError)
    assert len(alive) == 1
    return alive[0]


def test_failed_connects_in_a_row_do_not_keep_each_others_errors_alive(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="eventsource")  # log records would hold errors
    alive = errors_alive_at_the_end_of_a_row(client)
    # The error being reported, and the one the connection keeps for the next hook.
    assert alive <= 2, f"{alive} errors of a row of {ROW} still alive"
