"""Where a restarted consumer finds the last event ID it had: the store protocol and a file.

Synchronous and small on purpose: one short write per event that changes the
ID. Imports no async or HTTP library.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path
from typing import Protocol, runtime_checkable

__all__ = ["FileLastEventIdStore", "LastEventIdStore"]


@runtime_checkable
class LastEventIdStore(Protocol):
    """Keeps the last event ID across process restarts."""

    def load(self) -> str | None:
        """The saved ID, or ``None`` when nothing was saved yet."""
        ...

    def save(self, last_event_id: str) -> None:
        """Remember ``last_event_id`` (called after each event that changes it)."""
        ...


class FileLastEventIdStore:
    """A :class:`LastEventIdStore` in one small UTF-8 file, replaced atomically.

    Each save writes a temporary file beside the target, flushes it to disk
    (``fsync``, unless ``durable=False``) and renames it over the target, so a
    crash leaves either the old ID or the new one, never a torn file.

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
        folder = self.path.parent
        if not folder.is_dir():
            if folder.exists():
                raise NotADirectoryError(
                    errno.ENOTDIR, "the folder of a FileLastEventIdStore is a file", str(folder)
                )
            raise FileNotFoundError(
                errno.ENOENT,
                "the folder of a FileLastEventIdStore does not exist (create it first)",
                str(folder),
            )
        if self.path.is_dir():
            raise IsADirectoryError(
                errno.EISDIR, "a FileLastEventIdStore needs a file path, not a folder", str(path)
            )

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
