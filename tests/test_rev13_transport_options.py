"""A transport's constructor options are refused when set afterwards, as the EventSource's are.

``HttpxTransport().proxy = ...`` (or ``verify``, ``http2``, ``trust_env``,
``cert``, ``client``) used to add an attribute that nothing reads: the client
is made from the arguments given to the constructor. ``verify``, kept for the
caller to read, could be set too, and then read back a value that was not in
force (``transport.verify = False`` on a transport that verifies).
"""

from __future__ import annotations

import inspect

import pytest

from eventsource.sync import HttpxTransport as SyncHttpxTransport
from eventsource.transports import AiohttpTransport, HttpxTransport

TRANSPORTS = [AiohttpTransport, HttpxTransport, SyncHttpxTransport]


def _keywords(cls: type) -> list[str]:
    parameters = inspect.signature(cls).parameters.values()
    return [p.name for p in parameters if p.kind is not inspect.Parameter.VAR_KEYWORD]


@pytest.mark.parametrize("cls", TRANSPORTS, ids=lambda cls: f"{cls.__module__}.{cls.__name__}")
def test_a_transport_option_set_afterwards_is_refused(cls: type) -> None:
    transport = cls()
    for name in _keywords(cls):
        with pytest.raises(AttributeError):
            setattr(transport, name, None)
    assert transport.verify is True  # still readable, as given


@pytest.mark.parametrize("cls", TRANSPORTS, ids=lambda cls: f"{cls.__module__}.{cls.__name__}")
def test_verify_reads_what_the_constructor_was_given(cls: type) -> None:
    assert cls(verify=False).verify is False
