"""Last-event-id stores on this machine's disk: one small file, or a row of an SQLite database.

Both are :class:`~eventsource.stores.SyncLastEventIdStore`: blocking methods,
safe to call from any thread (the async client runs them in a worker thread).
Each save is atomic, so a crash leaves the old ID or the new one. Public from
``eventsource.stores``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import tempfile
import time
from pathlib import Path

__all__ = ["FileLastEventIdStore", "SQLiteLastEventIdStore"]

#: Seconds between two tries to switch a new SQLite file to WAL (see _wal).
_WAL_RETRY = 0.01


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
                _wal(connection, self.timeout)  # kept by the file
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


def _wal(connection: sqlite3.Connection, timeout: float) -> None:
    """Switch the file to WAL, waiting up to ``timeout`` seconds for another writer.

    SQLite does not wait (its busy timeout) for the lock this switch takes: on
    a new file that other consumers open at the same moment, it failed at once
    with "database is locked".
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            connection.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(_WAL_RETRY)
