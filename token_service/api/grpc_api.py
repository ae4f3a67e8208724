"""TokenService over gRPC: translate and validate; reads go through the cache where hot."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from common import validation
from common.cache_aside import CacheAside
from common.grpc_errors import abort, at_block, in_index, invalid
from novapb.token.v1 import token_pb2 as pb
from novapb.token.v1 import token_pb2_grpc as pb_grpc
from token_service.application import allowances
from token_service.application.allowances import OnChainAllowances
from token_service.application.ingest import (
    BALANCE_KEY,
    HOLDERS_KEY,
    LAST_BLOCK_KEY,
    SUPPLY_KEY,
)
from token_service.infrastructure.sql import TokenViews
from token_service.infrastructure.verify import TokenDrift

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["TokenService"].full_name
DIRECTIONS = {pb.DIRECTION_ANY: "any", pb.DIRECTION_IN: "in", pb.DIRECTION_OUT: "out"}

Verifier = Callable[[int | None], Awaitable[TokenDrift]]


class TokenServicer(pb_grpc.TokenServiceServicer):
    def __init__(
        self,
        views: TokenViews,
        cache: CacheAside,
        info: dict[str, Any],
        on_chain_allowances: OnChainAllowances | None = None,
        verifier: Verifier | None = None,
    ) -> None:
        self.views = views
        self.cache = cache
        self.info = info
        self.on_chain_allowances = on_chain_allowances
        self.verifier = verifier

    async def Verify(self, request: pb.VerifyRequest, context: Any) -> pb.VerifyResponse:
        if self.verifier is None:
            await abort(
                context,
                grpc.StatusCode.FAILED_PRECONDITION,
                "verification needs NOVA_RPC_URLS on the token service",
            )
        try:
            drift = await self.verifier(request.block or None)
        except validation.OutOfRange as exc:  # a block above what is indexed
            await abort(context, grpc.StatusCode.OUT_OF_RANGE, f"block: {exc}")
        except Exception as exc:  # noqa: BLE001 - the chain is a dependency: 503
            await abort(context, grpc.StatusCode.UNAVAILABLE, f"chain unreachable: {exc}")
        lines = drift.lines()
        return pb.VerifyResponse(
            block=drift.block, checked=drift.checked, ok=drift.ok, drifts=lines[1:-1]
        )

    async def _last_block(self) -> int:
        """The index's head, cached like the values (each applied batch invalidates it), so a
        cached balance costs no database round trip."""

        async def load() -> int:
            return (await self.views.stats()).last_block

        return await self.cache.get_int(LAST_BLOCK_KEY, load)

    async def GetBalance(
        self, request: pb.GetBalanceRequest, context: Any
    ) -> pb.GetBalanceResponse:
        try:
            address = validation.address(request.address)
        except validation.InvalidInput as exc:
            await invalid(context, str(exc))
        at = await at_block(context, request.at_block)
        if at:
            past = await in_index(context, self.views.balance_at(address, at))
            return pb.GetBalanceResponse(balance=str(past), block_number=at)
        balance = await self.cache.get_int(
            BALANCE_KEY.format(address), lambda: self.views.balance(address)
        )
        return pb.GetBalanceResponse(balance=str(balance), block_number=await self._last_block())

    async def GetTransfers(
        self, request: pb.GetTransfersRequest, context: Any
    ) -> pb.GetTransfersResponse:
        try:
            address = validation.address(request.address) if request.address else None
            limit, offset = validation.paging(request.limit, request.offset)
            if request.direction not in DIRECTIONS:
                raise validation.InvalidInput("direction", f"unknown value {request.direction}")
            direction = DIRECTIONS[request.direction]
            if direction != "any" and address is None:
                raise validation.InvalidInput("direction", "in/out needs an address")
            to_block = request.to_block or None
            if to_block is not None and to_block < request.from_block:
                raise validation.InvalidInput(
                    "to_block", f"{to_block} is below from_block {request.from_block}"
                )
            page = await self.views.transfers(
                address,
                direction,
                request.from_block,
                to_block,
                limit,
                offset,
                request.cursor or None,
                request.oldest_first,
            )
        except validation.InvalidInput as exc:  # also a malformed cursor
            await invalid(context, str(exc))
        return pb.GetTransfersResponse(
            transfers=[
                pb.Transfer(
                    hash=t.tx_hash,
                    from_address=t.from_address,
                    to_address=t.to_address,
                    value=str(t.value),
                    block_number=t.block_number,
                    timestamp=t.timestamp,
                    log_index=t.log_index,
                    tx_index=t.tx_index,
                )
                for t in page.transfers
            ],
            total=min(page.total, 2**31 - 1),
            next_cursor=page.next_cursor,
            total_capped=page.total_capped,
        )

    async def GetAllowance(
        self, request: pb.GetAllowanceRequest, context: Any
    ) -> pb.GetAllowanceResponse:
        try:
            owner = validation.address(request.owner, "owner")
            spender = validation.address(request.spender, "spender")
        except validation.InvalidInput as exc:
            await invalid(context, str(exc))
        if request.on_chain:
            if self.on_chain_allowances is None:
                await abort(
                    context,
                    grpc.StatusCode.FAILED_PRECONDITION,
                    "on-chain allowance needs NOVA_RPC_URLS on the token service",
                )
            try:
                values, block = await self.on_chain_allowances(owner, [spender])
            except Exception as exc:  # noqa: BLE001 - the chain is a dependency: 503
                await abort(context, grpc.StatusCode.UNAVAILABLE, f"chain unreachable: {exc}")
            return pb.GetAllowanceResponse(
                allowance=str(values[0]), block_number=block, source="chain", exact=True
            )
        indexed = await self.views.allowance(owner, spender)
        (answer,) = await allowances.current(owner, [(spender, indexed)], self.on_chain_allowances)
        return pb.GetAllowanceResponse(**_fields(answer))

    async def ListAllowances(
        self, request: pb.ListAllowancesRequest, context: Any
    ) -> pb.ListAllowancesResponse:
        try:
            owner = validation.address(request.owner, "owner")
            limit, offset = validation.paging(request.limit, request.offset)
        except validation.InvalidInput as exc:
            await invalid(context, str(exc))
        try:
            page, head = await self.views.allowances_of(
                owner, limit, offset, request.cursor or None
            )
        except validation.InvalidInput as exc:  # a malformed cursor
            await invalid(context, str(exc))
        answers = await allowances.current(owner, page.items, self.on_chain_allowances)
        return pb.ListAllowancesResponse(
            allowances=[
                pb.SpenderAllowance(spender=spender, **_fields(answer))
                for (spender, _), answer in zip(page.items, answers, strict=True)
            ],
            total=page.total,
            next_cursor=page.next_cursor,
            block_number=head,
        )

    async def GetTotalSupply(
        self, request: pb.GetTotalSupplyRequest, context: Any
    ) -> pb.GetTotalSupplyResponse:
        at = await at_block(context, request.at_block)
        if at:
            past = await in_index(context, self.views.supply_at(at))
            return pb.GetTotalSupplyResponse(total_supply=str(past), block_number=at)
        supply = await self.cache.get_int(SUPPLY_KEY, self._supply)
        return pb.GetTotalSupplyResponse(
            total_supply=str(supply), block_number=await self._last_block()
        )

    async def _supply(self) -> int:
        return (await self.views.stats()).total_supply

    async def _holders(self) -> int:
        return (await self.views.stats()).holders

    async def GetHolders(
        self, request: pb.GetHoldersRequest, context: Any
    ) -> pb.GetHoldersResponse:
        try:
            limit, offset = validation.paging(request.limit, request.offset)
        except validation.InvalidInput as exc:
            await invalid(context, str(exc))
        try:
            page = await self.views.holders(limit, offset, request.cursor or None)
        except validation.InvalidInput as exc:  # a malformed cursor
            await invalid(context, str(exc))
        return pb.GetHoldersResponse(
            holders=[pb.Holder(address=a, balance=str(b)) for a, b in page.holders],
            total=page.total,
            next_cursor=page.next_cursor,
            block_number=page.block_number,
        )

    async def GetTokenInfo(
        self, request: pb.GetTokenInfoRequest, context: Any
    ) -> pb.GetTokenInfoResponse:
        stats = await self.views.stats()
        holders = await self.cache.get_int(HOLDERS_KEY, self._holders)
        return pb.GetTokenInfoResponse(
            address=self.info.get("address", ""),
            name=self.info.get("name", "NovaToken"),
            symbol=self.info.get("symbol", "NOVA"),
            decimals=int(self.info.get("decimals", 18)),
            total_supply=str(stats.total_supply),
            holders=holders,
            last_indexed_block=stats.last_block,
        )


def _fields(a: allowances.Allowance) -> dict[str, Any]:
    """An allowance answer's proto fields (GetAllowanceResponse, SpenderAllowance)."""
    return {"allowance": str(a.value), "block_number": a.block, "source": a.source,
            "exact": a.exact, "approved_at_block": a.approved_at}  # fmt: skip


def register(servicer: TokenServicer) -> Callable[[grpc.aio.Server], None]:
    def add(server: grpc.aio.Server) -> None:
        pb_grpc.add_TokenServiceServicer_to_server(servicer, server)  # type: ignore[no-untyped-call]

    return add
