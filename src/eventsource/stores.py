"""Where a restarted consumer finds the last event ID it had: the store protocol and a file.

Synchronous and small on purpose: one short write per event that changes the
ID. Imports no async or HTTP library.
"""

from __future__ import annotations

import contextlib
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

    Args:
        path: The file to keep the ID in; its folder must exist.
        durable: Flush each save to disk before renaming.
    """

    def __init__(self, path: str | os.PathLike[str], *, durable: bool = True) -> None:
        self.path = Path(path)
        self.durable = durable

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
