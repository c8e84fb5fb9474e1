"""Runs every ```python block of README.md and docs/*.md as a test (Sybil), on 127.0.0.1.

The root ``conftest.py`` hands README.md and docs/*.md to Sybil; each Python
block is one test, which:

- runs as a script, in a namespace of its own (``__name__ == "__main__"``)
  and a temporary working directory shared by the blocks of its page, within
  ``BLOCK_LIMIT`` seconds, with warnings as errors like the rest of the suite;
- talks to 127.0.0.1 only. The samples name ``http://127.0.0.1:8000``, where
  ``eventsource demo-server --port 8000`` listens (getting-started); each block
  gets a fresh `eventsource.testing.SSEServer` on a free port, and that
  address in the block is pointed at it. A block that names the address must
  reach the server: a sample that quietly runs nothing fails.

The server answers like the demo chat room, but ends: the first connection
gets three JSON chat events (ids 1 to 3, types ``message``, ``chat`` and
``presence``, after ``retry: 10``) and the end of the body; the reconnection
gets a 204, which ends an `EventSource` normally. Eight such pairs are
queued. Fixed paths serve the LLM and MCP samples: ``/v1/chat/completions``
(OpenAI-style chunks, then ``[DONE]``), ``/v1/messages`` (an Anthropic
Messages stream), ``/mcp`` (a priming event, a progress notification, the
response to request 1) and ``/feed`` (the chat events, for one-shot readers).

A block whose first line is ``# name.py`` is that file: it is written to the
page's folder, where the blocks after it import it; ``# name.py (continued)``
adds to it. A ``# test_*.py`` file is run by pytest in a subprocess, as a
reader would run it. A block that must stay a fragment is preceded by
``<!-- skip: next "fragment: why" -->`` and reported as skipped.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

import pytest
from sybil import Example, Sybil
from sybil.evaluators.python import pad
from sybil.parsers.markdown import CodeBlockParser, SkipParser

from eventsource.testing import Event, Respond, Retry, SSEServer, Step

T = TypeVar("T")

#: The address the samples name: the demo server of the getting-started page.
SAMPLE_ADDRESS = "127.0.0.1:8000"
#: Seconds one block may run before it fails (a sample that hangs).
BLOCK_LIMIT = 30.0
#: Seconds a ``# test_*.py`` file may take under pytest.
PYTEST_LIMIT = 120.0
#: The first line of a block that is a file: ``# name.py`` or ``# name.py (continued)``.
FILE_LINE = re.compile(r"#\s*(?P<name>\w+)\.py(?P<continued>\s+\(continued\))?\s*\n")
#: The namespace key of a page's state.
PAGE = "_docs_page"


def _chat(user: str, text: str) -> str:
    return json.dumps({"user": user, "text": text})


#: What a first connection receives; its last id ends every sample's stream.
CHAT: tuple[Step, ...] = (
    Retry(10),
    Event(_chat("ann", "hello"), id="1"),
    Event(_chat("bob", "hi, ann"), event="chat", id="2"),
    Event(_chat("carol", "joined"), event="presence", id="3"),
)


def _openai_chunk(delta: dict[str, str], finish: str | None = None) -> str:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return json.dumps({"object": "chat.completion.chunk", "choices": [choice]})


OPENAI: tuple[Step, ...] = (
    Event(_openai_chunk({"role": "assistant"})),
    Event(_openai_chunk({"content": "Hel"})),
    Event(_openai_chunk({"content": "lo"})),
    Event(_openai_chunk({}, "stop")),
    Event("[DONE]"),
)


def _anthropic(kind: str, **fields: Any) -> Event:
    return Event(json.dumps({"type": kind, **fields}), event=kind)


ANTHROPIC: tuple[Step, ...] = (
    _anthropic("message_start", message={"id": "msg_1", "role": "assistant", "content": []}),
    _anthropic("content_block_start", index=0, content_block={"type": "text", "text": ""}),
    _anthropic("content_block_delta", index=0, delta={"type": "text_delta", "text": "Hel"}),
    _anthropic("content_block_delta", index=0, delta={"type": "text_delta", "text": "lo"}),
    _anthropic("content_block_stop", index=0),
    _anthropic("message_delta", delta={"stop_reason": "end_turn"}),
    _anthropic("message_stop"),
)


def _rpc(**fields: Any) -> str:
    return json.dumps({"jsonrpc": "2.0", **fields})


MCP: tuple[Step, ...] = (
    Event("", id="1"),  # the priming event: an ID and empty data
    Event(
        _rpc(
            method="notifications/progress",
            params={"progressToken": 1, "progress": 1, "total": 2},
        ),
        id="2",
    ),
    Event(_rpc(id=1, result={"content": [{"type": "text", "text": "done"}]}), id="3"),
)

ROUTES: dict[str, tuple[Step, ...]] = {
    "/v1/chat/completions": OPENAI,
    "/v1/messages": ANTHROPIC,
    "/mcp": MCP,
    "/feed": CHAT,
}


async def _start_server() -> SSEServer:
    server = SSEServer()
    await server.start()
    for path, steps in ROUTES.items():
        server.route(path, *steps)
    for _ in range(8):
        server.script(*CHAT)
        server.script(Respond(204))
    return server


class LoopThread:
    """An asyncio loop in a thread of its own, where the samples' servers run.

    The samples run their own loops (``asyncio.run``, ``trio.run``) in the
    test's thread, so the servers cannot share one with them.
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="docs-servers")
        self._thread.start()

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(BLOCK_LIMIT)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(BLOCK_LIMIT)
        self.loop.close()


@pytest.fixture(scope="session")
def docs_servers() -> Iterator[LoopThread]:
    """The loop that the samples' servers run on, for the whole session."""
    thread = LoopThread()
    yield thread
    thread.stop()


@dataclass
class Page:
    """What the blocks of one page share: a folder, and the files written to it."""

    folder: Path
    modules: set[str] = field(default_factory=set)


def _setup_page(namespace: dict[str, Any]) -> None:
    folder = Path(tempfile.mkdtemp(prefix="docs-page-"))
    namespace[PAGE] = Page(folder)
    sys.path.insert(0, str(folder))


def _teardown_page(namespace: dict[str, Any]) -> None:
    page: Page = namespace.pop(PAGE)
    sys.path.remove(str(page.folder))
    for name in page.modules:
        sys.modules.pop(name, None)
    shutil.rmtree(page.folder)


@contextmanager
def _within(folder: Path, seconds: float) -> Iterator[None]:
    """Run in ``folder``, and raise ``TimeoutError`` in this thread after ``seconds``."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError(f"the sample ran for more than {seconds} s")

    previous_handler = signal.signal(signal.SIGALRM, expire)
    previous_dir = Path.cwd()
    os.chdir(folder)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_handler)
        os.chdir(previous_dir)


def _run_pytest(page: Page, path: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-W",
        "error",
        "-o",
        "asyncio_default_fixture_loop_scope=function",
        "--rootdir",
        str(page.folder),
        path.name,
    ]
    done = subprocess.run(
        command, cwd=page.folder, capture_output=True, text=True, timeout=PYTEST_LIMIT
    )
    if done.returncode != 0 or " passed" not in done.stdout:
        raise AssertionError(f"pytest {path.name} failed:\n{done.stdout}\n{done.stderr}")


def _write_file(page: Page, source: str, name: str, continued: bool) -> None:
    path = page.folder / f"{name}.py"
    if continued != path.exists():
        raise ValueError(f"{name}.py: '(continued)' must follow the block that starts the file")
    with path.open("a", encoding="utf-8") as file:
        file.write(source)
    if name.startswith("test_"):
        _run_pytest(page, path)
        return
    # Imported now, so that a module that does not run fails at its own block.
    with _within(page.folder, BLOCK_LIMIT):
        if name in sys.modules:
            importlib.reload(sys.modules[name])
        else:
            importlib.import_module(name)
    page.modules.add(name)


def evaluate(example: Example) -> None:
    """Run one block against a fresh server (see the module's docstring)."""
    page: Page = example.namespace[PAGE]
    servers: LoopThread = example.namespace["docs_servers"]
    server = servers.call(_start_server())
    try:
        source = str(example.parsed).replace(SAMPLE_ADDRESS, f"127.0.0.1:{server.port}")
        header = FILE_LINE.match(source)
        if header is not None:
            name, continued = header["name"], header["continued"] is not None
            _write_file(page, source, name, continued)
            return
        code = compile(
            pad(source, example.line + example.parsed.line_offset), example.path, "exec"
        )
        with _within(page.folder, BLOCK_LIMIT):
            exec(code, {"__name__": "__main__"})
        if SAMPLE_ADDRESS in str(example.parsed) and not server.requests:
            raise AssertionError(f"the sample names {SAMPLE_ADDRESS} but sent it no request")
    finally:
        servers.call(server.aclose())


def sybil() -> Sybil:
    """The Sybil of the root conftest: README.md and docs/*.md."""
    return Sybil(
        parsers=[CodeBlockParser(language="python", evaluator=evaluate), SkipParser()],
        patterns=["README.md", "docs/*.md"],
        path=str(Path(__file__).resolve().parent.parent),
        setup=_setup_page,
        teardown=_teardown_page,
        fixtures=["docs_servers"],
    )
