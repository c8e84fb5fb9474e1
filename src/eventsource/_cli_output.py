"""Where the command's output goes: events to stdout, notes and the library's logs to stderr.

stdout may refuse a write (a full disk, a descriptor not open for writing):
:class:`StdoutError` says so in words. What reaches stderr may quote the
server (a body, an ID): its control characters are shown escaped.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from typing import TextIO

from ._cli_format import show_controls
from ._connection_report import RECONNECTING

__all__ = ["StdoutError", "discard_stdout", "library_logging", "note", "write"]


def note(text: str) -> None:
    """One line on stderr, ``eventsource: text``, its control characters escaped.

    The text may quote the server (a body, an ID): no escape sequence of its
    reaches a terminal.
    """
    print(f"eventsource: {show_controls(text)}", file=sys.stderr, flush=True)


class _ShownControls(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return show_controls(super().format(record))


class StdoutError(Exception):
    """stdout cannot be written to (a full disk, a descriptor not open for writing)."""


def write(out: TextIO, text: str) -> None:
    """Write ``text`` to ``out`` and flush it (a pipe sees each event as it comes).

    Raises:
        StdoutError: ``out`` refused it (its reason in words).
        BrokenPipeError: the reader went away (``| head``): a normal end.
    """
    try:
        out.write(text)
        out.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise StdoutError(reason[:1].lower() + reason[1:]) from exc


@contextlib.contextmanager
def library_logging(debug: bool) -> Iterator[None]:
    """Send the library's log records to stderr while the command runs.

    All of them with ``-vv``; else its warnings, but the reconnects (the command
    notes those itself, in its own words).
    """
    logger = logging.getLogger("eventsource")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_ShownControls("eventsource: %(levelname)s: %(message)s"))
    level = logger.level
    if debug:
        logger.setLevel(logging.DEBUG)
    else:
        handler.setLevel(logging.WARNING)
        handler.addFilter(lambda record: record.msg is not RECONNECTING)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def discard_stdout() -> None:
    """Point stdout's descriptor at the null device.

    What a failed write left in stdout's buffer would fail again when the
    interpreter flushes it at exit, with a second report and status 120.
    """
    try:
        fileno = sys.stdout.fileno()
    except (OSError, ValueError):  # not a file (a test's StringIO): nothing flushes at exit
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fileno)
    finally:
        os.close(devnull)
