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
    unstake,
)

TOTAL_KEY = "staking:total"
USER_KEY = "staking:user:{}"


class StakingRepository(Protocol):
    """The stakes aggregate, bound to one transaction."""

    async def stakes(self, ids: Sequence[int]) -> dict[int, Stake]:
        """The stakes of these ids that exist, as this transaction left them (each read from
        the tables at most once per transaction, until a revert)."""

    async def add_stake(self, s: Stake) -> None: ...

    async def end_stake(self, s: Stake) -> None:
        """``s`` was active and has just been unstaked."""

    async def add_claim(self, c: RewardClaim) -> None:
        """A claim of every active stake of its user: their claim times follow from its time
        (``domain.staking.claimed_through``), so it moves no stake row."""

    async def refresh_totals(self, users: set[str], last_block: int, last_ts: int) -> None: ...

    async def revert_above(self, block: int) -> set[str]:
        """Undo claims, unstakes and stakes above ``block``; returns the users touched."""


async def apply_batch(
    repo: StakingRepository, envelopes: Sequence[events.EventEnvelope]
) -> set[str]:
    """Apply events in order (a progress marker moves the index's head and time to its
    block's); returns the cache keys whose values changed."""
    users: set[str] = set()
    last_block = last_ts = -1
    # the stakes the batch unstakes, read in one statement (one per Unstaked was most of this
    # consumer's time: every statement is a round trip)
    await repo.stakes(
        [
            int(events.scalar_arg(env.event, "stakeId"))
            for env in envelopes
            if env.WhichOneof("body") == "event" and env.event.event == "Unstaked"
        ]
    )
    for env in envelopes:
        body = env.WhichOneof("body")
        if body == "progress":  # the index's head, and the time rewards owed are served at
            last_block, last_ts = env.progress.block_number, env.progress.block_timestamp
            continue
        if body == "revert":
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
            await repo.add_stake(stake)
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
            await repo.end_stake(found)
            users.add(found.user)
        elif e.event == "RewardsClaimed":
            user = str(a["user"])
            await repo.add_claim(
                RewardClaim(
                    f"{e.tx_hash}:{e.log_index}",
                    user,
                    int(str(a["amount"])),
                    e.block_number,
                    e.block_timestamp,
                )
            )
            users.add(user)
    if users or last_block >= 0:
        await repo.refresh_totals(users, last_block, last_ts)
    keys = {USER_KEY.format(u) for u in users}
    if users:
        keys.add(TOTAL_KEY)
    return keys


__all__ = ["ACTIVE", "StakingRepository", "apply_batch"]
