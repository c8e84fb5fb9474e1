"""A listener removed during a dispatch is skipped for that event, also when it is the handler too.

Found by a new-user trial: with ``onmessage = g`` and ``addEventListener("message",
g)`` (``once=True`` or not), ``g`` removing its added self was still called a
second time for that event: the check found ``g`` as the ``onmessage`` handler.
And a once-listener removed and added again (plain) by an earlier listener was
called for that event, as equal to the function now added. [DOM] Both are
skipped: the removed entry has its "removed" flag, the new one waits for the
next event. Both clients, real servers on 127.0.0.1.
"""

from __future__ import annotations

from typing import Any

import pytest

from eventsource.testing import Event, SSEServer

from ._clients import Client
from ._clients import client as client


@pytest.mark.parametrize("once", [False, True], ids=["plain", "once"])
def test_the_handler_removing_its_added_self_is_not_called_twice(
    client: Client, once: bool
) -> None:
    seen: list[str] = []

    def setup(es: Any) -> None:
        def g(event: Any) -> None:
            seen.append(event.data)
            es.removeEventListener("message", g)  # the added one; the handler stays

        es.onmessage = g
        es.addEventListener("message", g, once=once)

    with SSEServer() as server:
        server.script(Event("a"), Event("b"))
        client.run(server.url, setup, reconnect=False)
    assert seen == ["a", "b"]  # was ["a", "a", "b"]


def test_a_once_listener_removed_and_added_again_waits_for_the_next_event(
    client: Client,
) -> None:
    seen: list[tuple[str, str]] = []

    def setup(es: Any) -> None:
        def later(event: Any) -> None:
            seen.append(("later", event.data))

        def first(event: Any) -> None:
            seen.append(("first", event.data))
            if event.data == "a":  # the once entry goes; a plain one comes at the end
                es.removeEventListener("message", later)
                es.addEventListener("message", later)

        es.addEventListener("message", first)
        es.addEventListener("message", later, once=True)

    with SSEServer() as server:
        server.script(Event("a"), Event("b"))
        client.run(server.url, setup, reconnect=False)
    assert seen == [("first", "a"), ("first", "b"), ("later", "b")]
