"""The parser's line helpers: a text split at its line breaks, and the first line too long.

Pure functions over one decoded text or one block of bytes; ``_parser`` calls
them. Spec: https://html.spec.whatwg.org/multipage/server-sent-events.html
(a line ends at CRLF, LF or CR).
"""

from __future__ import annotations

__all__ = ["long_line_start", "split_lines"]


def split_lines(text: str) -> list[str]:
    """``text`` split at each line break: CRLF, LF or CR (not ``str.splitlines``' others)."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.split("\n")


def long_line_start(block: bytes, limit: int) -> int:
    """Where the first line of ``block`` (ending in LF) longer than ``limit`` starts, or -1."""
    lines = block.split(b"\n")
    if max(map(len, lines)) <= limit:
        return -1
    index = next(index for index, line in enumerate(lines) if len(line) > limit)
    return sum(map(len, lines[:index])) + index  # the lines before it, with their LFs
