"""A listener that cannot be called is refused where it is given, on both clients.

The browser throws a ``TypeError`` from ``addEventListener`` for a listener
that is not callable (and does nothing for ``null``), and turns a non-callable
``on<type>`` into null. Here both raise ``TypeError`` at once, naming the
attribute or the event type, instead of logging one ``TypeError`` per event
later; ``None`` is allowed as ``null`` is.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from eventsource import EventSource
from eventsource.sync import EventSource as SyncEventSource
from eventsource.testing import Event, SSEServer

from ._clients import Client
from ._clients import client as client

URL = "http://127.0.0.1:9/stream"
CLASSES = [EventSource, SyncEventSource]
HANDLERS = ["onopen", "onmessage", "onerror", "on_comment"]


def keep(event: object) -> None:
    pass


@pytest.mark.parametrize("cls", CLASSES, ids=["async", "sync"])
@pytest.mark.parametrize("name", HANDLERS)
@pytest.mark.parametrize(
    ("value", "shown"), [("print", "str ('print')"), (42, "int (42)"), ([keep], "list")]
)
def test_a_handler_attribute_refuses_what_is_not_callable_and_keeps_its_handler(
    cls: Any, name: str, value: object, shown: str
) -> None:
    es = cls(URL)
    setattr(es, name, keep)
    with pytest.raises(TypeError) as info:
        setattr(es, name, value)
    assert str(info.value).startswith(f"{name} must be callable or None, got {shown}")
    assert getattr(es, name) is keep
    setattr(es, name, None)  # as null in the browser: no handler
    assert getattr(es, name) is None


@pytest.mark.parametrize("cls", CLASSES, ids=["async", "sync"])
def test_on_comment_given_to_the_constructor_is_checked_too(cls: Any) -> None:
    with pytest.raises(TypeError) as info:
        cls(URL, on_comment="print")
    assert str(info.value) == "on_comment must be callable or None, got str ('print')"


@pytest.mark.parametrize("cls", CLASSES, ids=["async", "sync"])
@pytest.mark.parametrize("method", ["addEventListener", "removeEventListener"])
def test_add_and_remove_event_listener_refuse_what_is_not_callable_naming_the_type(
    cls: Any, method: str
) -> None:
    es = cls(URL)
    with pytest.raises(TypeError) as info:
        getattr(es, method)("message", 42)
    assert str(info.value) == (
        f"{method}('message'): the listener must be callable or None, got int (42)"
    )
    assert es.listeners.get("message") == ()


def test_none_is_no_listener_on_either_client_and_the_others_hear_every_event(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    heard: list[str] = []

    def setup(es: Any) -> None:
        es.addEventListener("message", None)  # nothing, as null in the browser
        es.addEventListener("message", lambda event: heard.append(event.data))
        es.removeEventListener("open", None)  # nothing either

    with caplog.at_level(logging.ERROR, logger="eventsource"), SSEServer() as server:
        server.script(Event("a"), Event("b"))
        outcome = client.run(server.url, setup, reconnect=False)
    assert outcome.error is None
    assert heard == ["a", "b"]
    assert caplog.records == []  # no listener failed


def test_a_refused_listener_leaves_the_stream_as_it_was() -> None:
    es = EventSource(URL)
    es.addEventListener("message", keep)
    with pytest.raises(TypeError):
        es.addEventListener("message", "keep")
    assert es.listeners.get("message") == (keep,)
