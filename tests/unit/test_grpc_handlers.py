"""The servicers turn only their own input errors into statuses: a malformed cursor is
INVALID_ARGUMENT naming ``cursor``, a block beyond the index OUT_OF_RANGE; any other error of a
query (a bug) goes on to the server's INTERNAL (tests/integration/test_grpc_errors.py), not to
the client as its own mistake."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import pytest

from common.validation import BadCursor, OutOfRange
from governance_service.api.grpc_api import GovernanceServicer
from novapb.governance.v1 import governance_pb2 as gov_pb
from novapb.staking.v1 import staking_pb2 as staking_pb
from novapb.token.v1 import token_pb2 as token_pb
from staking_service.api.grpc_api import StakingServicer
from token_service.api.grpc_api import TokenServicer

USER = "0x" + "11" * 20


class Aborted(Exception):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(code, details)
        self.code, self.details = code, details


class Context:
    async def abort(self, code: grpc.StatusCode, details: str) -> None:
        raise Aborted(code, details)


class Views:
    """Every view answers ``True`` except ``failing``, which raises ``error``."""

    def __init__(self, failing: str, error: Exception) -> None:
        self.failing, self.error = failing, error

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        async def view(*args: Any, **kwargs: Any) -> Any:
            if name == self.failing:
                raise self.error
            return True

        return view


def token(views: Views) -> Any:
    return TokenServicer(views, None, {})


def staking(views: Views) -> Any:
    return StakingServicer(views, None, 1)


def governance(views: Views) -> Any:
    return GovernanceServicer(views)


CALLS = [
    ("holders", lambda v: token(v).GetHolders(token_pb.GetHoldersRequest(cursor="x"), Context())),
    (
        "transfers",
        lambda v: token(v).GetTransfers(token_pb.GetTransfersRequest(cursor="x"), Context()),
    ),
    (
        "active_stakes",
        lambda v: staking(v).GetActiveStakes(
            staking_pb.GetActiveStakesRequest(cursor="x"), Context()
        ),
    ),
    (
        "claims",
        lambda v: staking(v).GetRewardClaims(
            staking_pb.GetRewardClaimsRequest(user=USER, cursor="x"), Context()
        ),
    ),
    (
        "votes",
        lambda v: governance(v).GetVotes(
            gov_pb.GetVotesRequest(proposal_id="1", cursor="x"), Context()
        ),
    ),
    (
        "voter",
        lambda v: governance(v).GetVoter(
            gov_pb.GetVoterRequest(address=USER, cursor="x"), Context()
        ),
    ),
    (
        "ranked_delegates",
        lambda v: governance(v).ListDelegates(gov_pb.ListDelegatesRequest(cursor="x"), Context()),
    ),
    (
        "delegators",
        lambda v: governance(v).ListDelegators(
            gov_pb.ListDelegatorsRequest(address=USER, cursor="x"), Context()
        ),
    ),
]


@pytest.mark.parametrize(("view", "call"), CALLS, ids=[c[0] for c in CALLS])
async def test_a_malformed_cursor_is_invalid_argument(view: str, call: Any) -> None:
    with pytest.raises(Aborted) as aborted:
        await call(Views(view, BadCursor("x")))
    assert aborted.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert aborted.value.details == "cursor: malformed cursor 'x'"


@pytest.mark.parametrize(("view", "call"), CALLS, ids=[c[0] for c in CALLS])
async def test_another_error_of_the_query_is_not_the_clients(view: str, call: Any) -> None:
    with pytest.raises(ValueError, match="a bug"):
        await call(Views(view, ValueError("a bug")))


async def test_a_block_beyond_the_index_is_out_of_range_and_nothing_else() -> None:
    request = gov_pb.GetDelegateRequest(address=USER, at_block=9)
    with pytest.raises(Aborted) as aborted:
        await governance(Views("delegate", OutOfRange("block 9 is above"))).GetDelegate(
            request, Context()
        )
    assert aborted.value.code == grpc.StatusCode.OUT_OF_RANGE
    assert aborted.value.details == "at_block: block 9 is above"
    with pytest.raises(ValueError, match="a bug"):
        await governance(Views("delegate", ValueError("a bug"))).GetDelegate(request, Context())
