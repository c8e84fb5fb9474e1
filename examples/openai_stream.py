"""Stream an OpenAI-compatible chat completion and print the text as it arrives.

A one-shot stream: a POST with a JSON body, chunks as ``data:`` lines, and
``data: [DONE]`` at the end. ``stop_when=is_done`` ends there (the marker is not
delivered) and ``reconnect=False`` makes sure the POST is never sent twice.

    python examples/openai_stream.py                      # against a local fake
    python examples/openai_stream.py http://127.0.0.1:8000/v1/chat/completions
"""

from __future__ import annotations

import json
import os
import sys

import anyio

from eventsource import EventSource, StatusError
from eventsource.sentinels import is_done


async def main(
    url: str,
    *,
    prompt: str = "Say hello in three words.",
    model: str = "gpt-4o-mini",
    api_key: str | None = None,
) -> str:
    """Print the completion of ``prompt`` as it streams; return the whole text.

    Raises:
        StatusError: the server refused the request (status, headers, body excerpt).
    """
    key = api_key or os.environ.get("OPENAI_API_KEY", "sk-local")
    pieces: list[str] = []
    async with EventSource(
        url,
        method="POST",
        json={"model": model, "stream": True, "messages": [{"role": "user", "content": prompt}]},
        headers={"Authorization": f"Bearer {key}"},
        stop_when=is_done,
        reconnect=False,
    ) as stream:
        async for event in stream:
            chunk = event.json()
            for choice in chunk.get("choices", []):  # a final usage chunk has none
                text = choice.get("delta", {}).get("content") or ""
                print(text, end="", flush=True)
                pieces.append(text)
    print()
    return "".join(pieces)


def chunk(content: str | None, finish_reason: str | None = None) -> str:
    """One ``chat.completion.chunk`` as the API sends it (for the local fake)."""
    delta = {} if content is None else {"content": content}
    choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
    return json.dumps(
        {
            "id": "chatcmpl-local",
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": "gpt-4o-mini",
            "choices": [choice],
        }
    )


async def _standalone() -> None:
    from eventsource.testing import Event, SSEServer

    async with SSEServer() as server:
        words = ["Hello", " there", ", friend."]
        steps = [Event(chunk(word)) for word in words]
        server.route("/v1/chat/completions", *steps, Event(chunk(None, "stop")), Event("[DONE]"))
        await main(server.url_for("/v1/chat/completions"))


if __name__ == "__main__":
    try:
        if len(sys.argv) > 1:
            anyio.run(main, sys.argv[1])
        else:
            anyio.run(_standalone)
    except StatusError as exc:
        sys.exit(f"refused: {exc.status} {exc.body}")
