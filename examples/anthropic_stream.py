"""Stream an Anthropic Messages response: named events, a stop event, errors in the stream.

Every event has a type (``message_start``, ``content_block_delta``, ``ping``,
``message_stop``...). ``stop_after=is_message_stop`` ends the stream after the
last one; ``error_when=is_error_event`` turns ``event: error`` (an overloaded
server, mid-stream) into a ``ServerEventError``.

    python examples/anthropic_stream.py                   # against a local fake
    python examples/anthropic_stream.py http://127.0.0.1:8000/v1/messages
"""

from __future__ import annotations

import json
import os
import sys

import anyio

from eventsource import EventSource, ServerEventError, StatusError
from eventsource.sentinels import is_error_event, is_message_stop


async def main(
    url: str,
    *,
    prompt: str = "Say hello in three words.",
    model: str = "claude-sonnet-4-5",
    api_key: str | None = None,
    max_tokens: int = 256,
) -> str:
    """Print the reply to ``prompt`` as it streams; return the whole text.

    Raises:
        StatusError: the server refused the request.
        ServerEventError: the stream reported an error (its ``event`` has the details).
    """
    key = api_key or os.environ.get("ANTHROPIC_API_KEY", "sk-ant-local")
    pieces: list[str] = []
    async with EventSource(
        url,
        method="POST",
        json={
            "model": model,
            "max_tokens": max_tokens,
            "stream": True,
            "messages": [{"role": "user", "content": prompt}],
        },
        headers={"x-api-key": key, "anthropic-version": "2023-06-01"},
        stop_after=is_message_stop,
        error_when=is_error_event,
        reconnect=False,
    ) as stream:
        async for event in stream:
            if event.type == "content_block_delta":
                delta = event.json()["delta"]
                if delta.get("type") == "text_delta":
                    print(delta["text"], end="", flush=True)
                    pieces.append(delta["text"])
    print()
    return "".join(pieces)


def wire(kind: str, payload: dict[str, object]) -> tuple[str, str]:
    """An (event type, data) pair as the API sends it: the type is also in the data."""
    return kind, json.dumps({"type": kind, **payload})


def reply_events(words: list[str]) -> list[tuple[str, str]]:
    """The events of a successful streamed message whose text is ``words`` joined."""
    message = {"id": "msg_local", "type": "message", "role": "assistant", "content": []}
    events = [
        wire("message_start", {"message": message}),
        wire("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}),
        wire("ping", {}),
    ]
    for word in words:
        events.append(
            wire(
                "content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": word}}
            )
        )
    events += [
        wire("content_block_stop", {"index": 0}),
        wire(
            "message_delta", {"delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 3}}
        ),
        wire("message_stop", {}),
    ]
    return events


async def _standalone() -> None:
    from eventsource.testing import Event, SSEServer

    async with SSEServer() as server:
        steps = [
            Event(data, event=kind) for kind, data in reply_events(["Hello", " from", " SSE."])
        ]
        server.route("/v1/messages", *steps)
        await main(server.url_for("/v1/messages"))


if __name__ == "__main__":
    try:
        if len(sys.argv) > 1:
            anyio.run(main, sys.argv[1])
        else:
            anyio.run(_standalone)
    except StatusError as exc:
        sys.exit(f"refused: {exc.status} {exc.body}")
    except ServerEventError as exc:
        sys.exit(f"failed mid-stream: {exc.event.data}")  # type: ignore[attr-defined]
