"""Where a restarted consumer finds the last event ID it had: the store protocols and stores.

A store has ``load()`` and ``save(last_event_id)``, as coroutine functions
(:class:`LastEventIdStore`, awaited on the event loop: :class:`RedisLastEventIdStore`)
or as plain functions (:class:`SyncLastEventIdStore`: :class:`FileLastEventIdStore`,
:class:`SQLiteLastEventIdStore`), which ``EventSource`` runs in a worker thread so
the event loop never waits for a disk. Saves run beside delivery, one at a
time, the IDs handled meanwhile coalescing into the next; wrap a store in
:class:`StrictStore` to await each save before the next event. The guarantee
and a recipe: the "Durable consumers" page of the docs.
"""

from __future__ import annotations

import contextlib
import errno
import inspect
import os
import sqlite3
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import anyio.to_thread

from ._errors import StoreError

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = [
    "FileLastEventIdStore",
    "LastEventIdStore",
    "RedisLastEventIdStore",
    "SQLiteLastEventIdStore",
    "StoreError",
    "StrictStore",
    "SyncLastEventIdStore",
]


@runtime_checkable
class LastEventIdStore(Protocol):
    """Keeps the last event ID across process restarts, without blocking the event loop.

    ``EventSource`` awaits ``load()`` once before its first connection (unless
    it was given ``last_event_id=``) and ``save()`` beside delivery, never two
    at once for one EventSource. An exception from ``load()`` stops the stream
    with :class:`StoreError`; one from ``save()`` is logged and the next ID saved.
    """

    async def load(self) -> str | None:
        """The saved ID, or ``None`` when nothing was saved yet."""
        ...

    async def save(self, last_event_id: str) -> None:
        """Remember ``last_event_id``: every event up to it was handled."""
        ...


@runtime_checkable
class SyncLastEventIdStore(Protocol):
    """A :class:`LastEventIdStore` with blocking methods: run in a worker thread.

    The blocking client (``eventsource.sync``) calls them directly; the async
    ``EventSource`` calls them in a thread of its own, so they may block (a
    disk, a database) but must be safe to call from a thread other than the
    one that made the store.
    """

    def load(self) -> str | None:
        """The saved ID, or ``None`` when nothing was saved yet."""
        ...

    def save(self, last_event_id: str) -> None:
        """Remember ``last_event_id``: every event up to it was handled."""
        ...


class StrictStore:
    """Wraps a store so that each save is awaited before the next event is handed out.

    ``EventSource(url, last_event_id_store=StrictStore(store))``: a consumer
    killed at any moment sees again at most the event it was handling, at the
    cost of one save's time per event (per batch with ``batches()``). A failed
    save is still only logged (see :class:`StoreError`). It is itself a
    :class:`LastEventIdStore`: its methods await the store's, or run them in a
    worker thread.

    Args:
        store: A :class:`LastEventIdStore` or a :class:`SyncLastEventIdStore`.
    """

    __slots__ = ("store",)

    def __init__(self, store: LastEventIdStore | SyncLastEventIdStore) -> None:
        self.store = store

    async def load(self) -> str | None:
        """The wrapped store's ``load()``."""
        store: Any = self.store
        if inspect.iscoroutinefunction(store.load):
            return await store.load()  # type: ignore[no-any-return]
        return await anyio.to_thread.run_sync(store.load)

    async def save(self, last_event_id: str) -> None:
        """The wrapped store's ``save()``."""
        store: Any = self.store
        if inspect.iscoroutinefunction(store.save):
            await store.save(last_event_id)
        else:
            await anyio.to_thread.run_sync(store.save, last_event_id)

    def __repr__(self) -> str:
        return f"StrictStore({self.store!r})"


class FileLastEventIdStore:
    """A :class:`SyncLastEventIdStore` in one small UTF-8 file, replaced atomically.

    For one consumer on one machine (a container's own disk goes with the
    container: use a volume, or :class:`RedisLastEventIdStore`). Each save
    writes a temporary file beside the target, flushes it to disk (``fsync``,
    unless ``durable=False``) and renames it over the target, so a crash
    leaves either the old ID or the new one, never a torn file.

    The folder is not created for you (a mistyped path would silently start
    a fresh stream): it must exist when the store is made, which checks it, so
    a wrong path fails at once rather than at the first saved event.

    Args:
        path: The file to keep the ID in; its folder must exist.
        durable: Flush each save to disk before renaming.

    Raises:
        FileNotFoundError: the folder of ``path`` does not exist.
        NotADirectoryError: the folder of ``path`` is a file.
        IsADirectoryError: ``path`` is a folder.
    """

    def __init__(self, path: str | os.PathLike[str], *, durable: bool = True) -> None:
        self.path = Path(path)
        self.durable = durable
        _check_folder(self.path, "FileLastEventIdStore")

    def load(self) -> str | None:
        """Read the saved ID; ``None`` if the file does not exist."""
        try:
            return self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def save(self, last_event_id: str) -> None:
        """Replace the saved ID atomically."""
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as file:
                file.write(last_event_id)
                if self.durable:
                    file.flush()
                    os.fsync(file.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def __repr__(self) -> str:
        return f"FileLastEventIdStore({str(self.path)!r})"


def _check_folder(path: Path, what: str) -> None:
    folder = path.parent
    if not folder.is_dir():
        if folder.exists():
            raise NotADirectoryError(
                errno.ENOTDIR, f"the folder of a {what} is a file", str(folder)
            )
        raise FileNotFoundError(
            errno.ENOENT, f"the folder of a {what} does not exist (create it first)", str(folder)
        )
    if path.is_dir():
        raise IsADirectoryError(
            errno.EISDIR, f"a {what} needs a file path, not a folder", str(path)
        )


class SQLiteLastEventIdStore:
    """A :class:`SyncLastEventIdStore` in an SQLite database: one row per key.

    Many consumers (threads or processes) may share one file, each with its own
    ``key``. The database runs in WAL mode, so readers never wait for a writer,
    and each save is one committed transaction: a crash (or SIGKILL) leaves the
    old ID or the new one. Each call opens its own connection and closes it, so
    a store holds no file open between saves and may be used from any thread.

    Args:
        path: The database file (made if missing); its folder must exist.
        key: Which consumer's ID: the row's key.
        table: The table's name (made if missing).
        durable: Sync each commit to disk (``synchronous=FULL``); ``False`` keeps
            commits safe from a process crash but not from a power loss (``NORMAL``).
        timeout: Seconds to wait for another writer's lock before failing.

    Raises:
        FileNotFoundError: the folder of ``path`` does not exist.
        NotADirectoryError: the folder of ``path`` is a file.
        IsADirectoryError: ``path`` is a folder.
        ValueError: ``table`` is not a plain identifier.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        key: str,
        table: str = "eventsource_last_event_id",
        durable: bool = True,
        timeout: float = 5.0,
    ) -> None:
        if not table.isidentifier():  # then quoting it is safe: a keyword works too
            raise ValueError(f"table must be a plain identifier, not {table!r}")
        self.path = Path(path)
        self.key = key
        self.table = table
        self.durable = durable
        self.timeout = timeout
        self._ready = False
        _check_folder(self.path, "SQLiteLastEventIdStore")

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        try:
            connection.execute(f"PRAGMA synchronous = {'FULL' if self.durable else 'NORMAL'}")
            if not self._ready:
                connection.execute("PRAGMA journal_mode = WAL")  # kept by the file
                connection.execute(
                    f'CREATE TABLE IF NOT EXISTS "{self.table}" '
                    "(key TEXT PRIMARY KEY, last_event_id TEXT NOT NULL)"
                )
                self._ready = True
        except BaseException:
            connection.close()
            raise
        return connection

    def load(self) -> str | None:
        """The key's saved ID; ``None`` if it has none."""
        with contextlib.closing(self._connect()) as connection:
            row = connection.execute(
                f'SELECT last_event_id FROM "{self.table}" WHERE key = ?', (self.key,)
            ).fetchone()
        return None if row is None else str(row[0])

    def save(self, last_event_id: str) -> None:
        """Replace the key's saved ID (one committed transaction)."""
        with contextlib.closing(self._connect()) as connection:
            connection.execute(
                f'INSERT INTO "{self.table}" (key, last_event_id) VALUES (?, ?) '
                "ON CONFLICT (key) DO UPDATE SET last_event_id = excluded.last_event_id",
                (self.key, last_event_id),
            )

    def __repr__(self) -> str:
        return f"SQLiteLastEventIdStore({str(self.path)!r}, key={self.key!r})"


class RedisLastEventIdStore:
    """A :class:`LastEventIdStore` in Redis, with redis-py's asyncio client: one key.

    For consumers that move between machines (a rescheduled container): the ID
    lives outside them. Needs the ``redis`` extra (``eventsource-client[redis]``).
    The Redis server's own persistence decides what survives *its* restart
    (turn on ``appendonly`` for that).

    Given a URL, the store makes its client when first used and closes it in
    :meth:`aclose` (or ``async with store``). A client you pass is never closed.

    Args:
        redis: A ``redis://`` URL, or a ``redis.asyncio.Redis`` client.
        key: The Redis key that holds this consumer's ID.

    Raises:
        ImportError: the ``redis`` extra is not installed.
    """

    def __init__(self, redis: str | Redis, *, key: str) -> None:
        try:
            import redis.asyncio as redis_asyncio
        except ImportError as exc:  # pragma: no cover - the dev extra installs it
            raise ImportError(
                "RedisLastEventIdStore needs the redis extra: "
                "pip install 'eventsource-client[redis]'"
            ) from exc
        self.key = key
        self._url = redis if isinstance(redis, str) else None
        self._client: Redis | None = None if isinstance(redis, str) else redis
        self._factory = redis_asyncio.Redis.from_url

    def _redis(self) -> Redis:
        if self._client is None:
            assert self._url is not None
            self._client = self._factory(self._url)
        return self._client

    async def load(self) -> str | None:
        """The key's saved ID; ``None`` if the key does not exist."""
        value = await self._redis().get(self.key)
        if value is None:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)

    async def save(self, last_event_id: str) -> None:
        """Set the key to ``last_event_id``."""
        await self._redis().set(self.key, last_event_id)

    async def aclose(self) -> None:
        """Close the client the store made from a URL (not one you passed)."""
        client = self._client
        if self._url is not None and client is not None:
            self._client = None
            await client.aclose()

    async def __aenter__(self) -> RedisLastEventIdStore:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"RedisLastEventIdStore(key={self.key!r})"
