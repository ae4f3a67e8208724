"""Builds the gateway app: routers, error mapping, middleware. Nothing happens at import."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry

from api_gateway.api import errors
from api_gateway.api.models import ErrorModel
from api_gateway.api.routes import chain, etherscan, governance, ops, staking, token, verify
from api_gateway.infrastructure.clients import Clients
from api_gateway.settings import GatewaySettings
from common.logging import get_logger
from common.metrics import Metrics, isolated_registry

log = get_logger(__name__)
OPEN_PATHS = ("/healthz", "/readyz", "/metrics", "/docs", "/openapi.json", "/redoc")


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


def route_template(request: Request) -> str:
    """The matched route as a template (path parameters put back as ``{name}``), a bounded
    metrics label; ``unmatched`` for paths no route took. Built from the request, because
    FastAPI >= 0.165 keeps router prefixes out of ``scope["route"].path``."""
    if request.scope.get("route") is None:
        return "unmatched"
    segments = request.url.path.split("/")
    for name, value in (request.scope.get("path_params") or {}).items():
        for i in range(len(segments) - 1, -1, -1):
            if segments[i] == str(value):
                segments[i] = "{" + name + "}"
                break
    return "/".join(segments)


def create_app(
    settings: GatewaySettings,
    clients: Clients | None = None,
    registry: CollectorRegistry | None = None,
) -> FastAPI:
    registry = registry if registry is not None else isolated_registry()
    metrics = Metrics("gateway", registry)
    requests = metrics.counter("http_requests_total", "HTTP requests", ("route", "status"))
    latency = metrics.histogram(
        "http_request_duration_seconds",
        "HTTP latency",
        ("route",),
        buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
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
        yield
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

    @app.middleware("http")
    async def edge(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        started = time.perf_counter()
        path = request.url.path
        response: Response
        key = request.headers.get("x-api-key", "")
        if keys and not path.startswith(OPEN_PATHS) and key not in keys:
            response = JSONResponse(
                errors.error_body("unauthenticated", "a valid X-API-Key header is required"), 401
            )
        elif (
            limiter is not None
            and not path.startswith(OPEN_PATHS)
            and (
                wait := limiter.check(
                    key or (request.client.host if request.client else "?"), time.time()
                )
            )
            is not None
        ):
            response = JSONResponse(
                errors.error_body("rate_limited", "too many requests"),
                429,
                headers={"Retry-After": str(wait)},
            )
        else:
            response = await call_next(request)
        template = route_template(request)

        requests.labels(template, str(response.status_code)).inc()
        latency.labels(template).observe(time.perf_counter() - started)
        response.headers["X-Request-ID"] = request_id
        if response.status_code >= 500:
            log.warning(
                "request failed", path=path, status=response.status_code, request_id=request_id
            )
        return response

    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST"],
            allow_headers=["*"],
        )
    for r in (chain.router, token.router, staking.router, governance.router, verify.router):
        app.include_router(r, prefix="/api/v1")
    app.include_router(etherscan.router)
    app.include_router(ops.router)
    return app
