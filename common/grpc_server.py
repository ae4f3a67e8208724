"""gRPC server plumbing shared by the services: health checking and reflection on every server,
``serve(port)`` returning the bound port (tests bind port 0), graceful stop, and an interceptor
that turns a lost database into UNAVAILABLE (the gateway's 503) and any other unexpected error
into INTERNAL with a generic message (logged here with its stack, never sent to the client)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
import sqlalchemy.exc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection

from common.logging import get_logger

log = get_logger(__name__)

# a dependency that is down or restarting, not a bug: the client may retry
UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.TimeoutError,  # connection pool exhausted
    ConnectionError,
    TimeoutError,
)


class DependencyErrors(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    """Unary handlers: database/connection errors -> UNAVAILABLE, other unexpected errors ->
    INTERNAL "internal error" (grpc.aio would answer UNKNOWN with the exception's text)."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Any]],
        details: grpc.HandlerCallDetails,
    ) -> Any:
        handler = await continuation(details)
        if handler is None or handler.unary_unary is None:
            return handler
        inner = handler.unary_unary
        method = details.method

        async def guarded(request: Any, context: Any) -> Any:
            try:
                return await inner(request, context)
            except UNAVAILABLE_ERRORS as exc:
                log.warning("dependency unavailable", method=method, error=str(exc)[:300])
                await context.abort(grpc.StatusCode.UNAVAILABLE, "a dependency is unavailable")
            except grpc.aio.AbortError:
                raise  # the servicer chose its status
            except Exception:
                log.exception("unexpected error in a gRPC handler", method=method)
                await context.abort(grpc.StatusCode.INTERNAL, "internal error")

        return grpc.unary_unary_rpc_method_handler(
            guarded,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


@dataclass
class RunningServer:
    server: grpc.aio.Server
    port: int
    health: HealthServicer

    async def stop(self, grace_s: float = 5.0) -> None:
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace_s)


async def serve(
    register: Callable[[grpc.aio.Server], None],
    service_names: Sequence[str],
    port: int = 0,
    host: str = "127.0.0.1",
) -> RunningServer:
    """Start a grpc.aio server with ``register``-ed servicers, health and reflection."""
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)], interceptors=[DependencyErrors()])
    register(server)
    health = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    try:
        bound = server.add_insecure_port(f"{host}:{port}")
    except RuntimeError:  # grpcio >= 1.60 raises where it returned 0
        bound = 0
    if bound == 0:
        raise OSError(f"cannot listen for gRPC on {host}:{port} (in use?)")
    reflection.enable_server_reflection(
        [
            *service_names,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ],
        server,
    )
    await server.start()
    for name in ("", *service_names):
        await health.set(name, health_pb2.HealthCheckResponse.SERVING)
    return RunningServer(server, bound, health)
