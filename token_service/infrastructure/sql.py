"""The token ledger in SQL (SQLAlchemy 2 Core; MySQL/MariaDB or SQLite)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from common.db import insert_rows, sums
from common.offsets import upsert
from common.read_replica import Reads
from common.sqltypes import Amount, Uint256
from common.validation import (
    BadCursor,
    OutOfRange,
    Page,
    address_cursor,
    cursor_fields,
    is_bigint,
    make_cursor,
    ranked_cursor,
)
from token_service.domain.ledger import (
    ZERO_ADDRESS,
    Approval,
    IndexedAllowance,
    Stats,
    SupplyEvent,
    Transfer,
    allowance_is_exact,
)

metadata = sa.MetaData()
balances_t = sa.Table(
    "token_balances",
    metadata,
    sa.Column("address", sa.String(42), primary_key=True),
    sa.Column("balance", Amount),
    sa.Column("block_number", sa.BigInteger),
)
# keyed by chain position: only canonical rows are stored (migration 0009)
transfers_t = sa.Table(
    "transfers",
    metadata,
    sa.Column("tx_hash", sa.String(66)),
    sa.Column("log_index", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("block_hash", sa.String(66)),
    sa.Column("block_number", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("tx_index", sa.Integer),
    sa.Column("from_address", sa.String(42)),
    sa.Column("to_address", sa.String(42)),
    sa.Column("value", Amount),
    sa.Column("timestamp", sa.BigInteger),
)
approvals_t = sa.Table(
    "approvals",
    metadata,
    sa.Column("tx_hash", sa.String(66)),
    sa.Column("log_index", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("block_number", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("owner", sa.String(42)),
    sa.Column("spender", sa.String(42)),
    sa.Column("value", Uint256),
    sa.Column("timestamp", sa.BigInteger),
)
supply_events_t = sa.Table(
    "token_supply_events",
    metadata,
    sa.Column("tx_hash", sa.String(66)),
    sa.Column("log_index", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("kind", sa.String(8)),
    sa.Column("account", sa.String(42)),
    sa.Column("amount", Amount),
    sa.Column("block_number", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("timestamp", sa.BigInteger),
)
stats_t = sa.Table(
    "token_stats",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("minted", Amount),
    sa.Column("burned", Amount),
    sa.Column("holders", sa.BigInteger),
    sa.Column("last_block", sa.BigInteger),
    sa.Column("transfers", sa.BigInteger),
)
# per address: transfers from it, to it, and from it to itself (migration 0011)
counts_t = sa.Table(
    "token_transfer_counts",
    metadata,
    sa.Column("address", sa.String(42), primary_key=True),
    sa.Column("sent", sa.BigInteger),
    sa.Column("received", sa.BigInteger),
    sa.Column("self_sent", sa.BigInteger),
)


_sender, _receiver = attrgetter("from_address"), attrgetter("to_address")


def _per_address(moved: Iterable[tuple[str, str, int]]) -> dict[str, list[int]]:
    """(sent, received, sent to itself) per address, of ``n`` transfers per (from, to, n)."""
    counts: dict[str, list[int]] = {}
    for sender, to, n in moved:
        counts.setdefault(sender, [0, 0, 0])[0] += n
        counts.setdefault(to, [0, 0, 0])[1] += n
        if sender == to:
            counts[sender][2] += n
    return counts


def _transfer(r: Any) -> Transfer:
    return Transfer(
        r.tx_hash,
        r.log_index,
        r.block_hash,
        r.block_number,
        r.tx_index,
        r.from_address,
        r.to_address,
        r.value,
        r.timestamp,
    )


class SqlTokenRepository:
    """The token aggregate in one transaction (``conn`` is inside ``engine.begin()``)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def balances(self, addresses: Sequence[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        for i in range(0, len(addresses), 500):
            rows = await self.conn.execute(
                sa.select(balances_t.c.address, balances_t.c.balance).where(
                    balances_t.c.address.in_(addresses[i : i + 500])
                )
            )
            out.update({a: b for a, b in rows})
        return out

    async def save_balances(self, balances: dict[str, int], block: int) -> None:
        rows = [
            {"address": address, "balance": balance, "block_number": block}
            for address, balance in sorted(balances.items())  # one lock order for all writers
        ]
        # multi-row statements, not one per row
        await insert_rows(self.conn, balances_t, rows, update=("balance", "block_number"))

    async def add(
        self,
        transfers: Sequence[Transfer],
        approvals: Sequence[Approval],
        supply_events: Sequence[SupplyEvent],
    ) -> None:
        if transfers:
            await insert_rows(
                self.conn,
                transfers_t,
                [
                    {
                        "tx_hash": t.tx_hash,
                        "log_index": t.log_index,
                        "block_hash": t.block_hash,
                        "block_number": t.block_number,
                        "tx_index": t.tx_index,
                        "from_address": t.from_address,
                        "to_address": t.to_address,
                        "value": t.value,
                        "timestamp": t.timestamp,
                    }
                    for t in transfers
                ],
            )
            # by (from, to) pair first, iterating in C: a pair repeats often in a batch
            pairs = Counter(zip(map(_sender, transfers), map(_receiver, transfers), strict=True))
            await self._count((sender, to, n) for (sender, to), n in pairs.items())
        if approvals:
            await insert_rows(
                self.conn,
                approvals_t,
                [
                    {
                        "tx_hash": a.tx_hash,
                        "log_index": a.log_index,
                        "block_number": a.block_number,
                        "owner": a.owner,
                        "spender": a.spender,
                        "value": a.value,
                        "timestamp": a.timestamp,
                    }
                    for a in approvals
                ],
            )
        if supply_events:
            await insert_rows(
                self.conn,
                supply_events_t,
                [
                    {
                        "tx_hash": s.tx_hash,
                        "log_index": s.log_index,
                        "kind": s.kind,
                        "account": s.account,
                        "amount": s.amount,
                        "block_number": s.block_number,
                        "timestamp": s.timestamp,
                    }
                    for s in supply_events
                ],
            )

    async def stats(self) -> Stats:
        row = (await self.conn.execute(sa.select(stats_t).where(stats_t.c.id == 1))).first()
        if row is None:
            return Stats()
        return Stats(row.minted, row.burned, row.holders, row.last_block, row.transfers)

    async def save_stats(self, stats: Stats) -> None:
        await self.conn.execute(
            upsert(
                self.conn.dialect.name,
                stats_t,
                {
                    "id": 1,
                    "minted": stats.minted,
                    "burned": stats.burned,
                    "holders": stats.holders,
                    "last_block": stats.last_block,
                    "transfers": stats.transfers,
                },
                ("minted", "burned", "holders", "last_block", "transfers"),
            )
        )

    async def transfers_above(self, block: int) -> list[Transfer]:
        rows = await self.conn.execute(
            sa.select(transfers_t).where(transfers_t.c.block_number > block)
        )
        return [_transfer(r) for r in rows]

    async def delete_above(self, block: int) -> None:
        t = transfers_t
        moved = await self.conn.execute(
            sa.select(t.c.from_address, t.c.to_address, sa.func.count())
            .where(t.c.block_number > block)
            .group_by(t.c.from_address, t.c.to_address)
        )
        await self._count((sender, to, -n) for sender, to, n in moved)
        for t in (transfers_t, approvals_t, supply_events_t):
            await self.conn.execute(sa.delete(t).where(t.c.block_number > block))

    async def _count(self, moved: Iterable[tuple[str, str, int]]) -> None:
        """Add ``n`` transfers (from, to, n) to the per-address counts (n < 0 takes away)."""
        counts = _per_address(moved)
        await insert_rows(
            self.conn,
            counts_t,
            [
                {"address": a, "sent": c[0], "received": c[1], "self_sent": c[2]}
                for a, c in sorted(counts.items())  # one lock order for all writers
            ],
            increment=("sent", "received", "self_sent"),
        )


# --------------------------------------------------------------------------- read views


@dataclass(frozen=True)
class TransferPage:
    transfers: list[Transfer]
    total: int
    next_cursor: str
    total_capped: bool = False  # more than COUNT_CAP match: total is COUNT_CAP


# a block range's matches are counted in its rows: a bound on what one page costs (10,000
# index entries: ~15 ms on MariaDB)
COUNT_CAP = 10_000


async def _counted(conn: AsyncConnection, address: str | None, direction: str) -> int:
    """How many transfers there are (of ``address``, in ``direction``), from the counts the
    consumer keeps with the rows (migration 0011)."""
    if address is None:
        return (await SqlTokenRepository(conn).stats()).transfers
    c = counts_t
    row = (
        await conn.execute(
            sa.select(c.c.sent, c.c.received, c.c.self_sent).where(c.c.address == address)
        )
    ).first()
    if row is None:
        return 0
    sent, received, self_sent = (int(v) for v in row)
    if direction == "in":
        return received
    if direction == "out":
        return sent
    return sent + received - self_sent


def encode_cursor(block: int, log_index: int, tx_hash: str) -> str:
    return make_cursor(block, log_index, tx_hash)


def decode_cursor(cursor: str) -> tuple[int, int, str]:
    block, log_index, tx_hash = cursor_fields(cursor, 3)
    if not (is_bigint(block) and is_bigint(log_index)):
        raise BadCursor(cursor)
    return int(block), int(log_index), tx_hash


@dataclass(frozen=True)
class HoldersPage:
    holders: list[tuple[str, int]]  # (address, balance)
    total: int
    next_cursor: str
    block_number: int  # the indexed head the page is read at


def _newer_approval(a: Any, upto: int | None = None) -> Any:
    """Whether the pair of approval row ``a`` has an Approval after it (at or below ``upto``)."""
    later = approvals_t.alias("later").c
    cond = [
        later.owner == a.owner,
        later.spender == a.spender,
        sa.or_(
            later.block_number > a.block_number,
            sa.and_(later.block_number == a.block_number, later.log_index > a.log_index),
        ),
    ]
    if upto is not None:
        cond.append(later.block_number <= upto)
    return sa.exists().where(*cond)


async def _last_sent(conn: AsyncConnection, owner: str, upto: int | None = None) -> tuple[int, int]:
    """The position of ``owner``'s last Transfer of more than 0 (at or below ``upto``), (-1, -1)
    without one: an allowance is spent without an event only beside such a Transfer. Read off
    the end of the sender index (a correlated "any Transfer after the Approval" read every
    entry of the owner's instead: 9 ms for an owner of 40,000 transfers, ~0.3 ms so)."""
    t = transfers_t.c
    q = sa.select(t.block_number, t.log_index).where(t.from_address == owner, t.value > 0)
    if upto is not None:
        q = q.where(t.block_number <= upto)
    row = (
        await conn.execute(q.order_by(t.block_number.desc(), t.log_index.desc()).limit(1))
    ).first()
    return (int(row[0]), int(row[1])) if row else (-1, -1)


def _indexed(
    value: Any, block: Any, log_index: Any, last_sent: tuple[int, int], head: int
) -> IndexedAllowance:
    """An Approval row (value, position) as the index answers it at ``head``, given the
    owner's last send there."""
    spent = last_sent > (int(block), int(log_index))
    return IndexedAllowance(int(value), head, int(block), allowance_is_exact(int(value), spent))


async def _head(conn: AsyncConnection) -> int:
    head = await conn.execute(sa.select(stats_t.c.last_block).where(stats_t.c.id == 1))
    return int(head.scalar_one_or_none() or 0)


class TokenViews:
    """Reads that need no rules: straight to SQL."""

    def __init__(self, engine: Reads) -> None:
        self.engine = engine

    async def balance(self, address: str) -> int:
        async with self.engine.connect() as conn:
            value = (
                await conn.execute(
                    sa.select(balances_t.c.balance).where(balances_t.c.address == address)
                )
            ).scalar_one_or_none()
        return int(value or 0)

    async def stats(self) -> Stats:
        async with self.engine.connect() as conn:
            return await SqlTokenRepository(conn).stats()

    async def balance_at(self, address: str, block: int) -> int:
        """``address``'s balance at the end of ``block``: its balance now minus what its
        transfers above the block moved (each by its address index). OutOfRange above the
        indexed head."""
        t, b = transfers_t, balances_t
        now = (b.c.balance, b.c.address == address)
        if address == ZERO_ADDRESS:  # mints and burns move no balance of its own
            return (await self._at(block, now))[1]
        _, now_, sent, received = await self._at(
            block,
            now,
            (t.c.value, sa.and_(t.c.from_address == address, t.c.block_number > block)),
            (t.c.value, sa.and_(t.c.to_address == address, t.c.block_number > block)),
        )
        return now_ + sent - received

    async def supply_at(self, block: int) -> int:
        """The total supply at the end of ``block``: now minus the mints and plus the burns
        above it. OutOfRange above the indexed head."""
        t = transfers_t
        _, minted, burned, new, gone = await self._at(
            block,
            (stats_t.c.minted, stats_t.c.id == 1),
            (stats_t.c.burned, stats_t.c.id == 1),
            (t.c.value, sa.and_(t.c.from_address == ZERO_ADDRESS, t.c.block_number > block)),
            (t.c.value, sa.and_(t.c.to_address == ZERO_ADDRESS, t.c.block_number > block)),
        )
        return (minted - new) - (burned - gone)

    async def _at(self, block: int, *parts: tuple[Any, Any]) -> list[int]:
        """The indexed head, then the sum of each (amount column, condition) of ``parts``, in
        one read (:func:`common.db.sums`). OutOfRange when ``block`` is above the head."""
        head = (stats_t.c.last_block, stats_t.c.id == 1)
        totals = [total for total, _ in await sums(self.engine, [head, *parts])]
        if block > totals[0]:
            raise OutOfRange(f"block {block} is above the indexed head {totals[0]}")
        return totals

    async def allowance(self, owner: str, spender: str) -> IndexedAllowance:
        """The pair's last Approval at the indexed head, and whether it is still the
        contract's ``allowance()`` there (:func:`allowance_is_exact`), in one snapshot."""
        a = approvals_t.c
        async with self.engine.connect() as conn:
            head = await _head(conn)
            row = (
                await conn.execute(
                    sa.select(a.value, a.block_number, a.log_index)
                    .where(a.owner == owner, a.spender == spender)
                    .order_by(a.block_number.desc(), a.log_index.desc())
                    .limit(1)
                )
            ).first()
            if row is None:
                return IndexedAllowance(0, head, 0, exact=True)
            return _indexed(*row, await _last_sent(conn, owner), head)

    async def allowances_of(
        self, owner: str, limit: int, offset: int, cursor: str | None = None
    ) -> tuple[Page[tuple[str, IndexedAllowance]], int]:
        """Every spender whose last Approval from ``owner`` is above 0, by address, with it
        as :meth:`allowance` answers it, and the indexed head it is read at; ``cursor``
        continues after a page at the cost of a first page (the pair index holds the
        spender), where an offset costs the entries it skips."""
        a = approvals_t.c
        mine = [a.owner == owner, a.value != 0, ~_newer_approval(a)]
        q = sa.select(a.spender, a.value, a.block_number, a.log_index).where(*mine)
        if cursor:
            q = q.where(a.spender > address_cursor(cursor))
            offset = 0
        async with self.engine.connect() as conn:
            rows = (await conn.execute(q.order_by(a.spender).limit(limit + 1).offset(offset))).all()
            total = (await conn.execute(sa.select(sa.func.count()).where(*mine))).scalar_one()
            head = await _head(conn)
            sent = await _last_sent(conn, owner)
        items = [(spender, _indexed(v, at, li, sent, head)) for spender, v, at, li in rows]
        nxt = make_cursor(items[limit - 1][0]) if len(items) > limit else ""
        return Page(items[:limit], int(total), nxt), head

    async def allowances_at(self, block: int) -> list[tuple[str, str, IndexedAllowance]]:
        """Every pair's last Approval at or below ``block`` as :meth:`allowance` answers it
        there (what ``nova verify token`` checks against ``allowance()``)."""
        a = approvals_t.c
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(a.owner, a.spender, a.value, a.block_number, a.log_index).where(
                        a.block_number <= block, ~_newer_approval(a, upto=block)
                    )
                )
            ).all()
            sent = {o: await _last_sent(conn, o, upto=block) for o in sorted({r[0] for r in rows})}
        return [
            (owner, spender, _indexed(v, at, li, sent[owner], block))
            for owner, spender, v, at, li in rows
        ]

    async def holders(self, limit: int, offset: int, cursor: str | None = None) -> HoldersPage:
        """Holders by balance, then address, both descending; ``cursor`` (a page's
        ``next_cursor``) continues after that page at the cost of a first page, where an
        offset costs the index entries it skips."""
        b = balances_t.c
        q = sa.select(b.address, b.balance).where(b.balance > 0, b.address != ZERO_ADDRESS)
        if cursor:
            balance, address = ranked_cursor(cursor)
            q = q.where(
                sa.or_(b.balance < balance, sa.and_(b.balance == balance, b.address < address))
            )
            offset = 0
        async with self.engine.connect() as conn:
            # ties by address, descending as the balance: the balance index holds the key too,
            # so MariaDB reads the page off it (mixed directions sorted every holder: 86 ms
            # a page at 100,000 holders, 0.4 ms so)
            rows = await conn.execute(
                q.order_by(b.balance.desc(), b.address.desc()).limit(limit + 1).offset(offset)
            )
            page = [(a, int(v)) for a, v in rows]
            stats = await SqlTokenRepository(conn).stats()
        nxt = ""
        if len(page) > limit:
            address, balance = page[limit - 1]
            nxt = make_cursor(balance, address)
        return HoldersPage(page[:limit], stats.holders, nxt, stats.last_block)

    async def transfers(
        self,
        address: str | None,
        direction: str,
        from_block: int,
        to_block: int | None,
        limit: int,
        offset: int,
        cursor: str | None,
        oldest_first: bool = False,
    ) -> TransferPage:
        t = transfers_t
        where: list[Any] = [t.c.block_number >= from_block]
        if to_block is not None:
            where.append(t.c.block_number <= to_block)
        if address:
            if direction == "in":
                where.append(t.c.to_address == address)
            elif direction == "out":
                where.append(t.c.from_address == address)
            else:
                where.append(sa.or_(t.c.to_address == address, t.c.from_address == address))
        q = sa.select(t).where(*where)
        # by chain position, the table's key: unique, so no tie-break (a tx_hash tie-break
        # made MariaDB sort the address's whole history for every page)
        if cursor:
            block, log_index, _ = decode_cursor(cursor)  # the hash is kept for old cursors
            if oldest_first:
                after = sa.or_(
                    t.c.block_number > block,
                    sa.and_(t.c.block_number == block, t.c.log_index > log_index),
                )
            else:
                after = sa.or_(
                    t.c.block_number < block,
                    sa.and_(t.c.block_number == block, t.c.log_index < log_index),
                )
            q = q.where(after)
            offset = 0
        if oldest_first:
            q = q.order_by(t.c.block_number, t.c.log_index)
        else:
            q = q.order_by(t.c.block_number.desc(), t.c.log_index.desc())
        async with self.engine.connect() as conn:
            rows = [_transfer(r) for r in await conn.execute(q.limit(limit + 1).offset(offset))]
            if from_block == 0 and to_block is None:
                total, capped = await _counted(conn, address, direction), False
            else:  # a block range: counted in the rows, up to COUNT_CAP of them
                matched = sa.select(sa.literal(1)).where(*where).limit(COUNT_CAP + 1)
                total = (
                    await conn.execute(sa.select(sa.func.count()).select_from(matched.subquery()))
                ).scalar_one()
                total, capped = min(total, COUNT_CAP), total > COUNT_CAP
        page = rows[:limit]
        nxt = ""
        if len(rows) > limit and page:
            last = page[-1]
            nxt = encode_cursor(last.block_number, last.log_index, last.tx_hash)
        return TransferPage(page, int(total), nxt, capped)

    async def transfers_above(self, block: int) -> list[Transfer]:
        async with self.engine.connect() as conn:
            return await SqlTokenRepository(conn).transfers_above(block)

    async def count_drift(self) -> list[str]:
        """Where the counts kept beside the rows (the transfers, what every page's total reads,
        and the holders, the holder list's total) differ from the rows themselves, read in one
        transaction; empty when they agree."""
        t = transfers_t
        async with self.engine.connect() as conn:
            stats = await SqlTokenRepository(conn).stats()
            kept = stats.transfers
            b = balances_t.c
            holders = (
                await conn.execute(
                    sa.select(sa.func.count()).where(b.balance > 0, b.address != ZERO_ADDRESS)
                )
            ).scalar_one()
            pairs = await conn.execute(
                sa.select(t.c.from_address, t.c.to_address, sa.func.count()).group_by(
                    t.c.from_address, t.c.to_address
                )
            )
            grouped = [(sender, to, int(n)) for sender, to, n in pairs]
            rows = _per_address(grouped)
            total = sum(n for _, _, n in grouped)
            c = counts_t.c
            counts = {
                a: [int(x), int(y), int(z)]
                for a, x, y, z in await conn.execute(
                    sa.select(c.address, c.sent, c.received, c.self_sent)
                )
                if x or y or z
            }
        out = [] if kept == total else [f"transfers: {kept} counted, {total} rows"]
        if stats.holders != holders:
            out.append(f"holders: {stats.holders} counted, {holders} balances above 0")
        wrong = sorted(a for a in rows.keys() | counts.keys() if rows.get(a) != counts.get(a))
        out += [
            f"transfers of {a} (sent, received, to itself): {counts.get(a, [0, 0, 0])} counted,"
            f" {rows.get(a, [0, 0, 0])} rows"
            for a in wrong[:10]
        ]
        if len(wrong) > 10:
            out.append(f"... and {len(wrong) - 10} more addresses")
        return out

    async def all_addresses(self) -> list[str]:
        async with self.engine.connect() as conn:
            return [a for (a,) in await conn.execute(sa.select(balances_t.c.address))]

    async def balances_at(self, block: int) -> dict[str, int]:
        """Every address's indexed balance at ``block`` (current minus later transfers)."""
        from token_service.domain.ledger import balance_deltas

        async with self.engine.connect() as conn:
            current = {
                a: int(b)
                for a, b in await conn.execute(
                    sa.select(balances_t.c.address, balances_t.c.balance)
                )
            }
            later = [
                _transfer(r)
                for r in await conn.execute(
                    sa.select(transfers_t).where(transfers_t.c.block_number > block)
                )
            ]
        for address, delta in balance_deltas(later, sign=-1).items():
            current[address] = current.get(address, 0) + delta
        return current
