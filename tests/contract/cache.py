"""The cache contract: every adapter of ``common.ports.Cache`` passes these."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from common.ports import Cache, Invalidation


def _key() -> str:
    return f"test:{uuid.uuid4().hex}"


class CacheContract:
    @pytest.fixture
    async def cache(self):  # pragma: no cover - overridden
        raise NotImplementedError

    async def test_miss_is_none(self, cache: Cache) -> None:
        assert await cache.get(_key()) is None

    async def test_set_get_delete(self, cache: Cache) -> None:
        a, b = _key(), _key()
        await cache.set(a, b"123456789012345678901234567890", ttl_s=60)
        await cache.set(b, b"\x00binary", ttl_s=60)
        assert await cache.get(a) == b"123456789012345678901234567890"
        assert await cache.get(b) == b"\x00binary"
        await cache.delete(a, b, _key())
        assert await cache.get(a) is None
        assert await cache.get(b) is None

    async def test_overwrite(self, cache: Cache) -> None:
        k = _key()
        await cache.set(k, b"1", ttl_s=60)
        await cache.set(k, b"2", ttl_s=60)
        assert await cache.get(k) == b"2"
        await cache.delete(k)

    async def test_entries_expire(self, cache: Cache) -> None:
        k = _key()
        await cache.set(k, b"short", ttl_s=0.2)
        deadline = time.monotonic() + 5
        while await cache.get(k) is not None:
            assert time.monotonic() < deadline, "entry outlived its TTL by seconds"
            self.advance(0.05)

    async def test_non_positive_ttl_is_refused(self, cache: Cache) -> None:
        with pytest.raises(ValueError, match="ttl_s"):
            await cache.set(_key(), b"x", ttl_s=0)

    async def test_deletes_are_announced_numbered_in_order(self, cache: Cache) -> None:
        feed = cache.watch()
        try:
            async with asyncio.timeout(10):
                first = await anext(feed)
                assert first.domains is None  # the resync
                v = first.version
                await cache.delete()  # nothing deleted: nothing announced
                await cache.delete(f"token:balance:{uuid.uuid4().hex}", "staking:total")
                await cache.delete("token:last_block")
                many = [f"token:balance:{i}" for i in range(2500)]  # beyond one DEL chunk
                for k in many[:3]:
                    await cache.set(k, b"1", ttl_s=60)
                await cache.delete(*many)
                assert [await anext(feed) for _ in range(3)] == [
                    Invalidation(v + 1, frozenset({"token", "staking"})),
                    Invalidation(v + 2, frozenset({"token"})),
                    Invalidation(v + 3, frozenset({"token"})),
                ]
                assert [await cache.get(k) for k in many[:3]] == [None] * 3
        finally:
            await feed.aclose()

    async def test_a_new_watcher_starts_at_the_current_version(self, cache: Cache) -> None:
        await cache.delete("token:x")
        feed = cache.watch()
        try:
            async with asyncio.timeout(10):
                start = await anext(feed)
                await cache.delete("governance:y")
                assert await anext(feed) == Invalidation(
                    start.version + 1, frozenset({"governance"})
                )
        finally:
            await feed.aclose()

    async def test_clear_drops_one_domain_and_is_announced(self, cache: Cache) -> None:
        tag = uuid.uuid4().hex
        token = [f"token:balance:{tag}", f"token:supply{tag}"]
        for k in [*token, f"staking:total:{tag}", f"tokens:{tag}"]:
            await cache.set(k, b"1", ttl_s=60)
        feed = cache.watch()
        try:
            async with asyncio.timeout(10):
                v = (await anext(feed)).version
                await cache.clear("token")
                assert await anext(feed) == Invalidation(v + 1, frozenset({"token"}))
                await cache.clear("token")  # nothing left: still announced
                assert await anext(feed) == Invalidation(v + 2, frozenset({"token"}))
        finally:
            await feed.aclose()
        assert [await cache.get(k) for k in token] == [None, None]
        assert await cache.get(f"staking:total:{tag}") == b"1"
        assert await cache.get(f"tokens:{tag}") == b"1"  # another domain, same first letters

    def advance(self, seconds: float) -> None:
        """Let time pass (real adapters wait; the in-memory one moves its clock)."""
        time.sleep(seconds)
