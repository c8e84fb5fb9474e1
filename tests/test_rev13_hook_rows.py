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

from eventsource import ConnectAttempt

from ._clients import Client
from ._clients import client as client
from .test_trial13_failure_rows import ROW, errors_alive_at_the_end_of_a_row


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
    alive = errors_alive_at_the_end_of_a_row(client, prepare_request=hook)
    assert alive <= 2, f"{alive} errors of a row of {ROW} still alive"
