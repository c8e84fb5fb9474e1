"""The transports' own options are refused at once when of the wrong type, naming them.

Found by a new-user trial: ``AiohttpTransport(trust_env="no")`` was truthy and
sent every request through the environment's proxy (as the flags of the
EventSource did before they were checked); ``verify=0`` failed at the first
connection with a bare ``AttributeError`` (httpx) or ``TypeError`` (aiohttp);
and ``verify="false"`` (a flag read from a setting) raised
``FileNotFoundError: [Errno 2] No such file or directory`` naming nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import eventsource.sync
from eventsource import EventSource, RetryPolicy
from eventsource.testing import SSEServer
from eventsource.transports import AiohttpTransport, HttpxTransport

TRANSPORTS = [AiohttpTransport, HttpxTransport, eventsource.sync.HttpxTransport]
IDS = ["aiohttp", "httpx", "sync-httpx"]


@pytest.mark.parametrize("transport", TRANSPORTS, ids=IDS)
@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"trust_env": "no"}, r"trust_env must be True or False, got str \('no'\)"),
        ({"trust_env": 0}, r"trust_env must be True or False, got int \(0\)"),
        ({"verify": 0}, r"verify must be True, False, a CA bundle file or an ssl.SSLContext"),
        ({"verify": None}, r"verify must be True, False, .* got NoneType"),
        ({"cert": ["client.crt", "client.key"]}, r"cert must be a PEM file .* got list"),
    ],
)
def test_an_option_of_the_wrong_type_is_refused_when_the_transport_is_made(
    transport: Any, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(TypeError, match=message):
        transport(**options)


@pytest.mark.parametrize("transport", TRANSPORTS[1:], ids=IDS[1:])
def test_http2_must_be_a_bool(transport: Any) -> None:
    with pytest.raises(TypeError, match=r"http2 must be True or False, got str \('no'\)"):
        transport(http2="no")


@pytest.mark.parametrize("transport", TRANSPORTS, ids=IDS)
@pytest.mark.parametrize("option", ["verify", "cert"])
def test_a_missing_tls_file_is_named(transport: Any, option: str, tmp_path: Path) -> None:
    missing = str(tmp_path / "false")
    with pytest.raises(FileNotFoundError, match=f"{option}=.*false.*no such file"):
        transport(**{option: missing})


@pytest.mark.asyncio
async def test_trust_env_false_still_ignores_the_environments_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The check must not change what a real bool does: False reads no proxy.
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    async with SSEServer() as server:
        server.room.publish("hello")
        url = server.url.replace("127.0.0.1", "localhost")  # not a host aiohttp always skips
        transport = AiohttpTransport(trust_env=False)
        policy = RetryPolicy(max_reconnects=0)
        async with EventSource(url, transport=transport, retry_policy=policy) as es:
            assert (await es.__anext__()).data == "hello"
