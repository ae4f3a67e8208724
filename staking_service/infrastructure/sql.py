"""Stakes in SQL (SQLAlchemy 2 Core)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from common.db import insert_rows, sums
from common.offsets import upsert
from common.read_replica import Reads
from common.sqltypes import Amount
from common.validation import (
    BadCursor,
    InvalidInput,
    OutOfRange,
    Page,
    cursor_fields,
    is_bigint,
    make_cursor,
    tx_hash,
)
from staking_service.domain.staking import ACTIVE, RewardClaim, Stake, claimed_through

metadata = sa.MetaData()
MAX_STAKE_ID = 2**63 - 1  # stakes.id is a signed BIGINT (the contract counts from 1)

stakes_t = sa.Table(
    "stakes",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("user", sa.String(42)),
    sa.Column("amount", Amount),
    sa.Column("start_time", sa.BigInteger),
    sa.Column("end_time", sa.BigInteger),
    sa.Column("block_number", sa.BigInteger),
    sa.Column("unstaked_block", sa.BigInteger),
    sa.Column("status", sa.String(20)),
    sa.Column("tx_hash", sa.String(66)),
)
claims_t = sa.Table(
    "reward_claims",
    metadata,
    sa.Column("id", sa.String(80), primary_key=True),
    sa.Column("user", sa.String(42)),
    sa.Column("amount", Amount),
    sa.Column("block_number", sa.BigInteger),
    sa.Column("timestamp", sa.BigInteger),
)
user_totals_t = sa.Table(
    "staking_user_totals",
    metadata,
    sa.Column("user", sa.String(42), primary_key=True),
    sa.Column("staked", Amount),
    sa.Column("claimed", Amount),
    sa.Column("active_stakes", sa.Integer),
    sa.Column("last_claim_time", sa.BigInteger),  # of the user's latest claim (0: none)
)
stats_t = sa.Table(
    "staking_stats",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("total_staked", Amount),
    sa.Column("active_stakes", sa.Integer),
    sa.Column("last_block", sa.BigInteger),
    sa.Column("last_timestamp", sa.BigInteger),
)


def _stake(r: Any) -> Stake:
    """A row of :func:`_select_stakes`: the stake's claim time follows from its user's latest."""
    active = r.status == ACTIVE
    return Stake(
        r.id,
        r.user,
        r.amount,
        r.start_time,
        claimed_through(r.start_time, r.end_time, active, r.user_last_claim or 0),
        r.block_number,
        r.tx_hash,
        r.status,
        r.end_time,
        r.unstaked_block,
    )


def _select_stakes(*where: Any) -> sa.Select[Any]:
    """Stakes with their user's latest claim time (what their own claim time follows from)."""
    return (
        sa.select(stakes_t, user_totals_t.c.last_claim_time.label("user_last_claim"))
        .select_from(stakes_t.outerjoin(user_totals_t, user_totals_t.c.user == stakes_t.c.user))
        .where(*where)
    )


def _row(s: Stake) -> dict[str, Any]:
    return {
        "id": s.id,
        "user": s.user,
        "amount": s.amount,
        "start_time": s.start_time,
        "end_time": s.end_time,
        "block_number": s.block_number,
        "unstaked_block": s.unstaked_block,
        "status": s.status,
        "tx_hash": s.tx_hash,
    }


@dataclass
class StakingStats:
    total_staked: int = 0
    active_stakes: int = 0
    last_block: int = 0
    last_timestamp: int = 0


async def _stats(conn: AsyncConnection) -> StakingStats:
    row = (await conn.execute(sa.select(stats_t).where(stats_t.c.id == 1))).first()
    if row is None:
        return StakingStats()
    return StakingStats(row.total_staked, row.active_stakes, row.last_block, row.last_timestamp)


@dataclass
class _Delta:
    """What a user's events in this transaction changed, until their totals are refreshed."""

    staked: int = 0
    active_stakes: int = 0
    claimed: int = 0
    last_claim_time: int = 0


class SqlStakingRepository:
    """The stakes of one transaction, written behind: stakes saved and claims added are kept
    here and written in a few multi-row statements by :meth:`flush`, which runs before anything
    reads the tables as a whole (totals, reverts) and at the end of the batch. A user's totals
    move by what the transaction changed (:class:`_Delta`); users a revert touched, and new
    ones, are counted from their rows. Nothing here grows with a user's history: per-event
    statements, then rescanning users' stakes and claims per batch, then a row per stake and
    claim made the staking consumer the slowest stage in turn."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self._stakes: dict[int, Stake] = {}  # saved in this transaction, not yet written
        self._read: dict[int, Stake] = {}  # read from the table in this transaction
        self._claims: list[RewardClaim] = []
        self._delta: dict[str, _Delta] = {}  # by user, lower case
        self._recount: set[str] = set()  # users (lower case) to count from their rows

    async def stakes(self, ids: Sequence[int]) -> dict[int, Stake]:
        out = {}
        missing = []
        for i in ids:
            found = self._stakes.get(i) or self._read.get(i)
            if found is None:
                missing.append(i)
            else:
                out[i] = found
        if missing:
            rows = await self.conn.execute(_select_stakes(stakes_t.c.id.in_(missing)))
            read = {r.id: _stake(r) for r in rows}
            self._read.update(read)
            out.update(read)
        return out

    def _delta_of(self, user: str) -> _Delta:
        key = user.lower()  # MySQL compares these columns case-insensitively
        d = self._delta.get(key)
        if d is None:
            d = self._delta[key] = _Delta()
        return d

    async def add_stake(self, s: Stake) -> None:
        self._stakes[s.id] = s
        d = self._delta_of(s.user)
        d.staked += s.amount
        d.active_stakes += 1

    async def end_stake(self, s: Stake) -> None:
        """``s`` was active and is now unstaked."""
        self._stakes[s.id] = s
        d = self._delta_of(s.user)
        d.staked -= s.amount
        d.active_stakes -= 1

    async def add_claim(self, c: RewardClaim) -> None:
        self._claims.append(c)
        d = self._delta_of(c.user)
        d.claimed += c.amount
        d.last_claim_time = max(d.last_claim_time, c.timestamp)

    async def flush(self) -> None:
        """Write what this transaction saved: stakes (one multi-row upsert) and claims."""
        stakes = [_row(s) for _, s in sorted(self._stakes.items())]
        if stakes:
            cols = [c for c in stakes[0] if c != "id"]
            await insert_rows(self.conn, stakes_t, stakes, update=cols)
        claims = [
            {
                "id": c.id,
                "user": c.user,
                "amount": c.amount,
                "block_number": c.block_number,
                "timestamp": c.timestamp,
            }
            for c in self._claims
        ]
        await insert_rows(self.conn, claims_t, claims)
        self._stakes.clear()
        self._claims.clear()

    async def refresh_totals(self, users: set[str], last_block: int, last_ts: int) -> None:
        """Move the touched users' totals by what changed (count them from their rows after a
        revert or when new), and the global ones by the difference (exact integers in Python;
        SQLite cannot SUM the padded columns)."""
        await self.flush()
        stats = await _stats(self.conn)
        await self._refresh_users(sorted(users), stats)
        if last_block >= 0:
            stats.last_block = last_block
        if last_ts >= 0:
            stats.last_timestamp = last_ts
        await self.conn.execute(
            upsert(
                self.conn.dialect.name,
                stats_t,
                {
                    "id": 1,
                    "total_staked": stats.total_staked,
                    "active_stakes": stats.active_stakes,
                    "last_block": stats.last_block,
                    "last_timestamp": stats.last_timestamp,
                },
                ("total_staked", "active_stakes", "last_block", "last_timestamp"),
            )
        )

    async def _refresh_users(self, users: list[str], stats: StakingStats) -> None:
        if not users:
            return
        c = self.conn
        old = {
            r.user.lower(): r
            for r in await c.execute(
                sa.select(user_totals_t).where(user_totals_t.c.user.in_(users))
            )
        }
        counted = await self._count(
            [u for u in users if u.lower() in self._recount or u.lower() not in old]
        )
        rows = []
        for user in users:
            key = user.lower()
            before = old.get(key)
            d = self._delta.pop(key, None) or _Delta()
            self._recount.discard(key)
            if key in counted:
                now = counted[key]
            elif before is not None:
                now = _Delta(
                    before.staked + d.staked,
                    before.active_stakes + d.active_stakes,
                    before.claimed + d.claimed,
                    max(before.last_claim_time, d.last_claim_time),
                )
            else:
                now = _Delta()
            stats.total_staked += now.staked - (before.staked if before else 0)
            stats.active_stakes += now.active_stakes - (before.active_stakes if before else 0)
            rows.append(
                {
                    "user": user,
                    "staked": now.staked,
                    "claimed": now.claimed,
                    "active_stakes": now.active_stakes,
                    "last_claim_time": now.last_claim_time,
                }
            )
        await insert_rows(
            c,
            user_totals_t,
            rows,
            update=("staked", "claimed", "active_stakes", "last_claim_time"),
        )

    async def _count(self, users: list[str]) -> dict[str, _Delta]:
        """The users' totals from their stake and claim rows (keys lower case)."""
        out = {u.lower(): _Delta() for u in users}
        if not users:
            return out
        for user, amount in await self.conn.execute(
            sa.select(stakes_t.c.user, stakes_t.c.amount).where(
                stakes_t.c.user.in_(users), stakes_t.c.status == ACTIVE
            )
        ):
            d = out[user.lower()]
            d.staked += amount
            d.active_stakes += 1
        for user, amount, at in await self.conn.execute(
            sa.select(claims_t.c.user, claims_t.c.amount, claims_t.c.timestamp).where(
                claims_t.c.user.in_(users)
            )
        ):
            d = out[user.lower()]
            d.claimed += amount
            d.last_claim_time = max(d.last_claim_time, at)
        return out

    async def revert_above(self, block: int) -> set[str]:
        await self.flush()
        self._read.clear()  # the rows change below
        c = self.conn
        # changes not yet in the totals: those users are counted from their rows instead
        self._recount |= set(self._delta)
        self._delta.clear()
        users: set[str] = set()
        # claims above the block go: the users' latest claim times are counted again
        users |= {
            u
            for (u,) in await c.execute(
                sa.select(claims_t.c.user).where(claims_t.c.block_number > block)
            )
        }
        await c.execute(sa.delete(claims_t).where(claims_t.c.block_number > block))
        # unstakes above the block become active again
        users |= {
            u
            for (u,) in await c.execute(
                sa.select(stakes_t.c.user).where(stakes_t.c.unstaked_block > block)
            )
        }
        await c.execute(
            sa.update(stakes_t)
            .where(stakes_t.c.unstaked_block > block)
            .values(status=ACTIVE, end_time=0, unstaked_block=0)
        )
        # stakes made above the block disappear
        users |= {
            u
            for (u,) in await c.execute(
                sa.select(stakes_t.c.user).where(stakes_t.c.block_number > block)
            )
        }
        await c.execute(sa.delete(stakes_t).where(stakes_t.c.block_number > block))
        self._recount |= {u.lower() for u in users}
        return users


class StakingViews:
    def __init__(self, engine: Reads) -> None:
        self.engine = engine

    async def stats(self) -> StakingStats:
        async with self.engine.connect() as conn:
            return await _stats(conn)

    async def totals_at(self, block: int) -> tuple[int, int]:
        """(total staked, active stakes) at the end of ``block``: now, less the stakes made
        above it and still active, plus those made at or below it and unstaked above it (by
        the block and unstake-block indexes), in one read. OutOfRange above the indexed
        head."""
        s = stakes_t
        (head, _), (now, _), (active, _), (new, made), (ended, unstaked) = await sums(
            self.engine,
            [
                (stats_t.c.last_block, stats_t.c.id == 1),
                (stats_t.c.total_staked, stats_t.c.id == 1),
                (stats_t.c.active_stakes, stats_t.c.id == 1),
                (s.c.amount, sa.and_(s.c.block_number > block, s.c.unstaked_block == 0)),
                (s.c.amount, sa.and_(s.c.unstaked_block > block, s.c.block_number <= block)),
            ],
        )
        if block > head:
            raise OutOfRange(f"block {block} is above the indexed head {head}")
        return now - new + ended, active - made + unstaked

    async def user_totals_at(self, user: str, block: int) -> tuple[int, int, int]:
        """(staked, claimed, active stakes) of ``user`` at the end of ``block``, as
        :meth:`totals_at` (its claims above the block taken off the claimed total), in one
        read. OutOfRange above the indexed head."""
        s, c, u = stakes_t, claims_t, user_totals_t
        (
            (head, _),
            (now, _),
            (claimed, _),
            (active, _),
            (new, made),
            (ended, unstaked),
            (
                later,
                _,
            ),
        ) = await sums(
            self.engine,
            [
                (stats_t.c.last_block, stats_t.c.id == 1),
                (u.c.staked, u.c.user == user),
                (u.c.claimed, u.c.user == user),
                (u.c.active_stakes, u.c.user == user),
                (
                    s.c.amount,
                    sa.and_(s.c.user == user, s.c.block_number > block, s.c.unstaked_block == 0),
                ),
                (
                    s.c.amount,
                    sa.and_(
                        s.c.user == user, s.c.unstaked_block > block, s.c.block_number <= block
                    ),
                ),
                (c.c.amount, sa.and_(c.c.user == user, c.c.block_number > block)),
            ],
        )
        if block > head:
            raise OutOfRange(f"block {block} is above the indexed head {head}")
        return now - new + ended, claimed - later, active - made + unstaked

    async def stake(self, stake_id: int) -> Stake | None:
        if not 0 <= stake_id <= MAX_STAKE_ID:
            return None  # no such row; SQLite cannot even bind an int above 64 bits
        async with self.engine.connect() as conn:
            row = (await conn.execute(_select_stakes(stakes_t.c.id == stake_id))).first()
        return _stake(row) if row else None

    async def active_stakes(
        self, user: str | None, limit: int, offset: int, cursor: str | None = None
    ) -> Page[Stake]:
        """Active stakes by id; ``cursor`` (a page's ``next_cursor``) continues after that
        page at the cost of a first page, where an offset costs the entries it skips."""
        where = [stakes_t.c.status == ACTIVE]
        if user:
            where.append(stakes_t.c.user == user)
        if cursor:
            (after,) = cursor_fields(cursor, 1)
            if not is_bigint(after):
                raise BadCursor(cursor)
            where.append(stakes_t.c.id > int(after))
            offset = 0
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                _select_stakes(*where).order_by(stakes_t.c.id).limit(limit + 1).offset(offset)
            )
            page = [_stake(r) for r in rows]
            # the count the ledger keeps with the rows (``nova verify staking`` checks both),
            # not a COUNT(*) of every active stake per page
            if user:
                row = (
                    await conn.execute(
                        sa.select(user_totals_t.c.active_stakes).where(user_totals_t.c.user == user)
                    )
                ).first()
                total = int(row[0]) if row else 0
            else:
                total = (await _stats(conn)).active_stakes
        nxt = make_cursor(page[limit - 1].id) if len(page) > limit else ""
        return Page(page[:limit], total, nxt)

    async def all_active(self) -> list[Stake]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(_select_stakes(stakes_t.c.status == ACTIVE))
            return [_stake(r) for r in rows]

    async def totals_and_claims(
        self,
    ) -> tuple[dict[str, tuple[int, int, int, int]], dict[str, tuple[int, int]]]:
        """Every user's stored (staked, claimed, active stakes, latest claim time), and the
        sum and latest time of each user's claim rows (keys lower case), for the consistency
        check of ``nova verify staking``."""
        async with self.engine.connect() as conn:
            totals = {
                r.user.lower(): (r.staked, r.claimed, r.active_stakes, r.last_claim_time)
                for r in await conn.execute(sa.select(user_totals_t))
            }
            claimed: dict[str, tuple[int, int]] = {}
            for user, amount, at in await conn.execute(
                sa.select(claims_t.c.user, claims_t.c.amount, claims_t.c.timestamp)
            ):
                total, latest = claimed.get(user.lower(), (0, 0))
                claimed[user.lower()] = (total + amount, max(latest, at))
        return totals, claimed

    async def claims(
        self, user: str, limit: int, offset: int, cursor: str | None = None
    ) -> Page[RewardClaim]:
        """A user's claims, newest first (then by id, descending); ``cursor`` as for
        :meth:`active_stakes`."""
        c = claims_t.c
        where = [c.user == user]
        if cursor:
            block, tx, index = cursor_fields(cursor, 3)  # the id is "<tx hash>:<log index>"
            if not (is_bigint(block) and is_bigint(index)):
                raise BadCursor(cursor)
            try:
                claim_id = f"{tx_hash(tx)}:{int(index)}"
            except InvalidInput as exc:
                raise BadCursor(cursor) from exc
            where.append(
                sa.or_(
                    c.block_number < int(block),
                    sa.and_(c.block_number == int(block), c.id < claim_id),
                )
            )
            offset = 0
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(claims_t)
                .where(*where)
                .order_by(c.block_number.desc(), c.id.desc())
                .limit(limit + 1)
                .offset(offset)
            )
            page = [RewardClaim(r.id, r.user, r.amount, r.block_number, r.timestamp) for r in rows]
            total = (
                await conn.execute(
                    sa.select(sa.func.count()).select_from(claims_t).where(c.user == user)
                )
            ).scalar_one()
        nxt = ""
        if len(page) > limit:
            last = page[limit - 1]
            nxt = make_cursor(last.block_number, last.id)
        return Page(page[:limit], int(total), nxt)

    async def user_totals(self, user: str) -> tuple[int, int, int]:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(sa.select(user_totals_t).where(user_totals_t.c.user == user))
            ).first()
        return (row.staked, row.claimed, row.active_stakes) if row else (0, 0, 0)
