"""Apply NovaStaking events (and revert markers) to the stakes, batch by batch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from common import events
from staking_service.domain.staking import (
    ACTIVE,
    RewardClaim,
    Stake,
    StakingRuleError,
    claim,
    unstake,
)

TOTAL_KEY = "staking:total"
USER_KEY = "staking:user:{}"


class StakingRepository(Protocol):
    """The stakes aggregate, bound to one transaction."""

    async def stakes(self, ids: Sequence[int]) -> dict[int, Stake]: ...

    async def active_stakes_of(self, user: str) -> list[Stake]: ...

    async def save_stakes(self, stakes: Sequence[Stake]) -> None: ...

    async def add_claim(self, c: RewardClaim, moved: dict[int, int]) -> None: ...

    async def refresh_totals(self, users: set[str], last_block: int, last_ts: int) -> None: ...

    async def revert_above(self, block: int) -> set[str]:
        """Undo claims (restore last_claim_time), unstakes and stakes above ``block``; returns
        the users touched."""


async def apply_batch(
    repo: StakingRepository, envelopes: Sequence[events.EventEnvelope]
) -> set[str]:
    """Apply events in order; returns the cache keys whose values changed."""
    users: set[str] = set()
    last_block = last_ts = -1
    for env in envelopes:
        if env.WhichOneof("body") == "revert":
            if users:
                await repo.refresh_totals(users, last_block, last_ts)
            users |= await repo.revert_above(env.revert.to_block)
            last_block, last_ts = env.revert.to_block, -1
            await repo.refresh_totals(users, last_block, last_ts)
            continue
        e = env.event
        a = events.arg_values(e)
        last_block, last_ts = e.block_number, e.block_timestamp
        if e.event == "Staked":
            stake = Stake(
                int(str(a["stakeId"])),
                str(a["user"]),
                int(str(a["amount"])),
                e.block_timestamp,
                e.block_timestamp,
                e.block_number,
                e.tx_hash,
            )
            await repo.save_stakes([stake])
            users.add(stake.user)
        elif e.event == "Unstaked":
            sid = int(str(a["stakeId"]))
            found = (await repo.stakes([sid])).get(sid)
            if found is None:
                raise StakingRuleError(
                    f"Unstaked for unknown stake {sid} at block {e.block_number}"
                )
            if found.user != str(a["user"]) or found.amount != int(str(a["amount"])):
                raise StakingRuleError(f"Unstaked({a}) does not match stake {sid}")
            unstake(found, e.block_timestamp, e.block_number)
            await repo.save_stakes([found])
            users.add(found.user)
        elif e.event == "RewardsClaimed":
            user = str(a["user"])
            mine = await repo.active_stakes_of(user)
            moved = claim(mine, e.block_timestamp)
            await repo.save_stakes([s for s in mine if s.id in moved])
            await repo.add_claim(
                RewardClaim(
                    f"{e.tx_hash}:{e.log_index}",
                    user,
                    int(str(a["amount"])),
                    e.block_number,
                    e.block_timestamp,
                ),
                moved,
            )
            users.add(user)
    if users or last_block >= 0:
        await repo.refresh_totals(users, last_block, last_ts)
    keys = {USER_KEY.format(u) for u in users}
    if users:
        keys.add(TOTAL_KEY)
    return keys


__all__ = ["ACTIVE", "StakingRepository", "apply_batch"]
