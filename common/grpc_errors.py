"""Mapping validation errors to gRPC status in servicers (no stack trace reaches a client)."""

from __future__ import annotations

from typing import Any, NoReturn

import grpc


async def abort(context: Any, code: grpc.StatusCode, message: str) -> NoReturn:
    await context.abort(code, message)
    raise AssertionError("context.abort returned")  # pragma: no cover


async def invalid(context: Any, message: str) -> NoReturn:
    await abort(context, grpc.StatusCode.INVALID_ARGUMENT, message)


async def not_found(context: Any, message: str) -> NoReturn:
    await abort(context, grpc.StatusCode.NOT_FOUND, message)
