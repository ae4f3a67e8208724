"""Compare the indexed stakes with NovaStaking's views at one block: totalStaked(), every
active stake (getStake) and its rewards owed (pendingRewards); the kept count of active
stakes with the rows; and each user's stored totals
(staked, claimed, active stakes, the latest claim's time that the user's stake claim times
follow from: all kept incrementally) with their rows."""

from __future__ import annotations

from dataclasses import dataclass

from common.abi import ContractABI
from common.drift import DriftReport
from common.jsonrpc import JsonRpcClient, view_calls
from common.validation import OutOfRange
from staking_service.domain.staking import rewards_owed
from staking_service.infrastructure.sql import StakingViews


@dataclass
class StakingDrift(DriftReport):
    checked: int = 0

    def compared(self) -> str:
        return f"{self.checked} active stakes"


async def verify_staking(
    views: StakingViews,
    rpc: JsonRpcClient,
    staking: str,
    abi: ContractABI,
    rate: int,
    block: int | None = None,
) -> StakingDrift:
    stats = await views.stats()
    at = stats.last_block if block is None else block
    if at < stats.last_block:
        raise OutOfRange(
            f"block {at} is below the indexed head ({stats.last_block})"
            "; the index holds the state at the head"
        )
    header = await rpc.call("eth_getBlockByNumber", hex(at), False)
    ts = int(header["timestamp"], 16)
    drift = StakingDrift(block=at)
    tag = hex(at)

    async def call(data: str) -> str:
        return str(await rpc.call("eth_call", {"to": staking, "data": data}, tag))

    chain_total = abi.decode_result("totalStaked", await call(abi.encode_call("totalStaked")))
    if chain_total != stats.total_staked:
        drift.drifts.append(f"totalStaked: indexed {stats.total_staked} chain {chain_total}")
    active = await views.all_active()
    drift.checked = len(active)
    if stats.active_stakes != len(active):  # kept beside the rows: /staking/totals serves it
        drift.drifts.append(f"active stakes: {stats.active_stakes} counted, {len(active)} rows")
    calls = [(fn, (s.id,)) for s in active for fn in ("getStake", "pendingRewards")]
    out = await view_calls(rpc, staking, abi, calls, at)
    for j, s in enumerate(active):
        user, amount, start, last, _end, is_active = out[2 * j]
        owed = out[2 * j + 1]
        mine = (s.user, s.amount, s.start_time, s.last_claim_time, True)
        if (user, amount, start, last, is_active) != mine:
            drift.drifts.append(
                f"stake {s.id}: indexed {mine} chain {(user, amount, start, last, is_active)}"
            )
        ours = rewards_owed(s, rate, ts)
        if ours != owed:
            drift.drifts.append(f"rewards of stake {s.id}: computed {ours} chain {owed}")
    # each user's stored totals (kept incrementally) against their rows
    totals, claimed = await views.totals_and_claims()
    rows: dict[str, tuple[int, int]] = {}
    for s in active:
        staked, count = rows.get(s.user.lower(), (0, 0))
        rows[s.user.lower()] = (staked + s.amount, count + 1)
    for user in sorted(set(totals) | set(rows) | set(claimed)):
        staked, count = rows.get(user, (0, 0))
        total, latest = claimed.get(user, (0, 0))
        want = (staked, total, count, latest)
        if totals.get(user, (0, 0, 0, 0)) != want:
            drift.drifts.append(
                f"totals of {user}: stored (staked, claimed, active, latest claim time) "
                f"{totals.get(user)} rows {want}"
            )
    return drift
