"""Mapping validation errors to gRPC status in servicers (no stack trace reaches a client)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, NoReturn, TypeVar

import grpc

from common import validation

T = TypeVar("T")


async def abort(context: Any, code: grpc.StatusCode, message: str) -> NoReturn:
    await context.abort(code, message)
    raise AssertionError("context.abort returned")  # pragma: no cover


async def invalid(context: Any, message: str) -> NoReturn:
    await abort(context, grpc.StatusCode.INVALID_ARGUMENT, message)


async def not_found(context: Any, message: str) -> NoReturn:
    await abort(context, grpc.StatusCode.NOT_FOUND, message)


async def at_block(context: Any, value: int, field: str = "at_block") -> int:
    """A request's block to answer at (0: the indexed head), or INVALID_ARGUMENT."""
    try:
        return validation.block_number(value, field)
    except validation.InvalidInput as exc:
        await invalid(context, str(exc))


async def in_index(context: Any, read: Awaitable[T], field: str = "at_block") -> T:
    """``read``'s answer, or OUT_OF_RANGE naming ``field`` when it asked above what the index
    holds (:class:`validation.OutOfRange`)."""
    try:
        return await read
    except validation.OutOfRange as exc:
        await abort(context, grpc.StatusCode.OUT_OF_RANGE, f"{field}: {exc}")
