"""A request body on the command line, with reconnecting on, is announced as sent again.

``--json``/``-d`` make the request a POST; every reconnect sends it again (an
LLM's completion would run again). The command says so once, at the start, on
stderr, and how to send it once (``--no-reconnect``); ``-q`` leaves it out.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from eventsource._cli import main
from eventsource.testing import Drop, Event, SSEServer

NOTE = (
    "eventsource: the request body is sent again on every reconnect; --no-reconnect sends it once"
)


@pytest.fixture
def server() -> Iterator[SSEServer]:
    with SSEServer() as server:
        yield server


@pytest.mark.parametrize("body", [["--json", '{"q": 1}'], ["-d", "q=1"]], ids=["json", "data"])
def test_a_body_with_reconnecting_on_is_announced_once(
    server: SSEServer, body: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    server.script(Event("one", id="1"), Drop())
    server.script(Event("two", id="2"))
    code = main([server.url, *body, "--retry", "0.01", "-n", "2"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert [request.method for request in server.requests] == ["POST", "POST"]
    err = captured.err.splitlines()
    assert err[0] == NOTE  # before anything else
    assert err.count(NOTE) == 1  # not again at the reconnect


@pytest.mark.parametrize(
    "args",
    [
        ["--json", "{}", "--no-reconnect"],  # one-shot: sent once
        ["--json", "{}", "-q"],  # asked for quiet
        [],  # no body
    ],
    ids=["no-reconnect", "quiet", "no-body"],
)
def test_no_note_when_the_body_is_sent_once_or_quiet_is_asked_or_there_is_no_body(
    server: SSEServer, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    server.script(Event("one", id="1"))
    code = main([server.url, *args, "-n", "1"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.out == "message id=1\n  one\n"
    assert captured.err == ""
