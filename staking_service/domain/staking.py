"""Stakes and rewards, as NovaStaking defines them (block timestamps only, integers only):

    rewards(stake, t) = amount * reward_rate * whole_hours(t - last_claim_time) / 100

A claim (``RewardsClaimed(user, amount)``) pays every ACTIVE stake of the user and moves each
one's last_claim_time forward by the whole hours it paid; ``unstake`` claims first. Rewards owed
are computed on demand from the stake and a timestamp, never accumulated on read. Stakes below the
contract's minimum revert on chain, so the indexer never sees them and never rejects an event.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

HOUR = 3600
RATE_DENOMINATOR = 100
ACTIVE = "active"
UNSTAKED = "unstaked"


class StakingRuleError(ValueError):
    """An event contradicts the indexed state (e.g. unstaking an unknown stake)."""


@dataclass(slots=True)
class Stake:
    id: int
    user: str
    amount: int
    start_time: int
    last_claim_time: int
    block_number: int
    tx_hash: str
    status: str = ACTIVE
    end_time: int = 0
    unstaked_block: int = 0

    @property
    def active(self) -> bool:
        return self.status == ACTIVE


@dataclass(frozen=True, slots=True)
class RewardClaim:
    id: str  # "<tx_hash>:<log_index>"
    user: str
    amount: int
    block_number: int
    timestamp: int


def rewards_owed(stake: Stake, reward_rate: int, at: int) -> int:
    """What the contract's pendingRewards(id) returns at block timestamp ``at``."""
    if not stake.active or at <= stake.last_claim_time:
        return 0
    hours = (at - stake.last_claim_time) // HOUR
    return stake.amount * reward_rate * hours // RATE_DENOMINATOR


def claim(stakes: Iterable[Stake], at: int) -> dict[int, int]:
    """Apply a claim at ``at`` to the user's active stakes; returns {stake id: previous
    last_claim_time} for every stake it moved (what a revert needs)."""
    moved: dict[int, int] = {}
    for stake in stakes:
        if not stake.active:
            continue
        hours = (at - stake.last_claim_time) // HOUR
        if hours > 0:
            moved[stake.id] = stake.last_claim_time
            stake.last_claim_time += hours * HOUR
    return moved


def unstake(stake: Stake, at: int, block: int) -> None:
    if not stake.active:
        raise StakingRuleError(f"stake {stake.id} is already unstaked")
    stake.status = UNSTAKED
    stake.end_time = at
    stake.unstaked_block = block
