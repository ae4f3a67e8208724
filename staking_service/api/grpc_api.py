"""StakingService over gRPC."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from common import validation
from common.cache_aside import CacheAside
from common.grpc_errors import abort, at_block, in_index, invalid, not_found
from novapb.staking.v1 import staking_pb2 as pb
from novapb.staking.v1 import staking_pb2_grpc as pb_grpc
from staking_service.application.ingest import TOTAL_KEY, USER_KEY
from staking_service.domain.staking import Stake, rewards_owed
from staking_service.infrastructure.sql import StakingViews

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["StakingService"].full_name
BlockTime = Callable[[int], Awaitable[int]]


def stake_id(value: str, field: str = "id") -> int:
    if not validation.is_decimal(value) or len(value) > 78:
        raise validation.InvalidInput(field, f"not a stake id (a decimal integer): {value!r}")
    return int(value)


class StakingServicer(pb_grpc.StakingServiceServicer):
    def __init__(
        self,
        views: StakingViews,
        cache: CacheAside,
        reward_rate: int,
        block_time: BlockTime | None = None,
    ) -> None:
        self.views = views
        self.cache = cache
        self.rate = reward_rate
        self.block_time = block_time

    def _pb(self, s: Stake, at: int) -> pb.Stake:
        return pb.Stake(
            id=str(s.id),
            user=s.user,
            amount=str(s.amount),
            rewards=str(rewards_owed(s, self.rate, at)),
            start_time=s.start_time,
            end_time=s.end_time,
            block_number=s.block_number,
            status=s.status,
            tx_hash=s.tx_hash,
        )

    async def GetStake(self, request: pb.GetStakeRequest, context: Any) -> pb.GetStakeResponse:
        try:
            sid = stake_id(request.id)
        except validation.InvalidInput as exc:
            await invalid(context, str(exc))
        stake = await self.views.stake(sid)
        if stake is None:
            await not_found(context, f"stake {sid} is not indexed")
        at = (await self.views.stats()).last_timestamp
        return pb.GetStakeResponse(stake=self._pb(stake, at))

    async def GetActiveStakes(
        self, request: pb.GetActiveStakesRequest, context: Any
    ) -> pb.GetActiveStakesResponse:
        try:
            user = validation.address(request.user, "user") if request.user else None
            limit, offset = validation.paging(request.limit, request.offset)
        except validation.InvalidInput as exc:
            await invalid(context, str(exc))
        try:
            page = await self.views.active_stakes(user, limit, offset, request.cursor or None)
        except validation.InvalidInput as exc:  # a malformed cursor
            await invalid(context, str(exc))
        at = (await self.views.stats()).last_timestamp
        return pb.GetActiveStakesResponse(
            stakes=[self._pb(s, at) for s in page.items],
            total=page.total,
            next_cursor=page.next_cursor,
        )

    async def GetRewardClaims(
        self, request: pb.GetRewardClaimsRequest, context: Any
    ) -> pb.GetRewardClaimsResponse:
        try:
            user = validation.address(request.user, "user")
            limit, offset = validation.paging(request.limit, request.offset)
        except validation.InvalidInput as exc:
            await invalid(context, str(exc))
        try:
            page = await self.views.claims(user, limit, offset, request.cursor or None)
        except validation.InvalidInput as exc:  # a malformed cursor
            await invalid(context, str(exc))
        return pb.GetRewardClaimsResponse(
            claims=[
                pb.RewardClaim(
                    id=c.id,
                    user=c.user,
                    amount=str(c.amount),
                    block_number=c.block_number,
                    timestamp=c.timestamp,
                )
                for c in page.items
            ],
            total=page.total,
            next_cursor=page.next_cursor,
        )

    async def GetTotalStaked(
        self, request: pb.GetTotalStakedRequest, context: Any
    ) -> pb.GetTotalStakedResponse:
        at = await at_block(context, request.at_block)
        if at:
            staked, active = await in_index(context, self.views.totals_at(at))
            return pb.GetTotalStakedResponse(
                total_staked=str(staked), block_number=at, active_stakes=active
            )

        async def load() -> int:
            return (await self.views.stats()).total_staked

        total = await self.cache.get_int(TOTAL_KEY, load)
        stats = await self.views.stats()
        return pb.GetTotalStakedResponse(
            total_staked=str(total),
            block_number=stats.last_block,
            active_stakes=stats.active_stakes,
        )

    async def CalculateRewards(
        self, request: pb.CalculateRewardsRequest, context: Any
    ) -> pb.CalculateRewardsResponse:
        try:
            sid = stake_id(request.stake_id, "stake_id")
            if request.at_block and request.at_timestamp:
                raise validation.InvalidInput("at_block", "give at_block or at_timestamp, not both")
            if request.at_timestamp < 0:
                raise validation.InvalidInput("at_timestamp", "must be >= 0")
        except validation.InvalidInput as exc:
            await invalid(context, str(exc))
        stake = await self.views.stake(sid)
        if stake is None:
            await not_found(context, f"stake {sid} is not indexed")
        at = request.at_timestamp or (await self.views.stats()).last_timestamp
        if request.at_block:
            if self.block_time is None:
                await abort(
                    context,
                    grpc.StatusCode.FAILED_PRECONDITION,
                    "at_block needs NOVA_RPC_URLS on the staking service",
                )
            try:
                at = await self.block_time(request.at_block)
            except LookupError as exc:
                await not_found(context, str(exc))
            except Exception as exc:  # noqa: BLE001 - the chain is a dependency: 503
                await abort(context, grpc.StatusCode.UNAVAILABLE, f"chain unreachable: {exc}")
        return pb.CalculateRewardsResponse(
            rewards=str(rewards_owed(stake, self.rate, at)), at_timestamp=at
        )

    async def GetUserTotals(
        self, request: pb.GetUserTotalsRequest, context: Any
    ) -> pb.GetUserTotalsResponse:
        try:
            user = validation.address(request.user, "user")
        except validation.InvalidInput as exc:
            await invalid(context, str(exc))
        at = await at_block(context, request.at_block)
        if at:
            staked_at, claimed_at, active_at = await in_index(
                context, self.views.user_totals_at(user, at)
            )
            return pb.GetUserTotalsResponse(
                total_staked=str(staked_at),
                total_claimed=str(claimed_at),
                active_stakes=active_at,
                block_number=at,
            )

        async def load() -> bytes:
            staked, claimed, active = await self.views.user_totals(user)
            return f"{staked}:{claimed}:{active}".encode()

        staked, claimed, active = (
            (await self.cache.get_or_load(USER_KEY.format(user), load)).decode().split(":")
        )
        return pb.GetUserTotalsResponse(
            total_staked=staked,
            total_claimed=claimed,
            active_stakes=int(active),
            block_number=(await self.views.stats()).last_block,
        )


def register(servicer: StakingServicer) -> Callable[[grpc.aio.Server], None]:
    def add(server: grpc.aio.Server) -> None:
        pb_grpc.add_StakingServiceServicer_to_server(servicer, server)  # type: ignore[no-untyped-call]

    return add
