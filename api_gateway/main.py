"""Builds the gateway app: routers, error mapping, middleware. Nothing happens at import."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api_gateway.api import errors
from api_gateway.api.deps import known_query
from api_gateway.api.models import ErrorModel
from api_gateway.api.response_cache import ROUTE, ResponseCache, follow
from api_gateway.api.routes import chain, etherscan, governance, ops, staking, token, verify
from api_gateway.application.response_cache import ResponseStore
from api_gateway.infrastructure.clients import Clients
from api_gateway.settings import GatewaySettings
from common.logging import get_logger
from common.metrics import Metrics, isolated_registry
from common.ports import Cache

log = get_logger(__name__)
OPEN_PATHS = ("/healthz", "/readyz", "/metrics", "/docs", "/openapi.json", "/redoc")
# the largest request body taken: the verify bodies' fields allow ~140 KB (a 128 KiB hex
# message and a signature); without a bound, a 20 MB typed_data was parsed, then refused by
# the verification service's gRPC limit
MAX_BODY_BYTES = 256 * 1024


class RateLimiter:
    """Fixed one-minute windows per key (API key or client IP)."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._windows: dict[str, tuple[int, int]] = {}

    def check(self, key: str, now: float) -> int | None:
        """None when allowed, else the seconds until the next window."""
        window = int(now // 60)
        start, count = self._windows.get(key, (window, 0))
        if start != window:
            start, count = window, 0
        if count >= self.per_minute:
            return max(1, 60 - int(now % 60))
        self._windows[key] = (start, count + 1)
        if len(self._windows) > 100_000:
            self._windows = {k: v for k, v in self._windows.items() if v[0] == window}
        return None


def route_template(scope: Scope) -> str:
    """The matched route as a template (path parameters put back as ``{name}``), a bounded
    metrics label; ``unmatched`` for paths no route took. Built from the request, because
    FastAPI >= 0.165 keeps router prefixes out of ``scope["route"].path``."""
    if ROUTE in scope:  # answered by the response cache
        return str(scope[ROUTE])
    if scope.get("route") is None:
        return "unmatched"
    segments = str(scope.get("path", "")).split("/")
    for name, value in (scope.get("path_params") or {}).items():
        for i in range(len(segments) - 1, -1, -1):
            if segments[i] == str(value):
                segments[i] = "{" + name + "}"
                break
    return "/".join(segments)


EDGE_HEADERS = (b"x-request-id", b"x-api-key", b"content-length")


def _too_large(size: str) -> JSONResponse:
    return JSONResponse(
        errors.error_body(
            "payload_too_large", f"the request body is {size}; at most {MAX_BODY_BYTES} bytes"
        ),
        413,
    )


async def _read_body(receive: Receive) -> bytes | None:
    """The request body, or None once it passes MAX_BODY_BYTES (the rest is left unread)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that gives ``body`` first, then what ``receive`` gives (a disconnect)."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class Edge:
    """Request id, API keys, rate limit and metrics around every HTTP request, as a plain
    ASGI middleware (Starlette's BaseHTTPMiddleware, behind ``@app.middleware``, cost a task
    group and memory streams per request: a third of the gateway's CPU on a cached read)."""

    def __init__(
        self,
        app: ASGIApp,
        keys: set[str],
        limiter: RateLimiter | None,
        requests: Any,
        latency: Any,
    ) -> None:
        self.app = app
        self.keys = keys
        self.limiter = limiter
        self.requests = requests
        self.latency = latency

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = {k: v for k, v in scope["headers"] if k in EDGE_HEADERS}
        request_id = (headers.get(b"x-request-id") or uuid.uuid4().hex.encode()).decode("latin-1")
        path: str = scope["path"]
        key = headers.get(b"x-api-key", b"").decode("latin-1")
        status = 500
        denied: JSONResponse | None = None
        if not path.startswith(OPEN_PATHS):
            if self.keys and key not in self.keys:
                denied = JSONResponse(
                    errors.error_body("unauthenticated", "a valid X-API-Key header is required"),
                    401,
                )
            elif self.limiter is not None:
                client = scope.get("client")
                wait = self.limiter.check(key or (client[0] if client else "?"), time.time())
                if wait is not None:
                    denied = JSONResponse(
                        errors.error_body("rate_limited", "too many requests"),
                        429,
                        headers={"Retry-After": str(wait)},
                    )
        if denied is None and scope["method"] in ("POST", "PUT", "PATCH"):
            declared = headers.get(b"content-length", b"")
            if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
                denied = _too_large(f"{int(declared)} bytes")
            else:  # read it here (a chunked body declares no length), then hand it on
                body = await _read_body(receive)
                if body is None:
                    denied = _too_large("more")
                else:
                    receive = _replay(body, receive)

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode("latin-1")),
                ]
            await send(message)

        try:
            if denied is not None:
                await denied(scope, receive, send_with_id)
            else:
                await self.app(scope, receive, send_with_id)
        finally:
            template = route_template(scope)
            self.requests.labels(template, str(status)).inc()
            self.latency.labels(template).observe(time.perf_counter() - started)
            if status >= 500:
                log.warning("request failed", path=path, status=status, request_id=request_id)


def create_app(
    settings: GatewaySettings,
    clients: Clients | None = None,
    registry: CollectorRegistry | None = None,
    feed: Cache | None = None,
) -> FastAPI:
    """``feed``: the services' cache, whose invalidations keep the response cache in step
    (default: their Redis when ``redis_url`` is set; none = no response cache)."""
    registry = registry if registry is not None else isolated_registry()
    metrics = Metrics("gateway", registry)
    requests = metrics.counter("http_requests_total", "HTTP requests", ("route", "status"))
    latency = metrics.histogram(
        "http_request_duration_seconds",
        "HTTP latency",
        ("route",),
        buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
    )
    own_feed = feed is None and settings.redis_url is not None
    if own_feed:
        from common.infrastructure.redis_cache import RedisCache

        assert settings.redis_url is not None
        feed = RedisCache(settings.redis_url, prefix=settings.cache_prefix)
    store = None
    if feed is not None and settings.response_cache_ttl_s > 0:
        store = ResponseStore(
            settings.response_cache_ttl_s, settings.response_cache_mb << 20, time.monotonic
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if getattr(app.state, "clients", None) is None:
            app.state.clients = Clients(
                {
                    "block_sync": settings.block_sync_addr,
                    "token": settings.token_addr,
                    "staking": settings.staking_addr,
                    "governance": settings.governance_addr,
                    "verification": settings.verification_addr or settings.block_sync_addr,
                },
                settings.grpc_deadline_s,
                settings.immutable_depth,
            )
        c: Clients = app.state.clients
        if not c.token_info:
            await c.load_token_info()
        following = None
        if store is not None and feed is not None:
            following = asyncio.create_task(follow(feed, store))
        try:
            yield
        finally:
            if following is not None:
                following.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await following
            if own_feed and feed is not None:
                await feed.close()
            await c.close()

    app = FastAPI(
        title="NovaToken API",
        version="1.0",
        description="NovaToken (NOVA) indexed state: chain data, token, staking. uint256 "
        "values are decimal strings; addresses are EIP-55. Errors: "
        '{"error": {"code", "message", "field"}}.',
        lifespan=lifespan,
        responses={
            400: {"model": ErrorModel},
            404: {"model": ErrorModel},
            422: {"model": ErrorModel},
            503: {"model": ErrorModel},
            504: {"model": ErrorModel},
        },
    )
    app.state.clients = clients
    app.state.registry = registry
    errors.install(app)
    keys = {k.strip() for k in settings.api_keys.split(",") if k.strip()}
    limiter = (
        RateLimiter(settings.rate_limit_per_minute) if settings.rate_limit_per_minute else None
    )

    if store is not None:  # inside Edge: auth, limits, request ids and metrics still apply
        app.add_middleware(
            ResponseCache,
            store=store,
            route_template=route_template,
            results=metrics.counter(
                "response_cache_total", "Answers by the response cache", ("result",)
            ),
        )
    app.state.response_store = store
    app.add_middleware(Edge, keys=keys, limiter=limiter, requests=requests, latency=latency)

    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST"],
            allow_headers=["*"],
        )
    for r in (chain.router, token.router, staking.router, governance.router, verify.router):
        app.include_router(r, prefix="/api/v1", dependencies=[Depends(known_query)])
    app.include_router(etherscan.router)
    app.include_router(ops.router)
    return app
