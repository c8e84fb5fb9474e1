"""MCP streamable HTTP against a real MCP server: resume by GET, and never run a tool twice.

The server is the ``mcp`` package's own (``_mcp.McpServer``), with an event
store so that its streams can be resumed. Its tool ``count`` reports progress
and answers; the server counts how often it ran. A proxy on the test's event
loop breaks the streams where each test says. Every test runs on aiohttp
(asyncio), httpx (asyncio) and httpx (trio).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from aiohttp import web

from eventsource import (
    ConnectAttempt,
    ConnectError,
    ContentTypeError,
    ErrorEvent,
    EventSource,
    MessageEvent,
    ReadyState,
    StatusError,
    TransportError,
)
from eventsource.mcp import (
    PROTOCOL_VERSION_HEADER,
    SESSION_ID_HEADER,
    RequestMayHaveRunError,
    is_response_to,
    prepare_request,
    request_stream,
)

from ._fixtures import FAST, LIMIT, Combo
from ._fixtures import anyio_backend as anyio_backend
from ._fixtures import combo as combo
from ._fixtures import server as server
from ._mcp import (
    SERVER_RETRY_MS,
    VERSION,
    CutAfterEvents,
    CutBeforeResponse,
    McpServer,
    cutting_proxy,
    open_session,
    running_mcp_server,
    tool_call,
)
from ._servers import LoopbackServer, client_sockets_to

DOCS = Path(__file__).resolve().parent.parent / "docs" / "llm-and-mcp.md"
STEPS = 3
#: What the stream of ``tool_call(1, STEPS)`` carries: a priming event, progress, the answer.
STREAM_LENGTH = 1 + STEPS + 1


@pytest.fixture
def mcp_server() -> Iterator[McpServer]:
    with running_mcp_server() as server:
        yield server


@pytest.fixture
def json_mcp_server() -> Iterator[McpServer]:
    """A server that answers a POST with one JSON body (``json_response=True``)."""
    with running_mcp_server(json_response=True) as server:
        yield server


def the_call(combo: Combo, url: str, session: str, **options: Any) -> EventSource:
    """``request_stream`` for ``tool_call(1, STEPS)`` on this combo's transport."""
    return request_stream(
        url,
        tool_call(1, STEPS),
        session_id=session,
        protocol_version=VERSION,
        headers={"Authorization": "Bearer token-1"},
        transport=combo.transport,
        **FAST,
        **options,
    )


def check_whole_stream(received: list[MessageEvent]) -> None:
    """Every event of the call, once each and in order: priming, progress 1..STEPS, answer."""
    assert len(received) == STREAM_LENGTH
    ids = [int(event.last_event_id) for event in received]
    assert ids == sorted(set(ids))
    assert received[0].data == ""  # the priming event carries only its ID
    progress = [event.json()["params"]["progress"] for event in received[1:-1]]
    assert progress == list(range(1, STEPS + 1))
    assert received[-1].json()["result"]["content"][0]["text"] == f"counted to {STEPS}"


async def ran_once(server: McpServer, steps: int = STEPS) -> None:
    """Wait until the call's answer is stored; then the tool must have run exactly once."""
    with anyio.fail_after(LIMIT):
        while not server.store.answered(1):
            await anyio.sleep(0.005)
    assert server.calls == [steps]


pytestmark = pytest.mark.anyio


async def test_a_tool_call_streams_its_progress_and_answer(
    combo: Combo, mcp_server: McpServer
) -> None:
    session = await open_session(mcp_server.url)
    async with cutting_proxy(mcp_server.port) as proxy:
        received: list[MessageEvent] = []
        with anyio.fail_after(LIMIT):
            async with the_call(combo, proxy.url, session) as es:
                async for event in es:
                    received.append(event)
            assert es.readyState == ReadyState.CLOSED
    check_whole_stream(received)
    await ran_once(mcp_server)
    [post] = proxy.requests
    assert post.method == "POST"
    assert json.loads(post.body) == tool_call(1, STEPS)
    assert post.headers["accept"] == "application/json, text/event-stream"
    assert post.headers["content-type"] == "application/json"
    assert post.headers["mcp-session-id"] == session
    assert post.headers["mcp-protocol-version"] == VERSION
    assert post.headers["authorization"] == "Bearer token-1"
    assert "last-event-id" not in post.headers


@pytest.mark.parametrize(
    "cut", [CutBeforeResponse(), CutAfterEvents(0)], ids=["before-response", "after-head"]
)
async def test_a_cut_before_the_first_event_raises_and_sends_nothing_again(
    combo: Combo, mcp_server: McpServer, cut: CutBeforeResponse | CutAfterEvents
) -> None:
    session = await open_session(mcp_server.url)
    errors: list[ErrorEvent] = []
    async with cutting_proxy(mcp_server.port, [cut]) as proxy:
        es = the_call(combo, proxy.url, session)
        es.onerror = errors.append
        received: list[MessageEvent] = []
        with anyio.fail_after(LIMIT), pytest.raises(RequestMayHaveRunError) as caught:
            async with es:
                async for event in es:
                    received.append(event)
        assert es.readyState == ReadyState.CLOSED
        await ran_once(mcp_server)
        await anyio.sleep(0.05)  # time enough for a request sent again to arrive
        assert [request.method for request in proxy.requests] == ["POST"]
    assert received == []
    assert mcp_server.calls == [STEPS]
    # What broke the stream is the cause; it is not "could not connect".
    cause = caught.value.__cause__
    assert cause is None or isinstance(cause, TransportError)
    assert not isinstance(cause, ConnectError)
    assert "may have" in str(caught.value)
    assert [e.reconnecting for e in errors] == [True, False]
    assert errors[-1].error is caught.value


@pytest.mark.parametrize(
    "cut", [CutBeforeResponse(), CutAfterEvents(0)], ids=["before-response", "after-head"]
)
async def test_the_old_recipe_runs_the_tool_twice_after_a_cut_before_the_first_event(
    combo: Combo, mcp_server: McpServer, cut: CutBeforeResponse | CutAfterEvents
) -> None:
    # The hook the docs showed before eventsource.mcp: a reconnection without an
    # event ID POSTs the call again. This is the double run the helper prevents,
    # and the proof that the cuts above really come before the first event.
    def resume_with_get(attempt: ConnectAttempt) -> None:
        if attempt.last_event_id:
            attempt.method = "GET"
            attempt.body = None
            attempt.headers.pop("Content-Type", None)

    session = await open_session(mcp_server.url)
    async with cutting_proxy(mcp_server.port, [cut]) as proxy:
        es = EventSource(
            proxy.url,
            method="POST",
            json=tool_call(1, STEPS),
            headers={
                "Accept": "application/json, text/event-stream",
                "Mcp-Session-Id": session,
                "MCP-Protocol-Version": VERSION,
            },
            prepare_request=resume_with_get,
            stop_after=is_response_to(1),
            transport=combo.transport,
            **FAST,
        )
        with anyio.fail_after(LIMIT):
            async with es:
                received = [event async for event in es]
    assert [request.method for request in proxy.requests] == ["POST", "POST"]
    assert mcp_server.calls == [STEPS, STEPS]  # the tool ran twice
    assert received[-1].json()["id"] == 1


async def test_a_cut_after_the_first_event_resumes_by_get_with_last_event_id(
    combo: Combo, mcp_server: McpServer
) -> None:
    session = await open_session(mcp_server.url)
    errors: list[ErrorEvent] = []
    async with cutting_proxy(
        mcp_server.port, [CutAfterEvents(1)], hold=lambda: mcp_server.store.answered(1)
    ) as proxy:
        es = the_call(combo, proxy.url, session)
        es.onerror = errors.append
        received: list[MessageEvent] = []
        with anyio.fail_after(LIMIT):
            async with es:
                async for event in es:
                    received.append(event)
    check_whole_stream(received)
    await ran_once(mcp_server)
    post, get = proxy.requests
    assert post.method == "POST"
    assert (get.method, get.target, get.body) == ("GET", "/mcp", b"")
    assert get.headers["last-event-id"] == received[0].last_event_id
    assert get.headers["mcp-session-id"] == session
    assert get.headers["mcp-protocol-version"] == VERSION
    assert get.headers["authorization"] == "Bearer token-1"
    assert get.headers["accept"] == "text/event-stream"
    assert "content-type" not in get.headers
    assert "content-length" not in get.headers or get.headers["content-length"] == "0"
    # The server's retry: from the priming event set the reconnection time.
    assert [e.delay for e in errors] == [SERVER_RETRY_MS / 1000]


async def test_several_cuts_in_a_row_resume_from_the_last_id_each_time(
    combo: Combo, mcp_server: McpServer
) -> None:
    session = await open_session(mcp_server.url)
    cuts = [
        CutAfterEvents(2),  # the POST: the priming event and progress 1
        CutAfterEvents(1),  # a GET: progress 2
        CutAfterEvents(0),  # a GET: its head, no event
        CutBeforeResponse(),  # a GET: nothing at all
        CutAfterEvents(1),  # a GET: progress 3
    ]
    async with cutting_proxy(
        mcp_server.port, cuts, hold=lambda: mcp_server.store.answered(1)
    ) as proxy:
        received: list[MessageEvent] = []
        with anyio.fail_after(LIMIT):
            async with the_call(combo, proxy.url, session) as es:
                async for event in es:
                    received.append(event)
        assert client_sockets_to(proxy.port) == 0
    check_whole_stream(received)
    await ran_once(mcp_server)
    methods = [request.method for request in proxy.requests]
    assert methods == ["POST", "GET", "GET", "GET", "GET", "GET"]
    ids = [e.last_event_id for e in received]
    resumed_from = [request.headers["last-event-id"] for request in proxy.requests[1:]]
    assert resumed_from == [ids[1], ids[2], ids[2], ids[2], ids[3]]
    for get in proxy.requests[1:]:
        assert get.body == b""
        assert get.headers["mcp-session-id"] == session
        assert get.headers["mcp-protocol-version"] == VERSION


async def test_a_refused_connection_is_retried_with_the_post(
    combo: Combo, mcp_server: McpServer
) -> None:
    session = await open_session(mcp_server.url)
    errors: list[ErrorEvent] = []
    async with cutting_proxy(mcp_server.port, listening=False) as proxy:
        es = the_call(combo, proxy.url, session)

        def on_error(event: ErrorEvent) -> None:
            errors.append(event)
            proxy.listen()  # the next attempt gets through

        es.onerror = on_error
        received: list[MessageEvent] = []
        with anyio.fail_after(LIMIT):
            async with es:
                async for event in es:
                    received.append(event)
    check_whole_stream(received)
    await ran_once(mcp_server)
    [refused] = errors
    assert isinstance(refused.error, ConnectError)
    assert refused.reconnecting
    [post] = proxy.requests  # the refused attempt never got anywhere
    assert post.method == "POST"
    assert json.loads(post.body) == tool_call(1, STEPS)


def documented_recipe(name: str = "call_tool") -> Any:
    """``name``, as docs/llm-and-mcp.md defines it in its MCP section (with ``call_tool``)."""
    text = DOCS.read_text(encoding="utf-8")
    section = text[text.index("## MCP streamable HTTP") :]
    blocks = [block.split("```", 1)[0] for block in section.split("```python\n")[1:]]
    namespace: dict[str, Any] = {}
    for block in blocks:
        if f"def {name}(" in block or "def call_tool(" in block:
            exec(compile(block, str(DOCS), "exec"), namespace)
    return namespace[name]


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # the recipe uses the default transport
async def test_the_documented_recipe_calls_a_tool_and_raises_after_a_cut_before_any_id(
    mcp_server: McpServer, capsys: pytest.CaptureFixture[str]
) -> None:
    call_tool = documented_recipe()
    session = await open_session(mcp_server.url)
    async with cutting_proxy(mcp_server.port, [CutBeforeResponse()]) as proxy:
        with anyio.fail_after(LIMIT), pytest.raises(RequestMayHaveRunError):
            await call_tool(proxy.url, session, "count", {"steps": 2})
        await ran_once(mcp_server, steps=2)
        with anyio.fail_after(LIMIT):
            answer = await call_tool(proxy.url, session, "count", {"steps": 2})
    assert answer["result"]["content"][0]["text"] == "counted to 2"
    assert capsys.readouterr().out == "progress: 1\nprogress: 2\n"
    assert [request.method for request in proxy.requests] == ["POST", "POST"]


# -- a server that answers with JSON ------------------------------------------------------


async def test_a_json_answer_raises_content_type_error_and_the_error_holds_it(
    combo: Combo, json_mcp_server: McpServer
) -> None:
    # Issue 13: POST_ACCEPT allows application/json, and such an answer is no
    # event; docs/llm-and-mcp.md says where the answer is, and that the tool ran.
    session = await open_session(json_mcp_server.url)
    async with cutting_proxy(json_mcp_server.port) as proxy:
        es = the_call(combo, proxy.url, session)
        with anyio.fail_after(LIMIT), pytest.raises(ContentTypeError) as info:
            async with es:
                async for _ in es:
                    pass
    error = info.value
    assert error.status == 200
    assert error.content_type == "application/json"
    answer = json.loads(error.body)
    assert answer["id"] == 1
    assert answer["result"]["content"][0]["text"] == f"counted to {STEPS}"
    assert json_mcp_server.calls == [STEPS]  # it ran, once: nothing was sent again
    assert [request.method for request in proxy.requests] == ["POST"]


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # the recipes use the default transport
async def test_the_documented_recipes_get_a_json_answer(json_mcp_server: McpServer) -> None:
    call_tool_or_json = documented_recipe("call_tool_or_json")
    session = await open_session(json_mcp_server.url)
    with anyio.fail_after(LIMIT):
        answer = await call_tool_or_json(json_mcp_server.url, session, "count", {"steps": 2})
    assert answer["result"]["content"][0]["text"] == "counted to 2"
    assert json_mcp_server.calls == [2]


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize("json_response", [True, False], ids=["json", "stream"])
async def test_the_documented_post_reads_a_json_answer_or_a_stream(json_response: bool) -> None:
    call_either_way = documented_recipe("call_either_way")
    with running_mcp_server(json_response=json_response) as server:
        session = await open_session(server.url)
        headers = {SESSION_ID_HEADER: session, PROTOCOL_VERSION_HEADER: VERSION}
        with anyio.fail_after(LIMIT):
            async with httpx.AsyncClient() as client:
                answer = await call_either_way(client, server.url, headers, tool_call(1, 2))
        assert answer["result"]["content"][0]["text"] == "counted to 2"
        assert server.calls == [2]


# -- the helper's decisions, one attempt at a time --------------------------------------


def attempt(**fields: Any) -> ConnectAttempt:
    fields.setdefault("method", "POST")
    fields.setdefault("url", "http://127.0.0.1:1/mcp")
    return ConnectAttempt(
        headers={
            "Accept": "application/json, text/event-stream",
            "content-type": "application/json",
            "Mcp-Session-Id": "s1",
            "MCP-Protocol-Version": VERSION,
            "Authorization": "Bearer t",
        },
        body=b'{"id":1}',
        **fields,
    )


def status_error(status: int) -> StatusError:
    return StatusError(f"server answered {status}", status=status)


@pytest.mark.parametrize(
    ("number", "last_error"),
    [
        (0, None),  # the first attempt
        (1, ConnectError("could not connect")),
        (2, status_error(503)),  # statuses the status policy retried
        (2, status_error(429)),
    ],
    ids=["first", "after-connect-error", "after-503", "after-429"],
)
def test_the_post_is_sent_on_the_first_attempt_and_when_it_was_not_received(
    number: int, last_error: Any
) -> None:
    given = attempt(number=number, last_error=last_error)
    prepare_request(given)
    assert (given.method, given.body) == ("POST", b'{"id":1}')
    assert given.headers["Accept"] == "application/json, text/event-stream"


@pytest.mark.parametrize(
    "last_error",
    [
        TransportError("reading the stream failed"),
        None,
        status_error(502),  # a gateway may have passed the request on
        status_error(504),
        status_error(500),
    ],
    ids=["after-transport-error", "after-end-of-stream-or-cancel", "502", "504", "500"],
)
def test_a_reconnection_without_an_event_id_raises_request_may_have_run(
    last_error: TransportError | None,
) -> None:
    given = attempt(number=1, last_error=last_error)
    with pytest.raises(RequestMayHaveRunError) as caught:
        prepare_request(given)
    assert caught.value.__cause__ is last_error
    assert given.method == "POST"  # left as it was: nothing is sent


@pytest.mark.parametrize("last_error", [None, TransportError("x"), ConnectError("y")])
def test_a_reconnection_with_an_event_id_is_a_get_with_the_session_headers(
    last_error: Any,
) -> None:
    given = attempt(number=3, last_event_id="7", last_error=last_error)
    prepare_request(given)
    assert (given.method, given.body) == ("GET", None)
    assert given.headers == {
        "Mcp-Session-Id": "s1",
        "MCP-Protocol-Version": VERSION,
        "Authorization": "Bearer t",
        "Accept": "text/event-stream",
    }


def test_a_stream_started_with_a_last_event_id_resumes_by_get_at_once() -> None:
    given = attempt(number=0, last_event_id="7")
    prepare_request(given)
    assert given.method == "GET"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ('{"jsonrpc":"2.0","id":1,"result":{}}', True),
        ('{"jsonrpc":"2.0","id":1,"error":{"code":-1,"message":"no"}}', True),
        ('{"jsonrpc":"2.0","id":2,"result":{}}', False),
        ('{"jsonrpc":"2.0","id":"1","result":{}}', False),  # a string ID is another ID
        ('{"jsonrpc":"2.0","id":true,"result":{}}', False),
        ('{"jsonrpc":"2.0","method":"notifications/progress","params":{}}', False),
        ('{"jsonrpc":"2.0","id":1,"method":"sampling/createMessage"}', False),  # a request
        ("", False),  # a priming event
        ("not json", False),
        ("[1]", False),
    ],
)
def test_is_response_to_matches_only_the_answer_to_that_id(data: str, expected: bool) -> None:
    assert is_response_to(1)(MessageEvent(data=data)) is expected


def test_request_stream_needs_a_request_with_an_id() -> None:
    with pytest.raises(ValueError, match="'id'"):
        request_stream("http://127.0.0.1:1/mcp", {"jsonrpc": "2.0", "method": "ping"})


async def test_request_stream_sends_its_headers_unless_given_in_headers(
    combo: Combo, server: LoopbackServer
) -> None:
    async def no_content(request: web.Request) -> web.StreamResponse:
        return web.Response(status=204)  # ends the stream at once: only the request matters

    server.handle("/mcp", no_content)
    url = server.url("/mcp")
    streams = [
        request_stream(url, tool_call(5, 1), transport=combo.make_transport()),
        request_stream(
            url,
            tool_call(5, 1),
            session_id="s1",
            protocol_version=VERSION,
            transport=combo.make_transport(),
        ),
        request_stream(
            url,
            tool_call(5, 1),
            session_id="s1",
            headers={"accept": "text/event-stream", "mcp-session-id": "s2"},
            transport=combo.make_transport(),
        ),
    ]
    for es in streams:
        assert es.stop_after is not None
        assert es.prepare_request is prepare_request
        with anyio.fail_after(LIMIT):
            async with es:
                assert [event async for event in es] == []
    names = ("accept", "content-type", "mcp-session-id", "mcp-protocol-version")
    sent = []
    for request in server.requests:
        assert request.method == "POST"
        lower = [name.lower() for name in request.headers]
        assert len(lower) == len(set(lower))  # a name given by the caller is not sent twice
        sent.append({n.lower(): v for n, v in request.headers.items() if n.lower() in names})
    assert sent == [
        {"accept": "application/json, text/event-stream", "content-type": "application/json"},
        {
            "accept": "application/json, text/event-stream",
            "mcp-session-id": "s1",
            "mcp-protocol-version": VERSION,
            "content-type": "application/json",
        },
        {
            "accept": "text/event-stream",
            "mcp-session-id": "s2",
            "content-type": "application/json",
        },
    ]
