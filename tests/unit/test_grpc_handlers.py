"""The servicers turn only their own input errors into statuses: a malformed cursor is
INVALID_ARGUMENT naming ``cursor``, a block beyond the index OUT_OF_RANGE; any other error of a
query (a bug) goes on to the server's INTERNAL (tests/integration/test_grpc_errors.py), not to
the client as its own mistake."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import pytest

from common.validation import BadCursor, OutOfRange, Page
from governance_service.api.grpc_api import GovernanceServicer
from novapb.governance.v1 import governance_pb2 as gov_pb
from novapb.staking.v1 import staking_pb2 as staking_pb
from novapb.token.v1 import token_pb2 as token_pb
from staking_service.api.grpc_api import StakingServicer
from token_service.api.grpc_api import TokenServicer
from token_service.domain.ledger import IndexedAllowance

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
        "allowances_of",
        lambda v: token(v).ListAllowances(
            token_pb.ListAllowancesRequest(owner=USER, cursor="x"), Context()
        ),
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


class AllowanceViews:
    def __init__(self, answer: IndexedAllowance) -> None:
        self.answer, self.reads = answer, 0

    async def allowance(self, owner: str, spender: str) -> IndexedAllowance:
        self.reads += 1
        return self.answer


EXACT = IndexedAllowance(value=5, block=90, approved_at=40, exact=True)
SPENT = IndexedAllowance(value=5, block=90, approved_at=40, exact=False)


async def chain(owner: str, spenders: list[str]) -> tuple[list[int], int]:
    return [3] * len(spenders), 95


async def no_chain(owner: str, spenders: list[str]) -> tuple[list[int], int]:
    raise OSError("connection refused")


@pytest.mark.parametrize(
    ("indexed", "on_chain", "asks", "want"),
    [
        (EXACT, chain, False, ("5", 90, "indexed", True, 40)),  # the index knows it
        (SPENT, chain, False, ("3", 95, "chain", True, 40)),  # it may be spent: the chain
        (SPENT, no_chain, False, ("5", 90, "indexed", False, 40)),  # said to be inexact
        (SPENT, None, False, ("5", 90, "indexed", False, 40)),  # no RPC URL: the same
        (EXACT, chain, True, ("3", 95, "chain", True, 0)),  # on_chain: the index is not read
    ],
    ids=["exact", "spent", "chain-down", "no-rpc", "on-chain"],
)
async def test_an_allowance_comes_from_the_chain_when_the_index_cannot_know_it(
    indexed: IndexedAllowance, on_chain: Any, asks: bool, want: tuple[Any, ...]
) -> None:
    views = AllowanceViews(indexed)
    request = token_pb.GetAllowanceRequest(owner=USER, spender="0x" + "22" * 20, on_chain=asks)
    reply = await TokenServicer(views, None, {}, on_chain).GetAllowance(request, Context())
    got = (reply.allowance, reply.block_number, reply.source, reply.exact)
    assert (*got, reply.approved_at_block) == want
    assert views.reads == (0 if asks else 1)


async def test_a_list_of_allowances_asks_the_chain_once_for_those_the_index_cannot_know() -> None:
    a, b, c = ("0x" + d * 20 for d in ("aa", "bb", "cc"))
    asked: list[list[str]] = []

    class Listing:
        async def allowances_of(self, owner: str, limit: int, offset: int, cursor: Any) -> Any:
            return Page([(a, SPENT), (b, EXACT), (c, SPENT)], 7, "next"), 90

    async def counting(owner: str, spenders: list[str]) -> tuple[list[int], int]:
        asked.append(spenders)
        return [1, 2], 95

    request = token_pb.ListAllowancesRequest(owner=USER, limit=3)
    for on_chain, want in [
        (counting, [(a, "1", "chain", True), (b, "5", "indexed", True), (c, "2", "chain", True)]),
        (
            no_chain,
            [(a, "5", "indexed", False), (b, "5", "indexed", True), (c, "5", "indexed", False)],
        ),
    ]:
        servicer = TokenServicer(Listing(), None, {}, on_chain)
        reply = await servicer.ListAllowances(request, Context())
        got = [(x.spender, x.allowance, x.source, x.exact) for x in reply.allowances]
        assert got == want
        assert (reply.total, reply.next_cursor, reply.block_number) == (7, "next", 90)
    assert asked == [[a, c]]
