"""A row of failed connects keeps only the last error alive, also with a prepare_request hook.

``prepare_request`` may change the attempt in place or return one (the same or
a new ``ConnectAttempt``). The connect step let go of its attempt before
sending (``del attempt``), but kept the hook's returned one under another name:
each transport error's traceback then held the attempt, whose ``last_error``
was the error before, and so on back to the first failure of the row.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import pytest

from eventsource import ConnectAttempt, ConnectError, ErrorEvent, RetryPolicy

from ._clients import Client
from ._clients import client as client
from ._servers import refused_port
from .test_trial13_failure_rows import ROW, live_connect_errors


def same(attempt: ConnectAttempt) -> ConnectAttempt:
    attempt.headers["Authorization"] = "Bearer a-fresh-token"
    return attempt


def replaced(attempt: ConnectAttempt) -> ConnectAttempt:
    return dataclasses.replace(attempt, headers={**attempt.headers, "X-Try": str(attempt.number)})


@pytest.mark.parametrize("hook", [same, replaced])
def test_a_hook_that_returns_the_attempt_keeps_no_row_of_errors_alive(
    client: Client, caplog: pytest.LogCaptureFixture, hook: Any
) -> None:
    caplog.set_level(logging.ERROR, logger="eventsource")  # log records would hold errors
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
            prepare_request=hook,
        )
    assert isinstance(outcome.error, ConnectError)
    assert len(alive) == 1
    assert alive[0] <= 2, f"{alive[0]} errors of a row of {ROW} still alive"
