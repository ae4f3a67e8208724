"""Token balance, transfers, allowance, supply, holders and info (TokenService)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from api_gateway.api.deps import (
    AddressPath,
    AtBlock,
    BlockQuery,
    ClientsDep,
    PageQuery,
    Paging,
)
from api_gateway.api.models import (
    AllowanceModel,
    AllowancesPage,
    BalanceModel,
    HolderModel,
    HoldersPage,
    SpenderAllowanceModel,
    SupplyModel,
    TokenInfoModel,
    TransferModel,
    TransfersPage,
)
from api_gateway.api.response_cache import cacheable, not_cacheable
from common import validation
from novapb.token.v1 import token_pb2 as pb

# every answer here depends on the token index alone: the response cache keeps them until
# the token index announces a change
router = APIRouter(tags=["token"], dependencies=[Depends(cacheable("token"))])
SHORT = "public, max-age=2"
DIRECTIONS = {"any": pb.DIRECTION_ANY, "in": pb.DIRECTION_IN, "out": pb.DIRECTION_OUT}
OrderQuery = Annotated[
    Literal["desc", "asc"], Query(description="desc: newest first (default); asc: oldest first")
]


@router.get("/accounts/{address}/balance", response_model=BalanceModel)
async def balance(
    address: AddressPath, clients: ClientsDep, response: Response, at_block: AtBlock = None
) -> BalanceModel:
    """The balance at the indexed head, or at the end of `at_block` (`block_number` says
    which)."""
    reply = await clients.call(
        "token", "GetBalance", pb.GetBalanceRequest(address=address, at_block=at_block or 0)
    )
    response.headers["Cache-Control"] = SHORT
    return BalanceModel(address=address, balance=reply.balance, block_number=reply.block_number)


async def _transfers(
    clients: ClientsDep,
    address: str,
    direction: str,
    from_block: int,
    to_block: int | None,
    page: Paging,
    order: str,
) -> TransfersPage:
    if to_block is not None and to_block < from_block:
        raise validation.InvalidInput("to_block", f"{to_block} is below from_block {from_block}")
    reply = await clients.call(
        "token",
        "GetTransfers",
        pb.GetTransfersRequest(
            address=address,
            direction=DIRECTIONS[direction],
            from_block=from_block,
            to_block=to_block or 0,
            oldest_first=order == "asc",
            **page.fields,
        ),
    )
    return TransfersPage(
        transfers=[
            TransferModel(
                tx_hash=t.hash,
                log_index=t.log_index,
                tx_index=t.tx_index,
                from_address=t.from_address,
                to_address=t.to_address,
                value=t.value,
                block_number=t.block_number,
                timestamp=t.timestamp,
            )
            for t in reply.transfers
        ],
        total=reply.total,
        total_capped=reply.total_capped,
        next_cursor=reply.next_cursor or None,
    )


@router.get("/accounts/{address}/transfers", response_model=TransfersPage)
async def account_transfers(
    address: AddressPath,
    clients: ClientsDep,
    response: Response,
    page: PageQuery,
    direction: Literal["any", "in", "out"] = "any",
    from_block: BlockQuery = 0,
    to_block: Annotated[int | None, Query(ge=0, le=2**63 - 1)] = None,
    order: OrderQuery = "desc",
) -> TransfersPage:
    """Newest first (`order=asc`: oldest first); for deep pages pass the previous page's
    `next_cursor`. `total` counts the matches; with a block range it counts up to 10,000
    and `total_capped` says there are more."""
    response.headers["Cache-Control"] = SHORT
    return await _transfers(clients, address, direction, from_block, to_block, page, order)


@router.get("/transfers", response_model=TransfersPage)
async def transfers(
    clients: ClientsDep,
    response: Response,
    page: PageQuery,
    from_block: BlockQuery = 0,
    to_block: Annotated[int | None, Query(ge=0, le=2**63 - 1)] = None,
    order: OrderQuery = "desc",
) -> TransfersPage:
    """Every transfer, as `/accounts/{address}/transfers` lists one address's."""
    response.headers["Cache-Control"] = SHORT
    return await _transfers(clients, "", "any", from_block, to_block, page, order)


def _allowance(spender: str, reply: Any) -> dict[str, Any]:
    """The fields of an allowance answer (GetAllowanceResponse or SpenderAllowance)."""
    fields = ("allowance", "block_number", "source", "exact", "approved_at_block")
    return {"spender": spender, **{f: getattr(reply, f) for f in fields}}


@router.get("/allowances/{owner}/{spender}", response_model=AllowanceModel)
async def allowance(
    owner: str,
    spender: str,
    clients: ClientsDep,
    request: Request,
    response: Response,
    on_chain: bool = False,
) -> AllowanceModel:
    """The pair's last Approval while no transfer from the owner can have spent it, else (or
    with `on_chain=true`) allowance() at the chain head: transferFrom spends an allowance
    without an event."""
    owner = validation.address(owner, "owner")
    spender = validation.address(spender, "spender")
    reply = await clients.call(
        "token",
        "GetAllowance",
        pb.GetAllowanceRequest(owner=owner, spender=spender, on_chain=on_chain),
    )
    if reply.source == "chain":
        not_cacheable(request)
    response.headers["Cache-Control"] = SHORT
    return AllowanceModel(owner=owner, **_allowance(spender, reply))


@router.get("/accounts/{address}/allowances", response_model=AllowancesPage)
async def allowances(
    address: AddressPath, clients: ClientsDep, request: Request, response: Response, page: PageQuery
) -> AllowancesPage:
    """Whom this address allows to spend its tokens: every spender whose last Approval from it
    is above 0, by address, each as `/allowances/{owner}/{spender}` answers it (what
    transferFrom spent since is asked of the chain)."""
    reply = await clients.call(
        "token", "ListAllowances", pb.ListAllowancesRequest(owner=address, **page.fields)
    )
    if any(a.source == "chain" for a in reply.allowances):
        not_cacheable(request)
    response.headers["Cache-Control"] = SHORT
    return AllowancesPage(
        owner=address,
        allowances=[SpenderAllowanceModel(**_allowance(a.spender, a)) for a in reply.allowances],
        total=reply.total,
        next_cursor=reply.next_cursor or None,
        block_number=reply.block_number,
    )


@router.get("/token/supply", response_model=SupplyModel)
async def supply(clients: ClientsDep, response: Response, at_block: AtBlock = None) -> SupplyModel:
    """The total supply at the indexed head, or at the end of `at_block`."""
    reply = await clients.call(
        "token", "GetTotalSupply", pb.GetTotalSupplyRequest(at_block=at_block or 0)
    )
    response.headers["Cache-Control"] = SHORT
    return SupplyModel(total_supply=reply.total_supply, block_number=reply.block_number)


@router.get("/token/holders", response_model=HoldersPage)
async def holders(clients: ClientsDep, response: Response, page: PageQuery) -> HoldersPage:
    """By balance, then address, both descending."""
    reply = await clients.call(
        "token",
        "GetHolders",
        pb.GetHoldersRequest(**page.fields),
    )
    response.headers["Cache-Control"] = SHORT
    return HoldersPage(
        holders=[HolderModel(address=h.address, balance=h.balance) for h in reply.holders],
        total=reply.total,
        next_cursor=reply.next_cursor or None,
        block_number=reply.block_number,
    )


@router.get("/token", response_model=TokenInfoModel)
async def token_info(clients: ClientsDep, response: Response) -> TokenInfoModel:
    r = await clients.call("token", "GetTokenInfo", pb.GetTokenInfoRequest())
    response.headers["Cache-Control"] = SHORT
    return TokenInfoModel(
        address=r.address,
        name=r.name,
        symbol=r.symbol,
        decimals=r.decimals,
        total_supply=r.total_supply,
        holders=r.holders,
        last_indexed_block=r.last_indexed_block,
    )
