"""A real redis-server for the store tests: a free 127.0.0.1 port, a temporary folder.

Debian's ``redis-server`` package (``.ci/run`` installs it when missing). Without
it the tests that need it are skipped, with the reason, on a developer's machine,
and fail in CI (``.ci/run`` sets ``EVENTSOURCE_CI``): a skip there would hide them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

#: Seconds the server may take to start or stop.
START_LIMIT = 10.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def run_redis(folder: Path) -> Iterator[str]:
    """Start redis-server in ``folder``, yield its ``redis://`` URL, stop it."""
    executable = shutil.which("redis-server")
    if executable is None:
        reason = "redis-server is not installed (apt-get install redis-server)"
        if os.environ.get("EVENTSOURCE_CI"):
            pytest.fail(reason + ": CI must run the Redis store tests")
        pytest.skip(reason)
    port = _free_port()
    process = subprocess.Popen(
        [
            *(executable, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder)),
            *("--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", ""),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + START_LIMIT
        while not _answers(port):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"redis-server did not start on 127.0.0.1:{port}")
            time.sleep(0.02)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        try:
            process.wait(START_LIMIT)
        except subprocess.TimeoutExpired:  # pragma: no cover - a stuck server
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a redis-server run for this test module."""
    yield from run_redis(tmp_path_factory.mktemp("redis"))
