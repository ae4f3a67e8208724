"""Proposals, votes, voters and delegates (GovernanceService)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response

from api_gateway.api.deps import (
    MAX_BLOCK,
    AddressPath,
    AtBlock,
    ClientsDep,
    Limit,
    Offset,
    PageQuery,
)
from api_gateway.api.models import (
    ActionModel,
    DelegateModel,
    DelegatesPage,
    DelegatorModel,
    DelegatorsPage,
    ProposalModel,
    ProposalsPage,
    RankedDelegateModel,
    VoteModel,
    VotesPage,
)
from novapb.governance.v1 import governance_pb2 as pb

router = APIRouter(prefix="/governance", tags=["governance"])
SHORT = "public, max-age=2"
SUPPORT = ("against", "for", "abstain")
ProposalId = Annotated[
    str, Path(pattern=r"^[0-9]{1,78}$", description="The governor's proposal id (decimal)")
]
State = Literal[
    "Pending", "Active", "Canceled", "Defeated", "Succeeded", "Queued", "Expired", "Executed"
]


def proposal_model(p: Any) -> ProposalModel:
    return ProposalModel(
        id=p.id,
        proposer=p.proposer,
        state=p.state,
        actions=[
            ActionModel(target=a.target, value=a.value, calldata=a.calldata, signature=a.signature)
            for a in p.actions
        ],
        description=p.description,
        vote_start=p.vote_start,
        vote_end=p.vote_end,
        for_votes=p.for_votes,
        against_votes=p.against_votes,
        abstain_votes=p.abstain_votes,
        quorum=p.quorum,
        created_block=p.created_block,
        eta=p.eta,
        state_at_block=p.state_at_block,
        timelock_id=p.timelock_id or None,
        timelock=p.timelock or None,
    )


def votes_page(reply: Any) -> VotesPage:
    return VotesPage(
        votes=[
            VoteModel(
                proposal_id=v.proposal_id,
                voter=v.voter,
                support=SUPPORT[v.support],
                weight=v.weight,
                reason=v.reason,
                block_number=v.block_number,
                tx_hash=v.tx_hash,
            )
            for v in reply.votes
        ],
        total=reply.total,
        next_cursor=reply.next_cursor or None,
    )


@router.get("/proposals", response_model=ProposalsPage)
async def proposals(
    clients: ClientsDep,
    response: Response,
    state: State | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> ProposalsPage:
    """Newest first; states as the governor derives them at the indexed head."""
    reply = await clients.call(
        "governance",
        "ListProposals",
        pb.ListProposalsRequest(state=state or "", limit=limit, offset=offset),
    )
    response.headers["Cache-Control"] = SHORT
    return ProposalsPage(proposals=[proposal_model(p) for p in reply.proposals], total=reply.total)


@router.get("/proposals/{proposal_id}", response_model=ProposalModel)
async def proposal(
    proposal_id: ProposalId, clients: ClientsDep, response: Response, at_block: AtBlock = None
) -> ProposalModel:
    """The proposal at the indexed head, or as it stood at the end of `at_block`: its votes
    cast by then and the state the governor gave (`state_at_block` says which block)."""
    reply = await clients.call(
        "governance",
        "GetProposal",
        pb.GetProposalRequest(id=proposal_id, at_block=at_block or 0),
    )
    response.headers["Cache-Control"] = SHORT
    return proposal_model(reply.proposal)


@router.get("/proposals/{proposal_id}/votes", response_model=VotesPage)
async def votes(
    proposal_id: ProposalId, clients: ClientsDep, response: Response, page: PageQuery
) -> VotesPage:
    """In chain order."""
    reply = await clients.call(
        "governance",
        "GetVotes",
        pb.GetVotesRequest(proposal_id=proposal_id, **page.fields),
    )
    response.headers["Cache-Control"] = SHORT
    return votes_page(reply)


@router.get("/voters/{address}/votes", response_model=VotesPage)
async def voter(
    address: AddressPath, clients: ClientsDep, response: Response, page: PageQuery
) -> VotesPage:
    """In chain order."""
    reply = await clients.call(
        "governance",
        "GetVoter",
        pb.GetVoterRequest(address=address, **page.fields),
    )
    response.headers["Cache-Control"] = SHORT
    return votes_page(reply)


@router.get("/delegates", response_model=DelegatesPage)
async def delegates(clients: ClientsDep, response: Response, page: PageQuery) -> DelegatesPage:
    """Delegates by voting power (getVotes), then address, both descending; only those with
    votes."""
    reply = await clients.call(
        "governance",
        "ListDelegates",
        pb.ListDelegatesRequest(**page.fields),
    )
    response.headers["Cache-Control"] = SHORT
    return DelegatesPage(
        delegates=[RankedDelegateModel(address=d.address, votes=d.votes) for d in reply.delegates],
        total=reply.total,
        next_cursor=reply.next_cursor or None,
        block_number=reply.block_number,
    )


@router.get("/delegates/{address}", response_model=DelegateModel)
async def delegate(
    address: AddressPath,
    clients: ClientsDep,
    response: Response,
    at_block: Annotated[
        int | None, Query(ge=1, le=MAX_BLOCK, description="Also the votes at this block")
    ] = None,
) -> DelegateModel:
    """Voting power now (and at ``at_block``), whom it delegates to, and its delegators (by
    address, the first 1,000; ``delegators_total`` counts them all)."""
    reply = await clients.call(
        "governance",
        "GetDelegate",
        pb.GetDelegateRequest(address=address, at_block=at_block or 0),
    )
    response.headers["Cache-Control"] = SHORT
    return DelegateModel(
        address=reply.address,
        votes=reply.votes,
        votes_at_block=reply.votes_at_block,
        at_block=reply.at_block,
        delegatee=reply.delegatee or None,
        delegators=list(reply.delegators),
        delegators_total=reply.delegators_total,
    )


@router.get("/delegates/{address}/delegators", response_model=DelegatorsPage)
async def delegators(
    address: AddressPath, clients: ClientsDep, response: Response, page: PageQuery
) -> DelegatorsPage:
    """Who delegates to this address now, by address, with the block they delegated in."""
    reply = await clients.call(
        "governance",
        "ListDelegators",
        pb.ListDelegatorsRequest(address=address, **page.fields),
    )
    response.headers["Cache-Control"] = SHORT
    return DelegatorsPage(
        delegators=[
            DelegatorModel(address=d.address, since_block=d.since_block) for d in reply.delegators
        ],
        total=reply.total,
        next_cursor=reply.next_cursor or None,
        block_number=reply.block_number,
    )
