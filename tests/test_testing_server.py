"""The scripted loopback server of ``eventsource.testing``, read with a raw aiohttp client."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio

from eventsource.testing import (
    DEFAULT_HEADERS,
    ChatRoom,
    Comment,
    Drop,
    Event,
    Headers,
    Message,
    Raw,
    Redirect,
    Respond,
    Retry,
    Sleep,
    SSEServer,
    Stall,
    format_comment,
    format_event,
    format_retry,
    main,
)

TIMEOUT = 5.0


@pytest_asyncio.fixture
async def server() -> AsyncIterator[SSEServer]:
    async with SSEServer() as server:
        yield server


@pytest_asyncio.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    timeout = aiohttp.ClientTimeout(total=TIMEOUT)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        yield session


async def read_all(response: aiohttp.ClientResponse) -> tuple[bytes, Exception | None]:
    """The body read to its end, and the error that ended it early, if any."""
    body = b""
    try:
        while chunk := await response.content.readany():
            body += chunk
    except (aiohttp.ClientPayloadError, aiohttp.ClientOSError) as exc:
        return body, exc
    return body, None


async def read_until(response: aiohttp.ClientResponse, expected: bytes) -> bytes:
    """Read until the body so far ends with ``expected``, within the test timeout."""
    body = b""

    async def loop() -> None:
        nonlocal body
        while not body.endswith(expected):
            chunk = await response.content.readany()
            assert chunk, f"EOF after {body!r}, expected {expected!r}"
            body += chunk

    await asyncio.wait_for(loop(), TIMEOUT)
    return body


# format_event and friends


def test_format_event_writes_one_data_line_per_line_of_data() -> None:
    assert format_event("a\nb\r\nc\rd") == b"data: a\ndata: b\ndata: c\ndata: d\n\n"


def test_format_event_writes_id_event_retry_then_data() -> None:
    assert format_event("x", event="chat", id="7", retry=1500) == (
        b"id: 7\nevent: chat\nretry: 1500\ndata: x\n\n"
    )


def test_format_event_keeps_empty_data_empty_id_and_leading_spaces() -> None:
    assert format_event("") == b"data: \n\n"
    assert format_event(" x", id="") == b"id: \ndata:  x\n\n"


def test_format_event_does_not_split_data_at_non_sse_line_separators() -> None:
    assert format_event("a\u2028b\x0cc") == "data: a\u2028b\x0cc\n\n".encode()


def test_format_event_encodes_utf8() -> None:
    assert format_event("héllo ☃") == "data: héllo ☃\n\n".encode()


@pytest.mark.parametrize(
    "kwargs",
    [{"id": "a\nb"}, {"id": "a\0b"}, {"event": "a\rb"}, {"retry": -1}],
)
def test_format_event_refuses_fields_that_would_break_the_stream(
    kwargs: dict[str, object],
) -> None:
    with pytest.raises(ValueError, match=r"line break|NUL|non-negative"):
        format_event("x", **kwargs)  # type: ignore[arg-type]


def test_steps_with_invalid_fields_fail_when_built() -> None:
    with pytest.raises(ValueError, match="line break"):
        Event("x", event="a\nb")
    with pytest.raises(ValueError, match="non-negative"):
        Retry(-5)


def test_format_comment_writes_the_text_after_the_colon_one_line_each() -> None:
    assert format_comment() == b":\n"
    assert format_comment(" ping") == b": ping\n"
    assert format_comment("a\nb") == b":a\n:b\n"


def test_format_retry_ends_its_own_block() -> None:
    assert format_retry(250) == b"retry: 250\n\n"


# Scripts: wire bytes, headers, status


@pytest.mark.asyncio
async def test_each_step_puts_its_exact_bytes_on_the_wire(
    server: SSEServer, session: aiohttp.ClientSession
) -> None:
    server.script(
        Event("hello"),
        Event("a\nb", event="chat", id="1", retry=100),
        Comment(" keep-alive"),
        Retry(2000),
        Raw(b"data: half"),
        Raw(b""),
        Raw(b" done\r\n\r\n"),
        Sleep(0.01),
        Event("last"),
    )
    async with session.get(server.url) as response:
        body, error = await read_all(response)
    assert error is None
    assert body == (
        b"data: hello\n\n"
        b"id: 1\nevent: chat\nretry: 100\ndata: a\ndata: b\n\n"
        b": keep-alive\n"
        b"retry: 2000\n\n"
        b"data: half done\r\n\r\n"
        b"data: last\n\n"
    )


@pytest.mark.asyncio
async def test_a_stream_has_status_200_and_event_stream_headers_by_default(
    server: SSEServer, session: aiohttp.ClientSession
) -> None:
    server.script(Event("x"))
    async with session.get(server.url) as response:
        await response.read()
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["Transfer-Encoding"] == "chunked"
    assert dict(DEFAULT_HEADERS).items() <= dict(response.headers).items()


@pytest.mark.asyncio
async def test_an_empty_script_is_a_stream_that_ends_at_once(
    server: SSEServer, session: aiohttp.ClientSession
) -> None:
    server.script()
    async with session.get(server.url) as response:
        assert await read_all(response) == (b"", None)
    assert response.status == 200


@pytest.mark.asyncio
async def test_a_headers_step_overrides_status_and_content_type(
    server: SSEServer, session: aiohttp.ClientSession
) -> None:
    server.script(Headers({"Content-Type": "text/plain", "X-Extra": "1"}, status=201), Event("x"))
    async with session.get(server.url) as response:
        body = await response.read()
    assert response.status == 201
    assert response.headers["Content-Type"] == "text/plain"
    assert response.headers["X-Extra"] == "1"
    assert response.headers["Cache-Control"] == "no-cache"
    assert body == b"data: x\n\n"


@pytest.mark.asyncio
async def test_script_keywords_override_status_and_headers_over_a_headers_step(
    server: SSEServer, session: aiohttp.ClientSession
) -> None:
    server.script(
        Headers({"Content-Type": "text/plain"}, status=201),
        Event("x"),
        status=202,
        headers={"Content-Type": "application/json"},
    )
    async with session.get(server.url) as response:
        await response.read()
    assert response.status == 202
    assert response.headers["Content-Type"] == "application/json"


@pytest.mark.asyncio
async def test_each_step_is_flushed_before_the_next_one_runs(
    server: SSEServer, session: aiohttp.ClientSession
) -> None:
    server.script(Event("first"), Stall())
    async with session.get(server.url) as response:
        assert await read_until(response, b"\n\n") == b"data: first\n\n"
        assert server.active_connections == 1


@pytest.mark.asyncio
async def test_a_stall_keeps_the_connection_open_without_sending(
    server: SSEServer, session: aiohttp.ClientSession
) -> None:
    server.script(Stall(0.2), Event("after"))
    async with session.get(server.url) as response:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(response.content.readany(), 0.05)
        assert await read_until(response, b"\n\n") == b"data: after\n\n"


@pytest.mark.asyncio
async def test_drop_closes_mid_stream_so_the_client_sees_a_payload_error(
    server: SSEServer, session: aiohttp.ClientSession
) -> None:
    server.script(Event("a", id="1"), Drop(), Event("never"))
    async with session.get(server.url) as response:
        body, error = await read_all(response)
    assert body == b"id: 1\ndata: a\n\n"
    assert isinstance(error, aiohttp.ClientPayloadError)


@pytest.mark.asyncio
async def test_drop_with_reset_ends_the_stream_with_a_network_error(
    server: SSEServer, session: aiohttp.ClientSession
) -> None:
    server.script(Event("a"), Drop(reset=True))
    async with session.get(server.url) as response:
        body, error = await read_all(response)
    assert error is not None
    assert body in (b"", b"data: a\n\n")


@pytest.mark.parametrize(
    "steps",
    [
        (Event("x"), Respond(401)),
        (Respond(401), Event("x")),
        (Redirect("/a"), Event("x")),
        (Event("x"), Headers({})),
    ],
)
def test_respond_and_redirect_must_be_alone_and_headers_first(
    steps: tuple[Event | Respond | Redirect | Headers, ...],
) -> None:
    server = SSEServer()
    with pytest.raises(ValueError, match=r"only step|first step"):
        server.script(*steps)


def test_status_and_headers_keywords_are_refused_with_respond() -> None:
    with pytest.raises(ValueError, match="to Respond itself"):
        SSEServer().script(Respond(500), status=503)


# Non-stream answers


@pytest.mark.asyncio
async def test_respond_sends_status_headers_and_body(
    server: SSEServer, session: aiohttp.ClientSession
) -> None:
    error = json.dumps({"error": "token expired"}).encode()
    server.script(Respond(401, {"Content-Type": "application/json"}, error))
    server.script(Respond(503, {"Retry-After": "2"}))
    server.script(Respond(204))
    server.script(Respond(200, {"Content-Type": "text/html"}, b"<html></html>"))

    async with session.get(server.url) as response:
        assert (response.status, await response.read()) == (401, error)
        assert response.headers["Content-Type"] == "application/json"
    async with session.get(server.url) as response:
        assert response.status == 503
        assert response.headers["Retry-After"] == "2"
    async with session.get(server.url) as response:
        assert (response.status, await response.read()) == (204, b"")
    async with session.get(server.url) as response:
        assert response.headers["Content-Type"] == "text/html"
        assert await response.read() == b"<html></html>"
    assert server.connections == 0


@pytest.mark.asyncio
async def test_a_relative_redirect_leads_to_a_routed_stream(
    server: SSEServer, session: aiohttp.ClientSession
) -> None:
    server.script(Redirect("/moved"))
    server.route("/moved", Event("moved here"))
    async with session.get(server.url) as response:
        body = await response.read()
    assert [r.status for r in response.history] == [307]
    assert str(response.url) == server.url_for("/moved")
    assert body == b"data: moved here\n\n"
    assert [r.path for r in server.requests] == ["/stream", "/moved"]


@pytest.mark.asyncio
async def test_an_absolute_redirect_keeps_its_status_and_location(
    server: SSEServer, session: aiohttp.ClientSession
) -> None:
    server.script(Redirect(server.url_for("elsewhere"), status=301))
    async with session.get(server.url, allow_redirects=False) as response:
        assert response.status == 301
        assert response.headers["Location"] == server.base_url + "/elsewhere"


# Dispatch: routes, the script queue, the room


@pytest.mark.asyncio
async def test_scripts_are_taken_in_order_then_the_room_serves(
    server: SSEServer, session: aiohttp.ClientSession
) -> None:
    server.room.publish("from the room")
    server.script(Event("one"))
    server.script(Event("two"))
    assert server.pending_scripts == 2
    bodies = []
    for _ in range(2):
        async with session.get(server.url_for("/any/path")) as response:
            bodies.append(await response.read())
    assert bodies == [b"data: one\n\n", b"data: two\n\n"]
    assert server.pending_scripts == 0
    async with session.get(server.url) as response:
        assert await read_until(response, b"\n\n") == b"id: 1\ndata: from the room\n\n"


@pytest.mark.asyncio
async def test_a_route_serves_every_request_and_leaves_the_queue_alone(
    server: SSEServer, session: aiohttp.ClientSession
) -> None:
    server.route("fixed", Event("fixed"))
    server.script(Event("queued"))
    for _ in range(2):
        async with session.get(server.url_for("/fixed")) as response:
            assert await response.read() == b"data: fixed\n\n"
    assert server.pending_scripts == 1
    assert server.connections == 2


# Recorded requests


@pytest.mark.asyncio
async def test_recorded_requests_keep_method_path_query_headers_and_body(
    server: SSEServer, session: aiohttp.ClientSession
) -> None:
    server.script(Event("x"))
    server.script(Event("y"))
    headers = {"Authorization": "Bearer t", "Last-Event-ID": "41"}
    async with session.post(
        server.url, params={"topic": "a"}, headers=headers, json={"q": 1}
    ) as response:
        await response.read()
    async with session.get(server.url) as response:
        await response.read()

    first, second = server.requests
    assert (first.method, first.path, first.query) == ("POST", "/stream", {"topic": "a"})
    assert first.headers["authorization"] == "Bearer t"
    assert json.loads(first.body) == {"q": 1}
    assert first.last_event_id == "41"
    assert (second.method, second.body, second.last_event_id) == ("GET", b"", None)


# The chat room


@pytest.mark.asyncio
async def test_the_room_replays_the_whole_history_without_last_event_id(
    server: SSEServer, session: aiohttp.ClientSession
) -> None:
    assert server.room.preload(2) == ["1", "2"]
    server.room.publish("typing", event="status")
    async with session.get(server.url) as response:
        body = await read_until(response, b"typing\n\n")
    assert body == (
        b"id: 1\ndata: message 1\n\n"
        b"id: 2\ndata: message 2\n\n"
        b"id: 3\nevent: status\ndata: typing\n\n"
    )
    assert server.room.history[2] == Message("3", "typing", "status")


@pytest.mark.asyncio
async def test_the_room_resumes_after_the_last_event_id(
    server: SSEServer, session: aiohttp.ClientSession
) -> None:
    server.room.preload(4)
    async with session.get(server.url, headers={"Last-Event-ID": "2"}) as response:
        body = await read_until(response, b"message 4\n\n")
    assert body == b"id: 3\ndata: message 3\n\nid: 4\ndata: message 4\n\n"


@pytest.mark.asyncio
async def test_a_live_publish_wakes_a_waiting_client(
    server: SSEServer, session: aiohttp.ClientSession
) -> None:
    server.room.preload(1)
    async with session.get(server.url, headers={"Last-Event-ID": "1"}) as response:
        await server.wait_for_connections(1, timeout=TIMEOUT)
        assert server.room.listeners == 1
        assert server.room.publish("live!") == "2"
        assert await read_until(response, b"\n\n") == b"id: 2\ndata: live!\n\n"


@pytest.mark.asyncio
async def test_replay_none_sends_only_live_messages(session: aiohttp.ClientSession) -> None:
    async with SSEServer(room=ChatRoom(replay="none")) as server:
        server.room.preload(3)
        async with session.get(server.url) as response:
            await server.wait_for_connections(1, timeout=TIMEOUT)
            server.room.publish("new")
            assert await read_until(response, b"\n\n") == b"id: 4\ndata: new\n\n"


@pytest.mark.asyncio
@pytest.mark.parametrize("last_event_id", ["99", "abc", "-1", "٣"])
async def test_an_id_the_room_never_issued_falls_back_to_the_replay_policy(
    server: SSEServer, session: aiohttp.ClientSession, last_event_id: str
) -> None:
    server.room.preload(1)
    async with session.get(server.url, headers={"Last-Event-ID": last_event_id}) as response:
        assert await read_until(response, b"\n\n") == b"id: 1\ndata: message 1\n\n"


@pytest.mark.asyncio
async def test_the_room_sends_retry_first_and_drops_every_n_messages(
    session: aiohttp.ClientSession,
) -> None:
    async with SSEServer(room=ChatRoom(retry_ms=10, drop_every=2)) as server:
        server.room.preload(3)
        async with session.get(server.url) as response:
            body, error = await read_all(response)
        assert body == b"retry: 10\n\nid: 1\ndata: message 1\n\nid: 2\ndata: message 2\n\n"
        assert isinstance(error, aiohttp.ClientPayloadError)

        async with session.get(server.url, headers={"Last-Event-ID": "2"}) as response:
            body = await read_until(response, b"message 3\n\n")
        assert body == b"retry: 10\n\nid: 3\ndata: message 3\n\n"
        assert server.connections == 2
        assert [r.last_event_id for r in server.requests] == [None, "2"]


@pytest.mark.asyncio
async def test_close_all_drops_every_live_connection(
    server: SSEServer, session: aiohttp.ClientSession
) -> None:
    async with session.get(server.url) as first, session.get(server.url) as second:
        await server.wait_for_connections(2, timeout=TIMEOUT)
        assert server.room.close_all() == 2
        for response in (first, second):
            body, error = await read_all(response)
            assert (body, type(error)) == (b"", aiohttp.ClientPayloadError)
    await server.wait_for_idle(timeout=TIMEOUT)
    assert server.room.listeners == 0


@pytest.mark.asyncio
async def test_the_room_sends_a_heartbeat_comment_when_idle(
    session: aiohttp.ClientSession,
) -> None:
    async with (
        SSEServer(room=ChatRoom(heartbeat=0.02)) as server,
        session.get(server.url) as response,
    ):
        assert await read_until(response, b": heartbeat\n") == b": heartbeat\n"


def test_the_room_refuses_bad_options() -> None:
    with pytest.raises(ValueError, match="replay"):
        ChatRoom(replay="some")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="drop_every"):
        ChatRoom(drop_every=0)
    with pytest.raises(ValueError, match="non-negative"):
        ChatRoom(retry_ms=-1)
    with pytest.raises(ValueError, match="line break"):
        ChatRoom().publish("x", event="a\nb")


@pytest.mark.asyncio
async def test_a_client_that_leaves_is_forgotten_at_the_next_publish(
    server: SSEServer, session: aiohttp.ClientSession
) -> None:
    async with session.get(server.url) as response:
        await server.wait_for_connections(1, timeout=TIMEOUT)
        response.close()
    server.room.publish("to nobody")
    await server.wait_for_idle(timeout=TIMEOUT)
    assert server.room.listeners == 0


# Lifecycle


@pytest.mark.asyncio
async def test_closing_the_server_drops_stalled_and_live_clients_without_warnings(
    session: aiohttp.ClientSession,
) -> None:
    # A long shutdown timeout: closing must not need it, handlers stop when asked.
    server = SSEServer(shutdown_timeout=60)
    await server.start()
    server.script(Event("a"), Stall())
    stalled = await session.get(server.url)
    live = await session.get(server.url)
    await server.wait_for_connections(2, timeout=TIMEOUT)
    await read_until(stalled, b"\n\n")
    await asyncio.wait_for(server.aclose(), TIMEOUT)
    for response in (stalled, live):
        _, error = await read_all(response)
        assert isinstance(error, aiohttp.ClientPayloadError)
        response.release()
    assert server.active_connections == 0


@pytest.mark.asyncio
async def test_closing_the_server_during_a_stall_runs_no_further_step(
    session: aiohttp.ClientSession,
) -> None:
    async with SSEServer() as server:
        server.script(Event("a"), Stall(), Event("never"))
        response = await session.get(server.url)
        await read_until(response, b"\n\n")
    body, error = await read_all(response)
    response.release()
    assert (body, type(error)) == (b"", aiohttp.ClientPayloadError)


@pytest.mark.asyncio
async def test_waiting_for_connections_that_never_come_times_out(server: SSEServer) -> None:
    with pytest.raises(TimeoutError, match="1 open connections"):
        await server.wait_for_connections(1, timeout=0.05)


@pytest.mark.asyncio
async def test_wait_for_requests_returns_once_enough_requests_arrived(
    server: SSEServer, session: aiohttp.ClientSession
) -> None:
    server.script(Respond(204))
    server.script(Respond(204))

    async def two_requests() -> None:
        for _ in range(2):
            async with session.get(server.url) as response:
                await response.read()

    task = asyncio.create_task(two_requests())
    await server.wait_for_requests(2, timeout=TIMEOUT)
    await task
    assert len(server.requests) == 2


@pytest.mark.asyncio
async def test_a_server_starts_once_and_closes_idempotently() -> None:
    server = SSEServer(path="/events")
    await server.start()
    try:
        assert server.url == f"http://127.0.0.1:{server.port}/events"
        assert server.port > 0
        with pytest.raises(RuntimeError, match="already started"):
            await server.start()
    finally:
        await server.aclose()
    await server.aclose()


@pytest.mark.asyncio
async def test_a_taken_port_raises_and_leaks_nothing(server: SSEServer) -> None:
    with pytest.raises(OSError):  # noqa: PT011 - the errno depends on the platform
        await SSEServer(port=server.port).start()


# The command line


def test_main_prints_the_url_and_publishes_until_the_count(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--interval", "0.001", "--count", "2", "--retry-ms", "5"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Chat room streaming at http://127.0.0.1:")
    assert "/stream" in out


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_python_m_eventsource_testing_streams_until_ctrl_c() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "eventsource.testing", "--interval", "0.02"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "error"},
        # A shell that starts a job in the background (as a CI runner may) leaves
        # SIGINT ignored, and the child would inherit that: give it the default.
        preexec_fn=_default_sigint,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        url = line.split(" at ")[1].split()[0]
        assert url.startswith("http://127.0.0.1:")

        async def first_message() -> bytes:
            async with (
                aiohttp.ClientSession() as session,
                session.get(url) as response,
            ):
                return await read_until(response, b"\n\n")

        body = asyncio.run(asyncio.wait_for(first_message(), TIMEOUT))
        assert body.startswith(b"id: 1\ndata: {")
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=TIMEOUT)
        assert process.returncode == 0
        assert "Stopped." in out
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(TIMEOUT)


# The public surface


def test_every_name_in_all_is_exported_and_documented() -> None:
    import eventsource.testing as testing

    for name in testing.__all__:
        value = getattr(testing, name)
        if callable(value):
            assert value.__doc__, name
