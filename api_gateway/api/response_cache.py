"""Serving answers from :class:`ResponseStore` in front of the routes, and keeping it in step
with the services' invalidation feed.

Routes opt in with ``dependencies=[Depends(cacheable("token"))]``: it marks the request, and a
``200`` answer of a marked request is stored under its path and query. A hit skips routing,
validation and the gRPC call; auth, rate limits, request ids and metrics (the ``Edge``
middleware around this one) still apply. Answers carry the headers the route set
(``Cache-Control``); never the request id.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api_gateway.application.response_cache import Answer, ResponseStore
from common.logging import get_logger
from common.ports import Cache, CacheUnavailable

log = get_logger(__name__)
DOMAIN = "nova.cache_domain"  # scope key: set by a cacheable route
ROUTE = "nova.route"  # scope key: the route template of an answer served from the store


def cacheable(domain: str) -> Callable[[Request], Awaitable[None]]:
    """A route dependency: this route's answers depend on ``domain``'s index alone."""

    async def mark(request: Request) -> None:
        request.scope[DOMAIN] = domain

    return mark


def not_cacheable(request: Request) -> None:
    """This answer (of a cacheable route) depends on more than the index: do not keep it."""
    request.scope.pop(DOMAIN, None)


class ResponseCache:
    def __init__(
        self,
        app: ASGIApp,
        store: ResponseStore,
        route_template: Callable[[Scope], str],
        results: Any,
    ) -> None:
        self.app = app
        self.store = store
        self.route_template = route_template
        self.results = results  # Counter labelled by result: hit, miss, bypass

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        key = f"{scope['path']}?{scope['query_string'].decode('latin-1')}"
        answer = self.store.get(key)
        if answer is not None:
            self.results.labels("hit").inc()
            scope[ROUTE] = answer.route
            await send({"type": "http.response.start", "status": 200, "headers": answer.headers})
            await send({"type": "http.response.body", "body": answer.body})
            return
        ticket = self.store.begin()
        if ticket is None:
            self.results.labels("bypass").inc()
            await self.app(scope, receive, send)
            return
        status = 0
        headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []
        complete = False

        async def capture(message: Message) -> None:
            nonlocal status, headers, complete
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                complete = not message.get("more_body", False)
            await send(message)

        await self.app(scope, receive, capture)
        domain = scope.get(DOMAIN)
        if domain is None or status != 200 or not complete:
            self.results.labels("bypass").inc()
            return
        self.results.labels("miss").inc()
        self.store.put(
            key, domain, ticket, Answer(headers, b"".join(chunks), self.route_template(scope))
        )


async def follow(feed: Cache, store: ResponseStore, max_backoff_s: float = 5.0) -> None:
    """Apply the feed's invalidations to ``store`` until cancelled; on loss, empty the store
    and subscribe again (with backoff)."""
    backoff = 0.1
    while True:
        try:
            async for change in feed.watch():
                store.apply(change)
                backoff = 0.1
            store.lost()  # an adapter ended its feed: treat as lost
        except CacheUnavailable as exc:
            store.lost()
            log.warning("response cache off: invalidation feed lost", error=str(exc)[:200])
        except asyncio.CancelledError:
            store.lost()
            raise
        except Exception:
            store.lost()
            log.exception("response cache off: invalidation feed failed")
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, max_backoff_s)
