"""Scripts of the test server: checking a script, then running it on one connection.

Part of the public ``eventsource.testing`` module; knows nothing of the client.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ._testing_steps import (
    Comment,
    Drop,
    Event,
    Headers,
    Raw,
    Redirect,
    Respond,
    Retry,
    Sleep,
    Stall,
    Step,
    Wire,
    format_comment,
    format_event,
    format_retry,
)

__all__ = ["DEFAULT_HEADERS", "Script", "make_script", "run_steps"]

DEFAULT_HEADERS: Mapping[str, str] = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
}
"""The headers of a stream response unless a script overrides them."""


@dataclass(frozen=True, slots=True)
class Script:
    steps: tuple[Step, ...]
    status: int
    headers: Mapping[str, str]


def make_script(
    steps: tuple[Step, ...], status: int | None, headers: Mapping[str, str] | None
) -> Script:
    first = steps[0] if steps else None
    for position, step in enumerate(steps):
        if isinstance(step, (Respond, Redirect)) and len(steps) > 1:
            raise ValueError(f"{type(step).__name__} must be a script's only step")
        if isinstance(step, Headers) and position > 0:
            raise ValueError("Headers can only be a script's first step")
    if isinstance(first, (Respond, Redirect)):
        if status is not None or headers is not None:
            raise ValueError(f"give the status and headers to {type(first).__name__} itself")
        return Script(steps, 0, {})
    merged = dict(DEFAULT_HEADERS)
    if isinstance(first, Headers):
        merged.update(first.headers)
        steps, status = steps[1:], status if status is not None else first.status
    merged.update(headers or {})
    return Script(steps, 200 if status is None else status, merged)


async def run_steps(wire: Wire, steps: tuple[Step, ...]) -> None:
    for step in steps:
        if wire.stopping:
            break
        if isinstance(step, Event):
            await wire.send(format_event(step.data, step.event, step.id, step.retry))
        elif isinstance(step, Comment):
            await wire.send(format_comment(step.text))
        elif isinstance(step, Retry):
            await wire.send(format_retry(step.ms))
        elif isinstance(step, Raw):
            await wire.send(step.data)
        elif isinstance(step, Drop):
            await wire.drop(reset=step.reset)
            return
        else:  # Respond, Redirect and Headers never get here (see make_script)
            assert isinstance(step, (Stall, Sleep))
            await wire.wait(step.seconds)
    if wire.stopping:
        await wire.drop()
