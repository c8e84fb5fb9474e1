"""What the help and the docs tell a newcomer to run against the demo server, run against it.

``eventsource demo-server`` sends ``message`` events (JSON chat lines, ids
1, 2, ...). Its address in the docs is ``127.0.0.1:8000`` or
``localhost:8000``; each command line of ``eventsource --help``, README.md
and docs/ that names it and ends by itself (``-n``, ``--until-...``) must end
with status 0 against the real demo server, and the sample output of
docs/cli.md must be what the command prints. A command that waits for an event
type the demo server never sends (``--event chat``) never ends: it fails here.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from eventsource._cli_args import EXAMPLES

from ._fixtures import LIMIT

ROOT = Path(__file__).resolve().parent.parent
#: The demo server's address as the docs write it.
DEMO_ADDRESS = re.compile(r"(?:127\.0\.0\.1|localhost):8000")
#: Options after which the command ends by itself.
ENDING = ("-n", "--max-events", "--until-data", "--until-event")
FENCE = re.compile(r"```(?P<lang>\w*)\n(?P<body>.*?)```", re.DOTALL)
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("NO_COLOR", None)
    return env


async def _run(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "eventsource",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_env(),
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), LIMIT)
    except asyncio.TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(f"eventsource {shlex.join(args)} did not end in {LIMIT} s") from None
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest_asyncio.fixture
async def demo_address() -> AsyncIterator[str]:
    """``127.0.0.1:PORT`` of a real ``eventsource demo-server``, publishing fast."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "eventsource",
        "demo-server",
        "--port",
        "0",
        "--interval",
        "0.002",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert process.stdout is not None
    try:
        line = (await asyncio.wait_for(process.stdout.readline(), LIMIT)).decode()
        found = re.search(r"http://(127\.0\.0\.1:\d+)/stream", line)
        assert found is not None, line
        yield found[1]
    finally:
        process.terminate()
        await process.wait()


def _ending_demo_commands() -> list[str]:
    """Each ``eventsource URL ...`` line naming the demo server that ends by itself."""
    texts = [EXAMPLES]
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        texts.extend(
            block["body"]
            for block in FENCE.finditer(page.read_text(encoding="utf-8"))
            if block["lang"] in ("console", "")
        )
    commands = []
    for text in texts:
        for line in text.splitlines():
            line = line.strip().removeprefix("$ ")
            # Only what the command itself does: no shell redirection, pipe or comment.
            line = re.split(r"\s[>|&#]", line, maxsplit=1)[0].strip()
            words = line.split()
            if words[:1] != ["eventsource"] or not DEMO_ADDRESS.search(line):
                continue
            if any(word in ENDING for word in words):
                commands.append(line)
    return commands


DEMO_COMMANDS = _ending_demo_commands()


def test_the_help_and_the_docs_have_such_commands() -> None:
    # The examples that were wrong: the help's and the docs' index page.
    assert any(command in EXAMPLES for command in DEMO_COMMANDS)
    assert len(DEMO_COMMANDS) >= 3


@pytest.mark.asyncio
@pytest.mark.parametrize("command", DEMO_COMMANDS)
async def test_each_command_shown_for_the_demo_server_ends_with_its_events(
    command: str, demo_address: str
) -> None:
    args = shlex.split(DEMO_ADDRESS.sub(demo_address, command))[1:]
    code, out, err = await _run(*args)
    assert code == 0, err
    assert "hello #1" in out  # the first event, in every format


def _cli_sample(after: str) -> str:
    """The first ```text block of docs/cli.md after the sentence ``after``."""
    page = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    block = FENCE.search(page, page.index(after))
    assert block is not None
    return block["body"]


@pytest.mark.asyncio
async def test_the_sample_output_of_the_cli_page_is_what_the_demo_server_gives(
    demo_address: str,
) -> None:
    url = f"{demo_address}/stream"
    code, piped, err = await _run(url, "-n", "1")
    assert code == 0, err
    assert piped == _cli_sample("When the output is a pipe")

    code, colored, err = await _run(url, "-n", "1", "--color", "always")
    assert code == 0, err
    sample = _cli_sample("On a terminal")
    clock = re.compile(r"^\d\d:\d\d:\d\d\.\d{3} ")
    assert clock.match(sample) is not None
    assert clock.sub("", ANSI.sub("", colored)) == clock.sub("", sample)
