"""Token ledger rules with the in-process repository: random histories, reverts, Mint/Burn."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common import events
from tests.envelopes import event, progress, revert
from token_service.application.ingest import LAST_BLOCK_KEY, apply_batch
from token_service.domain.ledger import (
    ZERO_ADDRESS,
    NegativeBalance,
    Stats,
    Transfer,
    apply_transfers,
)
from token_service.infrastructure.inmemory import InMemoryTokenRepository

HOLDERS = [f"0x{i:040x}" for i in range(1, 6)]
TOKEN = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def envelope(name: str, block: int, log_index: int, **args: object) -> events.EventEnvelope:
    return event(TOKEN, name, block, log_index, **args)


# a history: (sender index or None for a mint, receiver index or None for a burn, fraction)
moves = st.lists(
    st.tuples(
        st.one_of(st.none(), st.integers(0, 4)),
        st.one_of(st.none(), st.integers(0, 4)),
        st.integers(0, 100),
        st.integers(1, 10**30),
    ),
    min_size=1,
    max_size=60,
)


def build(history: list[tuple[int | None, int | None, int, int]]) -> list[events.EventEnvelope]:
    """Turn a random history into VALID events (never spend more than a holder has)."""
    bal = dict.fromkeys(HOLDERS, 0)
    out = []
    for i, (src, dst, pct, mint) in enumerate(history):
        block = i // 3 + 1
        if src is None or bal[HOLDERS[src]] == 0:
            to = HOLDERS[dst if dst is not None else 0]
            bal[to] += mint
            out.append(
                envelope("Transfer", block, i, **{"from": ZERO_ADDRESS, "to": to, "value": mint})
            )
            out.append(envelope("Mint", block, 1000 + i, to=to, amount=mint))
            continue
        frm = HOLDERS[src]
        value = bal[frm] * pct // 100
        to = ZERO_ADDRESS if dst is None else HOLDERS[dst]
        bal[frm] -= value
        if to != ZERO_ADDRESS:
            bal[to] += value
        else:
            out.append(envelope("Burn", block, 1000 + i, amount=value, **{"from": frm}))
        out.append(envelope("Transfer", block, i, **{"from": frm, "to": to, "value": value}))
    out.sort(key=lambda e: (e.event.block_number, e.event.log_index))
    return out


def expected(envs: list[events.EventEnvelope]) -> tuple[dict[str, int], int]:
    bal: dict[str, int] = {}
    supply = 0
    for e in envs:
        if e.event.event != "Transfer":
            continue
        a = events.arg_values(e.event)
        v = int(str(a["value"]))
        if a["from"] == ZERO_ADDRESS:
            supply += v
        else:
            bal[str(a["from"])] = bal.get(str(a["from"]), 0) - v
        if a["to"] == ZERO_ADDRESS:
            supply -= v
        else:
            bal[str(a["to"])] = bal.get(str(a["to"]), 0) + v
    return bal, supply


@settings(max_examples=60, deadline=None)
@given(moves, st.integers(0, 25))
def test_random_histories_and_reverts(history, cut) -> None:
    envs = build(history)

    async def run() -> None:
        repo = InMemoryTokenRepository()
        await apply_batch(repo, envs)
        stats = await repo.stats()
        assert all(b >= 0 for b in repo.balance.values())
        assert sum(repo.balance.values()) == stats.total_supply  # supply = minted - burned
        bal, supply = expected(envs)
        assert {a: b for a, b in repo.balance.items() if b} == {a: b for a, b in bal.items() if b}
        assert stats.total_supply == supply
        assert stats.holders == sum(1 for b in repo.balance.values() if b > 0)
        # Mint/Burn were recorded but not counted twice
        kinds = {s.kind for s in repo.supply_events.values()}
        assert kinds <= {"mint", "burn"}
        # a revert marker leaves exactly the state of the prefix
        await apply_batch(repo, [revert(cut)])
        prefix = [e for e in envs if e.event.block_number <= cut]
        bal, supply = expected(prefix)
        assert {a: b for a, b in repo.balance.items() if b} == {a: b for a, b in bal.items() if b}
        stats = await repo.stats()
        assert stats.total_supply == supply
        assert all(t.block_number <= cut for t in repo.transfers.values())

    asyncio.run(run())


async def test_many_transfers_in_one_tx_are_distinct() -> None:
    repo = InMemoryTokenRepository()
    mint = envelope("Transfer", 1, 0, **{"from": ZERO_ADDRESS, "to": HOLDERS[0], "value": 100})
    same_tx = [mint]
    for i in range(1, 4):
        e = envelope("Transfer", 2, i, **{"from": HOLDERS[0], "to": HOLDERS[i], "value": 10})
        e.event.tx_hash = "0x" + "ab" * 32  # one transaction, three transfers
        same_tx.append(e)
    await apply_batch(repo, same_tx)
    assert len(repo.transfers) == 4
    assert repo.balance[HOLDERS[0]] == 70


def test_negative_balances_are_refused() -> None:
    t = Transfer("0x1", 0, "0xb", 1, 0, HOLDERS[0], HOLDERS[1], 5, 0)
    with pytest.raises(NegativeBalance, match=HOLDERS[0]):
        apply_transfers(Stats(), {HOLDERS[0]: 4}, [t])


async def test_approvals_keep_the_last_value_and_unknown_events_are_ignored() -> None:
    repo = InMemoryTokenRepository()
    await apply_batch(
        repo,
        [
            envelope("Approval", 1, 0, owner=HOLDERS[0], spender=HOLDERS[1], value=2**256 - 1),
            envelope("Approval", 2, 0, owner=HOLDERS[0], spender=HOLDERS[1], value=5),
            envelope(
                "DelegateChanged",
                2,
                1,
                delegator=HOLDERS[0],
                fromDelegate=ZERO_ADDRESS,
                toDelegate=HOLDERS[0],
            ),
        ],
    )
    last = max(repo.approvals.values(), key=lambda a: (a.block_number, a.log_index))
    assert last.value == 5
    assert 2**256 - 1 in {a.value for a in repo.approvals.values()}


def test_a_verify_report_names_every_kind_of_drift() -> None:
    from token_service.infrastructure.verify import TokenDrift

    clean = TokenDrift(block=7, checked=3, supply=(5, 5))
    assert clean.ok and clean.lines()[-1] == "OK: no drift"
    counts = TokenDrift(block=7, checked=3, supply=(5, 5), count_drift=["transfers: 9 counted"])
    assert not counts.ok
    assert counts.lines()[1:] == [
        "DRIFT transfers: 9 counted",
        "0 balance drifts, kept counts differ from the rows",
    ]
    both = TokenDrift(block=7, checked=3, balance_drift={HOLDERS[0]: (1, 2)}, supply=(5, 6))
    assert not both.ok and len(both.lines()) == 4 and "DRIFT supply" in both.lines()[2]
    pair = (HOLDERS[0], HOLDERS[1])
    allowed = TokenDrift(block=7, checked=3, supply=(5, 5), allowances=4, allowances_spent=2,
                         allowance_drift={pair: (9, 4)})  # fmt: skip
    assert not allowed.ok and allowed.drifts == 1
    assert allowed.lines() == [
        "block 7: checked 3 addresses, 4 allowances (and 2 the chain answers: owner sent since"
        " the Approval)",
        f"DRIFT allowance {HOLDERS[0]} -> {HOLDERS[1]}: indexed 9 chain 4",
        "0 balance drifts, 1 allowance drifts",
    ]


async def test_progress_moves_the_head_without_touching_balances() -> None:
    """The sync's progress marker: the head moves to its block (and its cache key goes), in
    a batch of its own or after events; an older one changes nothing; a revert lowers it."""
    repo = InMemoryTokenRepository()
    holder = HOLDERS[0]
    keys = await apply_batch(
        repo, [envelope("Transfer", 5, 0, **{"from": ZERO_ADDRESS, "to": holder, "value": 9})]
    )
    assert (await repo.stats()).last_block == 5
    assert await apply_batch(repo, [progress(8)]) == {LAST_BLOCK_KEY}
    assert (await repo.stats()).last_block == 8 and repo.balance[holder] == 9
    assert await apply_batch(repo, [progress(7)]) == set()
    assert (await repo.stats()).last_block == 8
    keys = await apply_batch(
        repo,
        [
            envelope("Transfer", 9, 0, **{"from": holder, "to": HOLDERS[1], "value": 4}),
            progress(12),
        ],
    )
    assert LAST_BLOCK_KEY in keys and (await repo.stats()).last_block == 12
    await apply_batch(repo, [progress(15), revert(10)])  # the marker, then a reorg below it
    assert (await repo.stats()).last_block == 10
    assert (repo.balance[holder], repo.balance[HOLDERS[1]]) == (5, 4)
