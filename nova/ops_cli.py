"""``nova health`` (container health checks) and ``nova config`` (the settings reference)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

health_app = typer.Typer(
    help="Exit 0 when a service answers healthy (for container health checks).",
    no_args_is_help=True,
)
config_app = typer.Typer(help="The NOVA_* settings of every process.", no_args_is_help=True)


@health_app.command("grpc")
def health_grpc(
    address: Annotated[str, typer.Argument(help="host:port of a service's gRPC server")],
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the answer.")] = 3.0,
) -> None:
    """grpc.health.v1 Check of the whole server."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    async def check() -> str:
        async with grpc.aio.insecure_channel(address) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            reply = await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=timeout)
            return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))

    try:
        status = asyncio.run(check())
    except grpc.aio.AioRpcError as exc:
        typer.echo(f"{address}: {exc.code().name}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"{address}: {status}")
    if status != "SERVING":
        raise typer.Exit(1)


@health_app.command("http")
def health_http(
    url: Annotated[str, typer.Argument(help="URL answering 2xx when healthy")],
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the answer.")] = 3.0,
) -> None:
    import httpx

    try:
        status = httpx.get(url, timeout=timeout).status_code
    except httpx.HTTPError as exc:
        typer.echo(f"{url}: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"{url}: {status}")
    if not 200 <= status < 300:
        raise typer.Exit(1)


@config_app.command("reference")
def config_reference() -> None:
    """Print the settings reference (markdown) generated from the settings classes; it is
    committed as docs/configuration.md and a test keeps it current."""
    from nova.config_doc import render

    typer.echo(render(), nl=False)
