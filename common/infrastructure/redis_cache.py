"""The cache over Redis. Short timeouts: a slow or dead Redis must not slow reads down.

A ``delete`` runs as one script: the keys go, the cache's invalidation counter
(``{prefix}invalidations:version``) goes up and ``"<version> <domain,...>"`` is published on
``{prefix}invalidations``, atomically, so the watchers (:meth:`RedisCache.watch`) see every
delete in order, numbered, and notice one they missed.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from common.ports import CacheUnavailable, Invalidation, key_domains

# KEYS[1] the version counter, KEYS[2..] the keys to drop; ARGV[1] the channel, ARGV[2] domains.
# DEL in chunks: Lua's unpack() has a stack limit of a few thousand values.
_DELETE = """
local n = #KEYS
for i = 2, n, 1000 do
  redis.call('DEL', unpack(KEYS, i, math.min(i + 999, n)))
end
local v = redis.call('INCR', KEYS[1])
redis.call('PUBLISH', ARGV[1], v .. ' ' .. ARGV[2])
return v
"""


class RedisCache:
    def __init__(self, url: str, *, prefix: str = "nova:", timeout_s: float = 0.25) -> None:
        self._url = url
        self._prefix = prefix
        self._timeout_s = timeout_s
        self._version_key = f"{prefix}invalidations:version"
        self._channel = f"{prefix}invalidations"
        self._client = aioredis.Redis.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry_on_timeout=False,
            health_check_interval=30,
        )
        self._delete = self._client.register_script(_DELETE)

    async def get(self, key: str) -> bytes | None:
        try:
            value = await self._client.get(self._prefix + key)
        except (RedisError, OSError) as exc:
            raise CacheUnavailable(f"redis get failed: {exc}") from exc
        return value.encode() if isinstance(value, str) else value

    async def set(self, key: str, value: bytes, ttl_s: float) -> None:
        if ttl_s <= 0:
            raise ValueError(f"ttl_s must be > 0, got {ttl_s}")
        try:
            await self._client.set(self._prefix + key, value, px=max(1, int(ttl_s * 1000)))
        except (RedisError, OSError) as exc:
            raise CacheUnavailable(f"redis set failed: {exc}") from exc

    async def delete(self, *keys: str) -> None:
        if keys:
            await self._delete_announced([self._prefix + k for k in keys], key_domains(keys))

    async def clear(self, domain: str) -> None:
        literal = "".join("\\" + c if c in "\\*?[]^" else c for c in f"{self._prefix}{domain}:")
        pattern = literal + "*"
        try:
            chunk: list[str] = []
            async for key in self._client.scan_iter(match=pattern, count=1000):
                chunk.append(key.decode() if isinstance(key, bytes) else key)
                if len(chunk) == 1000:
                    await self._delete_announced(chunk, frozenset({domain}))
                    chunk = []
        except (RedisError, OSError) as exc:
            raise CacheUnavailable(f"redis scan failed: {exc}") from exc
        await self._delete_announced(chunk, frozenset({domain}))  # announced even if empty

    async def _delete_announced(self, full_keys: list[str], domains: frozenset[str]) -> None:
        try:
            await self._delete(
                keys=[self._version_key, *full_keys],
                args=[self._channel, ",".join(sorted(domains))],
            )
        except (RedisError, OSError) as exc:
            raise CacheUnavailable(f"redis delete failed: {exc}") from exc

    async def watch(self) -> AsyncGenerator[Invalidation, None]:
        # A client of its own that never reconnects behind our back: redis-py would
        # resubscribe silently and the announcements in between would be lost unnoticed.
        client = aioredis.Redis.from_url(
            self._url,
            socket_connect_timeout=self._timeout_s,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=5,
        )
        pubsub = client.pubsub()
        try:
            try:
                await pubsub.subscribe(self._channel)
                while (await pubsub.get_message(timeout=self._timeout_s)) is None:
                    pass  # the subscription's confirmation
                version = int(await client.get(self._version_key) or 0)
            except (RedisError, OSError) as exc:
                raise CacheUnavailable(f"redis subscribe failed: {exc}") from exc
            yield Invalidation(version, None)
            while True:
                try:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                except (RedisError, OSError) as exc:
                    raise CacheUnavailable(f"redis invalidation feed lost: {exc}") from exc
                if message is None or message["type"] != "message":
                    continue
                number, _, names = message["data"].decode().partition(" ")
                yield Invalidation(int(number), frozenset(names.split(",")) - {""})
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call]
            await client.aclose()

    async def close(self) -> None:
        await self._client.aclose()
