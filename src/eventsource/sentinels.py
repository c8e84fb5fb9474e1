"""Ready predicates for ``stop_when``/``stop_after``/``error_when``: the common LLM stream endings.

Pure functions of a :class:`MessageEvent`; imports nothing but ``_event``.
"""

from __future__ import annotations

from ._event import MessageEvent

__all__ = ["is_done", "is_error_event", "is_message_stop", "is_response_completed"]


def is_done(event: MessageEvent) -> bool:
    """``data: [DONE]``: the end marker of OpenAI-compatible chat streams."""
    return event.data == "[DONE]"


def is_message_stop(event: MessageEvent) -> bool:
    """``event: message_stop``: the last event of an Anthropic Messages stream."""
    return event.type == "message_stop"


def is_response_completed(event: MessageEvent) -> bool:
    """``event: response.completed``: the last event of an OpenAI Responses stream."""
    return event.type == "response.completed"


def is_error_event(event: MessageEvent) -> bool:
    """``event: error``: a failure reported inside the stream (Anthropic, OpenAI Responses)."""
    return event.type == "error"
