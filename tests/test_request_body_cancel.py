"""A deadline that lands while a POST's body is written leaves nothing for trio to flag.

httpx streams a ``bytes`` body through an async generator. A cancel in the
middle of the write (a big prompt, a server that does not read it yet) left
that generator suspended, and trio warned as it was collected: ``Async
generator 'httpx._content.ByteStream.__aiter__' was garbage collected before
it had been exhausted`` (an error under pytest's ``-W error``).
"""

from __future__ import annotations

import contextlib
import gc
import socket
import threading
import warnings
from collections.abc import Iterator

import anyio
import pytest

from eventsource import EventSource, TransportError

from ._fixtures import LIMIT, both_backends

pytestmark = pytest.mark.anyio
anyio_backend = both_backends

#: Far more than the sockets' buffers hold, so the write waits for the server.
BIG_PROMPT = b"x" * (16 << 20)


@contextlib.contextmanager
def unread_port() -> Iterator[int]:
    """A loopback port that accepts connections and never reads from them."""
    held: list[socket.socket] = []
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)

        listener.settimeout(0.05)
        done = threading.Event()

        def accept() -> None:
            while not done.is_set():
                with contextlib.suppress(TimeoutError):
                    held.append(listener.accept()[0])

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        try:
            yield listener.getsockname()[1]
        finally:
            done.set()
            for connection in held:
                connection.close()
            thread.join(LIMIT)


async def test_a_cancel_while_the_body_is_written_warns_about_nothing() -> None:
    with unread_port() as port, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):
            es = EventSource(
                f"http://127.0.0.1:{port}/v1/chat/completions",
                method="POST",
                body=BIG_PROMPT,
                transport="httpx",
                reconnect=False,
            )
            with anyio.move_on_after(0.2) as scope:
                await es.__anext__()
            assert scope.cancelled_caught
            # One-shot: a POST that started to go out is not sent again.
            with anyio.fail_after(LIMIT), pytest.raises(TransportError):
                await es.__anext__()
            await es.aclose()
            gc.collect()
    assert [str(warning.message) for warning in caught] == []
