"""Shared dependencies and validated parameter types of the routes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request

from api_gateway.infrastructure.clients import Clients
from common import validation

MAX_BLOCK = 2**63 - 1


_QUERY_NAMES = "nova_query_names"  # the route attribute that keeps what known_query allows


def _query_names(dependant: Any) -> set[str]:
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


async def known_query(request: Request) -> None:
    """Refuse a query parameter the route does not take: a misspelt ``to_blok`` or an
    unsupported ``block`` would otherwise be ignored, and the answer would be to another
    question (the latest balance for "the balance at block 3")."""
    if not request.query_params:
        return
    route = request.scope.get("route")
    if route is None:
        return
    allowed: frozenset[str] | None = getattr(route, _QUERY_NAMES, None)
    if allowed is None:  # once per route
        allowed = frozenset(_query_names(route.dependant))
        setattr(route, _QUERY_NAMES, allowed)
    for name in request.query_params:
        if name not in allowed:
            takes = ", ".join(sorted(allowed)) if allowed else "no query parameters"
            raise validation.InvalidInput(
                name, f"unknown query parameter (this route takes {takes})"
            )


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
AtBlock = Annotated[
    int | None,
    Query(
        ge=1,
        le=MAX_BLOCK,
        description="The value at the end of this block (at most the indexed head); "
        "default: at the indexed head",
    ),
]
Cursor = Annotated[
    str | None,
    Query(
        max_length=200,
        description="`next_cursor` of the previous page (then no offset): a deep page costs "
        "what the first one costs, where an offset costs what it skips.",
    ),
]


@dataclass(frozen=True)
class Paging:
    """A page request of a list paged by offset and cursor: the fields of its gRPC request
    (``**page.fields``; the cursor "" when none)."""

    limit: int
    offset: int
    cursor: str

    @property
    def fields(self) -> dict[str, Any]:
        return {"limit": self.limit, "offset": self.offset, "cursor": self.cursor}


async def paging(limit: Limit = 100, offset: Offset = 0, cursor: Cursor = None) -> Paging:
    return Paging(limit, offset, cursor or "")


PageQuery = Annotated[Paging, Depends(paging)]


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
