"""Staking: a stake's last claim time is derived from its user's latest claim, not stored.

A claim moves every active stake of its user to start + the whole hours since the start, so a
stake's last claim time follows from the time of its user's latest claim (or, once unstaked,
from its end: unstaking claims first). The index kept it per stake, and a row per stake and
claim (``claim_effects``) so a revert could restore it: a claim wrote as many rows as its
user had active stakes, and the staking consumer's time grew with history (1M-event backfill:
37 s of CPU, most of it claims). Now the user's totals keep the time of their latest claim
(``staking_user_totals.last_claim_time``); a revert recomputes it from the claims left.

Downgrade restores the column with the derived values, and an empty ``claim_effects``: a
revert below the downgrade would then not move stake times back (re-index from the chain).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

MYSQL = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}
HOUR = 3600


def _claimed_through(start_time: int, end_time: int, active: bool, user_last_claim: int) -> int:
    # staking_service.domain.staking.claimed_through as of this revision
    at = user_last_claim if active else end_time
    return start_time if at <= start_time else start_time + (at - start_time) // HOUR * HOUR


totals = sa.table("staking_user_totals", sa.column("user"), sa.column("last_claim_time"))
claims = sa.table("reward_claims", sa.column("user"), sa.column("timestamp"))
stakes = sa.table(
    "stakes",
    sa.column("id"),
    sa.column("user"),
    sa.column("start_time"),
    sa.column("end_time"),
    sa.column("status"),
    sa.column("last_claim_time"),
)


def upgrade() -> None:
    op.add_column(
        "staking_user_totals",
        sa.Column("last_claim_time", sa.BigInteger, nullable=False, server_default="0"),
    )
    latest = (
        sa.select(sa.func.coalesce(sa.func.max(claims.c.timestamp), 0))
        .where(claims.c.user == totals.c.user)
        .scalar_subquery()
    )
    op.execute(sa.update(totals).values(last_claim_time=latest))
    op.drop_table("claim_effects")
    with op.batch_alter_table("stakes") as batch:
        batch.drop_column("last_claim_time")


def downgrade() -> None:
    op.add_column(
        "stakes", sa.Column("last_claim_time", sa.BigInteger, nullable=False, server_default="0")
    )
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(
            stakes.c.id,
            stakes.c.start_time,
            stakes.c.end_time,
            stakes.c.status,
            totals.c.last_claim_time,
        ).select_from(stakes.outerjoin(totals, totals.c.user == stakes.c.user))
    )
    for r in list(rows):
        value = _claimed_through(
            r.start_time, r.end_time, r.status == "active", r.last_claim_time or 0
        )
        conn.execute(sa.update(stakes).where(stakes.c.id == r.id).values(last_claim_time=value))
    op.create_table(
        "claim_effects",
        sa.Column("claim_id", sa.String(80), primary_key=True),
        sa.Column("stake_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("block_number", sa.BigInteger, nullable=False),
        sa.Column("prev_last_claim_time", sa.BigInteger, nullable=False),
        **MYSQL,
    )
    op.create_index("idx_claim_effects_block", "claim_effects", ["block_number"])
    with op.batch_alter_table("staking_user_totals") as batch:
        batch.drop_column("last_claim_time")
