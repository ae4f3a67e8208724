"""The token ledger's SQL adapter on MariaDB and SQLite: the transfer counts it keeps with the
rows answer every page's total, through batches and reverts; balances at a block; allowances and
whether the index can know them."""

from __future__ import annotations

import random
from typing import Any

import pytest
import sqlalchemy as sa

from common import validation
from common.db import create_engine, migrate
from tests.envelopes import revert
from tests.unit.test_token_ledger import HOLDERS, build, envelope
from token_service.application.ingest import apply_batch
from token_service.domain.ledger import UNLIMITED, ZERO_ADDRESS
from token_service.infrastructure import sql
from token_service.infrastructure.sql import SqlTokenRepository, TokenViews, transfers_t


@pytest.fixture(params=["mysql", "sqlite"])
def db_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(f"{request.param}_url"))


def _history(seed: int, size: int) -> list[tuple[int | None, int | None, int, int]]:
    rng = random.Random(seed)
    pick = [None, 0, 1, 2, 3, 4]  # None: a mint (as sender) or a burn (as receiver)
    return [
        (rng.choice(pick), rng.choice(pick), rng.randint(0, 100), rng.randint(1, 10**24))
        for _ in range(size)
    ]


async def _counted(engine: Any, where: list[Any]) -> int:
    async with engine.connect() as conn:
        query = sa.select(sa.func.count()).select_from(transfers_t).where(*where)
        return int((await conn.execute(query)).scalar_one())


async def _all_pages(views: TokenViews, oldest_first: bool, **query: Any) -> list[tuple[int, int]]:
    listed: list[tuple[int, int]] = []
    cursor = None
    while True:
        page = await views.transfers(**query, limit=7, offset=0, cursor=cursor,
                                     oldest_first=oldest_first)  # fmt: skip
        listed += [(t.block_number, t.log_index) for t in page.transfers]
        if not page.next_cursor:
            return listed
        cursor = page.next_cursor


async def test_transfer_totals_are_the_counts_kept_with_the_rows(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    migrate(db_url)
    engine = create_engine(db_url)
    views = TokenViews(engine)
    t = transfers_t
    envs = build(_history(seed=7, size=400))  # self-transfers, mints and burns among them
    envs += [  # two holders with one balance: ties in the holder list
        envelope("Transfer", 1, 9000 + i, **{"from": ZERO_ADDRESS, "to": to, "value": 10**20})
        for i, to in enumerate(("0x" + "e1" * 20, "0x" + "e2" * 20))
    ]
    envs.sort(key=lambda e: (e.event.block_number, e.event.log_index))
    top = envs[-1].event.block_number
    try:
        for i in range(0, len(envs), 64):
            async with engine.begin() as conn:
                await apply_batch(SqlTokenRepository(conn), envs[i : i + 64])

        async def check(stage: str) -> None:
            stats = await views.stats()
            assert stats.transfers == await _counted(engine, []), stage
            for address in [*HOLDERS, ZERO_ADDRESS, "0x" + "42" * 20]:
                for direction, where in [
                    ("in", t.c.to_address == address),
                    ("out", t.c.from_address == address),
                    ("any", sa.or_(t.c.to_address == address, t.c.from_address == address)),
                ]:
                    page = await views.transfers(address, direction, 0, None, 5, 0, None)
                    assert page.total == await _counted(engine, [where]), (stage, address)
                    assert not page.total_capped
            everything = await views.transfers(None, "any", 0, None, 5, 0, None)
            assert everything.total == stats.transfers
            assert await views.count_drift() == [], stage

        await check("applied")
        assert (await views.stats()).transfers > 100
        # a revert takes the orphaned transfers out of the counts, in its transaction
        async with engine.begin() as conn:
            await apply_batch(SqlTokenRepository(conn), [revert(top // 2)])
        await check("reverted")
        async with engine.begin() as conn:  # and the chain goes on from there
            await apply_batch(
                SqlTokenRepository(conn),
                [e for e in envs if e.event.block_number > top // 2][:50],
            )
        await check("re-applied")

        # a block range is counted in its rows, up to COUNT_CAP
        ranged = await views.transfers(None, "any", 3, top // 2, 5, 0, None)
        exact = await _counted(engine, [t.c.block_number >= 3, t.c.block_number <= top // 2])
        assert (ranged.total, ranged.total_capped) == (exact, False)
        monkeypatch.setattr(sql, "COUNT_CAP", exact - 1)
        ranged = await views.transfers(None, "any", 3, top // 2, 5, 0, None)
        assert (ranged.total, ranged.total_capped) == (exact - 1, True)
        monkeypatch.setattr(sql, "COUNT_CAP", exact)
        ranged = await views.transfers(None, "any", 3, top // 2, 5, 0, None)
        assert (ranged.total, ranged.total_capped) == (exact, False)

        # both orders list every transfer once, by chain position, page after page
        for query in [
            {"address": None, "direction": "any", "from_block": 0, "to_block": None},
            {"address": HOLDERS[1], "direction": "any", "from_block": 2, "to_block": top - 2},
            {"address": HOLDERS[2], "direction": "in", "from_block": 0, "to_block": None},
        ]:
            newest = await _all_pages(views, False, **query)
            oldest = await _all_pages(views, True, **query)
            assert newest == sorted(newest, reverse=True) and len(set(newest)) == len(newest)
            assert oldest == newest[::-1] and oldest
            page = await views.transfers(**query, limit=3, offset=2, cursor=None,
                                         oldest_first=True)  # fmt: skip
            assert [(x.block_number, x.log_index) for x in page.transfers] == oldest[2:5]

        # nova verify token reports counts that differ from the rows, naming the address
        async with engine.begin() as conn:
            await conn.execute(
                sa.update(sql.counts_t)
                .where(sql.counts_t.c.address == HOLDERS[3])
                .values(received=sql.counts_t.c.received + 1)
            )
            await conn.execute(sa.update(sql.stats_t).values(transfers=sql.stats_t.c.transfers - 1))
        drift = await views.count_drift()
        assert len(drift) == 2 and "counted" in drift[0] and HOLDERS[3] in drift[1], drift
        async with engine.begin() as conn:  # and the holder count
            await conn.execute(sa.update(sql.stats_t).values(holders=sql.stats_t.c.holders + 1))
        assert any(d.startswith("holders: ") for d in await views.count_drift())
        async with engine.begin() as conn:
            await conn.execute(sa.update(sql.stats_t).values(holders=sql.stats_t.c.holders - 1))

        # holders: by balance, then address, both descending; the total is the holder count
        first = await views.holders(1000, 0)
        holders, total = first.holders, first.total
        assert first.next_cursor == ""
        async with engine.connect() as conn:
            rows = await conn.execute(
                sa.select(sql.balances_t.c.address, sql.balances_t.c.balance).where(
                    sql.balances_t.c.balance > 0
                )
            )
            positive = sorted(((b, a) for a, b in rows), reverse=True)
        assert holders == [(a, b) for b, a in positive]
        assert ("0x" + "e2" * 20, 10**20) in holders
        assert total == len(positive) == (await views.stats()).holders > 1
        # by cursor: the same list at any page size, ties across a page's end included; an
        # offset beside a cursor is ignored
        for size in (1, 2, 3):
            listed, cursor = [], None
            for _ in range(len(holders) + 1):  # bounded: a cursor that repeats a page ends
                got = await views.holders(size, 0 if cursor is None else 5, cursor)
                assert len(got.holders) == size or not got.next_cursor
                listed += got.holders
                if not got.next_cursor:
                    break
                cursor = got.next_cursor
            assert listed == holders, size
        for bad in ("x", validation.make_cursor(10, "0x12")[:-2], "MTA6MTA="):  # "10:10"
            with pytest.raises(validation.BadCursor, match="malformed cursor"):
                await views.holders(2, 0, bad)
    finally:
        await engine.dispose()


async def test_balances_and_supply_at_a_block_are_the_history_up_to_it(db_url: str) -> None:
    """balance_at / supply_at (GetBalance and GetTotalSupply with at_block): what the
    transfers up to that block add up to, for every holder, the zero address and a stranger,
    at every block; above the indexed head they refuse."""
    migrate(db_url)
    engine = create_engine(db_url)
    views = TokenViews(engine)
    envs = build(_history(seed=11, size=240))  # self-transfers, mints and burns among them
    top = envs[-1].event.block_number
    try:
        for i in range(0, len(envs), 50):
            async with engine.begin() as conn:
                await apply_batch(SqlTokenRepository(conn), envs[i : i + 50])
        balances: dict[str, int] = {}
        supply = 0
        by_block: dict[int, tuple[dict[str, int], int]] = {0: ({}, 0)}
        for block in range(1, top + 1):
            for e in (x.event for x in envs if x.event.block_number == block):
                if e.event != "Transfer":
                    continue
                sender, to = e.args["from"].scalar, e.args["to"].scalar
                value = int(e.args["value"].scalar)
                if sender == ZERO_ADDRESS:
                    supply += value
                else:
                    balances[sender] = balances.get(sender, 0) - value
                if to == ZERO_ADDRESS:
                    supply -= value
                else:
                    balances[to] = balances.get(to, 0) + value
            by_block[block] = (dict(balances), supply)
        assert supply > 0 and len(by_block) > 50
        for block, (want, want_supply) in by_block.items():
            for address in [*HOLDERS, ZERO_ADDRESS, "0x" + "42" * 20]:
                got = await views.balance_at(address, block)
                assert got == want.get(address, 0), (block, address)
            assert await views.supply_at(block) == want_supply, block
        assert await views.balance_at(HOLDERS[0], top) == await views.balance(HOLDERS[0])
        for above in (top + 1, 2**63 - 1):
            with pytest.raises(validation.OutOfRange, match=f"above the indexed head {top}"):
                await views.balance_at(HOLDERS[0], above)
            with pytest.raises(validation.OutOfRange):
                await views.supply_at(above)
    finally:
        await engine.dispose()


def _with_approvals(seed: int, envs: list[Any], count: int) -> list[Any]:
    """``envs`` with ``count`` Approvals among them, at free positions before, between and
    after each block's transfers; values 0, some, and unlimited (2^256-1)."""
    rng = random.Random(seed)
    top = envs[-1].event.block_number
    used = {(e.event.block_number, e.event.log_index) for e in envs}
    out = list(envs)
    for _ in range(count):
        block = rng.randint(1, top)
        free = [i for i in range(3 * block + 3) if (block, i) not in used]
        log_index = rng.choice(free)
        used.add((block, log_index))
        owner, spender = rng.sample(HOLDERS[:4], 2)
        value = rng.choice([0, UNLIMITED, rng.randint(1, 10**30), rng.randint(1, 10**30)])
        out.append(
            envelope("Approval", block, log_index, owner=owner, spender=spender, value=value)
        )
    out.sort(key=lambda e: (e.event.block_number, e.event.log_index))
    return out


def _allowances(envs: list[Any], upto: int) -> dict[tuple[str, str], tuple[int, int, bool]]:
    """The model: each pair's last Approval at or below ``upto`` -> (value, its block, exact),
    exact unless its owner sent more than 0 after it (and it is neither 0 nor unlimited)."""
    last: dict[tuple[str, str], tuple[int, int, bool]] = {}
    for e in (x.event for x in envs if x.event.block_number <= upto):
        if e.event == "Approval":
            pair = (e.args["owner"].scalar, e.args["spender"].scalar)
            last[pair] = (int(e.args["value"].scalar), e.block_number, True)
        elif e.event == "Transfer" and int(e.args["value"].scalar) > 0:
            for (owner, spender), (value, at, _) in list(last.items()):
                if owner == e.args["from"].scalar and value not in (0, UNLIMITED):
                    last[(owner, spender)] = (value, at, False)
    return last


async def test_an_allowance_is_exact_until_its_owner_sends(db_url: str) -> None:
    """The last Approval is answered as exact unless a Transfer of more than 0 from its owner
    came after it (transferFrom spends an allowance without an event), by chain position
    within a block too; 0 and unlimited stay exact; a revert takes both kinds of rows back."""
    migrate(db_url)
    engine = create_engine(db_url)
    views = TokenViews(engine)
    envs = _with_approvals(5, build(_history(seed=13, size=240)), count=120)
    end = envs[-1].event.block_number
    owner, (h0, h1, h2, h3) = HOLDERS[4], HOLDERS[:4]  # an owner the random part leaves out
    envs += [
        envelope("Approval", end + 1, 0, owner=owner, spender=h0, value=7),
        envelope("Transfer", end + 1, 1, **{"from": owner, "to": h1, "value": 0}),  # spends none
        envelope("Approval", end + 1, 2, owner=owner, spender=h2, value=9),
        envelope("Transfer", end + 1, 3, **{"from": ZERO_ADDRESS, "to": owner, "value": 5}),
        envelope("Approval", end + 2, 0, owner=owner, spender=h3, value=11),
        envelope("Transfer", end + 2, 1, **{"from": owner, "to": h1, "value": 1}),  # may spend
        envelope("Approval", end + 2, 2, owner=owner, spender=h0, value=13),  # set again
    ]
    top = end + 2
    try:
        assert (await views.allowance(HOLDERS[0], HOLDERS[1])).approved_at == 0
        for i in range(0, len(envs), 50):
            async with engine.begin() as conn:
                await apply_batch(SqlTokenRepository(conn), envs[i : i + 50])

        async def check(head: int) -> None:
            want = _allowances(envs, head)
            exact = [v for v in want.values() if v[2]]
            assert len(exact) > 2 and len(want) - len(exact) > 2, want  # both kinds occur
            for owner in HOLDERS:
                for spender in HOLDERS:
                    got = await views.allowance(owner, spender)
                    value, at, is_exact = want.get((owner, spender), (0, 0, True))
                    assert (got.value, got.approved_at, got.exact, got.block) == (
                        value, at, is_exact, head
                    ), (owner, spender)  # fmt: skip
            for block in (head // 3, head // 2, head):
                listed = {(o, s): (a.value, a.approved_at, a.exact) for o, s, a in
                          await views.allowances_at(block)}  # fmt: skip
                assert listed == _allowances(envs, block), block
            # an owner's list: the spenders of its last Approvals above 0, by address, by
            # cursor at any page size, or by offset
            for owner in HOLDERS:
                mine = sorted((s, v) for (o, s), v in want.items() if o == owner and v[0])
                for size in (1, 2, 5):
                    paged: list[tuple[str, tuple[int, int, bool]]] = []
                    cursor = None
                    for _ in range(len(HOLDERS) + 1):
                        skip = 0 if cursor is None else 3  # ignored beside a cursor
                        page, at = await views.allowances_of(owner, size, skip, cursor)
                        assert page.total == len(mine) and at == head
                        paged += [(s, (a.value, a.approved_at, a.exact)) for s, a in page.items]
                        if not page.next_cursor:
                            break
                        cursor = page.next_cursor
                    assert paged == mine, (owner, size)
                page, _ = await views.allowances_of(owner, 2, 1)
                assert [s for s, _ in page.items] == [s for s, _ in mine[1:3]]

        await check(top)
        for at, want in [
            (end + 1, [(h0, True), (h2, True)]),  # a Transfer of 0 spends nothing
            (top, [(h0, True), (h2, False), (h3, False)]),
        ]:
            listed = await views.allowances_at(at)
            assert sorted((s, a.exact) for o, s, a in listed if o == owner) == want, at
        async with engine.begin() as conn:
            await apply_batch(SqlTokenRepository(conn), [revert(top // 2)])
        await check(top // 2)
    finally:
        await engine.dispose()
