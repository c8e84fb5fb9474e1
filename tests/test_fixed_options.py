"""A constructor option set afterwards is refused, not silently ignored.

``es.reconnect = False`` or ``es.headers = {...}`` (a refreshed token) used to
add an attribute that the stream never reads: the bot went on reconnecting,
or sending the old token, with no sign of it.
"""

from __future__ import annotations

import contextlib
import inspect

import pytest

import eventsource
import eventsource.sync

CLIENTS = [eventsource.EventSource, eventsource.sync.EventSource]
URL = "http://127.0.0.1:9/stream"


def _options(client: type) -> list[str]:
    return [name for name in inspect.signature(client).parameters if name != "url"]


@pytest.mark.parametrize("client", CLIENTS, ids=["async", "sync"])
def test_every_option_is_an_attribute_or_refuses_to_be_set(client: type) -> None:
    es = client(URL)
    try:
        for name in _options(client):
            if hasattr(type(es), name) and not hasattr(es, name):  # fixed: no attribute
                with pytest.raises(AttributeError, match=rf"'{name}' is fixed when the"):
                    setattr(es, name, None)
                with pytest.raises(AttributeError, match="it is an option of the constructor"):
                    getattr(es, name)
            else:  # a real attribute, set through its property or read-only
                assert hasattr(es, name), name
                _set_back(es, name)
            assert name not in vars(es)
    finally:
        es.close()


def _set_back(es: object, name: str) -> None:
    with contextlib.suppress(AttributeError):  # read-only (last_event_id): refused, not added
        setattr(es, name, getattr(es, name))


@pytest.mark.parametrize("client", CLIENTS, ids=["async", "sync"])
def test_refusal_names_the_constructor_keyword(client: type) -> None:
    es = client(URL, headers={"Authorization": "Bearer old"})
    try:
        with pytest.raises(AttributeError) as caught:
            es.headers = {"Authorization": "Bearer new"}
        assert "pass headers=... to the constructor" in str(caught.value)
        with pytest.raises(AttributeError, match="'reconnect' is fixed"):
            es.reconnect = False
    finally:
        es.close()


@pytest.mark.parametrize("client", CLIENTS, ids=["async", "sync"])
def test_other_attributes_of_your_own_are_still_allowed(client: type) -> None:
    es = client(URL)
    try:
        es.room = "lobby"  # a bot's own bookkeeping on the object
        assert es.room == "lobby"
    finally:
        es.close()


def test_async_hooks_stay_settable() -> None:
    es = eventsource.EventSource(URL)
    es.prepare_request = print
    assert es.prepare_request is print
    es.close()
