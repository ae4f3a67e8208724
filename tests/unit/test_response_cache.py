"""The gateway's response cache: what may be stored, what retires it (unit: no I/O)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request

from api_gateway.api.response_cache import ResponseCache, cacheable, follow, not_cacheable
from api_gateway.application.response_cache import Answer, ResponseStore
from common.inprocess import InMemoryCache
from common.metrics import Metrics, isolated_registry
from common.ports import Invalidation
from tests.chain_helpers import wait_for

ANSWER = Answer([(b"content-type", b"application/json")], b'{"balance":"1"}', "/b/{a}")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def live_store(clock: Clock | None = None, **kw: int) -> ResponseStore:
    store = ResponseStore(2.0, kw.pop("max_bytes", 1 << 20), clock or Clock(), **kw)
    store.apply(Invalidation(10, None))
    return store


def put(store: ResponseStore, key: str, domain: str = "token", answer: Answer = ANSWER) -> bool:
    ticket = store.begin()
    assert ticket is not None
    return store.put(key, domain, ticket, answer)


def test_nothing_is_stored_or_served_until_the_feed_is_live() -> None:
    store = ResponseStore(2.0, 1 << 20, Clock())
    assert store.begin() is None
    store.apply(Invalidation(3, frozenset({"token"})))  # before the resync: ignored
    assert store.begin() is None
    store.apply(Invalidation(3, None))
    assert put(store, "/a")
    assert store.get("/a") == ANSWER


def test_an_announcement_retires_its_domain_only() -> None:
    store = live_store()
    put(store, "/t")
    put(store, "/s", "staking")
    store.apply(Invalidation(11, frozenset({"token"})))
    assert store.get("/t") is None
    assert store.get("/s") == ANSWER
    assert put(store, "/t")  # and answers of the new state are stored again
    assert store.get("/t") == ANSWER


def test_an_answer_computed_across_an_announcement_is_not_stored() -> None:
    store = live_store()
    ticket = store.begin()
    assert ticket is not None
    store.apply(Invalidation(11, frozenset({"staking"})))  # another domain: harmless
    assert store.put("/t", "token", ticket, ANSWER)
    ticket = store.begin()
    assert ticket is not None
    store.apply(Invalidation(12, frozenset({"token"})))  # it may have read the old state
    assert not store.put("/t2", "token", ticket, ANSWER)
    assert store.get("/t2") is None


@pytest.mark.parametrize("version", [13, 11, 5])  # a gap, a replay, a reset counter
def test_out_of_sequence_announcements_drop_everything(version: int) -> None:
    store = live_store()
    store.apply(Invalidation(11, frozenset({"governance"})))
    put(store, "/t")
    put(store, "/s", "staking")
    ticket = store.begin()
    assert ticket is not None
    store.apply(Invalidation(version, frozenset({"governance"})))
    assert store.get("/t") is None and store.get("/s") is None
    assert not store.put("/x", "token", ticket, ANSWER)  # begun before the reset
    assert store.live and len(store) == 0


def test_losing_the_feed_drops_everything_and_stores_nothing() -> None:
    store = live_store()
    put(store, "/t")
    ticket = store.begin()
    assert ticket is not None
    store.lost()
    assert store.get("/t") is None
    assert store.begin() is None
    assert not store.put("/t", "token", ticket, ANSWER)
    store.apply(Invalidation(99, None))  # back: a fresh start
    assert put(store, "/t")


def test_answers_expire_after_the_ttl() -> None:
    clock = Clock()
    store = live_store(clock)
    put(store, "/t")
    clock.now = 1.9
    assert store.get("/t") == ANSWER
    clock.now = 2.0
    assert store.get("/t") is None


def test_memory_is_bounded_least_recently_used_first() -> None:
    body = Answer([], b"x" * 1000, "/r")
    store = live_store(max_bytes=3500)
    for key in ("/a", "/b", "/c"):
        assert put(store, key, answer=body)
    assert store.get("/a") is not None  # /b is now the least recently used
    assert put(store, "/d", answer=body)
    assert store.get("/b") is None
    assert all(store.get(k) is not None for k in ("/a", "/c", "/d"))
    assert store.size_bytes <= 3500
    big = Answer([], b"x" * 70_000, "/r")
    assert not put(store, "/big", answer=big)  # larger than one answer may be


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="ttl_s"):
        ResponseStore(0, 1, Clock())


# --------------------------------------------------------------------------- ASGI + feed


def small_app(store: ResponseStore) -> tuple[FastAPI, dict[str, int]]:
    calls = {"cached": 0, "plain": 0, "live": 0}
    cached = APIRouter(dependencies=[Depends(cacheable("token"))])

    @cached.get("/balance/{who}")
    async def balance(who: str) -> dict[str, str]:
        calls["cached"] += 1
        if who == "nobody":
            raise HTTPException(404, "no such account")
        return {"who": who, "n": str(calls["cached"])}

    @cached.get("/live")
    async def live(request: Request) -> dict[str, str]:
        not_cacheable(request)  # e.g. allowance(on_chain=true): the chain head, not the index
        calls["live"] += 1
        return {"n": str(calls["live"])}

    app = FastAPI()
    app.include_router(cached)

    @app.get("/plain")
    async def plain() -> dict[str, int]:
        calls["plain"] += 1
        return {"n": calls["plain"]}

    results = Metrics("t", isolated_registry()).counter("rc", "results", ("result",))
    app.add_middleware(ResponseCache, store=store, route_template=lambda s: "/t", results=results)
    return app, calls


async def _until(check: Callable[[], bool], what: str) -> None:
    async def holds() -> bool:
        return check()

    await wait_for(holds, what, timeout_s=5, every_s=0.001)


async def test_the_middleware_serves_stored_answers_until_the_feed_announces_a_change() -> None:
    feed = InMemoryCache()
    store = ResponseStore(60.0, 1 << 20, Clock())
    following = asyncio.create_task(follow(feed, store))
    app, calls = small_app(store)
    try:
        await _until(lambda: store.live, "the feed")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            first = await http.get("/balance/a?x=1")
            second = await http.get("/balance/a?x=1")
            assert first.json() == second.json() == {"who": "a", "n": "1"}
            assert first.headers == second.headers
            assert (await http.get("/balance/a?x=2")).json()["n"] == "2"  # query is the key
            for _ in range(2):
                assert (await http.get("/balance/nobody")).status_code == 404
                await http.get("/plain")
            await http.get("/live")
            await http.get("/live")
            # errors, unmarked routes and answers a route declined: never kept
            assert calls == {"cached": 4, "plain": 2, "live": 2}
            await feed.delete("staking:x")
            await _until(lambda: store._version == 1, "the staking announcement")
            assert (await http.get("/balance/a?x=1")).json()["n"] == "1"
            await feed.delete("token:balance:a", "token:last_block")
            await _until(lambda: store._version == 2, "the token announcement")
            assert (await http.get("/balance/a?x=1")).json()["n"] == "5"
    finally:
        following.cancel()
        with pytest.raises(asyncio.CancelledError):
            await following
    assert not store.live  # stopping follow() leaves nothing to be served


class FlakyFeed(InMemoryCache):
    """Its feed breaks after the resync, then works."""

    def __init__(self) -> None:
        super().__init__()
        self.watches = 0

    async def watch(self):
        self.watches += 1
        if self.watches == 1:
            yield Invalidation(0, None)
            from common.ports import CacheUnavailable

            raise CacheUnavailable("connection reset")
        async for change in super().watch():
            yield change


async def test_follow_resubscribes_after_losing_the_feed() -> None:
    feed = FlakyFeed()
    store = ResponseStore(60.0, 1 << 20, Clock())
    following = asyncio.create_task(follow(feed, store, max_backoff_s=0.01))
    try:
        await _until(lambda: feed.watches == 2 and store.live, "a second subscription")
        assert put(store, "/t")
        await feed.delete("token:x")
        await _until(lambda: store.get("/t") is None, "the announcement")
    finally:
        following.cancel()
        with pytest.raises(asyncio.CancelledError):
            await following
