"""GovernanceService over gRPC."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

from common import validation
from common.abi import checksum
from common.grpc_errors import at_block, in_index, invalid, not_found
from governance_service.domain.governance import ProposalState, Vote
from governance_service.infrastructure.sql import GovernanceViews, ProposalView
from novapb.governance.v1 import governance_pb2 as pb
from novapb.governance.v1 import governance_pb2_grpc as pb_grpc

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["GovernanceService"].full_name
STATES = {s.name.lower(): s for s in ProposalState}


def proposal_id(value: str, field: str = "id") -> int:
    if not validation.is_decimal(value) or len(value) > 78 or int(value) >= 2**256:
        raise validation.InvalidInput(field, f"not a proposal id (a uint256 in decimal): {value!r}")
    return int(value)


def state_filter(value: str) -> ProposalState | None:
    if not value:
        return None
    state = STATES.get(value.lower())
    if state is None:
        names = ", ".join(s.name for s in ProposalState)
        raise validation.InvalidInput("state", f"unknown state {value!r}; one of {names}")
    return state


def _proposal(v: ProposalView) -> pb.Proposal:
    p = v.proposal
    return pb.Proposal(
        id=str(p.id),
        proposer=p.proposer,
        actions=[
            pb.Action(target=t, value=str(val), calldata=c, signature=s)
            for t, val, c, s in zip(p.targets, p.values, p.calldatas, p.signatures, strict=True)
        ],
        description=p.description,
        vote_start=p.vote_start,
        vote_end=p.vote_end,
        for_votes=str(p.for_votes),
        against_votes=str(p.against_votes),
        abstain_votes=str(p.abstain_votes),
        state=v.state.name,
        created_block=p.created_block,
        quorum=str(v.quorum),
        eta=p.eta,
        state_at_block=v.at_block,
        timelock_id=p.timelock_id,
        timelock=checksum(v.timelock) if v.timelock else "",
    )


def _vote(v: Vote) -> pb.Vote:
    return pb.Vote(
        proposal_id=str(v.proposal_id),
        voter=v.voter,
        support=v.support,
        weight=str(v.weight),
        reason=v.reason,
        block_number=v.block_number,
        tx_hash=v.tx_hash,
    )


class GovernanceServicer(pb_grpc.GovernanceServiceServicer):
    def __init__(self, views: GovernanceViews) -> None:
        self.views = views

    async def ListProposals(
        self, request: pb.ListProposalsRequest, context: Any
    ) -> pb.ListProposalsResponse:
        try:
            state = state_filter(request.state)
            limit, offset = validation.paging(request.limit, request.offset, cursor=False)
        except validation.InvalidInput as exc:
            await invalid(context, str(exc))
        page, total = await self.views.proposals(state, limit, offset)
        return pb.ListProposalsResponse(proposals=[_proposal(v) for v in page], total=total)

    async def GetProposal(
        self, request: pb.GetProposalRequest, context: Any
    ) -> pb.GetProposalResponse:
        try:
            pid = proposal_id(request.id)
        except validation.InvalidInput as exc:
            await invalid(context, str(exc))
        at = await at_block(context, request.at_block)
        if at:
            view = await in_index(context, self.views.proposal_at(pid, at))
            if view is None:
                await not_found(context, f"proposal {pid} was not proposed by block {at}")
        else:
            view = await self.views.proposal(pid)
            if view is None:
                await not_found(context, f"proposal {pid} is not indexed")
        return pb.GetProposalResponse(proposal=_proposal(view))

    async def GetVotes(self, request: pb.GetVotesRequest, context: Any) -> pb.GetVotesResponse:
        try:
            pid = proposal_id(request.proposal_id, "proposal_id")
            limit, offset = validation.paging(request.limit, request.offset)
        except validation.InvalidInput as exc:
            await invalid(context, str(exc))
        if await self.views.proposal(pid) is None:
            await not_found(context, f"proposal {pid} is not indexed")
        try:
            page = await self.views.votes(pid, limit, offset, request.cursor or None)
        except validation.InvalidInput as exc:  # a malformed cursor
            await invalid(context, str(exc))
        return pb.GetVotesResponse(
            votes=[_vote(v) for v in page.items], total=page.total, next_cursor=page.next_cursor
        )

    async def GetVoter(self, request: pb.GetVoterRequest, context: Any) -> pb.GetVoterResponse:
        try:
            voter = validation.address(request.address)
            limit, offset = validation.paging(request.limit, request.offset)
        except validation.InvalidInput as exc:
            await invalid(context, str(exc))
        try:
            page = await self.views.voter(voter, limit, offset, request.cursor or None)
        except validation.InvalidInput as exc:  # a malformed cursor
            await invalid(context, str(exc))
        return pb.GetVoterResponse(
            votes=[_vote(v) for v in page.items], total=page.total, next_cursor=page.next_cursor
        )

    async def GetDelegate(
        self, request: pb.GetDelegateRequest, context: Any
    ) -> pb.GetDelegateResponse:
        try:
            address = validation.address(request.address)
        except validation.InvalidInput as exc:
            await invalid(context, str(exc))
        at = await at_block(context, request.at_block)
        d = await in_index(context, self.views.delegate(address, at or None))
        return pb.GetDelegateResponse(
            address=d.address,
            votes=str(d.votes),
            votes_at_block=str(d.votes_at_block),
            at_block=d.at_block,
            delegators=d.delegators,
            delegators_total=d.delegators_total,
            delegatee=d.delegatee,
        )

    async def ListDelegates(
        self, request: pb.ListDelegatesRequest, context: Any
    ) -> pb.ListDelegatesResponse:
        try:
            limit, offset = validation.paging(request.limit, request.offset)
        except validation.InvalidInput as exc:
            await invalid(context, str(exc))
        try:
            page, head = await self.views.ranked_delegates(limit, offset, request.cursor or None)
        except validation.InvalidInput as exc:  # a malformed cursor
            await invalid(context, str(exc))
        return pb.ListDelegatesResponse(
            delegates=[pb.RankedDelegate(address=a, votes=str(v)) for a, v in page.items],
            total=page.total,
            next_cursor=page.next_cursor,
            block_number=head,
        )

    async def ListDelegators(
        self, request: pb.ListDelegatorsRequest, context: Any
    ) -> pb.ListDelegatorsResponse:
        try:
            address = validation.address(request.address)
            limit, offset = validation.paging(request.limit, request.offset)
        except validation.InvalidInput as exc:
            await invalid(context, str(exc))
        try:
            page, head = await self.views.delegators(address, limit, offset, request.cursor or None)
        except validation.InvalidInput as exc:  # a malformed cursor
            await invalid(context, str(exc))
        return pb.ListDelegatorsResponse(
            delegators=[pb.Delegator(address=a, since_block=b) for a, b in page.items],
            total=page.total,
            next_cursor=page.next_cursor,
            block_number=head,
        )


def register(servicer: GovernanceServicer) -> Callable[[grpc.aio.Server], None]:
    def add(server: grpc.aio.Server) -> None:
        pb_grpc.add_GovernanceServiceServicer_to_server(servicer, server)  # type: ignore[no-untyped-call]

    return add
