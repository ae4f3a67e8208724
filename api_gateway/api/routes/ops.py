"""Health, readiness and metrics."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api_gateway.infrastructure.clients import Clients

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The gateway process is up."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Each downstream service's gRPC health; 503 when any is not serving."""
    clients: Clients = request.app.state.clients
    names = list(clients.services)
    results = await asyncio.gather(*(clients.healthy(n) for n in names))
    services: dict[str, Any] = {
        n: {"ok": ok, "status": status} for n, (ok, status) in zip(names, results, strict=True)
    }
    ready = all(ok for ok, _ in results)
    return JSONResponse({"ready": ready, "services": services}, 200 if ready else 503)


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.registry), media_type=CONTENT_TYPE_LATEST)
