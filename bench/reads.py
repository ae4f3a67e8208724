"""Reads over a large index: what one uncached page costs the token service and MariaDB, and
what a filtered read of the block sync's logs costs; and pages of a proposal's votes and of
the active stakes, deep by offset and by cursor.

Fills a fresh database at migration 0010 with ``--transfers`` rows (a fifth of them to or from
one "whale" address, the rest among ``--holders`` addresses) and as many balances, straight
in SQL (MariaDB's SEQUENCE engine: no chain needed for a million rows), then migrates to head,
which counts them (migration 0011), and times each read of ``TokenViews`` (the service's read
path, SQLAlchemy + aiomysql, one connection, no cache) beside the ``COUNT(*)`` every page ran
for its total before 0011, in the same run; as many logs (one per transfer), read by
address and topic0 as ``GET /api/v1/logs`` reads them; 2,500 governance proposals listed; and
a tenth as many votes on one proposal and active stakes (migration 0012 indexes the votes);
and delegates by voting power (half as many vote checkpoints as transfers, among the holders:
migration 0015 ranks each delegate's latest).

    uv run python -m bench.reads [--transfers 1000000] [--holders 100000] [--repeat 20]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pymysql
import sqlalchemy as sa

from bench.common import (
    add_buffer_pool_option,
    buffer_pool,
    drop_database,
    exit_cleanly_on_sigterm,
    fresh_database,
    positive,
)
from block_sync_service.infrastructure.store import SqlAlchemySyncStore
from block_sync_service.settings import BlockSyncSettings
from common.db import create_engine, migrate
from common.validation import make_cursor
from governance_service.domain.governance import ProposalState
from governance_service.infrastructure.sql import GovernanceViews
from nova import stack
from staking_service.infrastructure.sql import StakingViews
from token_service.infrastructure.sql import TokenViews

WHALE = "0x" + "00" * 18 + "aaaa"
TOKEN, OTHER = "0x5FbDB2315678afecb367f032d93F642f64180aa3", "0x" + "e7" * 20
TRANSFER, MINT, VOTES, NEVER = ("0x" + c * 64 for c in "1234")  # topic0s
BUDGET = BlockSyncSettings.model_fields["logs_scan_budget"].default  # GetLogs' default
PROPOSALS = 2_500  # about what the traffic simulator proposes in a 1M-event history
SPENDERS = 1_000  # the whale's approvals


def address_of(n: int) -> str:
    return "0x" + f"{n:x}".rjust(40, "0").upper()


def address(expr: str) -> str:
    return f"concat('0x', lpad(hex({expr}), 40, '0'))"


def fill(name: str, transfers: int, holders: int) -> float:
    """The rows, as the token consumer would have left them at 0010; seconds taken."""
    conn = pymysql.connect(host="127.0.0.1", port=stack.Ports().mariadb, user="root", database=name)
    started = time.perf_counter()
    try:
        with conn.cursor() as cur:
            # five transfers a block; every fifth from the whale; addresses spread by primes
            cur.execute(
                "INSERT INTO transfers SELECT concat('0x', sha2(seq, 256)), seq % 5,"  # noqa: S608
                " concat('0x', sha2(seq DIV 5, 256)), seq DIV 5, seq % 5,"
                f" IF(seq % 5 = 0, '{WHALE}', {address(f'seq * 7919 % {holders}')}),"
                f" {address(f'seq * 104729 % {holders}')}, seq * 1000000000000,"
                f" 1700000000 + seq DIV 5 FROM seq_1_to_{transfers}"
            )
            cur.execute(
                f"INSERT INTO token_balances SELECT {address('seq')},"  # noqa: S608
                " CAST(seq * 7919 % 1000003 AS DECIMAL(65, 0)) * 1000000000000000, seq"
                f" FROM seq_1_to_{holders}"
            )
            cur.execute(
                "INSERT INTO token_stats (id, minted, burned, holders, last_block)"  # noqa: S608
                f" VALUES (1, 0, 0, {holders}, {transfers // 5})"
            )
            # the block sync's logs: one a transfer, 95% from the token, 40% Transfer, 1% Mint
            cur.execute("SET FOREIGN_KEY_CHECKS = 0")  # no blocks rows: not read here
            cur.execute(
                "INSERT INTO logs SELECT concat('0x', sha2(seq DIV 5, 256)), seq % 5, seq DIV 5,"  # noqa: S608
                f" IF(seq % 20 = 0, '{OTHER}', '{TOKEN}'),"
                f" CASE WHEN seq % 100 = 1 THEN '{MINT}' WHEN seq % 100 < 40 THEN '{TRANSFER}'"
                f" ELSE '{VOTES}' END, concat('0x', lpad(hex(seq % {holders}), 64, '0')),"
                f" concat('0x', lpad(hex(seq * 7 % {holders}), 64, '0')), NULL,"
                " concat('0x', lpad(hex(seq), 64, '0')), concat('0x', sha2(seq, 256)), seq % 5, 0"
                f" FROM seq_1_to_{transfers}"
            )
            # governance: a proposal every 9 blocks (as the traffic simulator makes them) and
            # a supply checkpoint every block
            actions = '{"targets": [], "values": [], "calldatas": [], "signatures": []}'
            cur.execute(
                f"INSERT INTO gov_proposals SELECT seq, '{WHALE}', '{actions}', 'bench',"  # noqa: S608
                " seq * 9 + 1, seq * 9 + 21, seq * 9, '0x', seq * 1000, 0, 0,"
                " IF(seq % 3 = 2, seq * 9 + 1, 0), 0, 0, 0"
                f" FROM seq_1_to_{PROPOSALS}"
            )
            cur.execute(
                "INSERT INTO gov_supply_checkpoints SELECT seq, 0, 10000000 + seq"  # noqa: S608
                f" FROM seq_1_to_{PROPOSALS * 9 + 30}"
            )
            # one proposal with a vote in every tenth transfer's place (a tenth as many votes
            # as transfers), and as many active stakes
            cur.execute(
                "INSERT INTO gov_votes (proposal_id, voter, support, weight, reason, params,"  # noqa: S608
                " block_number, log_index, tx_hash) SELECT 1, "
                f"{address('seq')}, seq % 3, seq * 1000, '', '0x', seq * 2, seq % 5,"
                f" concat('0x', sha2(seq, 256)) FROM seq_1_to_{transfers // 10}"
            )
            cur.execute(
                "INSERT INTO stakes (id, user, amount, start_time, end_time, block_number,"  # noqa: S608
                " unstaked_block, status, tx_hash) SELECT seq,"
                f" {address(f'seq * 7919 % {holders}')}, seq * 1000, 1700000000 + seq, 0, seq,"
                f" 0, 'active', concat('0x', sha2(seq, 256)) FROM seq_1_to_{transfers // 10}"
            )
            # delegates' vote checkpoints: one every second transfer, among every holder
            # (migration 0015 ranks each one's latest)
            cur.execute(
                "INSERT INTO gov_vote_checkpoints SELECT"  # noqa: S608
                f" {address(f'seq * 7919 % {holders}')}, seq DIV 5, seq % 5,"
                " CAST(seq * 104729 % 1000003 AS DECIMAL(65, 0)) * 1000000000000000"
                f" FROM seq_1_to_{transfers // 2}"
            )
            # the whale's approvals: SPENDERS spenders approved early (it sent since: the index
            # cannot know what is left) and 20 approved after its last transfer (exact)
            cur.execute(
                "INSERT INTO approvals SELECT concat('0x', sha2(seq, 256)), 100 + seq,"  # noqa: S608
                f" IF(seq <= {SPENDERS}, seq * 3, {transfers // 5}), '{WHALE}',"
                f" {address('seq')}, concat(seq, '000000000000000000'), 1700000000"
                f" FROM seq_1_to_{SPENDERS + 20}"
            )
            cur.execute(
                "INSERT INTO consumer_marks (consumer_group, topic, block_number, log_index,"  # noqa: S608
                f" generation) VALUES ('governance', 'bench', {PROPOSALS * 9 + 30}, 0, 0)"
            )
            cur.execute(
                "ANALYZE TABLE transfers, token_balances, logs, gov_votes, stakes,"
                " gov_vote_checkpoints, approvals"
            )
        conn.commit()
    finally:
        conn.close()
    return time.perf_counter() - started


async def timed(call: Callable[[], Awaitable[Any]], repeat: int) -> tuple[float, float]:
    await call()  # warm: the pages read come from the buffer pool, as a busy server's would
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        await call()
        runs.append(time.perf_counter() - t)
    return statistics.median(runs) * 1000, max(runs) * 1000


async def measure(
    url: str, transfers: int, holders: int, repeat: int
) -> list[tuple[str, float, float, str]]:
    engine = create_engine(url)
    views = TokenViews(engine)
    chain = SqlAlchemySyncStore(engine, 31337)
    governance = GovernanceViews(engine, "governance", "bench", 4)
    top = transfers // 5
    holder = "0x" + "00" * 18 + "0123"
    deep = holders * 9 // 10  # a holders page this deep, by offset and by cursor
    (last_address, last_balance), *_ = (await views.holders(1, deep - 1)).holders
    deep_cursor = make_cursor(last_balance, last_address)
    by_offset = (await views.holders(20, deep)).holders
    assert (await views.holders(20, 0, deep_cursor)).holders == by_offset, "cursor != offset"
    staking = StakingViews(engine)
    many = transfers // 10  # votes of proposal 1, and active stakes
    deep_votes = many * 9 // 10
    votes_cursor = (await governance.votes(1, deep_votes, 0)).next_cursor
    deep_page = (await governance.votes(1, 20, deep_votes)).items
    assert (await governance.votes(1, 20, 0, votes_cursor)).items == deep_page, "votes"
    ranked, _ = await governance.ranked_delegates(deep, 0)
    ranked_deep = (await governance.ranked_delegates(20, deep))[0].items
    assert (await governance.ranked_delegates(20, 0, ranked.next_cursor))[0].items == ranked_deep
    assert ranked.total > deep, "delegates with votes"
    stakes_cursor = (await staking.active_stakes(None, deep_votes, 0)).next_cursor
    deep_stakes = (await staking.active_stakes(None, 20, deep_votes)).items
    assert (await staking.active_stakes(None, 20, 0, stakes_cursor)).items == deep_stakes
    spent = await views.allowance(WHALE, address_of(1))
    exact = await views.allowance(WHALE, address_of(SPENDERS + 1))
    assert (spent.exact, exact.exact) == (False, True), "the whale's allowances"
    allowances, _ = await views.allowances_of(WHALE, SPENDERS * 9 // 10, 0)
    assert allowances.total == SPENDERS + 20, allowances.total
    out: list[tuple[str, float, float, str]] = []

    async def sql(statement: str) -> None:
        async with engine.connect() as conn:
            await conn.execute(sa.text(statement))

    async def count(where: str) -> None:
        await sql(f"SELECT COUNT(*) FROM transfers WHERE {where}")  # noqa: S608 - ours

    async def never_seen_to_the_end() -> None:
        # every answer of a rare topic's query, each continuing where the last one stopped
        after = None
        while True:
            found = await chain.get_logs(
                [TOKEN], 0, top, [NEVER], limit=100, after=after, scan_budget=BUDGET
            )
            if found.resume is None:
                return
            after = found.resume

    async def quorum_one_by_one() -> None:
        # what deriving every proposal's state did before: its quorum's statements, each alone
        async with engine.connect() as conn:
            for t in range(1, PROPOSALS + 1):
                await governance._quorums(conn, [t * 9 + 1])

    either = f"(from_address = '{WHALE}' OR to_address = '{WHALE}')"
    cases: list[tuple[str, Callable[[], Awaitable[Any]], str]] = [
        ("page of all transfers", lambda: views.transfers(None, "any", 0, None, 20, 0, None), ""),
        ("  before 0011: its COUNT(*)", lambda: count("block_number >= 0"), ""),
        (
            "page of the whale's (1/5 of all)",
            lambda: views.transfers(WHALE, "any", 0, None, 20, 0, None),
            "",
        ),
        ("  before 0011: its COUNT(*)", lambda: count(f"block_number >= 0 AND {either}"), ""),
        (
            "page of an address's (~20)",
            lambda: views.transfers(holder, "any", 0, None, 20, 0, None),
            "",
        ),
        (
            "page of all in blocks 1..top/2",
            lambda: views.transfers(None, "any", 1, top // 2, 20, 0, None),
            "total counted to 10,000",
        ),
        (
            "page of the whale's in a range",
            lambda: views.transfers(WHALE, "any", 1, top // 2, 20, 0, None),
            "total counted to 10,000",
        ),
        (
            "page at offset 10,000 (the most)",
            lambda: views.transfers(None, "any", 0, None, 20, 10_000, None),
            "",
        ),
        (
            "oldest first",
            lambda: views.transfers(None, "any", 0, None, 20, 0, None, True),
            "",
        ),
        ("holders, first page", lambda: views.holders(20, 0), ""),
        (
            "  before: ties by address ascending",
            lambda: sql(
                "SELECT address, balance FROM token_balances WHERE balance > 0"
                " ORDER BY balance DESC, address LIMIT 20"
            ),
            "",
        ),
        (
            "  before: the holders' COUNT(*)",
            lambda: sql("SELECT COUNT(*) FROM token_balances WHERE balance > 0"),
            "",
        ),
        ("holders at offset 10,000", lambda: views.holders(20, 10_000), ""),
        (
            f"delegates by votes, first page (of {ranked.total:,})",
            lambda: governance.ranked_delegates(20, 0),
            "total from gov_stats",
        ),
        (
            "  before: their COUNT(*)",
            lambda: sql("SELECT COUNT(*) FROM gov_delegate_votes WHERE votes > 0"),
            "",
        ),
        (f"delegates at offset {deep:,}", lambda: governance.ranked_delegates(20, deep), ""),
        (
            f"delegates at {deep:,} by cursor",
            lambda: governance.ranked_delegates(20, 0, ranked.next_cursor),
            "the same page as by offset",
        ),
        (f"holders at offset {deep:,}", lambda: views.holders(20, deep), ""),
        (
            f"holders at {deep:,} by cursor",
            lambda: views.holders(20, 0, deep_cursor),
            "the same page as by offset",
        ),
        (
            "logs: token's Transfer, all blocks",
            lambda: chain.get_logs([TOKEN], 0, top, [TRANSFER], limit=100),
            "",
        ),
        (
            "logs: token's Mint (1%), all blocks",
            lambda: chain.get_logs([TOKEN], 0, top, [MINT], limit=100),
            "",
        ),
        (
            "logs: a topic0 never seen, all blocks",
            lambda: chain.get_logs([TOKEN], 0, top, [NEVER], limit=100, scan_budget=BUDGET),
            f"one answer: its first {BUDGET:,} logs, then next_cursor",
        ),
        (
            "  every answer of it, by cursor",
            never_seen_to_the_end,
            "what the whole range costs in answers",
        ),
        (
            "  before: no scan budget",
            lambda: chain.get_logs([TOKEN], 0, top, [NEVER], limit=100),
            "reads all the token's logs: no topic index",
        ),
        (
            "logs: the same over 10,000 blocks",
            lambda: chain.get_logs([TOKEN], top - 10_000, top, [NEVER], limit=100),
            "",
        ),
        (
            "allowance: whale, sent since the Approval",
            lambda: views.allowance(WHALE, address_of(1)),
            "the index's part; the service then asks the chain",
        ),
        (
            "allowance: whale, approved after its last send",
            lambda: views.allowance(WHALE, address_of(SPENDERS + 1)),
            "exact from the index",
        ),
        (
            f"allowances of the whale, first page (of {SPENDERS + 20:,})",
            lambda: views.allowances_of(WHALE, 20, 0),
            "",
        ),
        (
            "  deep, by cursor",
            lambda: views.allowances_of(WHALE, 20, 0, allowances.next_cursor),
            "",
        ),
        (
            f"proposals, first page (of {PROPOSALS:,})",
            lambda: governance.proposals(None, 20, 0),
            "",
        ),
        (
            "proposals Active (none)",
            lambda: governance.proposals(ProposalState.Active, 20, 0),
            "decided by the stored columns: paged in SQL",
        ),
        (
            "proposals Canceled (a third)",
            lambda: governance.proposals(ProposalState.Canceled, 20, 0),
            "paged in SQL",
        ),
        (
            "proposals Defeated (two thirds)",
            lambda: governance.proposals(ProposalState.Defeated, 20, 0),
            "derives every ended one (needs the quorum)",
        ),
        ("  before: a quorum lookup per proposal", quorum_one_by_one, ""),
        (f"votes of a proposal, first page (of {many:,})", lambda: governance.votes(1, 20, 0), ""),
        (
            "  before 0012: no index in chain order",
            lambda: sql(
                "SELECT * FROM gov_votes IGNORE INDEX (idx_gov_votes_proposal_position)"
                " WHERE proposal_id = 1 ORDER BY block_number, log_index LIMIT 20"
            ),
            "sorts every vote of the proposal",
        ),
        (f"votes at offset {deep_votes:,}", lambda: governance.votes(1, 20, deep_votes), ""),
        (
            f"votes at {deep_votes:,} by cursor",
            lambda: governance.votes(1, 20, 0, votes_cursor),
            "the same page as by offset",
        ),
        (
            f"active stakes at offset {deep_votes:,}",
            lambda: staking.active_stakes(None, 20, deep_votes),
            "",
        ),
        (
            f"active stakes at {deep_votes:,} by cursor",
            lambda: staking.active_stakes(None, 20, 0, stakes_cursor),
            "the same page as by offset",
        ),
    ]
    try:
        for name, call, note in cases:
            p50, worst = await timed(call, repeat if "before" not in name else min(repeat, 5))
            out.append((name, p50, worst, note))
            print(f"  {name}: {p50:.2f} ms", flush=True)
    finally:
        await engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--transfers", type=positive, default=1_000_000)
    parser.add_argument("--holders", type=positive, default=100_000)
    parser.add_argument("--repeat", type=positive, default=20, help="timed runs per read")
    add_buffer_pool_option(parser)
    args = parser.parse_args()
    exit_cleanly_on_sigterm()
    url, name = fresh_database()
    try:
        with buffer_pool(args.buffer_pool_mb):
            migrate(url, "0010")
            print(f"filling {args.transfers:,} transfers, {args.holders:,} holders", flush=True)
            fill_s = fill(name, args.transfers, args.holders)
            started = time.perf_counter()
            migrate(url)
            migrate_s = time.perf_counter() - started
            rows = asyncio.run(measure(url, args.transfers, args.holders, args.repeat))
    finally:
        drop_database(name)
    print(f"\n{args.transfers:,} transfers, {args.holders:,} holders (filled in {fill_s:.1f} s);")
    print(
        f"migrations 0011-0015 (counting them, indexing votes, ranking delegates):"
        f" {migrate_s:.1f} s\n"
    )
    width = max(len(r[0]) for r in rows) + 2
    print(f"{'read (uncached, one connection)':<{width}} {'p50 ms':>8} {'max ms':>8}")
    for read, p50, worst, note in rows:
        print(f"{read:<{width}} {p50:>8.2f} {worst:>8.2f}  {note}")


if __name__ == "__main__":
    main()
