"""A last-event-id store in Redis, on redis-py's asyncio client (the ``redis`` extra).

A :class:`~eventsource.stores.LastEventIdStore`: its methods are awaited on
the event loop. redis-py is imported when a store is made, so the package
imports without it. Public from ``eventsource.stores``.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["RedisLastEventIdStore"]


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
        RuntimeError: used outside asyncio (under trio), from ``load`` and ``save``.
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
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # trio: redis-py's own error would be "no running event loop"
            raise RuntimeError(
                "RedisLastEventIdStore needs asyncio (redis-py's asyncio client); under"
                " trio use FileLastEventIdStore, SQLiteLastEventIdStore or a store of your own"
            ) from None
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
