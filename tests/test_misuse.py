"""Mistakes a user makes, refused at once with the option's name; and the DOM's listener rules.

Found by a new-user trial: options of the wrong type were accepted and failed
later with bare builtin errors (at the first reconnect, hours in), a ``str``
given to ``secret_headers`` sent the header it names to another origin, a
status policy's typo read as "fail", ``run()`` from a second reader closed the
stream under the first, and a listener removed while an event was dispatched
was still called for it. Both clients, real servers on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import re
import threading
from typing import Any

import httpx
import pytest

import eventsource
import eventsource.sync
from eventsource import ReadyState
from eventsource.stores import FileLastEventIdStore, StrictStore
from eventsource.testing import Event, Respond, Sleep, SSEServer

from ._clients import Client
from ._clients import client as client

CLASSES = [eventsource.EventSource, eventsource.sync.EventSource]
URL = "http://127.0.0.1:9/stream"


def _never(event: object) -> bool:
    return False


@pytest.mark.parametrize("cls", CLASSES, ids=["async", "sync"])
@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"headers": "Authorization: Bearer t"}, TypeError, r"headers must be a mapping"),
        ({"secret_headers": "X-Api-Key"}, TypeError, r"secret_headers takes a list"),
        ({"secret_headers": [b"X-Api-Key"]}, TypeError, r"a name in secret_headers"),
        ({"secret_headers": None}, TypeError, r"secret_headers takes a list"),
        (
            {"headers": {"authorization": "Bearer t"}, "url": "http://u:p@h.test/"},
            ValueError,
            r"URL has credentials",
        ),
        ({"retry_policy": {"max_reconnects": 1}}, TypeError, r"retry_policy must be a Retry"),
        ({"retry": "3"}, TypeError, r"retry must be a number of seconds, got str"),
        ({"connect_timeout": "5"}, TypeError, r"connect_timeout must be a number of sec"),
        ({"read_timeout": True}, TypeError, r"read_timeout must be a number of seconds"),
        ({"max_event_size": "1"}, TypeError, r"max_event_size must be an int, got str"),
        ({"max_redirects": -1}, ValueError, r"max_redirects must be at least 0, not -1"),
        ({"max_redirects": 2.5}, TypeError, r"max_redirects must be an int"),
        ({"stop_when": 1}, TypeError, r"stop_when must be callable or None"),
        ({"stop_after": "x"}, TypeError, r"stop_after must be callable or None"),
        ({"error_when": 1}, TypeError, r"error_when must be callable or None"),
        ({"prepare_request": "token"}, TypeError, r"prepare_request must be callable"),
        ({"validate_response": 1}, TypeError, r"validate_response must be callable"),
        ({"last_event_id_store": "ids.txt"}, TypeError, r"needs a load\(\) method"),
        # A flag as a string was truthy: reconnect="no" reconnected.
        ({"reconnect": "no"}, TypeError, r"reconnect must be True or False, got str \('no'\)"),
        ({"allow_insecure_redirects": "false"}, TypeError, r"allow_insecure_redirects must be"),
        ({"raise_listener_errors": 1}, TypeError, r"raise_listener_errors must be True or"),
    ],
)
def test_an_option_of_the_wrong_type_is_refused_when_the_eventsource_is_made(
    cls: Any, options: dict[str, Any], error: type[Exception], message: str
) -> None:
    options = {"url": URL, **options}
    with pytest.raises(error, match=message):
        cls(**options)


def test_a_strict_store_given_to_the_blocking_client_says_why(tmp_path: Any) -> None:
    # It said "needs a store with a blocking load(), not an async one": the store
    # inside was blocking; StrictStore itself is the async client's.
    store = StrictStore(FileLastEventIdStore(tmp_path / "id"))
    with pytest.raises(TypeError, match="StrictStore is for the async client"):
        eventsource.sync.EventSource(URL, last_event_id_store=store)


@pytest.mark.parametrize("cls", CLASSES, ids=["async", "sync"])
def test_predicates_and_hooks_set_later_are_checked_too(cls: Any) -> None:
    es = cls(URL)
    for name in ("stop_when", "stop_after", "error_when") + (
        ("prepare_request", "validate_response") if cls is eventsource.EventSource else ()
    ):
        with pytest.raises(TypeError, match=f"{name} must be callable or None"):
            setattr(es, name, 1)
        setattr(es, name, _never)  # a callable is taken
        assert getattr(es, name) is _never
    with pytest.raises(TypeError, match="the event type must be a str"):
        es.addEventListener(None, print)
    with pytest.raises(TypeError, match="raise_listener_errors must be True or False"):
        es.raise_listener_errors = "yes"
    es.raise_listener_errors = True
    assert es.raise_listener_errors is True


@pytest.mark.parametrize("cls", CLASSES, ids=["async", "sync"])
def test_with_credentials_is_read_only_as_in_the_browser(cls: Any) -> None:
    es = cls(URL)
    for name in ("withCredentials", "with_credentials"):
        with pytest.raises(AttributeError):
            setattr(es, name, True)
        assert getattr(es, name) is False


@pytest.mark.parametrize("answer", ["retry-later", True, [5]])
def test_a_status_policy_answering_something_else_raises_naming_it(
    client: Client, answer: object
) -> None:
    with SSEServer() as server:
        server.script(Respond(503, {"Content-Type": "text/plain"}, b"down"))
        server.script(Event("up"))
        # A ValueError from the user's policy is no stream error: it propagates.
        with pytest.raises(
            ValueError, match=re.escape(f"status_policy answered {answer!r} for 503")
        ):
            client.collect(server.url, 1, status_policy=lambda response: answer)


def _mutating_listeners(es: Any, seen: list[tuple[str, str]]) -> None:
    def l1(event: Any) -> None:
        seen.append(("l1", event.data))
        if event.data == "a":
            es.removeEventListener("message", l2)
            es.addEventListener("message", l3)

    def l2(event: Any) -> None:
        seen.append(("l2", event.data))

    def l3(event: Any) -> None:
        seen.append(("l3", event.data))

    es.addEventListener("message", l1)
    es.addEventListener("message", l2)


def test_a_listener_removed_during_a_dispatch_is_not_called_for_that_event(
    client: Client,
) -> None:
    # [DOM] the list is cloned before the dispatch (l3, added, waits for the next
    # event), and a listener removed meanwhile is skipped: l2 heard "a" too.
    seen: list[tuple[str, str]] = []
    with SSEServer() as server:
        server.script(Event("a"), Event("b"))
        client.run(server.url, lambda es: _mutating_listeners(es, seen), reconnect=False)
    assert seen == [("l1", "a"), ("l1", "b"), ("l3", "b")]


def _once_listeners(es: Any, seen: list[tuple[str, str]], options: dict[str, Any]) -> None:
    def first(event: Any) -> None:
        seen.append(("first", event.data))

    def every(event: Any) -> None:
        seen.append(("every", event.data))

    def typed(event: Any) -> None:
        seen.append(("typed", event.data))

    es.addEventListener("message", first, **options)
    es.addEventListener("message", every)
    es.addEventListener("message", first)  # [DOM] already there (as once): nothing added
    es.addEventListener("done", typed, once=True)
    es.addEventListener("done", typed, once=True)


@pytest.mark.parametrize(
    "options",
    [{"once": True}, {"options": {"once": True}}, {"options": {"once": True, "capture": True}}],
)
def test_a_listener_added_once_hears_one_event_then_is_gone(
    client: Client, options: dict[str, Any]
) -> None:
    # addEventListener(type, fn, {once: true}) as in the browser, or once=True;
    # it was a TypeError naming an internal class.
    seen: list[tuple[str, str]] = []
    with SSEServer() as server:
        server.script(Event("a"), Event("b"), Event("x", event="done"), Event("y", event="done"))
        client.run(server.url, lambda es: _once_listeners(es, seen, options), reconnect=False)
    assert seen == [("first", "a"), ("every", "a"), ("every", "b"), ("typed", "x")]


@pytest.mark.parametrize("cls", CLASSES, ids=["async", "sync"])
def test_listener_options_the_dom_has_and_python_cannot_are_refused(cls: Any) -> None:
    es = cls(URL)
    with pytest.raises(TypeError, match=r"unsupported option\(s\) 'signal'"):
        es.addEventListener("message", print, {"signal": object()})
    with pytest.raises(TypeError, match="options must be a mapping"):
        es.addEventListener("message", print, "once")
    with pytest.raises(TypeError, match=r"options\['once'\] must be True or False"):
        es.addEventListener("message", print, {"once": "yes"})
    es.addEventListener("message", print, True)  # useCapture: nothing to capture
    es.removeEventListener("message", print, {"capture": True})


@pytest.mark.asyncio
async def test_run_from_a_second_task_is_refused_and_the_first_reads_on() -> None:
    async with SSEServer() as server:
        server.script(Event("a"), Sleep(0.3), Event("b"), Event("c"))
        es = eventsource.EventSource(server.url, reconnect=False)
        got: list[str] = []

        async def first() -> None:
            async for event in es:
                got.append(event.data)

        task = asyncio.create_task(first())
        await asyncio.sleep(0.1)  # the first reader waits for "b"
        with pytest.raises(RuntimeError, match="already being read by another task"):
            await asyncio.wait_for(es.run(), 5)
        assert es.readyState is ReadyState.OPEN
        await asyncio.wait_for(task, 5)
        await es.aclose()
    assert got == ["a", "b", "c"]


def test_run_from_a_second_thread_is_refused_and_the_first_reads_on() -> None:
    with SSEServer() as server:
        server.script(Event("a"), Sleep(0.3), Event("b"), Event("c"))
        es = eventsource.sync.EventSource(server.url, reconnect=False)
        got: list[str] = []
        reader = threading.Thread(target=lambda: got.extend(e.data for e in es))
        reader.start()
        try:
            for _ in range(100):  # the reader is in its read, waiting for "b"
                if got:
                    break
                threading.Event().wait(0.01)
            threading.Event().wait(0.1)
            with pytest.raises(RuntimeError, match="already being read by another thread"):
                es.run()
            assert es.readyState is ReadyState.OPEN
        finally:
            reader.join(5)
            es.close()
    assert got == ["a", "b", "c"]


PARAMS: list[Any] = [
    {"a": [1, 2], "b": True, "c": None, "d": 1.5, "é": "x y"},
    [("a", 1), ("a", "z"), ("flag", False)],
    {"ids": ("7", 8)},
]


@pytest.mark.parametrize("cls", CLASSES, ids=["async", "sync"])
@pytest.mark.parametrize("params", PARAMS)
def test_params_are_encoded_as_httpx_encodes_them(cls: Any, params: Any) -> None:
    # A list value was put in the query as its repr ("a=%5B1%2C+2%5D"), True as
    # "True": a list repeats the name, as in httpx (and requests).
    assert cls("http://h.test/s", params=params).url == str(
        httpx.URL("http://h.test/s", params=params)
    )


@pytest.mark.parametrize("params", ["a=1", b"a=1", {"a": {"x": 1}}])
def test_params_that_are_no_pairs_are_refused_naming_params(params: Any) -> None:
    with pytest.raises(TypeError, match="params"):
        eventsource.EventSource(URL, params=params)
