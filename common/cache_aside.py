"""Cache-aside for hot reads, with metrics, that never outlives a change and survives Redis
being down.

- A miss loads from the database and caches the value with a TTL.
- ``delete`` (called after the commit that changed the value) bumps the key's generation and
  removes it; a load that started before the bump does not write its (possibly old) value
  back. That closes the read-before-commit / write-after-invalidation race inside one process.
  Across processes, the TTL bounds staleness.
- When the cache fails (down, slow), reads go to the database and still answer.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable

from common.logging import get_logger
from common.metrics import Metrics
from common.ports import Cache, CacheUnavailable, Invalidation

log = get_logger(__name__)


class CacheAside:
    def __init__(self, cache: Cache, ttl_s: float, metrics: Metrics | None = None) -> None:
        self.cache = cache
        self.ttl_s = ttl_s
        self._gen: dict[str, int] = {}
        self._epoch = 0  # bumped by clear(): every load in flight is then void
        self.hits = self.misses = self.errors = 0
        self._m = None
        if metrics is not None:
            self._m = metrics.counter("cache_requests_total", "Cache reads", ("result",))

    def _count(self, result: str) -> None:
        if self._m is not None:
            self._m.labels(result).inc()

    async def get_or_load(self, key: str, load: Callable[[], Awaitable[bytes]]) -> bytes:
        try:
            cached = await self.cache.get(key)
        except CacheUnavailable:
            self.errors += 1
            self._count("error")
            return await load()
        if cached is not None:
            self.hits += 1
            self._count("hit")
            return cached
        self.misses += 1
        self._count("miss")
        generation, epoch = self._gen.get(key, 0), self._epoch
        value = await load()
        if self._gen.get(key, 0) == generation and self._epoch == epoch:
            try:
                await self.cache.set(key, value, self.ttl_s)
            except CacheUnavailable:
                self.errors += 1
        return value

    async def get_int(self, key: str, load: Callable[[], Awaitable[int]]) -> int:
        async def load_bytes() -> bytes:
            return str(await load()).encode()

        return int(await self.get_or_load(key, load_bytes))

    # the Cache protocol, so consumers can invalidate through it
    async def get(self, key: str) -> bytes | None:
        return await self.cache.get(key)

    async def set(self, key: str, value: bytes, ttl_s: float) -> None:
        await self.cache.set(key, value, ttl_s)

    async def delete(self, *keys: str) -> None:
        for key in keys:
            self._gen[key] = self._gen.get(key, 0) + 1
        if len(self._gen) > 200_000:  # bounded: old generations only matter for in-flight loads
            self._gen.clear()
        await self.cache.delete(*keys)

    async def clear(self, domain: str) -> None:
        self._epoch += 1
        await self.cache.clear(domain)

    def watch(self) -> AsyncGenerator[Invalidation, None]:
        return self.cache.watch()

    async def close(self) -> None:
        await self.cache.close()
