"""Every script in examples/ runs against a real server on 127.0.0.1 and does what it says."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import aiohttp
import anyio
import pytest

from eventsource import EventSource, ServerEventError, StatusError, TransportError
from eventsource.testing import Drop, Event, Respond, SSEServer

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TIMEOUT = 10.0


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


chat_server = load("chat_server")
chat_bot = load("chat_bot")
openai_stream = load("openai_stream")
anthropic_stream = load("anthropic_stream")
change_feed = load("change_feed")
fan_in = load("fan_in")


# -- chat_bot.py ----------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_chat_bot_answers_ping_with_pong_and_ignores_the_rest() -> None:
    runner, base = await chat_server.start()
    try:
        with anyio.fail_after(TIMEOUT):
            async with anyio.create_task_group() as tg, aiohttp.ClientSession() as session:
                await tg.start(chat_bot.main, f"{base}/events")
                for text in ("hello", "!ping"):
                    payload = {"user": "ada", "text": text}
                    async with session.post(f"{base}/messages", json=payload) as response:
                        assert response.status == 201
                seen = []
                # Read the whole room from the start (Last-Event-ID: 0) until the reply.
                async with EventSource(f"{base}/events", last_event_id="0") as room:
                    async for event in room:
                        seen.append(event.json())
                        if event.json()["user"] == chat_bot.BOT:
                            break
                tg.cancel_scope.cancel()
    finally:
        await runner.cleanup()
    assert seen == [
        {"user": "ada", "text": "hello"},
        {"user": "ada", "text": "!ping"},
        {"user": "pingbot", "text": "pong"},
    ]


def test_chat_bot_answer() -> None:
    assert chat_bot.answer(" !ping ") == "pong"
    assert chat_bot.answer("pong") is None


# -- openai_stream.py -----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_openai_stream_prints_the_deltas_and_stops_at_done(
    capsys: pytest.CaptureFixture[str],
) -> None:
    chunk = openai_stream.chunk
    usage = {"id": "x", "object": "chat.completion.chunk", "choices": [], "usage": {"total": 9}}
    async with SSEServer() as server:
        server.route(
            "/v1/chat/completions",
            Event(chunk("")),
            Event(chunk("Hel")),
            Event(chunk("lo")),
            Event(chunk(None, "stop")),
            Event(json.dumps(usage)),
            Event("[DONE]"),
            Event("after the end: never delivered"),
        )
        with anyio.fail_after(TIMEOUT):
            text = await openai_stream.main(
                server.url_for("/v1/chat/completions"), prompt="hi", model="m", api_key="sk-1"
            )
    assert text == "Hello"
    assert capsys.readouterr().out == "Hello\n"
    [request] = server.requests
    assert request.method == "POST"
    assert request.headers["Authorization"] == "Bearer sk-1"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.body) == {
        "model": "m",
        "stream": True,
        "messages": [{"role": "user", "content": "hi"}],
    }


@pytest.mark.asyncio
async def test_openai_stream_refusal_raises_status_error_with_the_body() -> None:
    error = json.dumps({"error": {"message": "Incorrect API key", "type": "invalid_request"}})
    async with SSEServer() as server:
        server.script(Respond(401, {"Content-Type": "application/json"}, error.encode()))
        with anyio.fail_after(TIMEOUT), pytest.raises(StatusError) as info:
            await openai_stream.main(server.url)
    assert info.value.status == 401
    assert json.loads(info.value.body)["error"]["message"] == "Incorrect API key"


@pytest.mark.asyncio
async def test_openai_stream_is_never_posted_twice() -> None:
    async with SSEServer() as server:
        server.script(Event(openai_stream.chunk("Hel")), Drop())
        with anyio.fail_after(TIMEOUT), pytest.raises(TransportError):
            await openai_stream.main(server.url)
        assert len(server.requests) == 1


# -- anthropic_stream.py --------------------------------------------------------------------


def anthropic_steps(words: list[str]) -> list[Event]:
    return [Event(data, event=kind) for kind, data in anthropic_stream.reply_events(words)]


@pytest.mark.asyncio
async def test_anthropic_stream_reads_text_deltas_until_message_stop(
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with SSEServer() as server:
        steps = anthropic_steps(["Hi", " there"])
        server.route("/v1/messages", *steps, Event("{}", event="never_delivered"))
        with anyio.fail_after(TIMEOUT):
            text = await anthropic_stream.main(server.url_for("/v1/messages"), api_key="k")
    assert text == "Hi there"
    assert capsys.readouterr().out == "Hi there\n"
    [request] = server.requests
    assert request.headers["x-api-key"] == "k"
    assert request.headers["anthropic-version"] == "2023-06-01"
    body = json.loads(request.body)
    assert body["stream"] is True
    assert body["max_tokens"] == 256


@pytest.mark.asyncio
async def test_anthropic_stream_raises_an_error_event(
    capsys: pytest.CaptureFixture[str],
) -> None:
    overloaded = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    async with SSEServer() as server:
        first = anthropic_steps(["Par", "tial"])[:5]  # start, block start, ping, two deltas
        server.script(*first, Event(json.dumps(overloaded), event="error"), Event("{}"))
        with anyio.fail_after(TIMEOUT), pytest.raises(ServerEventError) as info:
            await anthropic_stream.main(server.url)
        assert len(server.requests) == 1
    assert info.value.event.json()["error"]["type"] == "overloaded_error"  # type: ignore[attr-defined]
    assert capsys.readouterr().out == "Partial"


# -- change_feed.py -------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_change_feed_resumes_after_a_restart_without_loss(tmp_path: Path) -> None:
    state = tmp_path / "last-event-id"
    handled: list[tuple[str, str]] = []

    def collect(event_id: str, change: dict[str, object]) -> None:
        handled.append((event_id, str(change["title"])))

    async with SSEServer() as server:
        for n in range(1, 4):
            server.room.publish(change_feed.change(n))

        # First run: stopped from outside (as by Ctrl-C) while waiting for more.
        with anyio.fail_after(TIMEOUT):
            async with anyio.create_task_group() as tg:

                def stop_after_three(event_id: str, change: dict[str, object]) -> None:
                    collect(event_id, change)
                    if len(handled) == 3:
                        tg.cancel_scope.cancel()

                tg.start_soon(
                    lambda: change_feed.main(server.url, state=state, handle=stop_after_three)
                )
        assert state.read_text() == "3"

        # Changes keep coming while the consumer is down.
        for n in range(4, 11):
            server.room.publish(change_feed.change(n))

        # Second run: a new process would do the same, reading only the file.
        with anyio.fail_after(TIMEOUT):
            count = await change_feed.main(server.url, state=state, limit=7, handle=collect)
        assert count == 7
        assert [r.last_event_id for r in server.requests] == [None, "3"]

    assert handled == [(str(n), f"Page {n}") for n in range(1, 11)]
    assert state.read_text() == "10"


@pytest.mark.asyncio
async def test_change_feed_skips_an_empty_priming_event(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with SSEServer() as server:
        server.script(Event("", id="0"), Event(change_feed.change(4), id="1"))
        with anyio.fail_after(TIMEOUT):
            assert await change_feed.main(server.url, state=tmp_path / "id", limit=1) == 1
    assert capsys.readouterr().out == "   1 new    de.wikipedia.org: Page 4\n"


# -- fan_in.py ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_fan_in_merges_streams_in_order_per_stream_and_ends_when_all_end() -> None:
    async with SSEServer() as one, SSEServer() as two, SSEServer() as three:
        servers = (one, two, three)
        for name, server in zip(("one", "two", "three"), servers, strict=True):
            events = [Event(f"{name} {n}", id=str(n), retry=10) for n in range(1, 4)]
            server.script(*events)
            server.script(Respond(204))  # the reconnection is told to stop
        with anyio.fail_after(TIMEOUT):
            seen = await fan_in.main(one.url, two.url, three.url)
        for server in servers:
            await server.wait_for_idle()
    assert len(seen) == 9
    for name, server in zip(("one", "two", "three"), servers, strict=True):
        mine = [event.data for url, event in seen if url == server.url]
        assert mine == [f"{name} 1", f"{name} 2", f"{name} 3"]


@pytest.mark.asyncio
async def test_fan_in_leaving_early_closes_every_stream() -> None:
    async with SSEServer() as one, SSEServer() as two:
        one.room.preload(50)
        two.room.preload(50)
        received = []
        with anyio.fail_after(TIMEOUT):
            async with fan_in.merged([one.url, two.url], buffer=2) as events:
                async for item in events:
                    received.append(item)
                    if len(received) == 5:
                        break
            await one.wait_for_idle()
            await two.wait_for_idle()
        assert len(received) == 5
        assert one.connections == two.connections == 1


@pytest.mark.asyncio
async def test_fan_in_a_failing_stream_raises_and_cancels_the_others() -> None:
    async with SSEServer() as good, SSEServer() as bad:
        good.room.preload(1)
        bad.script(Respond(500))
        with anyio.fail_after(TIMEOUT), pytest.raises(Exception) as info:  # noqa: PT011
            await fan_in.main(good.url, bad.url)
        assert info.group_contains(StatusError)
        await good.wait_for_idle()
