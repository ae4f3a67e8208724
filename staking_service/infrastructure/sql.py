"""Stakes in SQL (SQLAlchemy 2 Core)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from common.db import insert_rows
from common.offsets import upsert
from common.sqltypes import Amount
from staking_service.domain.staking import ACTIVE, RewardClaim, Stake

metadata = sa.MetaData()
stakes_t = sa.Table(
    "stakes",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("user", sa.String(42)),
    sa.Column("amount", Amount),
    sa.Column("start_time", sa.BigInteger),
    sa.Column("last_claim_time", sa.BigInteger),
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
effects_t = sa.Table(
    "claim_effects",
    metadata,
    sa.Column("claim_id", sa.String(80), primary_key=True),
    sa.Column("stake_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("block_number", sa.BigInteger),
    sa.Column("prev_last_claim_time", sa.BigInteger),
)
user_totals_t = sa.Table(
    "staking_user_totals",
    metadata,
    sa.Column("user", sa.String(42), primary_key=True),
    sa.Column("staked", Amount),
    sa.Column("claimed", Amount),
    sa.Column("active_stakes", sa.Integer),
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
    return Stake(
        r.id,
        r.user,
        r.amount,
        r.start_time,
        r.last_claim_time,
        r.block_number,
        r.tx_hash,
        r.status,
        r.end_time,
        r.unstaked_block,
    )


def _row(s: Stake) -> dict[str, Any]:
    return {
        "id": s.id,
        "user": s.user,
        "amount": s.amount,
        "start_time": s.start_time,
        "last_claim_time": s.last_claim_time,
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


class SqlStakingRepository:
    """The stakes of one transaction, written behind: stakes saved and claims added are kept
    here (reads see them) and written in a few multi-row statements by :meth:`flush`, which
    runs before anything reads the tables as a whole (totals, reverts) and at the end of the
    batch. Per-event statements made the staking consumer the slowest stage."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self._stakes: dict[int, Stake] = {}  # saved in this transaction, not yet written
        self._saved_of: dict[str, dict[int, Stake]] = {}  # the same, by user
        self._claims: list[tuple[RewardClaim, dict[int, int]]] = []
        self._active: dict[str, dict[int, Stake]] = {}  # users' active stakes read until flush
        # claimed totals move by what this transaction claimed (summing a user's whole claim
        # history on every batch grew with history); users a revert touched are recounted
        self._claimed: dict[str, int] = {}
        self._recount: set[str] = set()

    async def stakes(self, ids: Sequence[int]) -> dict[int, Stake]:
        out = {i: self._stakes[i] for i in ids if i in self._stakes}
        missing = [i for i in ids if i not in out]
        if missing:
            rows = await self.conn.execute(sa.select(stakes_t).where(stakes_t.c.id.in_(missing)))
            out.update({r.id: _stake(r) for r in rows})
        return out

    async def active_stakes_of(self, user: str) -> list[Stake]:
        if user not in self._active:  # read once per user until the next flush
            rows = await self.conn.execute(
                sa.select(stakes_t).where(stakes_t.c.user == user, stakes_t.c.status == ACTIVE)
            )
            self._active[user] = {r.id: _stake(r) for r in rows}
        # the user's saved stakes, not every saved one: a claim moves all of a user's active
        # stakes, so scanning the whole batch's per claim grew with the batch times history
        saved = self._saved_of.get(user, {})
        mine = {i: s for i, s in self._active[user].items() if i not in saved}
        mine.update({i: s for i, s in saved.items() if s.status == ACTIVE})
        return [mine[i] for i in sorted(mine)]

    async def save_stakes(self, stakes: Sequence[Stake]) -> None:
        for s in stakes:
            self._stakes[s.id] = s
            self._saved_of.setdefault(s.user, {})[s.id] = s

    async def add_claim(self, c: RewardClaim, moved: dict[int, int]) -> None:
        self._claims.append((c, dict(moved)))
        self._claimed[c.user.lower()] = self._claimed.get(c.user.lower(), 0) + c.amount

    async def flush(self) -> None:
        """Write what this transaction saved: stakes (multi-row upserts), claims, effects."""
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
            for c, _ in self._claims
        ]
        effects = [
            {
                "claim_id": c.id,
                "stake_id": sid,
                "block_number": c.block_number,
                "prev_last_claim_time": prev,
            }
            for c, moved in self._claims
            for sid, prev in moved.items()
        ]
        await insert_rows(self.conn, claims_t, claims)
        await insert_rows(self.conn, effects_t, effects)
        self._stakes.clear()
        self._saved_of.clear()
        self._claims.clear()
        self._active.clear()

    async def refresh_totals(self, users: set[str], last_block: int, last_ts: int) -> None:
        """Recompute the touched users' totals from their rows; move the global ones by the
        difference (exact integers in Python; SQLite cannot SUM the padded columns)."""
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
        """The users' totals from their rows, in three reads and one multi-row upsert
        (it was four statements per user and batch: most of the consumer's time)."""
        c = self.conn
        if not users:
            return
        # keyed by lower case: MySQL compares these columns case-insensitively
        old = {
            r.user.lower(): r
            for r in await c.execute(
                sa.select(user_totals_t).where(user_totals_t.c.user.in_(users))
            )
        }
        active: dict[str, list[Stake]] = {}
        for r in await c.execute(
            sa.select(stakes_t).where(stakes_t.c.user.in_(users), stakes_t.c.status == ACTIVE)
        ):
            active.setdefault(r.user.lower(), []).append(_stake(r))
        claimed: dict[str, int] = {}
        recount = [u for u in users if u.lower() in self._recount or u.lower() not in old]
        if recount:
            for user, amount in await c.execute(
                sa.select(claims_t.c.user, claims_t.c.amount).where(claims_t.c.user.in_(recount))
            ):
                claimed[user.lower()] = claimed.get(user.lower(), 0) + amount
        for user in users:
            key = user.lower()
            if key not in self._recount and key in old:
                claimed[key] = old[key].claimed + self._claimed.get(key, 0)
            self._claimed.pop(key, None)
            self._recount.discard(key)
        rows = []
        for user in users:
            mine = active.get(user.lower(), [])
            staked = sum(s.amount for s in mine)
            before = old.get(user.lower())
            stats.total_staked += staked - (before.staked if before else 0)
            stats.active_stakes += len(mine) - (before.active_stakes if before else 0)
            rows.append(
                {
                    "user": user,
                    "staked": staked,
                    "claimed": claimed.get(user.lower(), 0),
                    "active_stakes": len(mine),
                }
            )
        await insert_rows(c, user_totals_t, rows, update=("staked", "claimed", "active_stakes"))

    async def revert_above(self, block: int) -> set[str]:
        await self.flush()
        c = self.conn
        users: set[str] = set()
        self._recount |= set(self._claimed)  # claimed but not yet refreshed: recount them
        self._claimed.clear()
        # claims: restore every moved stake time, newest claim first
        effects = list(
            await c.execute(
                sa.select(effects_t)
                .where(effects_t.c.block_number > block)
                .order_by(effects_t.c.block_number.desc(), effects_t.c.claim_id.desc())
            )
        )
        for e in effects:
            await c.execute(
                sa.update(stakes_t)
                .where(stakes_t.c.id == e.stake_id)
                .values(last_claim_time=e.prev_last_claim_time)
            )
        users |= {
            u
            for (u,) in await c.execute(
                sa.select(claims_t.c.user).where(claims_t.c.block_number > block)
            )
        }
        await c.execute(sa.delete(effects_t).where(effects_t.c.block_number > block))
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
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def stats(self) -> StakingStats:
        async with self.engine.connect() as conn:
            return await _stats(conn)

    async def stake(self, stake_id: int) -> Stake | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(stakes_t).where(stakes_t.c.id == stake_id))).first()
        return _stake(row) if row else None

    async def active_stakes(
        self, user: str | None, limit: int, offset: int
    ) -> tuple[list[Stake], int]:
        where = [stakes_t.c.status == ACTIVE]
        if user:
            where.append(stakes_t.c.user == user)
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(stakes_t)
                .where(*where)
                .order_by(stakes_t.c.id)
                .limit(limit)
                .offset(offset)
            )
            page = [_stake(r) for r in rows]
            total = (
                await conn.execute(sa.select(sa.func.count()).select_from(stakes_t).where(*where))
            ).scalar_one()
        return page, int(total)

    async def all_active(self) -> list[Stake]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(sa.select(stakes_t).where(stakes_t.c.status == ACTIVE))
            return [_stake(r) for r in rows]

    async def totals_and_claims(self) -> tuple[dict[str, tuple[int, int, int]], dict[str, int]]:
        """Every user's stored (staked, claimed, active stakes), and the sum of each user's
        claim rows (keys lower case), for the consistency check of ``nova verify staking``."""
        async with self.engine.connect() as conn:
            totals = {
                r.user.lower(): (r.staked, r.claimed, r.active_stakes)
                for r in await conn.execute(sa.select(user_totals_t))
            }
            claimed: dict[str, int] = {}
            for user, amount in await conn.execute(sa.select(claims_t.c.user, claims_t.c.amount)):
                claimed[user.lower()] = claimed.get(user.lower(), 0) + amount
        return totals, claimed

    async def claims(self, user: str, limit: int, offset: int) -> tuple[list[RewardClaim], int]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(claims_t)
                .where(claims_t.c.user == user)
                .order_by(claims_t.c.block_number.desc(), claims_t.c.id.desc())
                .limit(limit)
                .offset(offset)
            )
            page = [RewardClaim(r.id, r.user, r.amount, r.block_number, r.timestamp) for r in rows]
            total = (
                await conn.execute(
                    sa.select(sa.func.count()).select_from(claims_t).where(claims_t.c.user == user)
                )
            ).scalar_one()
        return page, int(total)

    async def user_totals(self, user: str) -> tuple[int, int, int]:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(sa.select(user_totals_t).where(user_totals_t.c.user == user))
            ).first()
        return (row.staked, row.claimed, row.active_stakes) if row else (0, 0, 0)
