"""Stakes, claims, totals and rewards (StakingService)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from api_gateway.api.deps import AddressPath, AtBlock, ClientsDep, PageQuery
from api_gateway.api.models import (
    ClaimModel,
    ClaimsPage,
    RewardsModel,
    StakeModel,
    StakesPage,
    StakingTotalsModel,
    UserTotalsModel,
)
from common import validation
from novapb.staking.v1 import staking_pb2 as pb

router = APIRouter(prefix="/staking", tags=["staking"])
SHORT = "public, max-age=2"
StakeId = Annotated[str, Path(pattern=r"^[0-9]{1,78}$", description="The contract's stake id")]


def stake_model(s: Any) -> StakeModel:
    return StakeModel(
        id=s.id,
        user=s.user,
        amount=s.amount,
        rewards=s.rewards,
        start_time=s.start_time,
        end_time=s.end_time,
        block_number=s.block_number,
        status=s.status,
        tx_hash=s.tx_hash,
    )


@router.get("/stakes/{stake_id}", response_model=StakeModel)
async def stake(stake_id: StakeId, clients: ClientsDep, response: Response) -> StakeModel:
    reply = await clients.call("staking", "GetStake", pb.GetStakeRequest(id=stake_id))
    response.headers["Cache-Control"] = SHORT
    return stake_model(reply.stake)


@router.get("/stakes", response_model=StakesPage)
async def active_stakes(
    clients: ClientsDep, response: Response, page: PageQuery, user: str | None = None
) -> StakesPage:
    """Active stakes (of one user, or everyone's) by id."""
    if user is not None:
        user = validation.address(user, "user")
    reply = await clients.call(
        "staking",
        "GetActiveStakes",
        pb.GetActiveStakesRequest(user=user or "", **page.fields),
    )
    response.headers["Cache-Control"] = SHORT
    return StakesPage(
        stakes=[stake_model(s) for s in reply.stakes],
        total=reply.total,
        next_cursor=reply.next_cursor or None,
    )


@router.get("/claims", response_model=ClaimsPage)
async def claims(user: str, clients: ClientsDep, response: Response, page: PageQuery) -> ClaimsPage:
    """A user's reward claims, newest first."""
    user = validation.address(user, "user")
    reply = await clients.call(
        "staking",
        "GetRewardClaims",
        pb.GetRewardClaimsRequest(user=user, **page.fields),
    )
    response.headers["Cache-Control"] = SHORT
    return ClaimsPage(
        claims=[
            ClaimModel(
                id=c.id,
                user=c.user,
                amount=c.amount,
                block_number=c.block_number,
                timestamp=c.timestamp,
            )
            for c in reply.claims
        ],
        total=reply.total,
        next_cursor=reply.next_cursor or None,
    )


@router.get("/totals", response_model=StakingTotalsModel)
async def totals(
    clients: ClientsDep, response: Response, at_block: AtBlock = None
) -> StakingTotalsModel:
    """The total staked and the active stakes at the indexed head, or at the end of
    `at_block` (`block_number` says which)."""
    reply = await clients.call(
        "staking", "GetTotalStaked", pb.GetTotalStakedRequest(at_block=at_block or 0)
    )
    response.headers["Cache-Control"] = SHORT
    return StakingTotalsModel(
        total_staked=reply.total_staked,
        active_stakes=reply.active_stakes,
        block_number=reply.block_number,
    )


@router.get("/users/{address}/totals", response_model=UserTotalsModel)
async def user_totals(
    address: AddressPath, clients: ClientsDep, response: Response, at_block: AtBlock = None
) -> UserTotalsModel:
    """A user's staked and claimed totals and active stakes at the indexed head, or at the
    end of `at_block`."""
    reply = await clients.call(
        "staking",
        "GetUserTotals",
        pb.GetUserTotalsRequest(user=address, at_block=at_block or 0),
    )
    response.headers["Cache-Control"] = SHORT
    return UserTotalsModel(
        address=address,
        total_staked=reply.total_staked,
        total_claimed=reply.total_claimed,
        active_stakes=reply.active_stakes,
        block_number=reply.block_number,
    )


@router.get("/stakes/{stake_id}/rewards", response_model=RewardsModel)
async def rewards(
    stake_id: StakeId,
    clients: ClientsDep,
    response: Response,
    at_block: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    at_timestamp: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> RewardsModel:
    """Rewards owed (computed, not accumulated) now, at a block, or at a timestamp."""
    reply = await clients.call(
        "staking",
        "CalculateRewards",
        pb.CalculateRewardsRequest(
            stake_id=stake_id, at_block=at_block or 0, at_timestamp=at_timestamp or 0
        ),
    )
    response.headers["Cache-Control"] = SHORT
    return RewardsModel(stake_id=stake_id, rewards=reply.rewards, at_timestamp=reply.at_timestamp)
