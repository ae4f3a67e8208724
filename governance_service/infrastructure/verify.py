"""Compare the indexed governance state with the chain: every proposal's state() and
proposalVotes() at the indexed head, every delegate's getVotes() at the block asked for, the
governor's timelock() at it, and at the head the list of delegates by voting power and every
delegator's delegates()."""

from __future__ import annotations

from dataclasses import dataclass

from common.abi import ContractABI
from common.drift import DriftReport
from common.jsonrpc import JsonRpcClient, RpcError, view_calls
from common.validation import OutOfRange
from governance_service.domain.governance import ProposalState
from governance_service.infrastructure.sql import GovernanceViews


@dataclass
class GovernanceDrift(DriftReport):
    proposals: int = 0
    delegates: int = 0
    quorum_checked: bool = False
    timelock_checked: bool = False
    ranking_checked: bool = False
    delegators: int | None = None  # delegations compared (None: the index moved meanwhile)

    def compared(self) -> str:
        quorum = ", the quorum" if self.quorum_checked else ""
        quorum += ", the timelock" if self.timelock_checked else ""
        ranking = ", the delegates list" if self.ranking_checked else ""
        delegations = "" if self.delegators is None else f", {self.delegators} delegations"
        return (
            f"{self.proposals} proposals, {self.delegates} delegates{quorum}{ranking}{delegations}"
        )


async def verify_governance(
    views: GovernanceViews,
    rpc: JsonRpcClient,
    governor: str,
    token: str,
    gov_abi: ContractABI,
    token_abi: ContractABI,
    block: int | None = None,
) -> GovernanceDrift:
    head = await views.head()
    at = head if block is None else block
    if at > head:
        raise OutOfRange(f"block {at} is above the indexed head {head}")
    drift = GovernanceDrift(block=at)
    tag = hex(at)
    chain_head = int(await rpc.call("eth_blockNumber"), 16)
    if at > chain_head:  # another chain, or the index kept blocks a reorg removed
        drift.drifts.append(f"indexed head {at} is above the chain head {chain_head}")
        return drift
    if at == head:  # proposal state moves with blocks: the index answers for its head only
        proposals = await views.all_proposals()
        drift.proposals = len(proposals)
        rows = await views.tallies_of_rows()
        for i in range(0, len(proposals), 100):
            batch = proposals[i : i + 100]
            calls = []
            for v in batch:
                for fn in ("state", "proposalVotes"):
                    data = gov_abi.encode_call(fn, v.proposal.id)
                    calls.append(("eth_call", [{"to": governor, "data": data}, tag]))
            out = await rpc.batch_results(calls)
            for j, v in enumerate(batch):
                p = v.proposal
                if isinstance(out[2 * j], RpcError):  # e.g. GovernorNonexistentProposal
                    drift.drifts.append(f"proposal {p.id}: the governor says {out[2 * j]}")
                    continue
                state = ProposalState(int(gov_abi.decode_result("state", out[2 * j])))
                against, for_, abstain = gov_abi.decode_result("proposalVotes", out[2 * j + 1])
                if state != v.state:
                    drift.drifts.append(
                        f"proposal {p.id} state: indexed {v.state.name} chain {state.name}"
                    )
                mine = (p.against_votes, p.for_votes, p.abstain_votes)
                if rows.get(p.id, (0, 0, 0)) != mine:  # the tallies kept beside the votes
                    drift.drifts.append(
                        f"proposal {p.id} votes (against, for, abstain): tallied {mine}, "
                        f"its vote rows {rows.get(p.id, (0, 0, 0))}"
                    )
                if (against, for_, abstain) != mine:
                    drift.drifts.append(
                        f"proposal {p.id} votes (against, for, abstain): indexed {mine} "
                        f"chain {(against, for_, abstain)}"
                    )
    delegates = await views.delegates()
    drift.delegates = len(delegates)
    # getVotes() at the block itself, and getPastVotes() one block before it (the checkpoint
    # lookup the governor does for a vote's weight)
    past = max(0, at - 1)
    if at >= 1:  # the quorum a proposal starting then needs: past supply x numerator
        data = gov_abi.encode_call("quorum", past)
        chain = int(
            gov_abi.decode_result(
                "quorum", await rpc.call("eth_call", {"to": governor, "data": data}, tag)
            )
        )
        ours_q = await views.quorum_at(past)
        drift.quorum_checked = True
        if chain != ours_q:
            drift.drifts.append(f"quorum({past}): indexed {ours_q} chain {chain}")
    ours = await views.votes_of(delegates, at)
    ours_past = await views.votes_of(delegates, past)
    asked = [c for d in delegates for c in (("getVotes", (d,)), ("getPastVotes", (d, past)))]
    out = await view_calls(rpc, token, token_abi, asked, at)
    chain_now = {d: int(out[2 * j]) for j, d in enumerate(delegates)}
    for j, d in enumerate(delegates):
        now, before = chain_now[d], int(out[2 * j + 1])
        if now != ours[d]:
            drift.drifts.append(f"getVotes({d}): indexed {ours[d]} chain {now}")
        if before != ours_past[d]:
            drift.drifts.append(f"getPastVotes({d}, {past}): indexed {ours_past[d]} chain {before}")
    timelocks = await views.timelocks()
    if timelocks.keys:  # the timelock the governor asks about queued proposals at ``at``
        data = gov_abi.encode_call("timelock")
        chain_tl = gov_abi.decode_result(
            "timelock", await rpc.call("eth_call", {"to": governor, "data": data}, tag)
        )
        drift.timelock_checked = True
        if str(chain_tl).lower() != timelocks.at(at):
            drift.drifts.append(f"timelock(): indexed {timelocks.at(at)} chain {chain_tl}")
    if at == head:
        await _check_ranking(views, at, chain_now, drift)
        await _check_delegations(views, rpc, token, token_abi, at, drift)
    return drift


async def _check_delegations(
    views: GovernanceViews,
    rpc: JsonRpcClient,
    token: str,
    token_abi: ContractABI,
    at: int,
    drift: GovernanceDrift,
) -> None:
    """Whom each indexed delegator delegates to (what GetDelegate and ListDelegators serve)
    is the token's delegates() at ``at``. Left unchecked when the index has moved past it."""
    delegations, head = await views.delegations()
    if head != at:
        return
    delegators = sorted(delegations)
    chain = await view_calls(rpc, token, token_abi, [("delegates", (d,)) for d in delegators], at)
    for d, delegatee in zip(delegators, chain, strict=True):
        if str(delegatee).lower() != delegations[d].lower():
            drift.drifts.append(f"delegates({d}): indexed {delegations[d]} chain {delegatee}")
    drift.delegators = len(delegators)


async def _check_ranking(
    views: GovernanceViews, at: int, chain_now: dict[str, int], drift: GovernanceDrift
) -> None:
    """The delegates list (every page, by cursor) holds exactly the delegates the chain gives
    votes, with those votes, in descending order. Left unchecked when the index moves past
    ``at`` while it is read (a live consumer)."""
    listed: list[tuple[str, int]] = []
    cursor = None
    while True:
        page, head = await views.ranked_delegates(1000, 0, cursor)
        if head != at:
            return
        listed += page.items
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    drift.ranking_checked = True
    want = {d.lower(): v for d, v in chain_now.items() if v}
    got = {d.lower(): v for d, v in listed}
    for d in sorted(want.keys() | got.keys()):
        if want.get(d, 0) != got.get(d, 0):
            drift.drifts.append(
                f"delegates list: {d} listed with {got.get(d, 0)} votes, chain {want.get(d, 0)}"
            )
    if len(got) != len(listed) or [v for _, v in listed] != sorted(got.values(), reverse=True):
        drift.drifts.append("delegates list: not one entry each by votes, descending")
    if page.total != len(listed):
        drift.drifts.append(f"delegates list: total {page.total}, listed {len(listed)}")
