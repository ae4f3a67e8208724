"""Shared dependencies and validated parameter types of the routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, Request

from api_gateway.infrastructure.clients import Clients
from common import validation

MAX_BLOCK = 2**63 - 1


async def clients(request: Request) -> Clients:  # async: a sync one runs in a thread
    c: Clients = request.app.state.clients
    return c


ClientsDep = Annotated[Clients, Depends(clients)]
Limit = Annotated[int, Query(ge=1, le=1000, description="Page size (1-1000).")]
Offset = Annotated[
    int,
    Query(
        ge=0,
        le=validation.MAX_OFFSET,
        description=f"Items to skip (0-{validation.MAX_OFFSET:,}); page further with `cursor`"
        " (where the list has one), which costs the same at any depth.",
    ),
]
BlockQuery = Annotated[int, Query(ge=0, le=MAX_BLOCK)]
Cursor = Annotated[
    str | None,
    Query(max_length=200, description="`next_cursor` of the previous page (then no offset)."),
]


async def address_path(
    address: Annotated[str, Path(description="0x + 40 hex; EIP-55 if mixed case")],
) -> str:
    return validation.address(address, "address")


AddressPath = Annotated[str, Depends(address_path)]


def parse_block_or_latest(value: str, field: str) -> int | None:
    """A block number, or None for ``latest``."""
    if value == "latest":
        return None
    if not validation.is_decimal(value) or len(value) > 19 or int(value) > MAX_BLOCK:
        raise validation.InvalidInput(field, f"not a block number or 'latest': {value!r}")
    return int(value)
