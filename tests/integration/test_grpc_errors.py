"""The services' gRPC servers: a lost database is UNAVAILABLE (the gateway's 503), any other
unexpected error INTERNAL with a generic message; a servicer's own status passes through."""

from __future__ import annotations

from typing import Any

import grpc
import pymysql
import pytest
import sqlalchemy.exc

from common.grpc_server import serve


async def _handler(request: bytes, context: Any) -> bytes:
    what = request.decode()
    if what == "db":
        raise sqlalchemy.exc.OperationalError(
            "SELECT 1", {}, pymysql.err.OperationalError(2003, "Can't connect to MySQL server")
        )
    if what == "bug":
        raise RuntimeError("secret internals /home/app/x.py")
    if what == "missing":
        await context.abort(grpc.StatusCode.NOT_FOUND, "no such proposal")
    return b"ok:" + request


def _register(server: grpc.aio.Server) -> None:
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                "probe.v1.Probe", {"Echo": grpc.unary_unary_rpc_method_handler(_handler)}
            ),
        )
    )


@pytest.mark.parametrize(
    ("body", "code", "details"),
    [
        ("db", grpc.StatusCode.UNAVAILABLE, "a dependency is unavailable"),
        ("bug", grpc.StatusCode.INTERNAL, "internal error"),
        ("missing", grpc.StatusCode.NOT_FOUND, "no such proposal"),
    ],
)
async def test_errors_map_to_statuses_without_internals(
    body: str, code: grpc.StatusCode, details: str
) -> None:
    running = await serve(_register, ["probe.v1.Probe"])
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            echo = channel.unary_unary(
                "/probe.v1.Probe/Echo", request_serializer=None, response_deserializer=None
            )
            assert await echo(b"hello") == b"ok:hello"
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await echo(body.encode())
            assert err.value.code() == code
            assert err.value.details() == details
    finally:
        await running.stop(0)
